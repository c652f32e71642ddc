/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/xtext.h"

#include <string.h>

TEST(xtext_encode_table)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "", "" },
		{ "127.0.0.1", "127.0.0.1" },
		{ "a+b=c", "a+2Bb+3Dc" },
		{ "sp ace\t", "sp+20ace+09" },
		{ "\x7f\xff~!", "+7F+FF~!" },
		{ "AbCd/+==", "AbCd/+2B+3D+3D" },
	};
	struct strbuf sb;
	strbuf_init(&sb, 1024);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		strbuf_truncate(&sb, 0);
		xtext_encode(&sb, t[i].in);
		CHECK(!sb.error);
		CHECK_STR(sb.s, t[i].out);
	}
	strbuf_free(&sb);
}

TEST(xtext_decode_table)
{
	static const struct {
		const char *in, *out;	/* out NULL: -1 */
	} t[] = {
		{ "", "" },
		{ "abc", "abc" },
		{ "a+2Bb+3dc", "a+b=c" },
		{ "+41+42", "AB" },
		{ "+", NULL },
		{ "+4", NULL },
		{ "+4G", NULL },
		{ "+G4", NULL },
		{ "+20", NULL },	/* a space */
		{ "+00", NULL },
		{ "a b", NULL },
		{ "\xff", NULL },
	};
	char buf[64];
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		str_copy(buf, t[i].in, sizeof(buf));
		int r = xtext_decode(buf);
		if (t[i].out == NULL) {
			CHECK(r == -1);
		} else {
			CHECK(r == 0);
			CHECK_STR(buf, t[i].out);
		}
	}
}

TEST(xtext_round_trip)
{
	struct strbuf sb;
	char all[96];
	size_t n = 0;
	for (int c = 0x21; c < 0x7f; c++)
		all[n++] = (char)c;
	all[n] = '\0';
	strbuf_init(&sb, 1024);
	xtext_encode(&sb, all);
	CHECK(xtext_decode(sb.s) == 0);
	CHECK_STR(sb.s, all);
	strbuf_free(&sb);
}
