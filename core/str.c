/* SPDX-License-Identifier: MIT */
#include "core/str.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
str_copy(char *dst, const char *src, size_t dstlen)
{
	size_t n = strlen(src);
	if (dstlen > 0) {
		size_t c = n < dstlen - 1 ? n : dstlen - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

size_t
str_vfmt(char *out, size_t outlen, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, outlen, fmt, ap);
	if (n < 0) {
		if (outlen > 0)
			out[0] = '\0';
		return outlen;
	}
	return (size_t)n;
}

size_t
str_fmt(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = str_vfmt(out, outlen, fmt, ap);
	va_end(ap);
	return n;
}

int
str_to_num(const char *s, long long min, long long max, long long *out, const char **errstr)
{
	char *end;
	long long v;

	*errstr = "invalid";
	if (*s == '\0' || *s == '+' || *s == ' ' || *s == '\t')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*errstr = "too small";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*errstr = "too large";
		return -1;
	}
	*errstr = NULL;
	*out = v;
	return 0;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int
str_eq_nocase(const char *a, const char *b)
{
	while (*a && lower((unsigned char)*a) == lower((unsigned char)*b))
		a++, b++;
	return *a == '\0' && *b == '\0';
}

int
str_has_prefix_nocase(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
		if (lower((unsigned char)*s) != lower((unsigned char)*prefix))
			return 0;
	return 1;
}

int
str_eq_consttime(const void *a, size_t alen, const void *b, size_t blen)
{
	const volatile unsigned char *pa = a, *pb = b;
	unsigned char diff = alen != blen;
	/* compare over the longer length so that timing does not reveal a common prefix */
	size_t n = alen > blen ? alen : blen;
	for (size_t i = 0; i < n; i++)
		diff |= (i < alen ? pa[i] : 0) ^ (i < blen ? pb[i] : 0);
	return diff == 0;
}

unsigned int
str_hash(const char *s)
{
	unsigned int h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}
