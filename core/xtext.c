/* SPDX-License-Identifier: MIT */
#include "core/xtext.h"

static const char hexdigits[] = "0123456789ABCDEF";

void
xtext_encode(struct strbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '+' && *p != '=') {
			strbuf_putc(sb, (char)*p);
		} else {
			char esc[3] = { '+', hexdigits[*p >> 4], hexdigits[*p & 15] };
			strbuf_append(sb, esc, 3);
		}
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
xtext_decode(char *s)
{
	char *out = s;
	for (const char *p = s; *p; p++) {
		int c = (unsigned char)*p;
		if (c == '+') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			if (lo < 0)
				return -1;
			c = hi * 16 + lo;
			p += 2;
		}
		if (c <= 0x20 || c >= 0x7f)
			return -1;
		*out++ = (char)c;
	}
	*out = '\0';
	return 0;
}
