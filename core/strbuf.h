/* SPDX-License-Identifier: MIT */
/* core/strbuf.h: a growable string with a hard size limit. */
#ifndef CORE_STRBUF_H
#define CORE_STRBUF_H

#include <stddef.h>

/* Growable string owned by the caller; free with strbuf_free(). On allocation failure or
 * when max would be exceeded the buffer keeps its old content and sets the sticky
 * error flag; later appends do nothing. s is always NUL-terminated (never NULL after init). */
struct strbuf {
	char *s;
	size_t len, cap, max;
	int error;
};
void strbuf_init(struct strbuf *, size_t max);
void strbuf_append(struct strbuf *, const void *data, size_t len);
void strbuf_puts(struct strbuf *, const char *s);
void strbuf_putc(struct strbuf *, char c);
void strbuf_printf(struct strbuf *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_truncate(struct strbuf *, size_t len);
void strbuf_free(struct strbuf *);

#endif
