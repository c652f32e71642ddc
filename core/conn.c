/* SPDX-License-Identifier: MIT */
#include "core/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/str.h"
#include "core/tls.h"

struct conn {
	struct loop *loop;
	struct loop_io io;
	struct loop_timer timer;
	conn_cb *cb;
	void *arg;
	struct buf in, out;
	struct tls *tls;	/* NULL: plaintext */
	size_t raw_out;		/* bytes at the head of out that go out before TLS starts */
	size_t line_max;
	uint64_t bytes_out;
	unsigned int timeout_ms;
	int error;
	unsigned int connecting : 1;
	unsigned int paused : 1;
	unsigned int eof : 1;
	unsigned int closing : 1;	/* conn_close_after_flush */
	unsigned int freed : 1;
	unsigned int error_pending : 1;
	unsigned int kick_pending : 1;	/* conn_resume(): report buffered input */
	unsigned int tls_failed : 1;	/* the error is the engine's: tls_error() */
};

static void conn_io(struct loop_io *, uint32_t, void *);
static void conn_timer(struct loop_timer *, void *);
static void conn_fail_later(struct conn *, int);

static int
set_nonblock(int fd)
{
	int one = 1;
	return ioctl(fd, FIONBIO, &one);
}

static void
conn_update_events(struct conn *c)
{
	uint32_t ev = 0;
	if (c->freed || c->io.fd < 0)
		return;
	if (c->tls != NULL && !c->connecting) {
		/* the engine says what it needs: records to send, records to receive (the
		 * handshake reads even while the caller has paused reading) */
		if (c->raw_out > 0 || tls_want_write(c->tls))
			ev |= EPOLLOUT;
		if (c->raw_out == 0 && tls_want_read(c->tls) && !c->eof && !c->closing &&
		    ((!c->paused && buf_len(&c->in) <= c->line_max + 2) || !tls_handshake_done(c->tls)))
			ev |= EPOLLIN;
	} else {
		if (c->connecting || buf_len(&c->out) > 0)
			ev |= EPOLLOUT;
		/* stop reading at the limit: the caller has not consumed what is buffered */
		if (!c->connecting && !c->paused && !c->eof && !c->closing && buf_len(&c->in) <= c->line_max + 2)
			ev |= EPOLLIN;
	}
	if (loop_io_set(c->loop, &c->io, ev) < 0)
		c->error = errno, c->error_pending = 1;
}

static struct conn *
conn_alloc(struct loop *l, int fd, int nonblocking, size_t line_max, conn_cb *cb, void *arg, uint32_t ev)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL || (!nonblocking && set_nonblock(fd) < 0) ||
	    loop_io_add(l, &c->io, fd, ev, conn_io, c) < 0) {
		free(c);
		close(fd);
		return NULL;
	}
	c->loop = l;
	c->cb = cb;
	c->arg = arg;
	c->line_max = line_max;
	return c;
}

struct conn *
conn_new(struct loop *l, int fd, size_t line_max, conn_cb *cb, void *arg)
{
	int fl = fcntl(fd, F_GETFL);
	return conn_alloc(l, fd, fl >= 0 && (fl & O_NONBLOCK), line_max, cb, arg, EPOLLIN);
}

