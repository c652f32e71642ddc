/* SPDX-License-Identifier: MIT */
#include "core/dline.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "core/conn.h"
#include "core/tab.h"

struct dline_conn {
	struct loop *loop;
	struct conn *conn;
	const struct dline_set *set;
	dline_line_cb *line_cb;
	dline_close_cb *close_cb;
	void *arg;
	int handshaken;
	int freed;
};

static void
dline_close(struct dline_conn *d, const char *reason)
{
	if (d->freed)
		return;
	d->close_cb(d, reason, d->arg);
	dline_conn_free(d);
}

static int
version_ok(const struct dline_set *set, char **f, size_t n)
{
	long long major;
	const char *err;
	return n == 4 && strcmp(f[0], "VERSION") == 0 && strcmp(f[1], set->expect_service) == 0 &&
	    str_to_num(f[2], 0, 1000000, &major, &err) == 0 && (unsigned int)major == set->expect_major;
}

static void
dline_input(struct dline_conn *d)
{
	char *line, *fields[DLINE_MAX_FIELDS + 1];
	size_t len;
	int r;

	while (!d->freed && (r = conn_getline(d->conn, &line, &len)) != 0) {
		if (r < 0) {
			dline_close(d, "Input line too long");
			return;
		}
		size_t n = tab_split(line, fields, DLINE_MAX_FIELDS);
		if (n > DLINE_MAX_FIELDS) {
			dline_close(d, "Too many fields in a line");
			return;
		}
		if (!d->handshaken) {
			d->handshaken = 1;
			if (d->set->expect_service) {
				if (!version_ok(d->set, fields, n)) {
					dline_close(d, "Protocol version mismatch or missing VERSION line");
					return;
				}
				continue;
			}
		}
		d->line_cb(d, fields, n, d->arg);
	}
}

static void
dline_conn_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct dline_conn *d = arg;
	(void)c;
	switch (ev) {
	case CONN_EV_DATA:
		dline_input(d);
		return;
	case CONN_EV_EOF:
		dline_close(d, "Disconnected");
		return;
	case CONN_EV_ERROR:
		dline_close(d, strerror(conn_error(c)));
		return;
	case CONN_EV_TIMEOUT:
		dline_close(d, "Timed out");
		return;
	case CONN_EV_CONNECTED:
	case CONN_EV_DRAINED:
		return;
	}
}

struct dline_conn *
dline_conn_new(struct loop *l, int fd, const struct dline_set *set, dline_line_cb *line_cb,
    dline_close_cb *close_cb, void *arg)
{
	struct dline_conn *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		close(fd);
		return NULL;
	}
	d->conn = conn_new(l, fd, set->line_max ? set->line_max : DLINE_MAX, dline_conn_cb, d);
	if (d->conn == NULL) {
		free(d);
		return NULL;
	}
	d->loop = l;
	d->set = set;
	d->line_cb = line_cb;
	d->close_cb = close_cb;
	d->arg = arg;
	if (set->version_send)
		dline_send_raw(d, set->version_send);
	return d;
}

int
dline_send(struct dline_conn *d, const char *const *fields, size_t n)
{
	struct strbuf sb;
	strbuf_init(&sb, DLINE_MAX * 4);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_putc(&sb, '\t');
		tab_escape(&sb, fields[i]);
	}
	strbuf_putc(&sb, '\n');
	int r = sb.error ? -1 : conn_write(d->conn, sb.s, sb.len);
	strbuf_free(&sb);
	return r;
}

int
dline_send_raw(struct dline_conn *d, const char *line)
{
	if (conn_write(d->conn, line, strlen(line)) < 0)
		return -1;
	return conn_write(d->conn, "\n", 1);
}

void
dline_pause(struct dline_conn *d, int paused)
{
	if (paused)
		conn_pause_read(d->conn, 1);
	else
		conn_resume(d->conn);
}

static void
dline_free_cb(void *p)
{
	free(p);
}

void
dline_conn_free(struct dline_conn *d)
{
	if (d->freed)
		return;
	d->freed = 1;
	/* let queued replies go out before the socket closes */
	conn_close_after_flush(d->conn);
	/* freed after the current batch, so a caller up the stack may still test d->freed */
	loop_defer_free(d->loop, dline_free_cb, d);
}

void
dline_reader_init(struct dline_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
}

int
dline_reader_buffered(const struct dline_reader *r)
{
	return r->len > r->start && memchr(r->buf + r->start, '\n', r->len - r->start) != NULL;
}

int
dline_reader_line(struct dline_reader *r, char **line, int timeout_ms)
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
			if (r->cap >= DLINE_READER_MAX) {
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
dline_reader_free(struct dline_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}
