/* SPDX-License-Identifier: MIT */
/* applets/proxyd/relay.c: the established session: bytes both ways between client and
 * backend, nothing else. splice() through a pipe borrowed from a pool while bytes are in
 * flight (zero copies in user space), or read/write through a pooled buffer in copy
 * mode. An idle session holds neither: only this struct and two registered fds.
 * One direction is read only when everything read before has been written (back-
 * pressure without a high-water mark), so memory per session is bounded by one pipe
 * or one buffer per direction.
 *
 * With TLS on either side the bytes go through the engines' own buffers and nowhere
 * else: records are read into the source engine's input buffer and decrypted there;
 * the plaintext is sent straight from it (plaintext destination) or copied once into
 * the destination engine's output buffer (TLS on both sides); a plaintext source is
 * read straight into the destination engine's output buffer. No splice then. Records
 * an engine makes (alerts, close_notify) belong to the direction towards its peer. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "applets/proxyd/director.h"
#include "applets/proxyd/limits.h"
#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/relay.h"
#include "applets/proxyd/sessions.h"
#include "applets/proxyd/settings.h"
#include "applets/proxyd/stats.h"
#include "core/log.h"
#include "core/str.h"
#include "core/tls.h"

#define RELAY_SPLICE_MAX	(256 * 1024)	/* bytes per splice; the pipe is sized to hold it */
#define RELAY_ROUNDS		8	/* fill/flush rounds per wakeup, for fairness */
#define RELAY_HALFCLOSE_MS	30000	/* after one side closed, the other gets this long */
#define PIPE_POOL_MAX		64

struct pipe_pool {
	int fds[PIPE_POOL_MAX][2];
	unsigned int n;
};

static struct pipe_pool pipe_pool;	/* per process; proxyd workers are single-threaded */