struct conn *
conn_connect(struct loop *l, const struct sockaddr *dst, socklen_t dstlen,
    const struct sockaddr *src, socklen_t srclen, size_t line_max, conn_cb *cb, void *arg)
{
	int fd = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (src != NULL && bind(fd, src, srclen) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	int r = connect(fd, dst, dstlen);
	int e = errno;
	struct conn *c = conn_alloc(l, fd, 1, line_max, cb, arg, EPOLLOUT);
	if (c == NULL)
		return NULL;
	c->connecting = 1;
	if (r < 0 && e != EINPROGRESS) {
		/* report the failure from the loop, like any other connect result */
		c->error = e;
		c->error_pending = 1;
		loop_timer_set(l, &c->timer, 0, conn_timer, c);
	}
	return c;
}

void
conn_set_cb(struct conn *c, conn_cb *cb, void *arg)
{
	c->cb = cb;
	c->arg = arg;
}

void
conn_set_line_max(struct conn *c, size_t line_max)
{
	c->line_max = line_max;
	conn_update_events(c);
}

int
conn_fd(const struct conn *c)
{
	return c->io.fd;
}

uint64_t
conn_bytes_out(const struct conn *c)
{
	return c->bytes_out;
}

int
conn_error(const struct conn *c)
{
	return c->error;
}

size_t
conn_out_pending(const struct conn *c)
{
	return buf_len(&c->out);
}

/* Nothing left to send: neither plaintext queued nor records in the engine. */
static int
conn_out_empty(const struct conn *c)
{
	return buf_len(&c->out) == 0 && (c->tls == NULL || !tls_want_write(c->tls));
}

const char *
conn_error_str(const struct conn *c)
{
	return c->tls_failed && c->tls ? tls_error(c->tls) : strerror(c->error);
}

int
conn_tls_active(const struct conn *c)
{
	return c->tls != NULL;
}

int
conn_tls_ready(const struct conn *c)
{
	return c->tls != NULL && tls_handshake_done(c->tls);
}

struct tls *
conn_tls(const struct conn *c)
{
	return c->tls;
}

static void
conn_arm_timeout(struct conn *c)
{
	/* a pending error or kick owns the timer; the idle timeout is re-armed after it */
	if (c->error_pending || c->kick_pending)
		return;
	if (c->timeout_ms == 0)
		loop_timer_cancel(c->loop, &c->timer);
	else if (loop_timer_set(c->loop, &c->timer, c->timeout_ms, conn_timer, c) < 0)
		c->error = ENOMEM, c->error_pending = 1;
}

void
conn_set_timeout(struct conn *c, unsigned int msec)
{
	c->timeout_ms = msec;
	conn_arm_timeout(c);
}

void
conn_pause_read(struct conn *c, int paused)
{
	c->paused = paused != 0;
	conn_update_events(c);
}

void
conn_resume(struct conn *c)
{
	c->paused = 0;
	conn_update_events(c);
	if (buf_len(&c->in) == 0 || c->error_pending || c->freed)
		return;
	c->kick_pending = 1;
	if (loop_timer_set(c->loop, &c->timer, 0, conn_timer, c) < 0)
		conn_fail_later(c, ENOMEM);
}

static void
conn_fail_later(struct conn *c, int err)
{
	if (c->error_pending)
		return;
	c->error = err;
	c->error_pending = 1;
	loop_timer_cancel(c->loop, &c->timer);
	/* if even the timer cannot be armed, EPOLLOUT on a failed socket reports it */
	if (loop_timer_set(c->loop, &c->timer, 0, conn_timer, c) < 0)
		conn_update_events(c);
}

static void
conn_finish(void *p)
{
	struct conn *c = p;
	buf_release(&c->in);
	buf_release(&c->out);
	tls_free(c->tls);
	free(c);
}

void
conn_free(struct conn *c)
{
	if (c == NULL || c->freed)
		return;
	c->freed = 1;
	loop_timer_cancel(c->loop, &c->timer);
	if (c->io.fd >= 0) {
		int fd = c->io.fd;
		loop_io_forget(&c->io);
		close(fd);
	}
	loop_defer_free(c->loop, conn_finish, c);
}

int
conn_detach(struct conn *c, struct buf *in, struct buf *out, struct tls **tls, struct loop_io *to,
    uint32_t events, loop_io_cb *cb, void *arg)
{
	int fd = c->io.fd;
	*in = c->in;
	*out = c->out;
	memset(&c->in, 0, sizeof(c->in));
	memset(&c->out, 0, sizeof(c->out));
	if (tls != NULL) {
		*tls = c->tls;
		c->tls = NULL;
	}
	if (to == NULL) {
		loop_io_del(c->loop, &c->io);
	} else if (loop_io_transfer(c->loop, &c->io, to, events, cb, arg) < 0) {
		loop_io_forget(&c->io);
		close(fd);
		fd = -1;
	}
	c->freed = 1;
	loop_timer_cancel(c->loop, &c->timer);
	loop_defer_free(c->loop, conn_finish, c);
	return fd;
}

/* Writes as much of the queue as the socket takes now. Returns -1 on a hard error. */
static int conn_flush_tls(struct conn *);

static int
conn_flush(struct conn *c)
{
	if (c->tls != NULL && c->raw_out == 0)
		return conn_flush_tls(c);
	while (buf_len(&c->out) > 0 && (c->tls == NULL || c->raw_out > 0)) {
		size_t len = c->tls != NULL ? c->raw_out : buf_len(&c->out);
		ssize_t n = send(c->io.fd, buf_data(&c->out), len, MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			c->bytes_out += (uint64_t)n;
			if (c->tls != NULL && (c->raw_out -= (size_t)n) == 0)
				return conn_flush_tls(c);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		c->error = n < 0 ? errno : EPIPE;
		return -1;
	}
	return 0;
}

/* Plaintext from the queue into the engine, records from the engine to the socket, until
 * one of them is full. */
static int
conn_flush_tls(struct conn *c)
{
	for (;;) {
		if (tls_sock_write(c->tls, c->io.fd) < 0) {
			c->error = errno;
			return -1;
		}
		if (tls_want_write(c->tls))
			return 0;
		if (buf_len(&c->out) == 0) {
			/* the last words went into the engine: close_notify follows them */
			if (c->closing && tls_handshake_done(c->tls)) {
				tls_close(c->tls);
				if (tls_want_write(c->tls))
					continue;
			}
			return 0;
		}
		size_t room;
		unsigned char *p = tls_out(c->tls, &room);
		if (p == NULL)
			return 0;	/* handshake still running */
		size_t n = buf_len(&c->out) < room ? buf_len(&c->out) : room;
		memcpy(p, buf_data(&c->out), n);
		buf_consume(&c->out, n);
		c->bytes_out += n;
		tls_out_ack(c->tls, n);
	}
}

int
conn_start_tls(struct conn *c, struct tls *t)
{
	if (c->tls != NULL || c->freed) {
		tls_free(t);
		return -1;
	}
	/* whatever the peer sent before the handshake is not to be trusted after it: a
	 * command injected behind STARTTLS must not run as if it came over TLS */
	buf_consume(&c->in, buf_len(&c->in));
	c->raw_out = buf_len(&c->out);
	c->tls = t;
	if (!c->connecting && conn_flush(c) < 0) {
		conn_fail_later(c, c->error);
		return 0;
	}
	conn_update_events(c);
	return 0;
}

int
conn_write(struct conn *c, const void *data, size_t len)
{
	/* c->error is set only by a failure, and stays: a failed connection takes no more */
	if (c->freed || c->error_pending || c->error != 0)
		return -1;
	int was_empty = buf_len(&c->out) == 0 || (c->tls != NULL && c->raw_out == 0);
	if (buf_append(&c->out, data, len) < 0) {
		conn_fail_later(c, ENOMEM);
		return -1;
	}
	if (was_empty && !c->connecting) {
		if (conn_flush(c) < 0) {
			conn_fail_later(c, c->error);
			return -1;
		}
		conn_update_events(c);
	}
	return 0;
}

int
conn_puts(struct conn *c, const char *s)
{
	return conn_write(c, s, strlen(s));
}

int
conn_printf(struct conn *c, const char *fmt, ...)
{
	char small[512];
	va_list ap;

	va_start(ap, fmt);
	size_t n = str_vfmt(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < sizeof(small))
		return conn_write(c, small, n);
	char *big = malloc(n + 1);
	if (big == NULL) {
		conn_fail_later(c, ENOMEM);
		return -1;
	}
	va_start(ap, fmt);
	str_vfmt(big, n + 1, fmt, ap);
	va_end(ap);
	int r = conn_write(c, big, n);
	free(big);
	return r;
}

int
conn_getline(struct conn *c, char **line, size_t *len)
{
	int r = buf_getline(&c->in, c->line_max, line, len);
	if (r == 1 && !c->paused)
		conn_update_events(c);
	return r;
}

const char *
conn_peek(struct conn *c, size_t *len)
{
	*len = buf_len(&c->in);
	return *len ? buf_data(&c->in) : NULL;
}

void
conn_consume(struct conn *c, size_t n)
{
	buf_consume(&c->in, n);
	conn_update_events(c);
}

void
conn_close_after_flush(struct conn *c)
{
	if (c->freed)
		return;
	if (c->tls != NULL && !c->error_pending && tls_handshake_done(c->tls)) {
		/* the last words, then close_notify (conn_flush_tls sends it once the queue
		 * is in the engine) */
		c->closing = 1;
		if (conn_flush(c) < 0) {
			conn_free(c);
			return;
		}
	}
	if (conn_out_empty(c) || c->error_pending) {
		conn_free(c);
		return;
	}
	c->closing = 1;
	if (c->kick_pending) {
		/* no more input is reported: the timer goes back to the idle timeout */
		c->kick_pending = 0;
		conn_arm_timeout(c);
	}
	shutdown(c->io.fd, SHUT_RD);
	conn_update_events(c);
}

static void
conn_emit(struct conn *c, enum conn_event ev)
{
	c->cb(c, ev, c->arg);
}

static void
conn_timer(struct loop_timer *t, void *arg)
{
	struct conn *c = arg;
	(void)t;
	if (c->error_pending) {
		c->error_pending = 0;
		if (c->closing)
			conn_free(c);
		else
			conn_emit(c, CONN_EV_ERROR);
		return;
	}
	if (c->closing) {
		/* idle timeout while the peer does not take the final output: the owner
		 * is gone (no callback after conn_close_after_flush), so give up */
		conn_free(c);
		return;
	}
	if (c->kick_pending) {
		c->kick_pending = 0;
		conn_arm_timeout(c);
		if (!c->paused && buf_len(&c->in) > 0)
			conn_emit(c, CONN_EV_DATA);
		return;
	}
	conn_emit(c, CONN_EV_TIMEOUT);
}

/* Decrypted bytes into the line buffer: the login dialogue is small, one copy is fine
 * there (the relay reads the engine's buffer directly). Returns 1 if bytes came. */
static int
conn_tls_take(struct conn *c)
{
	int got = 0;
	size_t len;
	unsigned char *p;
	while ((p = tls_in(c->tls, &len)) != NULL) {
		if (buf_append(&c->in, p, len) < 0)
			return -1;
		tls_in_ack(c->tls, len);
		got = 1;
	}
	return got;
}

/* BearSSL records a failure only once its alert has gone out: after every flush, an
 * engine that has failed ends the connection (else it would wait for the peer). */
static int
conn_tls_failed(struct conn *c)
{
	if (c->tls == NULL || tls_closed(c->tls) >= 0)
		return 0;
	c->error = EPROTO;
	c->tls_failed = 1;
	if (c->closing)
		conn_free(c);
	else
		conn_emit(c, CONN_EV_ERROR);
	return 1;
}

static void
conn_read_tls(struct conn *c, uint32_t events)
{
	int r = tls_sock_read(c->tls, c->io.fd);
	if (r == -1) {
		c->error = errno;
		conn_emit(c, CONN_EV_ERROR);
		return;
	}
	if (r == 0 && !tls_want_read(c->tls) && (events & (EPOLLHUP | EPOLLERR)))
		r = -2;	/* the engine wants nothing, the socket is gone: no spinning on HUP */
	int got = conn_tls_take(c);
	if (got < 0) {
		conn_fail_later(c, ENOMEM);
		return;
	}
	if (tls_closed(c->tls) < 0) {
		(void)tls_sock_write(c->tls, c->io.fd);	/* the alert, best effort */
		c->error = EPROTO;
		c->tls_failed = 1;
		conn_emit(c, CONN_EV_ERROR);
		return;
	}
	/* the handshake answers, and queued output waiting for it goes now */
	if (conn_flush(c) < 0) {
		conn_emit(c, CONN_EV_ERROR);
		return;
	}
	if (conn_tls_failed(c))
		return;
	if (got && !c->paused) {
		conn_arm_timeout(c);
		conn_emit(c, CONN_EV_DATA);
		/* after conn_close_after_flush the owner hears nothing more */
		if (c->freed || c->closing)
			return;
	}
	if (r == -2 || tls_closed(c->tls) > 0) {
		c->eof = 1;
		conn_update_events(c);
		conn_emit(c, CONN_EV_EOF);
	}
}

static void
conn_read(struct conn *c)
{
	size_t avail;
	char *p = buf_space(&c->in, 4096, &avail);
	if (p == NULL) {
		conn_fail_later(c, ENOMEM);
		return;
	}
	ssize_t n = read(c->io.fd, p, avail);
	if (n > 0) {
		buf_commit(&c->in, (size_t)n);
		conn_arm_timeout(c);
		conn_emit(c, CONN_EV_DATA);
		return;
	}
	buf_shrink(&c->in);
	if (n == 0) {
		c->eof = 1;
		conn_update_events(c);
		conn_emit(c, CONN_EV_EOF);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		c->error = errno;
		conn_emit(c, CONN_EV_ERROR);
	}
}

static void
conn_io(struct loop_io *io, uint32_t events, void *arg)
{
	struct conn *c = arg;
	(void)io;

	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);
		/* connect() failed at once: the timer reports it; the socket's EPOLLOUT or
		 * EPOLLHUP here says nothing (SO_ERROR is already clear) */
		if (c->error_pending)
			return;
		if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		c->connecting = 0;
		if (err != 0) {
			c->error = err;
			if (c->closing)
				conn_free(c);
			else
				conn_emit(c, CONN_EV_ERROR);
			return;
		}
		conn_update_events(c);
		/* after conn_close_after_flush the queued output just goes out */
		if (!c->closing)
			conn_emit(c, CONN_EV_CONNECTED);
		return;
	}
	if (events & EPOLLOUT) {
		int had = !conn_out_empty(c);
		if (conn_flush(c) < 0) {
			if (c->closing) {
				conn_free(c);
				return;
			}
			conn_emit(c, CONN_EV_ERROR);
			return;
		}
		if (conn_tls_failed(c))
			return;
		conn_update_events(c);
		if (had && conn_out_empty(c)) {
			if (c->closing) {
				conn_free(c);
				return;
			}
			conn_emit(c, CONN_EV_DRAINED);
			if (c->freed)
				return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (c->closing || c->eof || c->freed)
			return;
		if (c->tls != NULL && (!c->paused || !tls_handshake_done(c->tls)))
			conn_read_tls(c, events);
		else if (!c->paused)
			conn_read(c);
		if (!c->freed)
			conn_update_events(c);
	}
}
