/* SPDX-License-Identifier: MIT */
/* applets/doveadm/reader.c: a blocking line reader for doveadm's sockets that can also
 * say whether a line is already buffered (ipc's "unexpected input" after a reply is
 * about lines that came in the same read) and wait with a timeout (anvil's version
 * detection). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/doveadm/doveadm.h"

#define READER_LINE_MAX	(16u * 1024 * 1024)

void
dv_reader_init(struct dv_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
}

int
dv_reader_buffered(const struct dv_reader *r)
{
	return r->len > r->start && memchr(r->buf + r->start, '\n', r->len - r->start) != NULL;
}

int
dv_reader_line(struct dv_reader *r, char **line, int timeout_ms)
{
	for (;;) {
		char *lf = r->len > r->start ? memchr(r->buf + r->start, '\n', r->len - r->start) : NULL;
		if (lf != NULL) {
			*lf = '\0';
			*line = r->buf + r->start;
			r->start = (size_t)(lf - r->buf) + 1;
			return 1;
		}
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->len - r->start);
			r->len -= r->start;
			r->start = 0;
		}
		if (r->len + 1 >= r->cap) {
			if (r->cap >= READER_LINE_MAX) {
				errno = EMSGSIZE;
				return -1;
			}
			size_t cap = r->cap ? r->cap * 2 : 8192;
			char *b = realloc(r->buf, cap);
			if (b == NULL)
				return -1;
			r->buf = b;
			r->cap = cap;
		}
		if (timeout_ms >= 0) {
			struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
			int n = poll(&pfd, 1, timeout_ms);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -1;
			if (n == 0)
				return -2;
		}
		ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		r->len += (size_t)n;
	}
}

void
dv_reader_free(struct dv_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}
