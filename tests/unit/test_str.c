/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/str.h"

#include <limits.h>
#include <stdlib.h>

TEST(copy_truncates_and_reports_length)
{
	char b[4];
	CHECK_INT(str_copy(b, "abcdef", sizeof(b)), 6);
	CHECK_STR(b, "abc");
	CHECK_INT(str_copy(b, "ab", sizeof(b)), 2);
	CHECK_STR(b, "ab");
}

TEST(fmt_reports_wanted_length)
{
	char b[5];
	CHECK_INT(str_fmt(b, sizeof(b), "%d-%s", 12, "xyz"), 6);
	CHECK_STR(b, "12-x");
}

TEST(to_num_ranges)
{
	long long v;
	const char *err;
	CHECK_INT(str_to_num("42", 0, 100, &v, &err), 0);
	CHECK_INT(v, 42);
	CHECK_INT(str_to_num("-1", 0, 100, &v, &err), -1);
	CHECK_STR(err, "too small");
	CHECK_INT(str_to_num("101", 0, 100, &v, &err), -1);
	CHECK_STR(err, "too large");
	CHECK_INT(str_to_num("99999999999999999999", 0, LLONG_MAX, &v, &err), -1);
	CHECK_STR(err, "too large");
	CHECK_INT(str_to_num("", 0, 1, &v, &err), -1);
	CHECK_STR(err, "invalid");
	CHECK_INT(str_to_num("1x", 0, 10, &v, &err), -1);
	CHECK_INT(str_to_num(" 1", 0, 10, &v, &err), -1);
	CHECK_INT(str_to_num("+1", 0, 10, &v, &err), -1);
}

TEST(nocase)
{
	CHECK(str_eq_nocase("LOGIN", "login"));
	CHECK(!str_eq_nocase("LOGIN", "logins"));
	CHECK(str_has_prefix_nocase("AUTHENTICATE PLAIN", "auth"));
	CHECK(!str_has_prefix_nocase("AU", "auth"));
}

TEST(consttime_compare)
{
	CHECK(str_eq_consttime("secret", 6, "secret", 6));
	CHECK(!str_eq_consttime("secret", 6, "secreT", 6));
	CHECK(!str_eq_consttime("secret", 6, "secre", 5));
	CHECK(!str_eq_consttime("", 0, "a", 1));
	CHECK(str_eq_consttime("", 0, "", 0));
}

TEST(strbuf_grows_and_caps)
{
	struct strbuf sb;
	strbuf_init(&sb, 300);
	CHECK_STR(sb.s, "");
	for (int i = 0; i < 10; i++)
		strbuf_printf(&sb, "%02d,", i);
	CHECK_INT(sb.len, 30);
	CHECK(strncmp(sb.s, "00,01,", 6) == 0);
	char big[400];
	memset(big, 'x', sizeof(big));
	strbuf_append(&sb, big, sizeof(big));
	CHECK(sb.error);
	CHECK_INT(sb.len, 30);
	strbuf_puts(&sb, "y");
	CHECK_INT(sb.len, 30);
	strbuf_free(&sb);
	CHECK_INT(sb.len, 0);
	CHECK(!sb.error);
}

TEST(str_hash_fnv1a)
{
	CHECK_INT(str_hash(""), 2166136261u);
	CHECK_INT(str_hash("a"), 0xe40c292cu);
	CHECK_INT(str_hash("foobar"), 0xbf9cf968u);
}