static int
pipe_get(int p[2])
{
	if (pipe_pool.n > 0) {
		pipe_pool.n--;
		p[0] = pipe_pool.fds[pipe_pool.n][0];
		p[1] = pipe_pool.fds[pipe_pool.n][1];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	/* a bigger pipe moves a large FETCH in fewer wakeups; its pages exist only while
	 * bytes are in it, and the size is a hint (the default stays if refused) */
	(void)fcntl(p[1], F_SETPIPE_SZ, RELAY_SPLICE_MAX);
	return 0;
}

static void
pipe_put(int p[2], int clean)
{
	/* a pipe that may still hold bytes is never reused */
	if (clean && pipe_pool.n < PIPE_POOL_MAX) {
		pipe_pool.fds[pipe_pool.n][0] = p[0];
		pipe_pool.fds[pipe_pool.n][1] = p[1];
		pipe_pool.n++;
	} else {
		close(p[0]);
		close(p[1]);
	}
	p[0] = p[1] = -1;
}

/* The record of one backend address; kept for the process's life (backends are few). */
static struct backend_rec *
backend_rec_get(struct proxyd *pd, const struct ip_addr *ip, unsigned int port)
{
	for (struct backend_rec *b = pd->backends; b; b = b->next)
		if (b->port == port && ip_equal(&b->ip, ip))
			return b;
	struct backend_rec *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->ip = *ip;
	b->port = port;
	b->next = pd->backends;
	pd->backends = b;
	return b;
}

static size_t
dir_pending(const struct relay_dir *d)
{
	return d->in_pipe + buf_len(&d->buf);
}

/* The engines of a direction: S decrypts what comes from its source, D encrypts what
 * goes to its destination. */
static struct tls *
dir_src_tls(const struct relay *r, const struct relay_dir *d)
{
	return d == &r->up ? r->ctls : r->btls;
}

static struct tls *
dir_dst_tls(const struct relay *r, const struct relay_dir *d)
{
	return d == &r->up ? r->btls : r->ctls;
}

/* Bytes of this direction not yet handed to the destination's socket (0 or not). */
static int
dir_busy(const struct relay *r, const struct relay_dir *d)
{
	struct tls *S = dir_src_tls(r, d), *D = dir_dst_tls(r, d);
	size_t len;
	return dir_pending(d) > 0 || (S != NULL && tls_in(S, &len) != NULL) ||
	    (D != NULL && tls_want_write(D));
}

static void relay_io(struct loop_io *, uint32_t, void *);
static void relay_update(struct relay *);

static void
relay_free_cb(void *p)
{
	struct relay *r = p;
	buf_release(&r->up.buf);
	buf_release(&r->down.buf);
	tls_free(r->ctls);
	tls_free(r->btls);
	free(r->info);
	free(r);
}

static void
relay_close(struct relay *r, const char *side, const char *err)
{
	struct proxyd *pd = r->pd;
	if (r->closed)
		return;
	r->closed = 1;
	director_session_end(pd, r->info->conn_guid);
	unsigned int idle = (unsigned int)((loop_now(pd->loop) - r->last_io) / 1000);
	log_set_prefix(r->proto->log_prefix);
	/* Dovecot's line; in/out count the login dialogue too, as Dovecot's do */
	log_info("proxy(%s): Disconnected by %s%s%s (%us idle, in=%llu, out=%llu%s): %s",
	    r->info->log_name, side, err ? ": " : "", err ? err : "", idle,
	    (unsigned long long)r->up.bytes, (unsigned long long)r->down.bytes,
	    dir_busy(r, &r->down) ? "+buffered" : "", r->info->tail);
	loop_timer_cancel(pd->loop, &r->timer);
	for (int i = 0; i < 2; i++) {
		struct loop_io *io = i ? &r->bio : &r->cio;
		if (io->fd >= 0) {
			int fd = io->fd;
			loop_io_forget(io);
			close(fd);
		}
		struct relay_dir *d = i ? &r->down : &r->up;
		if (d->pipe[0] >= 0)
			pipe_put(d->pipe, 0);
	}
	if (r->backend)
		r->backend->proxying--;
	limits_session_gone(pd, r->proto);
	if (r->prev)
		r->prev->next = r->next;
	else
		pd->relays = r->next;
	if (r->next)
		r->next->prev = r->prev;
	pd->nrelays--;
	loop_defer_free(pd->loop, relay_free_cb, r);
}

/* Writes what is pending in d to fd. Returns 0, or -1 with errno on a hard error. */
static int
dir_flush(struct relay_dir *d, int fd)
{
	while (buf_len(&d->buf) > 0) {
		ssize_t n = send(fd, buf_data(&d->buf), buf_len(&d->buf), MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		buf_consume(&d->buf, (size_t)n);
	}
	while (d->in_pipe > 0) {
		ssize_t n = splice(d->pipe[0], NULL, fd, NULL, d->in_pipe, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		d->in_pipe -= (size_t)n;
	}
	if (d->pipe[0] >= 0)
		pipe_put(d->pipe, 1);
	return 0;
}

/* Reads once from src into d. Returns 1 if bytes came, 0 on EAGAIN, -2 on EOF, -1 on
 * error (errno). */
static int
dir_fill(struct relay *r, struct relay_dir *d, int src)
{
	ssize_t n;
	/* out of descriptors for a pipe (EMFILE): this read goes through the buffer */
	if (r->pd->set->relay_splice && (d->pipe[0] >= 0 || pipe_get(d->pipe) == 0)) {
		n = splice(src, NULL, d->pipe[1], NULL, RELAY_SPLICE_MAX, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0)
			d->in_pipe = (size_t)n;
		else
			pipe_put(d->pipe, 1);
	} else {
		size_t avail;
		char *p = buf_space(&d->buf, BUF_BLOCK, &avail);
		if (p == NULL) {
			errno = ENOMEM;
			return -1;
		}
		n = read(src, p, avail);
		if (n > 0)
			buf_commit(&d->buf, (size_t)n);
		else
			buf_shrink(&d->buf);
	}
	if (n > 0) {
		d->bytes += (uint64_t)n;
		stats_relayed(r, d, (uint64_t)n);
		return 1;
	}
	if (n == 0)
		return -2;
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

/* TLS mode: reads once from src. With a TLS source, records go into its engine; with a
 * plaintext source, bytes go straight into the destination engine's output buffer.
 * Returns as dir_fill; on -1 *why says what failed. */
static int
dir_fill_tls(struct relay *r, struct relay_dir *d, int src, const char **why)
{
	struct tls *S = dir_src_tls(r, d), *D = dir_dst_tls(r, d);
	ssize_t n;
	*why = NULL;
	if (S != NULL) {
		int got = tls_sock_read(S, src);
		if (got == -1)
			return -1;
		if (tls_closed(S) < 0) {
			(void)tls_sock_write(S, src);	/* the alert, best effort */
			*why = tls_error(S);
			return -1;
		}
		if (tls_closed(S) > 0)
			return -2;
		return got;
	}
	size_t room;
	unsigned char *p = tls_out(D, &room);
	if (p == NULL)
		return 0;
	n = read(src, p, room);
	if (n > 0) {
		tls_out_ack(D, (size_t)n);
		d->bytes += (uint64_t)n;
		stats_relayed(r, d, (uint64_t)n);
		return 1;
	}
	if (n == 0)
		return -2;
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

/* TLS mode: hands everything of this direction to the destination: the login's left-
 * overs first, then the source engine's plaintext; sends the destination engine's
 * records. Returns 0, or -1 (errno, or *why for an engine failure). */
static int
dir_flush_tls(struct relay *r, struct relay_dir *d, int dst, const char **why)
{
	struct tls *S = dir_src_tls(r, d), *D = dir_dst_tls(r, d);
	*why = NULL;
	for (;;) {
		if (D != NULL) {
			if (tls_sock_write(D, dst) < 0)
				return -1;
			if (tls_closed(D) < 0) {
				*why = tls_error(D);
				return -1;
			}
			if (tls_want_write(D))
				return 0;
		}
		const unsigned char *src;
		size_t len, n;
		int from_buf = buf_len(&d->buf) > 0;
		if (from_buf) {
			src = (const unsigned char *)buf_data(&d->buf);
			len = buf_len(&d->buf);
		} else if (S == NULL || (src = tls_in(S, &len)) == NULL) {
			return 0;
		}
		if (D != NULL) {
			size_t room;
			unsigned char *p = tls_out(D, &room);
			if (p == NULL)
				return 0;
			n = len < room ? len : room;
			memcpy(p, src, n);
			tls_out_ack(D, n);
		} else {
			ssize_t w = send(dst, src, len, MSG_NOSIGNAL);
			if (w < 0)
				return errno == EAGAIN || errno == EINTR ? 0 : -1;
			n = (size_t)w;
		}
		if (from_buf) {
			buf_consume(&d->buf, n);
		} else {
			tls_in_ack(S, n);
			d->bytes += n;
			stats_relayed(r, d, n);
		}
	}
}

static void
relay_halfclose_timeout(struct loop_timer *t, void *arg)
{
	struct relay *r = arg;
	(void)t;
	relay_close(r, r->up.eof ? "client" : "server", NULL);
}

/* login_proxy_max_disconnect_delay: when a backend drops many sessions at once, their
 * clients would all reconnect at once. Each backend keeps the count of sessions and of
 * server-side disconnects in the current second; past ceil((sessions + disconnects) /
 * max_delay_secs) disconnects in one second, further client closes are put into 100 ms
 * slots (from a random 0-99 ms offset), filling each slot with that many per second / 10,
 * up to max_delay. The backend side is closed at once; the client waits, its input
 * unread. As Dovecot's login-proxy, in spirit; see docs/proxyd.8.md. */
static void
relay_delayed_close(struct loop_timer *t, void *arg)
{
	(void)t;
	relay_close(arg, "server", NULL);
}

static int
relay_delay_disconnect(struct relay *r)
{
	struct proxyd *pd = r->pd;
	struct backend_rec *b = r->backend;
	unsigned int max_ms = pd->set->login_proxy_max_disconnect_delay_ms;
	uint64_t now = loop_now(pd->loop);

	if (b == NULL || r->delayed)
		return 0;
	/* the backend side is gone: this session no longer counts as proxying */
	r->backend = NULL;
	b->proxying--;
	if (max_ms == 0)
		return 0;
	/* a burst is what happens within a second of its first disconnect (not a calendar
	 * second: a burst that straddles one would be cut in two) */
	if (b->disconnects == 0 || now - b->burst_start > 1000) {
		b->burst_start = now;
		b->disconnects = 0;
		b->delayed = 0;
	}
	b->disconnects++;
	unsigned int secs = (max_ms + 999) / 1000;
	unsigned int per_sec = (b->proxying + b->disconnects + secs - 1) / secs;
	if (b->disconnects <= per_sec)
		return 0;
	unsigned int per_slot = per_sec / 10 ? per_sec / 10 : 1;
	uint64_t delay = (uint64_t)(random() % 100) + 100ULL * (b->delayed++ / per_slot);
	if (delay > max_ms)
		delay = max_ms;
	int fd = r->bio.fd;
	loop_io_forget(&r->bio);
	close(fd);
	loop_io_set(pd->loop, &r->cio, 0);
	r->delayed = 1;
	if (loop_timer_set(pd->loop, &r->timer, delay, relay_delayed_close, r) < 0)
		return 0;
	return 1;
}

/* One direction: d carries bytes from src (io_src) to dst. side names src in logs. */
static void
relay_pump(struct relay *r, struct relay_dir *d, struct loop_io *src, struct loop_io *dst,
    const char *side, const char *other)
{
	/* keep moving while both sides keep up, a few rounds at most so that one busy
	 * session does not starve the others */
	int tls = r->ctls != NULL || r->btls != NULL;
	const char *why = NULL;
	for (int round = 0; round < RELAY_ROUNDS; round++) {
		int got = 0;
		if (!(tls ? dir_busy(r, d) : dir_pending(d) > 0) && !d->eof) {
			got = tls ? dir_fill_tls(r, d, src->fd, &why) : dir_fill(r, d, src->fd);
			if (got == -1) {
				relay_close(r, side, why ? why : strerror(errno));
				return;
			}
			if (got == -2) {
				d->eof = 1;
				if (r->first_eof == NULL)
					r->first_eof = side;
			}
			if (got == 1)
				r->last_io = loop_now(r->pd->loop);
		}
		if ((tls ? dir_flush_tls(r, d, dst->fd, &why) : dir_flush(d, dst->fd)) < 0) {
			relay_close(r, other, why ? why : strerror(errno));
			return;
		}
		if (got != 1 || (tls ? dir_busy(r, d) : dir_pending(d) > 0))
			break;
	}
	if (d->eof && !(tls ? dir_busy(r, d) : dir_pending(d) > 0) && !d->shut) {
		if (d == &r->down && relay_delay_disconnect(r))
			return;
		d->shut = 1;
		struct tls *D = dir_dst_tls(r, d);
		if (D != NULL) {
			/* close_notify, best effort: the peer learns the end was not a cut */
			tls_close(D);
			(void)tls_sock_write(D, dst->fd);
		}
		shutdown(dst->fd, SHUT_WR);
		struct relay_dir *o = d == &r->up ? &r->down : &r->up;
		if (o->shut) {
			relay_close(r, r->first_eof, NULL);
			return;
		}
		loop_timer_set(r->pd->loop, &r->timer, RELAY_HALFCLOSE_MS, relay_halfclose_timeout, r);
	}
}

static void
relay_update(struct relay *r)
{
	uint32_t cev = 0, bev = 0;
	if (r->closed || r->delayed)
		return;
	if (r->ctls != NULL || r->btls != NULL) {
		int upb = dir_busy(r, &r->up), downb = dir_busy(r, &r->down);
		if (!r->up.eof && !upb && (r->ctls == NULL || tls_want_read(r->ctls)))
			cev |= EPOLLIN;
		if (downb)
			cev |= EPOLLOUT;
		if (!r->down.eof && !downb && (r->btls == NULL || tls_want_read(r->btls)))
			bev |= EPOLLIN;
		if (upb)
			bev |= EPOLLOUT;
	} else {
		if (!r->up.eof && dir_pending(&r->up) == 0)
			cev |= EPOLLIN;
		if (dir_pending(&r->down) > 0)
			cev |= EPOLLOUT;
		if (!r->down.eof && dir_pending(&r->down) == 0)
			bev |= EPOLLIN;
		if (dir_pending(&r->up) > 0)
			bev |= EPOLLOUT;
	}
	if (loop_io_set(r->pd->loop, &r->cio, cev) < 0 || loop_io_set(r->pd->loop, &r->bio, bev) < 0)
		relay_close(r, "client", strerror(errno));
}

static void
relay_io(struct loop_io *io, uint32_t events, void *arg)
{
	struct relay *r = arg;
	(void)events;
	if (io == &r->cio)
		relay_pump(r, &r->up, &r->cio, &r->bio, "client", "server");
	else
		relay_pump(r, &r->down, &r->bio, &r->cio, "server", "client");
	/* the other direction may have been waiting for this fd to become writable */
	if (!r->closed) {
		if (io == &r->cio)
			relay_pump(r, &r->down, &r->bio, &r->cio, "server", "client");
		else
			relay_pump(r, &r->up, &r->cio, &r->bio, "client", "server");
	}
	relay_update(r);
}

int
relay_start(struct client *c)
{
	struct proxyd *pd = c->pd;
	struct relay *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -1;
	r->info = client_relay_info(c);
	if (r->info == NULL) {
		free(r);
		return -1;
	}
	r->pd = pd;
	r->proto = c->proto;
	r->up.pipe[0] = r->up.pipe[1] = r->down.pipe[0] = r->down.pipe[1] = -1;
	r->started = loop_wall(pd->loop);
	r->last_io = loop_now(pd->loop);

	/* bytes still queued or buffered by the login dialogue go first, in order */
	struct buf cin = { 0 }, cout = { 0 }, bin = { 0 }, bout = { 0 };
	r->up.bytes = conn_bytes_out(c->backend);
	r->down.bytes = conn_bytes_out(c->conn);
	/* the registrations move to the relay with the events it wants (one epoll_ctl per
	 * fd): both sides readable, and writable where the login left bytes to send */
	size_t cin_len, bin_len;
	conn_peek(c->conn, &cin_len);
	conn_peek(c->backend, &bin_len);
	size_t up = conn_out_pending(c->backend) + cin_len, down = conn_out_pending(c->conn) + bin_len;
	uint32_t cev = (up ? 0 : EPOLLIN) | (down ? EPOLLOUT : 0);
	uint32_t bev = (down ? 0 : EPOLLIN) | (up ? EPOLLOUT : 0);
	int cfd = conn_detach(c->conn, &cin, &cout, &r->ctls, &r->cio, cev, relay_io, r);
	int bfd = conn_detach(c->backend, &bin, &bout, &r->btls, &r->bio, bev, relay_io, r);
	r->down.buf = cout;
	r->up.buf = bout;
	if (buf_append(&r->down.buf, buf_data(&bin), buf_len(&bin)) < 0 ||
	    buf_append(&r->up.buf, buf_data(&cin), buf_len(&cin)) < 0)
		r->oom = 1;
	buf_release(&cin);
	buf_release(&bin);

	sessions_alt_keys_note(pd, r->info->alt_keys, r->info->nalt);
	r->backend = backend_rec_get(pd, &c->dest.ip, c->dest.port);
	if (r->backend)
		r->backend->proxying++;
	r->next = pd->relays;
	if (r->next)
		r->next->prev = r;
	pd->relays = r;
	pd->nrelays++;
	/* bytes go out as they come, as Dovecot's proxy does: without this, the small last
	 * piece of a large response waits for the peer's delayed ACK (40 ms on Linux). The
	 * client socket has it from its listener (Linux copies it on accept). */
	int one = 1;
	setsockopt(bfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (cfd < 0 || bfd < 0)
		r->oom = 1;
	if (r->oom) {
		relay_close(r, "server", "out of memory");
		return 0;
	}
	if (r->ctls != NULL || r->btls != NULL) {
		/* the login's leftovers and engine records go out now; the events follow */
		relay_pump(r, &r->down, &r->bio, &r->cio, "server", "client");
		if (!r->closed)
			relay_pump(r, &r->up, &r->cio, &r->bio, "client", "server");
	}
	relay_update(r);
	return 0;
}

void
relay_kick(struct relay *r, const char *reason)
{
	char line[256];
	METRICS_INC(stats_kicks, r->proto->name);
	/* the client's last words, best effort: only when no reply is half-way through */
	if (!dir_busy(r, &r->down) && r->cio.fd >= 0 && r->proto->bye_fmt) {
		size_t n = str_fmt(line, sizeof(line), r->proto->bye_fmt, reason), room = 0;
		unsigned char *p = r->ctls ? tls_out(r->ctls, &room) : NULL;
		if (n < sizeof(line) && r->ctls == NULL) {
			(void)send(r->cio.fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else if (n < sizeof(line) && p != NULL && room >= n) {
			memcpy(p, line, n);
			tls_out_ack(r->ctls, n);
			(void)tls_sock_write(r->ctls, r->cio.fd);
		}
	}
	relay_close(r, "proxy", reason);
}

void
relay_shutdown_all(struct proxyd *pd)
{
	while (pd->relays)
		relay_close(pd->relays, "proxy", "Process shutting down");	/* Dovecot's words */
	while (pd->backends) {
		struct backend_rec *b = pd->backends;
		pd->backends = b->next;
		free(b);
	}
	while (pipe_pool.n > 0) {
		pipe_pool.n--;
		close(pipe_pool.fds[pipe_pool.n][0]);
		close(pipe_pool.fds[pipe_pool.n][1]);
	}
}
