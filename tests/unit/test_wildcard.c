/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/wildcard.h"

#include <stdlib.h>
#include <time.h>

TEST(wildcard_table)
{
	static const struct {
		const char *s, *mask;
		int match, match_icase;
	} t[] = {
		{ "", "", 1, 1 },
		{ "", "*", 1, 1 },
		{ "", "**", 1, 1 },
		{ "", "?", 0, 0 },
		{ "", "*?", 0, 0 },
		{ "a", "", 0, 0 },
		{ "abc", "abc", 1, 1 },
		{ "abc", "ab", 0, 0 },
		{ "abc", "abcd", 0, 0 },
		{ "abc", "a*", 1, 1 },
		{ "abc", "*c", 1, 1 },
		{ "abc", "*b*", 1, 1 },
		{ "abc", "*d*", 0, 0 },
		{ "abc", "a?c", 1, 1 },
		{ "abc", "a??c", 0, 0 },
		{ "abc", "???", 1, 1 },
		{ "abc", "????", 0, 0 },
		{ "abc", "*?", 1, 1 },
		{ "abc", "a**c", 1, 1 },
		{ "abcabc", "*abc", 1, 1 },
		{ "abcab", "*abc", 0, 0 },
		{ "mississippi", "m*iss*ppi", 1, 1 },
		{ "mississippi", "m*iss*ppx", 0, 0 },
		{ "mississippi", "*sip*", 1, 1 },
		{ "aaa", "a*a*a", 1, 1 },
		{ "aa", "a*a*a", 0, 0 },
		{ "ab*", "ab*", 1, 1 },
		{ "a?c", "a\\?c", 0, 0 },	/* no escapes: '\' is a literal */
		{ "user@example.com", "*@example.com", 1, 1 },
		{ "user@example.com.evil", "*@example.com", 0, 0 },
		{ "User@Example.COM", "*@example.com", 0, 1 },
		{ "USER", "u?er", 0, 1 },
		{ "x[y]", "x[y]", 1, 1 },
		{ "\xc3\xa4", "?", 0, 0 },	/* '?' is one byte, not one character */
		{ "\xc3\xa4", "??", 1, 1 },
		{ "\xc3\x84", "\xc3\xa4", 0, 0 },	/* no case folding beyond ASCII */
		{ "@", "`", 0, 0 },	/* '@' and '`' differ by 0x20 but are not letters */
		{ "[", "{", 0, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (wildcard_match(t[i].s, t[i].mask) != t[i].match)
			unit_fail(__FILE__, __LINE__, "wildcard_match(\"%s\", \"%s\") != %d",
			    t[i].s, t[i].mask, t[i].match);
		if (wildcard_match_icase(t[i].s, t[i].mask) != t[i].match_icase)
			unit_fail(__FILE__, __LINE__, "wildcard_match_icase(\"%s\", \"%s\") != %d",
			    t[i].s, t[i].mask, t[i].match_icase);
	}
}

TEST(wildcard_no_backtracking_explosion)
{
	size_t n = 100 * 1024;
	char *s = malloc(n + 1);
	CHECK(s != NULL);
	if (s == NULL)
		return;
	memset(s, 'a', n);
	s[n] = '\0';
	clock_t start = clock();
	CHECK(!wildcard_match(s, "a*a*a*a*a*b"));
	CHECK(wildcard_match(s, "a*a*a*a*a*a"));
	CHECK(!wildcard_match_icase(s, "*A*A*A*A*A*A*A*A*A*A*B"));
	CHECK(wildcard_match_icase(s, "*A*A*A*A*A*A*A*A*A*A*"));
	CHECK(!wildcard_match(s, "*aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
	/* the recursive algorithm needs hours here; this one well under a second */
	CHECK((double)(clock() - start) / CLOCKS_PER_SEC < 1.0);
	free(s);
}
