/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/tab.h"

#include <stdint.h>

TEST(tab_escape_table)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "", "" },
		{ "foo", "foo" },
		{ "\001", "\0011" },
		{ "\t", "\001t" },
		{ "\r", "\001r" },
		{ "\n", "\001n" },
		{ "\001\001\t\t\r\r\n\n", "\0011\0011\001t\001t\001r\001r\001n\001n" },
		{ "a\tb=c\r\nd", "a\001tb=c\001r\001nd" },
		{ "\002\x7f\xff ", "\002\x7f\xff " },
	};
	struct strbuf sb;

	strbuf_init(&sb, 1024);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		strbuf_truncate(&sb, 0);
		tab_escape(&sb, t[i].in);
		CHECK(!sb.error);
		CHECK_STR(sb.s, t[i].out);
	}
	strbuf_free(&sb);

	/* the strbuf limit applies and is sticky */
	strbuf_init(&sb, 3);
	tab_escape(&sb, "a\tb");
	CHECK(sb.error);
	strbuf_free(&sb);
}

TEST(tab_unescape_table)
{
	static const struct {
		const char *in;
		const char *out;
		size_t outlen;
	} t[] = {
		{ "", "", 0 },
		{ "foo", "foo", 3 },
		{ "\0011", "\001", 1 },
		{ "\001t", "\t", 1 },
		{ "\001r", "\r", 1 },
		{ "\001n", "\n", 1 },
		{ "\0010", "\0", 1 },
		{ "a\0010b", "a\0b", 3 },
		{ "\001x", "x", 1 },
		{ "\001\001", "\001", 1 },
		{ "\001\t", "\t", 1 },
		{ "ab\001", "ab", 2 },
		{ "\001", "", 0 },
		{ "\0011\001", "\001", 1 },
		{ "\0011\001t\001r\001nplip\001n", "\001\t\r\nplip\n", 9 },
		{ "a\001\001b\001\nc\0011\001t", "a\001b\nc\001\t", 7 },
	};
	char s[64];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memcpy(s, t[i].in, strlen(t[i].in) + 1);
		size_t n = tab_unescape(s);
		CHECK_MEM(s, n, t[i].out, t[i].outlen);
		CHECK_INT(s[n], '\0');
	}
}

/* copies a literal, NUL included, into the writable line */
#define SET_LINE(lit) memcpy(line, lit, sizeof(lit))

TEST(tab_split_fields)
{
	char line[64], *f[4];
	size_t lens[4];

	SET_LINE("a\tb\tc");
	CHECK_INT(tab_split(line, f, 4), 3);
	CHECK_STR(f[0], "a");
	CHECK_STR(f[1], "b");
	CHECK_STR(f[2], "c");

	SET_LINE("");
	CHECK_INT(tab_split(line, f, 4), 1);
	CHECK_STR(f[0], "");

	SET_LINE("a\t\tb");
	CHECK_INT(tab_split(line, f, 4), 3);
	CHECK_STR(f[0], "a");
	CHECK_STR(f[1], "");
	CHECK_STR(f[2], "b");

	SET_LINE("\t");
	CHECK_INT(tab_split(line, f, 4), 2);
	CHECK_STR(f[0], "");
	CHECK_STR(f[1], "");

	SET_LINE("USER\t1\tjoe\001tx\tpass=\0011");
	CHECK_INT(tab_split(line, f, 4), 4);
	CHECK_STR(f[2], "joe\tx");
	CHECK_STR(f[3], "pass=\001");

	/* more fields than room: the first max are filled and max + 1 says so */
	SET_LINE("a\tb\tc\td\te");
	CHECK_INT(tab_split(line, f, 2), 3);
	CHECK_STR(f[0], "a");
	CHECK_STR(f[1], "b");
	SET_LINE("a\tb\tc\td");
	CHECK_INT(tab_split(line, f, 4), 4);
	CHECK_STR(f[3], "d");
	SET_LINE("a");
	CHECK_INT(tab_split(line, f, 0), 1);

	SET_LINE("x\0010y\tz");
	CHECK_INT(tab_split_lens(line, f, lens, 4), 2);
	CHECK_MEM(f[0], lens[0], "x\0y", 3);
	CHECK_INT(lens[1], 1);
	CHECK_STR(f[1], "z");
}

/* xorshift32: a fixed sequence so that a failure can be reproduced */
static uint32_t
next_random(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

TEST(tab_random_round_trips)
{
	uint32_t rnd = 0x2545f491;
	char orig[3][101], *f[4];
	struct strbuf sb;

	strbuf_init(&sb, 4096);
	for (int iter = 0; iter < 1000; iter++) {
		strbuf_truncate(&sb, 0);
		for (int k = 0; k < 3; k++) {
			size_t len = next_random(&rnd) % 101;
			for (size_t i = 0; i < len; i++)
				orig[k][i] = (char)(1 + next_random(&rnd) % 255);
			orig[k][len] = '\0';
			if (k > 0)
				strbuf_putc(&sb, '\t');
			tab_escape(&sb, orig[k]);
		}
		CHECK(!sb.error);
		CHECK(strpbrk(sb.s, "\r\n") == NULL);

		size_t n = tab_split(sb.s, f, 4);
		CHECK_INT(n, 3);
		for (size_t k = 0; k < n && k < 3; k++)
			CHECK_STR(f[k], orig[k]);

		/* a single field through tab_unescape() directly */
		strbuf_truncate(&sb, 0);
		tab_escape(&sb, orig[0]);
		CHECK(strpbrk(sb.s, "\t\r\n") == NULL);
		CHECK_INT(tab_unescape(sb.s), strlen(orig[0]));
		CHECK_STR(sb.s, orig[0]);
	}
	strbuf_free(&sb);
}
