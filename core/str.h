/* SPDX-License-Identifier: MIT */
/* core/str.h: bounded string helpers and range-checked number parsing.
 * Not a string library: no allocation here; callers own every buffer. */
#ifndef CORE_STR_H
#define CORE_STR_H

#include "core/strbuf.h"

#include <stdarg.h>
#include <stddef.h>

/* Copies src into dst (size dstlen > 0), always NUL-terminated. Returns strlen(src):
 * a result >= dstlen means the copy was truncated (strlcpy semantics). */
size_t str_copy(char *dst, const char *src, size_t dstlen);

/* snprintf that returns the length it wanted as size_t (>= outlen means truncated) and
 * never a negative value: an encoding error yields outlen and an empty string. */
size_t str_fmt(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
size_t str_vfmt(char *out, size_t outlen, const char *fmt, va_list ap);

/* Parses a whole decimal string into [min, max]. Returns 0, or -1 with *errstr set to
 * "invalid", "too small" or "too large" (strtonum semantics; no leading '+' or spaces). */
int str_to_num(const char *s, long long min, long long max, long long *out, const char **errstr);

/* FNV-1a of a string: for hash tables keyed by ids, not for anything an attacker chooses
 * the buckets of unless the table tolerates long chains. */
unsigned int str_hash(const char *s);

/* Case-insensitive ASCII comparisons, locale-free. */
int str_eq_nocase(const char *a, const char *b);
int str_has_prefix_nocase(const char *s, const char *prefix);

/* Constant-time comparison of two byte strings: the time depends on the lengths only.
 * Returns 1 if equal. */
int str_eq_consttime(const void *a, size_t alen, const void *b, size_t blen);

#endif
