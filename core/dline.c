/* SPDX-License-Identifier: MIT */
#include "core/dline.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "core/addr.h"
#include "core/conn.h"
#include "core/tabescape.h"

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

int
dline_listen_unix(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* a socket file left by a dead process is replaced; a live one is not stolen */
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int alive = probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		if (probe >= 0)
			close(probe);
		if (alive) {
			close(fd);
			errno = EADDRINUSE;
			return -1;
		}
		unlink(path);
	}
	mode_t old = umask(0777 & ~mode);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || chmod(path, mode) < 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) < 0) ||
	    listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

static int
connect_tcp(const char *target, int timeout_ms, char *err, size_t errlen)
{
	char buf[512];
	const char *host;
	unsigned int port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char portstr[8];

	str_copy(buf, target, sizeof(buf));
	if (hostport_parse(buf, &host, &port, 0) < 0 || port == 0) {
		str_fmt(err, errlen, "invalid host:port '%s'", target);
		return -1;
	}
	str_fmt(portstr, sizeof(portstr), "%u", port);
	int gai = getaddrinfo(host, portstr, &hints, &res);
	if (gai != 0) {
		str_fmt(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r = fd < 0 ? -1 : connect(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (r < 0 && fd >= 0 && errno == EINPROGRESS && wait_fd(fd, POLLOUT, timeout_ms) == 0) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
		errno = soerr;
		r = soerr ? -1 : 0;
	}
	if (r < 0) {
		str_fmt(err, errlen, "net_connect_ip(%s) failed: %s", target, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int
dline_client_connect(struct dline_client *c, const char *target, int timeout_ms, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->max = DLINE_MAX * 64;	/* replies (proxy list, director map) may be long lines */
	c->timeout_ms = timeout_ms;
	if (strchr(target, '/') == NULL) {
		c->fd = connect_tcp(target, timeout_ms, err, errlen);
		return c->fd < 0 ? -1 : 0;
	}
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (str_copy(sun.sun_path, target, sizeof(sun.sun_path)) >= sizeof(sun.sun_path)) {
		str_fmt(err, errlen, "net_connect_unix(%s) failed: %s", target, strerror(ENAMETOOLONG));
		return -1;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		str_fmt(err, errlen, "net_connect_unix(%s) failed: %s", target, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

int
dline_client_send(struct dline_client *c, const char *line)
{
	size_t len = strlen(line);
	for (int part = 0; part < 2; part++) {
		const char *p = part ? "\n" : line;
		size_t left = part ? 1 : len;
		while (left > 0) {
			ssize_t n = send(c->fd, p, left, MSG_NOSIGNAL);
			if (n < 0 && errno == EAGAIN && wait_fd(c->fd, POLLOUT, c->timeout_ms) == 0)
				continue;
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			p += n;
			left -= (size_t)n;
		}
	}
	return 0;
}

int
dline_client_read(struct dline_client *c, char **line)
{
	/* drop the line returned last time */
	if (c->consumed > 0) {
		memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
		c->len -= c->consumed;
		c->consumed = 0;
	}
	for (;;) {
		char *lf = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (lf != NULL) {
			*lf = '\0';
			*line = c->buf;
			c->consumed = (size_t)(lf - c->buf) + 1;
			return 1;
		}
		if (c->len >= c->max) {
			errno = EMSGSIZE;
			return -1;
		}
		if (c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 4096;
			char *b = realloc(c->buf, cap);
			if (b == NULL)
				return -1;
			c->buf = b;
			c->cap = cap;
		}
		if (c->timeout_ms > 0 && wait_fd(c->fd, POLLIN, c->timeout_ms) < 0)
			return -1;
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		c->len += (size_t)n;
	}
}

void
dline_client_close(struct dline_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}
