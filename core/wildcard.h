/* SPDX-License-Identifier: MIT */
/* core/wildcard.h: Dovecot's wildcard_match(): '*' is any run of bytes, '?' one byte.
 * Not fnmatch or a glob: no classes, no escapes, no special '/' or leading '.'. */
#ifndef CORE_WILDCARD_H
#define CORE_WILDCARD_H

/* Returns 1 if the whole of s matches mask, else 0. Bytes compare exactly (so '?' is
 * one byte of a UTF-8 character). Time is O(len(s) * len(mask)) at worst and about
 * linear for typical masks; there is no recursion and no allocation. */
int wildcard_match(const char *s, const char *mask);

/* The same with ASCII letters compared case-insensitively (no locale). */
int wildcard_match_icase(const char *s, const char *mask);

#endif
