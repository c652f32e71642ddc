/* SPDX-License-Identifier: MIT */
#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

void
strbuf_init(struct strbuf *sb, size_t max)
{
	static char empty[1];
	sb->s = empty;
	sb->len = sb->cap = 0;
	sb->max = max;
	sb->error = 0;
}

static int
strbuf_reserve(struct strbuf *sb, size_t add)
{
	if (sb->error)
		return -1;
	if (add > sb->max || sb->len > sb->max - add) {
		sb->error = 1;
		return -1;
	}
	if (sb->len + add + 1 <= sb->cap)
		return 0;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < sb->len + add + 1)
		cap *= 2;
	char *p = realloc(sb->cap ? sb->s : NULL, cap);
	if (p == NULL) {
		sb->error = 1;
		return -1;
	}
	if (sb->cap == 0)
		p[0] = '\0';
	sb->s = p;
	sb->cap = cap;
	return 0;
}

void
strbuf_append(struct strbuf *sb, const void *data, size_t len)
{
	if (strbuf_reserve(sb, len) < 0)
		return;
	memcpy(sb->s + sb->len, data, len);
	sb->len += len;
	sb->s[sb->len] = '\0';
}

void
strbuf_puts(struct strbuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

void
strbuf_putc(struct strbuf *sb, char c)
{
	strbuf_append(sb, &c, 1);
}

void
strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	size_t n = str_vfmt(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < sizeof(small)) {
		strbuf_append(sb, small, n);
		return;
	}
	if (strbuf_reserve(sb, n) < 0)
		return;
	va_start(ap, fmt);
	str_vfmt(sb->s + sb->len, n + 1, fmt, ap);
	va_end(ap);
	sb->len += n;
}

void
strbuf_truncate(struct strbuf *sb, size_t len)
{
	if (len < sb->len) {
		sb->len = len;
		sb->s[len] = '\0';
	}
}

void
strbuf_free(struct strbuf *sb)
{
	if (sb->cap)
		free(sb->s);
	strbuf_init(sb, sb->max);
}
