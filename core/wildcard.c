/* SPDX-License-Identifier: MIT */
#include "core/wildcard.h"

#include <stddef.h>

static int
fold(int c, int icase)
{
	return icase && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Greedy matching that, on a mismatch, only retries from the most recent '*': a later
 * star can absorb anything an earlier one could, so older stars never need revisiting
 * and masks like "a*a*a*b" cannot explode as in the recursive version. */
static int
match(const char *s, const char *mask, int icase)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*mask == '*') {
			star = ++mask;
			resume = s;
		} else if (*mask != '\0' && (*mask == '?' ||
		    fold((unsigned char)*mask, icase) == fold((unsigned char)*s, icase))) {
			mask++;
			s++;
		} else if (star != NULL) {
			mask = star;
			s = ++resume;
		} else
			return 0;
	}
	while (*mask == '*')
		mask++;
	return *mask == '\0';
}

int
wildcard_match(const char *s, const char *mask)
{
	return match(s, mask, 0);
}

int
wildcard_match_icase(const char *s, const char *mask)
{
	return match(s, mask, 1);
}
