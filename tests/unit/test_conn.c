/* SPDX-License-Identifier: MIT */
/* core/conn.h over socketpairs and loopback TCP: lines, limits, the output queue,
 * close-after-flush, EOF, idle timeout, pause/resume, connect, detach, and freeing a
 * connection inside its own callback. The peer is driven from the same loop. Every test
 * arms a guard timer so that a missing event fails the test instead of hanging it. */
#include "tests/unit/unit.h"
#include "core/buf.h"
#include "core/conn.h"
#include "core/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define GUARD_MS	5000
#define NEV		(CONN_EV_ERROR + 1)

/* ---- helpers ---- */

struct stopper {
	struct loop_timer t;
	struct loop *l;
	int fired;
};

static void
stopper_cb(struct loop_timer *t, void *arg)
{
	struct stopper *s = arg;
	(void)t;
	s->fired = 1;
	loop_stop(s->l);
}

static void
stopper_arm(struct loop *l, struct stopper *s, uint64_t msec)
{
	memset(s, 0, sizeof(*s));
	s->l = l;
	CHECK_INT(loop_timer_set(l, &s->t, msec, stopper_cb, s), 0);
}

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void
make_pair(int sv[2])
{
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static char *
pattern(size_t n)
{
	char *p = malloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(i % 251);
	return p;
}

static uint64_t
cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Records every event; a callback after conn_free (or after close_after_flush) fails. */
struct rec {
	struct loop *l;
	struct conn *c;
	int n[NEV];
	int seq[64];
	int nseq;
	int gone;		/* freed or closing: no callback may follow */
	int in_call;		/* the test is inside a conn_* call */
	int err;
	uint64_t at[NEV];
};

static void
rec_event(struct rec *r, struct conn *c, enum conn_event ev)
{
	if (r->gone)
		unit_fail(__FILE__, __LINE__, "callback (event %d) after the connection was given up", ev);
	if (r->in_call)
		unit_fail(__FILE__, __LINE__, "callback (event %d) from inside a conn_* call", ev);
	CHECK(c == r->c);
	if ((int)ev >= 0 && ev < NEV) {
		r->n[ev]++;
		r->at[ev] = loop_now(r->l);
	}
	if (r->nseq < (int)(sizeof(r->seq) / sizeof(r->seq[0])))
		r->seq[r->nseq++] = ev;
	if (ev == CONN_EV_ERROR)
		r->err = conn_error(c);
}

static void
rec_free(struct rec *r)
{
	conn_free(r->c);
	r->gone = 1;
}

/* A peer reading everything into a buffer from the loop. */
struct reader {
	struct loop *l;
	struct loop_io io;
	struct loop_timer start;
	char *buf;
	size_t cap, got, want;
	int eof;
	int stop_at_eof;
	const char *echo;	/* written back after every read */
};

static void
reader_io(struct loop_io *io, uint32_t events, void *arg)
{
	struct reader *rd = arg;
	(void)events;
	for (;;) {
		char tmp[65536];
		char *p = rd->got < rd->cap ? rd->buf + rd->got : tmp;
		size_t room = rd->got < rd->cap ? rd->cap - rd->got : sizeof(tmp);
		ssize_t n = read(io->fd, p, room);
		if (n > 0) {
			if (p == tmp)
				unit_fail(__FILE__, __LINE__, "peer got more than expected");
			else
				rd->got += (size_t)n;
			if (rd->echo)
				CHECK(write(io->fd, rd->echo, strlen(rd->echo)) > 0);
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			rd->eof = 1;
			loop_io_del(rd->l, io);
			if (rd->stop_at_eof)
				loop_stop(rd->l);
		}
		break;
	}
	if (rd->want && rd->got >= rd->want && !rd->stop_at_eof)
		loop_stop(rd->l);
}

static void
reader_start_cb(struct loop_timer *t, void *arg)
{
	struct reader *rd = arg;
	(void)t;
	CHECK_INT(loop_io_add(rd->l, &rd->io, rd->io.fd, EPOLLIN, reader_io, rd), 0);
}

/* Starts reading fd after delay ms. */
static void
reader_init(struct reader *rd, struct loop *l, int fd, size_t cap, uint64_t delay)
{
	memset(rd, 0, sizeof(*rd));
	rd->l = l;
	rd->buf = malloc(cap ? cap : 1);
	rd->cap = cap;
	rd->io.fd = fd;
	nonblock(fd);
	CHECK_INT(loop_timer_set(l, &rd->start, delay, reader_start_cb, rd), 0);
}

static void
reader_done(struct reader *rd)
{
	loop_timer_cancel(rd->l, &rd->start);
	loop_io_del(rd->l, &rd->io);
	free(rd->buf);
}

/* ---- lines and EOF ---- */

struct lines {
	struct rec r;
	char line[8][64];
	size_t len[8];
	int nlines;
	char tail[64];
	int data_after_eof;
};

static void
lines_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct lines *s = arg;
	char *line;
	size_t len;
	int rc;
	rec_event(&s->r, c, ev);
	switch (ev) {
	case CONN_EV_DATA:
		if (s->r.n[CONN_EV_EOF])
			s->data_after_eof = 1;
		while ((rc = conn_getline(c, &line, &len)) == 1 && s->nlines < 8) {
			snprintf(s->line[s->nlines], sizeof(s->line[0]), "%s", line);
			s->len[s->nlines++] = len;
		}
		CHECK_INT(rc, 0);
		break;
	case CONN_EV_EOF: {
		size_t n;
		const char *p = conn_peek(c, &n);
		snprintf(s->tail, sizeof(s->tail), "%.*s", (int)n, p ? p : "");
		rec_free(&s->r);
		loop_stop(s->r.l);
		break;
	}
	default:
		unit_fail(__FILE__, __LINE__, "unexpected event %d", ev);
		rec_free(&s->r);
		loop_stop(s->r.l);
	}
}

TEST(lines_crlf_lf_then_eof)
{
	/* mode 0: the peer shuts its write side; mode 1: it closes the socket */
	for (int mode = 0; mode < 2; mode++) {
		struct lines s = { 0 };
		struct stopper guard;
		int sv[2];
		make_pair(sv);
		s.r.l = loop_new();
		s.r.c = conn_new(s.r.l, sv[0], 100, lines_cb, &s);
		CHECK(s.r.c != NULL);
		CHECK_INT(conn_fd(s.r.c), sv[0]);
		CHECK(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
		const char msg[] = "a1 NOOP\r\nb2 LOGIN x\n\r\n\nlast";
		CHECK_INT(write(sv[1], msg, sizeof(msg) - 1), (long long)sizeof(msg) - 1);
		if (mode == 0)
			shutdown(sv[1], SHUT_WR);
		else
			close(sv[1]);
		stopper_arm(s.r.l, &guard, GUARD_MS);
		CHECK_INT(loop_run(s.r.l), 0);
		CHECK(!guard.fired);
		CHECK_INT(s.nlines, 4);
		CHECK_STR(s.line[0], "a1 NOOP");
		CHECK_INT(s.len[0], 7);
		CHECK_STR(s.line[1], "b2 LOGIN x");
		CHECK_INT(s.len[1], 10);
		CHECK_STR(s.line[2], "");
		CHECK_STR(s.line[3], "");
		CHECK_INT(s.len[3], 0);
		/* EOF exactly once, after the data, with the unterminated tail still buffered */
		CHECK_INT(s.r.n[CONN_EV_EOF], 1);
		CHECK(s.r.n[CONN_EV_DATA] >= 1);
		CHECK_INT(s.r.seq[0], CONN_EV_DATA);
		CHECK_INT(s.r.seq[s.r.nseq - 1], CONN_EV_EOF);
		CHECK(!s.data_after_eof);
		CHECK_STR(s.tail, "last");
		if (mode == 0)
			close(sv[1]);
		loop_timer_cancel(s.r.l, &guard.t);
		loop_free(s.r.l);
	}
}

/* ---- the line limit ---- */

struct limit {
	struct rec r;
	int peer;
	int phase;
	char first[64];
	size_t firstlen;
	char rest[64];
};

static void
limit_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct limit *s = arg;
	char *line;
	size_t len;
	rec_event(&s->r, c, ev);
	if (ev != CONN_EV_DATA) {
		unit_fail(__FILE__, __LINE__, "unexpected event %d", ev);
		loop_stop(s->r.l);
		return;
	}
	if (s->phase == 0) {
		/* exactly line_max bytes, then one byte too many */
		int rc = conn_getline(c, &line, &len);
		if (rc == 0)
			return;
		CHECK_INT(rc, 1);
		snprintf(s->first, sizeof(s->first), "%s", line);
		s->firstlen = len;
		rc = conn_getline(c, &line, &len);
		CHECK_INT(rc, -1);
		/* the buffer is left as it was: the caller decides */
		size_t n;
		const char *p = conn_peek(c, &n);
		snprintf(s->rest, sizeof(s->rest), "%.*s", (int)n, p ? p : "");
		conn_consume(c, n);
		CHECK(conn_peek(c, &n) == NULL);
		CHECK_INT(n, 0);
		CHECK_INT(conn_getline(c, &line, &len), 0);
		s->phase = 1;
		/* now 40 bytes without any LF: too long before the line ends */
		CHECK_INT(write(s->peer, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 40), 40);
		return;
	}
	int rc = conn_getline(c, &line, &len);
	if (rc == 0)
		return;
	CHECK_INT(rc, -1);
	s->phase = 2;
	loop_stop(s->r.l);
}

TEST(line_limit)
{
	struct limit s = { 0 };
	struct stopper guard;
	int sv[2];
	make_pair(sv);
	s.peer = sv[1];
	s.r.l = loop_new();
	s.r.c = conn_new(s.r.l, sv[0], 16, limit_cb, &s);
	const char msg[] = "0123456789abcdef\r\n0123456789abcdefX\n";
	CHECK_INT(write(sv[1], msg, sizeof(msg) - 1), (long long)sizeof(msg) - 1);
	stopper_arm(s.r.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(s.r.l), 0);
	CHECK(!guard.fired);
	CHECK_STR(s.first, "0123456789abcdef");
	CHECK_INT(s.firstlen, 16);
	CHECK_STR(s.rest, "0123456789abcdefX\n");
	CHECK_INT(s.phase, 2);
	/* the 40 buffered bytes are within a larger limit: no line yet, not too long */
	char *line;
	size_t len;
	conn_set_line_max(s.r.c, 100);
	CHECK_INT(conn_getline(s.r.c, &line, &len), 0);
	conn_free(s.r.c);
	close(sv[1]);
	loop_timer_cancel(s.r.l, &guard.t);
	loop_free(s.r.l);
}

/* ---- the output queue ---- */

#define QFIRST	(1024 * 1024)
#define QTOTAL	(4 * 1024 * 1024)

struct queue {
	struct rec r;
	struct reader rd;
	struct loop_timer check;
	size_t pending_before;
	size_t pending_at_check;
	int events_at_check;
};

static void
queue_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct queue *s = arg;
	rec_event(&s->r, c, ev);
	if (ev != CONN_EV_DRAINED) {
		unit_fail(__FILE__, __LINE__, "unexpected event %d", ev);
		loop_stop(s->r.l);
		return;
	}
	CHECK_INT(conn_out_pending(c), 0);
}

static void
queue_check(struct loop_timer *t, void *arg)
{
	struct queue *s = arg;
	(void)t;
	s->pending_at_check = conn_out_pending(s->r.c);
	s->events_at_check = s->r.nseq;
}

TEST(write_queue_grows_then_drains)
{
	struct queue s = { 0 };
	struct stopper guard;
	int sv[2];
	make_pair(sv);
	s.r.l = loop_new();
	s.r.c = conn_new(s.r.l, sv[0], 100, queue_cb, &s);
	char *data = pattern(QTOTAL);
	/* the peer does not read: the socket fills and the rest is queued */
	s.r.in_call = 1;
	CHECK_INT(conn_write(s.r.c, data, QFIRST), 0);
	size_t p1 = conn_out_pending(s.r.c);
	CHECK(p1 > 0 && p1 < QFIRST);
	CHECK_INT(conn_write(s.r.c, data + QFIRST, QTOTAL - QFIRST - 2000 - 8), 0);
	CHECK_INT(conn_out_pending(s.r.c), p1 + QTOTAL - QFIRST - 2000 - 8);
	/* puts and printf queue behind, in order; printf longer than any small buffer */
	size_t off = QTOTAL - 2000 - 8;
	CHECK_INT(conn_puts(s.r.c, "\001\002\003"), 0);
	memcpy(data + off, "\001\002\003", 3);
	off += 3;
	char big[2001];
	memset(big, 'z', 2000);
	big[2000] = '\0';
	CHECK_INT(conn_printf(s.r.c, "%s%d\r\n", big, 42), 0);
	memcpy(data + off, big, 2000);
	memcpy(data + off + 2000, "42\r\n", 4);
	off += 2004;
	CHECK_INT(conn_write(s.r.c, "e", 1), 0);
	data[off++] = 'e';
	CHECK_INT(off, QTOTAL);
	s.r.in_call = 0;
	s.pending_before = conn_out_pending(s.r.c);
	CHECK_INT(s.pending_before, p1 + QTOTAL - QFIRST);

	/* nothing happens while the peer does not read; then it reads everything */
	CHECK_INT(loop_timer_set(s.r.l, &s.check, 30, queue_check, &s), 0);
	reader_init(&s.rd, s.r.l, sv[1], QTOTAL, 60);
	s.rd.want = QTOTAL;
	stopper_arm(s.r.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(s.r.l), 0);
	/* the reader may finish just before the DRAINED turn: give it one more turn */
	if (s.r.n[CONN_EV_DRAINED] == 0 && !guard.fired) {
		struct stopper t2;
		stopper_arm(s.r.l, &t2, 20);
		loop_run(s.r.l);
	}
	CHECK(!guard.fired);
	CHECK_INT(s.pending_at_check, s.pending_before);
	CHECK_INT(s.events_at_check, 0);
	CHECK_INT(s.r.n[CONN_EV_DRAINED], 1);
	CHECK_INT(s.r.nseq, 1);
	CHECK_INT(conn_out_pending(s.r.c), 0);
	CHECK_INT(s.rd.got, QTOTAL);
	CHECK(memcmp(s.rd.buf, data, QTOTAL) == 0);
	conn_free(s.r.c);
	reader_done(&s.rd);
	close(sv[1]);
	free(data);
	loop_timer_cancel(s.r.l, &guard.t);
	loop_free(s.r.l);
}

/* ---- close after flush ---- */

static void
never_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct rec *r = arg;
	(void)c;
	unit_fail(__FILE__, __LINE__, "callback (event %d) after conn_close_after_flush", ev);
	loop_stop(r->l);
}

TEST(close_after_flush_delivers_everything)
{
	/* delay: when the peer starts reading; the idle timeout is longer */
	for (int mode = 0; mode < 3; mode++) {
		struct rec r = { 0 };
		struct reader rd;
		struct stopper guard;
		int sv[2];
		make_pair(sv);
		r.l = loop_new();
		r.c = conn_new(r.l, sv[0], 100, never_cb, &r);
		size_t total = mode == 0 ? 10 : 2 * 1024 * 1024;
		char *data = pattern(total);
		CHECK_INT(write(sv[1], "ignored input\r\n", 15), 15);
		if (mode == 2)
			conn_set_timeout(r.c, 2000);
		CHECK_INT(conn_write(r.c, data, total), 0);
		conn_close_after_flush(r.c);
		reader_init(&rd, r.l, sv[1], total, mode == 0 ? 0 : 40);
		rd.stop_at_eof = 1;
		stopper_arm(r.l, &guard, GUARD_MS);
		CHECK_INT(loop_run(r.l), 0);
		CHECK(!guard.fired);
		CHECK(rd.eof);
		CHECK_INT(rd.got, total);
		CHECK(memcmp(rd.buf, data, total) == 0);
		reader_done(&rd);
		close(sv[1]);
		free(data);
		loop_timer_cancel(r.l, &guard.t);
		loop_free(r.l);
	}
}

/* A command answered with a final reply while more input waits and conn_resume() has
 * just asked for it to be reported: the reply still goes out whole, with no callback. */
struct kick {
	struct rec r;
	char *data;
	size_t total;
};

static void
kick_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct kick *s = arg;
	char *line;
	size_t len;
	rec_event(&s->r, c, ev);
	if (ev != CONN_EV_DATA || conn_getline(c, &line, &len) != 1)
		return;
	CHECK_STR(line, "a1 LOGOUT");
	conn_resume(c);		/* "a2 NOOP" is buffered: it would be reported next turn */
	CHECK_INT(conn_write(c, s->data, s->total), 0);
	conn_close_after_flush(c);
	s->r.gone = 1;
}

TEST(close_after_flush_cancels_resume)
{
	struct kick s = { 0 };
	struct reader rd;
	struct stopper guard;
	int sv[2];
	make_pair(sv);
	s.total = 512 * 1024;
	s.data = pattern(s.total);
	s.r.l = loop_new();
	s.r.c = conn_new(s.r.l, sv[0], 100, kick_cb, &s);
	CHECK_INT(write(sv[1], "a1 LOGOUT\r\na2 NOOP\r\n", 20), 20);
	reader_init(&rd, s.r.l, sv[1], s.total, 30);
	rd.stop_at_eof = 1;
	stopper_arm(s.r.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(s.r.l), 0);
	CHECK(!guard.fired);
	CHECK_INT(s.r.n[CONN_EV_DATA], 1);
	CHECK(rd.eof);
	CHECK_INT(rd.got, s.total);
	CHECK(memcmp(rd.buf, s.data, s.total) == 0);
	reader_done(&rd);
	close(sv[1]);
	free(s.data);
	loop_timer_cancel(s.r.l, &guard.t);
	loop_free(s.r.l);
}

TEST(close_after_flush_empty_closes_at_once)
{
	struct rec r = { 0 };
	int sv[2];
	char c;
	make_pair(sv);
	r.l = loop_new();
	r.c = conn_new(r.l, sv[0], 100, never_cb, &r);
	conn_close_after_flush(r.c);
	CHECK_INT(read(sv[1], &c, 1), 0);
	close(sv[1]);
	loop_free(r.l);
}

/* The idle timeout expires while the peer refuses to read the final output: the
 * callback must not be called (the owner may be gone); the connection goes away. */
TEST(close_after_flush_timeout_calls_no_callback)
{
	struct rec r = { 0 };
	struct stopper guard;
	int sv[2];
	make_pair(sv);
	r.l = loop_new();
	r.c = conn_new(r.l, sv[0], 100, never_cb, &r);
	char *data = pattern(1024 * 1024);
	conn_set_timeout(r.c, 20);
	CHECK_INT(conn_write(r.c, data, 1024 * 1024), 0);
	CHECK(conn_out_pending(r.c) > 0);
	conn_close_after_flush(r.c);
	stopper_arm(r.l, &guard, 150);
	CHECK_INT(loop_run(r.l), 0);
	CHECK(guard.fired);
	/* the socket was closed: the peer reads what had been sent, then EOF */
	nonblock(sv[1]);
	char buf[65536];
	ssize_t n;
	size_t got = 0;
	while ((n = read(sv[1], buf, sizeof(buf))) > 0)
		got += (size_t)n;
	CHECK_INT(n, 0);
	CHECK(got > 0 && got < 1024 * 1024);
	close(sv[1]);
	free(data);
	loop_free(r.l);
}

/* ---- idle timeout ---- */

struct idle {
	struct rec r;
	int peer;
	struct loop_timer poke;
	int pokes;
	uint64_t start;
	uint64_t last_data;
};

static void
idle_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct idle *s = arg;
	rec_event(&s->r, c, ev);
	if (ev == CONN_EV_DATA) {
		size_t n;
		conn_peek(c, &n);
		conn_consume(c, n);
		s->last_data = loop_now(s->r.l);
		return;
	}
	CHECK_INT(ev, CONN_EV_TIMEOUT);
	rec_free(&s->r);
	loop_stop(s->r.l);
}

static void
idle_poke(struct loop_timer *t, void *arg)
{
	struct idle *s = arg;
	CHECK_INT(write(s->peer, "x", 1), 1);
	if (++s->pokes < 5)
		CHECK_INT(loop_timer_set(s->r.l, t, 30, idle_poke, s), 0);
}

TEST(idle_timeout)
{
	/* mode 0: silent peer; mode 1: input every 30 ms for a while restarts it (the
	 * timeout is far longer than that, so that a loaded machine does not fail this) */
	for (int mode = 0; mode < 2; mode++) {
		struct idle s = { 0 };
		struct stopper guard;
		int sv[2];
		make_pair(sv);
		s.peer = sv[1];
		s.r.l = loop_new();
		s.r.c = conn_new(s.r.l, sv[0], 100, idle_cb, &s);
		s.start = loop_now(s.r.l);
		conn_set_timeout(s.r.c, 150);
		if (mode == 1)
			CHECK_INT(loop_timer_set(s.r.l, &s.poke, 30, idle_poke, &s), 0);
		stopper_arm(s.r.l, &guard, GUARD_MS);
		CHECK_INT(loop_run(s.r.l), 0);
		CHECK(!guard.fired);
		CHECK_INT(s.r.n[CONN_EV_TIMEOUT], 1);
		CHECK(s.r.at[CONN_EV_TIMEOUT] >= s.start + 150);
		if (mode == 1) {
			CHECK_INT(s.pokes, 5);
			CHECK(s.r.n[CONN_EV_DATA] >= 1);
			CHECK(s.r.at[CONN_EV_TIMEOUT] >= s.last_data + 150);
			CHECK(s.r.at[CONN_EV_TIMEOUT] >= s.start + 150 + 150);
		}
		loop_timer_cancel(s.r.l, &s.poke);
		loop_timer_cancel(s.r.l, &guard.t);
		close(sv[1]);
		loop_free(s.r.l);
	}
}

TEST(idle_timeout_zero_disables)
{
	struct idle s = { 0 };
	struct stopper guard;
	int sv[2];
	make_pair(sv);
	s.r.l = loop_new();
	s.r.c = conn_new(s.r.l, sv[0], 100, idle_cb, &s);
	conn_set_timeout(s.r.c, 20);
	conn_set_timeout(s.r.c, 0);
	stopper_arm(s.r.l, &guard, 80);
	CHECK_INT(loop_run(s.r.l), 0);
	CHECK(guard.fired);
	CHECK_INT(s.r.nseq, 0);
	conn_free(s.r.c);
	close(sv[1]);
	loop_free(s.r.l);
}

/* ---- pause and resume ---- */

struct pause {
	struct rec r;
	int peer;
	struct loop_timer t;
	char line[8][32];
	int nlines;
	int phase;
	int data_at_resume;
	uint64_t cpu0, cpu1;
};

static void
pause_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct pause *s = arg;
	char *line;
	size_t len;
	rec_event(&s->r, c, ev);
	if (ev == CONN_EV_EOF) {
		rec_free(&s->r);
		loop_stop(s->r.l);
		return;
	}
	if (ev != CONN_EV_DATA) {
		unit_fail(__FILE__, __LINE__, "unexpected event %d", ev);
		rec_free(&s->r);
		loop_stop(s->r.l);
		return;
	}
	/* one line per event, then pause: the rest waits in the buffer */
	if (conn_getline(c, &line, &len) == 1 && s->nlines < 8) {
		snprintf(s->line[s->nlines++], sizeof(s->line[0]), "%s", line);
		conn_pause_read(c, 1);
		loop_stop(s->r.l);
	}
}

static void
pause_resume_cb(struct loop_timer *t, void *arg)
{
	struct pause *s = arg;
	(void)t;
	s->data_at_resume = s->r.n[CONN_EV_DATA];
	s->r.in_call = 1;
	conn_resume(s->r.c);
	s->r.in_call = 0;
}

static void
pause_wait(struct pause *s, uint64_t msec)
{
	struct stopper st;
	stopper_arm(s->r.l, &st, msec);
	CHECK_INT(loop_run(s->r.l), 0);
	CHECK(st.fired);
}

static int
pause_run_until_stop(struct pause *s)
{
	struct stopper guard;
	stopper_arm(s->r.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(s->r.l), 0);
	loop_timer_cancel(s->r.l, &guard.t);
	return !guard.fired;
}

TEST(pause_and_resume)
{
	struct pause s = { 0 };
	int sv[2];
	make_pair(sv);
	s.peer = sv[1];
	s.r.l = loop_new();
	s.r.c = conn_new(s.r.l, sv[0], 100, pause_cb, &s);
	CHECK_INT(write(sv[1], "one\r\ntwo\r\n", 10), 10);
	CHECK(pause_run_until_stop(&s));
	CHECK_INT(s.nlines, 1);
	CHECK_STR(s.line[0], "one");
	int data = s.r.n[CONN_EV_DATA];

	/* paused with "two" buffered and nothing in the socket: no event... */
	pause_wait(&s, 40);
	CHECK_INT(s.r.n[CONN_EV_DATA], data);
	/* ...until conn_resume, which reports it on a later turn, not from inside */
	CHECK_INT(loop_timer_set(s.r.l, &s.t, 1, pause_resume_cb, &s), 0);
	CHECK(pause_run_until_stop(&s));
	CHECK_INT(s.data_at_resume, data);
	CHECK_INT(s.nlines, 2);
	CHECK_STR(s.line[1], "two");

	/* paused: new input is not read */
	data = s.r.n[CONN_EV_DATA];
	CHECK_INT(write(sv[1], "three\r\n", 7), 7);
	pause_wait(&s, 40);
	CHECK_INT(s.r.n[CONN_EV_DATA], data);
	/* conn_pause_read(0) resumes reading from the socket */
	conn_pause_read(s.r.c, 0);
	CHECK(pause_run_until_stop(&s));
	CHECK_INT(s.nlines, 3);
	CHECK_STR(s.line[2], "three");

	/* paused while the peer sends its last line and hangs up: the loop must not spin
	 * on the hang-up it cannot act on yet; after resuming, the line, then EOF */
	CHECK_INT(write(sv[1], "four\r\n", 6), 6);
	close(sv[1]);
	s.cpu0 = cpu_ms();
	pause_wait(&s, 200);
	s.cpu1 = cpu_ms();
	CHECK(s.cpu1 - s.cpu0 < 40);
	CHECK_INT(s.r.n[CONN_EV_EOF], 0);
	conn_resume(s.r.c);
	CHECK(pause_run_until_stop(&s));
	CHECK_INT(s.nlines, 4);
	CHECK_STR(s.line[3], "four");
	if (!s.r.gone) {
		conn_resume(s.r.c);
		CHECK(pause_run_until_stop(&s));
	}
	CHECK_INT(s.r.n[CONN_EV_EOF], 1);
	CHECK_INT(s.r.seq[s.r.nseq - 1], CONN_EV_EOF);
	loop_free(s.r.l);
}

/* After EOF the owner may keep the connection (to finish a reply): a hung-up UNIX
 * socket must not keep the loop busy meanwhile. */
static void
eof_keep_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct rec *r = arg;
	rec_event(r, c, ev);
	if (ev == CONN_EV_DATA) {
		size_t n;
		conn_peek(c, &n);
		conn_consume(c, n);
	}
}

TEST(eof_kept_open_does_not_spin)
{
	struct rec r = { 0 };
	struct stopper guard;
	int sv[2];
	make_pair(sv);
	r.l = loop_new();
	r.c = conn_new(r.l, sv[0], 100, eof_keep_cb, &r);
	CHECK_INT(write(sv[1], "bye\n", 4), 4);
	close(sv[1]);
	uint64_t cpu0 = cpu_ms();
	stopper_arm(r.l, &guard, 200);
	CHECK_INT(loop_run(r.l), 0);
	CHECK(cpu_ms() - cpu0 < 40);
	CHECK_INT(r.n[CONN_EV_EOF], 1);
	conn_free(r.c);
	loop_free(r.l);
}

/* ---- connect ---- */

struct cst {
	struct rec r;
	struct reader rd;
	int lfd;
	int afd;
	int free_on_error;
};

static void
connect_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct cst *s = arg;
	rec_event(&s->r, c, ev);
	if (ev == CONN_EV_CONNECTED) {
		/* the peer reads what was queued before the connection was up */
		s->afd = accept(s->lfd, NULL, NULL);
		CHECK(s->afd >= 0);
		reader_init(&s->rd, s->r.l, s->afd, 64, 0);
		s->rd.want = 7;
		return;
	}
	if (ev == CONN_EV_ERROR) {
		rec_free(&s->r);
		loop_stop(s->r.l);
		return;
	}
	if (ev == CONN_EV_DRAINED && s->r.n[CONN_EV_CONNECTED])
		return;
	unit_fail(__FILE__, __LINE__, "unexpected event %d", ev);
	loop_stop(s->r.l);
}

static int
tcp_listener(struct sockaddr_in *sin, int do_listen)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	if (do_listen)
		CHECK_INT(listen(fd, 8), 0);
	socklen_t len = sizeof(*sin);
	CHECK_INT(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return fd;
}

TEST(connect_tcp)
{
	struct cst s = { 0 };
	struct stopper guard;
	struct sockaddr_in dst, src;
	s.lfd = tcp_listener(&dst, 1);
	s.afd = -1;
	s.r.l = loop_new();
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000002);	/* 127.0.0.2 */
	s.r.in_call = 1;
	s.r.c = conn_connect(s.r.l, (struct sockaddr *)&dst, sizeof(dst), (struct sockaddr *)&src,
	    sizeof(src), 100, connect_cb, &s);
	CHECK(s.r.c != NULL);
	CHECK_INT(conn_write(s.r.c, "early\r\n", 7), 0);
	s.r.in_call = 0;
	stopper_arm(s.r.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(s.r.l), 0);
	CHECK(!guard.fired);
	CHECK_INT(s.r.n[CONN_EV_CONNECTED], 1);
	CHECK_INT(s.r.seq[0], CONN_EV_CONNECTED);
	CHECK_INT(s.r.n[CONN_EV_ERROR], 0);
	CHECK_INT(s.rd.got, 7);
	CHECK(memcmp(s.rd.buf, "early\r\n", 7) == 0);
	/* bound to the source address first */
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	CHECK_INT(getpeername(s.afd, (struct sockaddr *)&peer, &plen), 0);
	CHECK_INT(ntohl(peer.sin_addr.s_addr), 0x7f000002);
	conn_free(s.r.c);
	reader_done(&s.rd);
	close(s.afd);
	close(s.lfd);
	loop_timer_cancel(s.r.l, &guard.t);
	loop_free(s.r.l);
}

TEST(connect_tcp_refused)
{
	struct cst s = { 0 };
	struct stopper guard;
	struct sockaddr_in dst;
	/* bound but not listening: the port stays ours, connecting is refused */
	s.lfd = tcp_listener(&dst, 0);
	s.r.l = loop_new();
	s.r.in_call = 1;
	s.r.c = conn_connect(s.r.l, (struct sockaddr *)&dst, sizeof(dst), NULL, 0, 100, connect_cb, &s);
	s.r.in_call = 0;
	CHECK(s.r.c != NULL);
	stopper_arm(s.r.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(s.r.l), 0);
	CHECK(!guard.fired);
	CHECK_INT(s.r.n[CONN_EV_CONNECTED], 0);
	CHECK_INT(s.r.n[CONN_EV_ERROR], 1);
	CHECK_INT(s.r.err, ECONNREFUSED);
	close(s.lfd);
	loop_timer_cancel(s.r.l, &guard.t);
	loop_free(s.r.l);
}

/* A connect that fails at once (here: a UNIX socket path that does not exist) is
 * reported as an error from the loop, and only as an error. */
TEST(connect_unix_fails_at_once)
{
	struct cst s = { 0 };
	struct stopper guard;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/nonexistent/mtool-test.sock");
	s.r.l = loop_new();
	s.r.in_call = 1;
	s.r.c = conn_connect(s.r.l, (struct sockaddr *)&sun, sizeof(sun), NULL, 0, 100, connect_cb, &s);
	s.r.in_call = 0;
	CHECK(s.r.c != NULL);
	stopper_arm(s.r.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(s.r.l), 0);
	CHECK(!guard.fired);
	CHECK_INT(s.r.n[CONN_EV_CONNECTED], 0);
	CHECK_INT(s.r.n[CONN_EV_ERROR], 1);
	CHECK_INT(s.r.nseq, 1);
	CHECK_INT(s.r.err, ENOENT);
	loop_timer_cancel(s.r.l, &guard.t);
	loop_free(s.r.l);
}

TEST(connect_bind_failure_returns_null)
{
	struct loop *l = loop_new();
	struct sockaddr_in dst, src;
	int lfd = tcp_listener(&dst, 1);
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0xc0000263);	/* 192.0.2.99: not ours */
	errno = 0;
	CHECK(conn_connect(l, (struct sockaddr *)&dst, sizeof(dst), (struct sockaddr *)&src,
	    sizeof(src), 100, never_cb, NULL) == NULL);
	CHECK_INT(errno, EADDRNOTAVAIL);
	close(lfd);
	loop_free(l);
}

/* conn_close_after_flush before the connection is up: the queued bytes go out once it
 * is, and no callback follows (not even CONNECTED). */
TEST(connect_then_close_after_flush)
{
	struct rec r = { 0 };
	struct reader rd;
	struct stopper guard;
	struct sockaddr_in dst;
	int lfd = tcp_listener(&dst, 1);
	r.l = loop_new();
	r.c = conn_connect(r.l, (struct sockaddr *)&dst, sizeof(dst), NULL, 0, 100, never_cb, &r);
	CHECK(r.c != NULL);
	CHECK_INT(conn_puts(r.c, "* BYE\r\n"), 0);
	conn_close_after_flush(r.c);
	int afd = accept(lfd, NULL, NULL);
	CHECK(afd >= 0);
	reader_init(&rd, r.l, afd, 64, 0);
	rd.stop_at_eof = 1;
	stopper_arm(r.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(r.l), 0);
	CHECK(!guard.fired);
	CHECK(rd.eof);
	CHECK_INT(rd.got, 7);
	CHECK(memcmp(rd.buf, "* BYE\r\n", 7) == 0);
	reader_done(&rd);
	close(afd);
	close(lfd);
	loop_timer_cancel(r.l, &guard.t);
	loop_free(r.l);
}

/* ---- errors while writing ---- */

static void
error_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct rec *r = arg;
	rec_event(r, c, ev);
	if (ev == CONN_EV_ERROR) {
		/* the connection already failed: writing is refused */
		r->in_call = 1;
		CHECK_INT(conn_write(c, "y", 1), -1);
		r->in_call = 0;
		rec_free(r);
		loop_stop(r->l);
	}
}

TEST(write_error_reported_later)
{
	struct rec r = { 0 };
	struct stopper guard;
	int sv[2];
	make_pair(sv);
	close(sv[1]);
	r.l = loop_new();
	r.c = conn_new(r.l, sv[0], 100, error_cb, &r);
	r.in_call = 1;
	conn_write(r.c, "x", 1);	/* may say -1 at once; the error comes as an event */
	r.in_call = 0;
	stopper_arm(r.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(r.l), 0);
	CHECK(!guard.fired);
	CHECK_INT(r.n[CONN_EV_ERROR], 1);
	CHECK_INT(r.err, EPIPE);
	loop_timer_cancel(r.l, &guard.t);
	loop_free(r.l);
}

/* ---- detach ---- */

struct detach {
	struct rec r;
	int fd;
	struct buf in, out;
	size_t out_pending;
	char *data;
};

#define DETACH_OUT	(1024 * 1024)

static void
detach_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct detach *s = arg;
	char *line;
	size_t len;
	rec_event(&s->r, c, ev);
	if (ev != CONN_EV_DATA) {
		unit_fail(__FILE__, __LINE__, "unexpected event %d", ev);
		loop_stop(s->r.l);
		return;
	}
	if (conn_getline(c, &line, &len) != 1)
		return;
	CHECK_STR(line, "STARTTLS");
	/* a reply too large for the socket, so that some of it is still queued */
	CHECK_INT(conn_write(c, s->data, DETACH_OUT), 0);
	s->out_pending = conn_out_pending(c);
	int want = conn_fd(c);
	s->fd = conn_detach(c, &s->in, &s->out, NULL, NULL, 0, NULL, NULL);
	CHECK_INT(s->fd, want);
	s->r.gone = 1;
	loop_stop(s->r.l);
}

TEST(detach_hands_over_buffers)
{
	struct detach s = { 0 };
	struct stopper guard;
	int sv[2];
	make_pair(sv);
	s.data = pattern(DETACH_OUT);
	s.r.l = loop_new();
	s.r.c = conn_new(s.r.l, sv[0], 100, detach_cb, &s);
	conn_set_timeout(s.r.c, 30);
	const char msg[] = "STARTTLS\r\n\x16\x03\x01pipelined";
	CHECK_INT(write(sv[1], msg, sizeof(msg) - 1), (long long)sizeof(msg) - 1);
	stopper_arm(s.r.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(s.r.l), 0);
	CHECK(!guard.fired);
	CHECK_INT(s.fd, sv[0]);
	/* unconsumed input */
	CHECK_MEM(buf_data(&s.in), buf_len(&s.in), "\x16\x03\x01pipelined", 12);
	/* unsent output: what the peer can read plus s.out is the whole reply */
	CHECK(s.out_pending > 0);
	CHECK_INT(buf_len(&s.out), s.out_pending);
	nonblock(sv[1]);
	char *got = malloc(DETACH_OUT);
	size_t n = 0;
	ssize_t k;
	while (n < DETACH_OUT && (k = read(sv[1], got + n, DETACH_OUT - n)) > 0)
		n += (size_t)k;
	CHECK_INT(n + buf_len(&s.out), DETACH_OUT);
	CHECK(memcmp(got, s.data, n) == 0);
	CHECK(memcmp(buf_data(&s.out), s.data + n, buf_len(&s.out)) == 0);
	/* the fd is open and no longer watched: no callback, no timeout */
	CHECK(fcntl(s.fd, F_GETFD) >= 0);
	CHECK_INT(write(sv[1], "more", 4), 4);
	loop_timer_cancel(s.r.l, &guard.t);
	stopper_arm(s.r.l, &guard, 80);
	CHECK_INT(loop_run(s.r.l), 0);
	char b[8];
	CHECK_INT(read(s.fd, b, sizeof(b)), 4);
	buf_release(&s.in);
	buf_release(&s.out);
	close(s.fd);
	close(sv[1]);
	free(got);
	free(s.data);
	loop_free(s.r.l);
}

/* ---- conn_free inside the callback ---- */

struct sf {
	struct rec r;
	struct sf *other;
	enum conn_event on;
	int *stops;
};

static void
sf_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct sf *s = arg;
	rec_event(&s->r, c, ev);
	if (ev == CONN_EV_DATA && s->on != CONN_EV_DATA) {
		size_t n;
		conn_peek(c, &n);
		conn_consume(c, n);
		return;
	}
	if (ev != s->on)
		return;
	if (s->other && !s->other->r.gone)
		rec_free(&s->other->r);
	rec_free(&s->r);
	/* a second free is harmless */
	conn_free(c);
	if (--*s->stops == 0)
		loop_stop(s->r.l);
}

static void
sf_run(enum conn_event on)
{
	struct loop *l = loop_new();
	struct sf s = { 0 };
	struct stopper guard;
	struct reader rd;
	int sv[2], stops = 1, reading = 0;
	make_pair(sv);
	s.r.l = l;
	s.on = on;
	s.stops = &stops;
	s.r.c = conn_new(l, sv[0], 100, sf_cb, &s);
	char *data = NULL;
	switch (on) {
	case CONN_EV_DATA:
		CHECK_INT(write(sv[1], "x\n", 2), 2);
		break;
	case CONN_EV_EOF:
		CHECK_INT(write(sv[1], "x\n", 2), 2);
		shutdown(sv[1], SHUT_WR);
		break;
	case CONN_EV_TIMEOUT:
		conn_set_timeout(s.r.c, 10);
		break;
	case CONN_EV_ERROR:
		close(sv[1]);
		sv[1] = -1;
		conn_write(s.r.c, "x", 1);
		break;
	case CONN_EV_DRAINED:
		/* the peer reads the queued output and answers each read at once, so that
		 * the event that drains the queue carries EPOLLIN too: no read may follow */
		data = pattern(512 * 1024);
		CHECK_INT(conn_write(s.r.c, data, 512 * 1024), 0);
		CHECK(conn_out_pending(s.r.c) > 0);
		reader_init(&rd, l, sv[1], 512 * 1024, 0);
		rd.echo = "x\n";
		reading = 1;
		break;
	default:
		break;
	}
	stopper_arm(l, &guard, GUARD_MS);
	CHECK_INT(loop_run(l), 0);
	CHECK(!guard.fired);
	loop_timer_cancel(l, &guard.t);
	CHECK_INT(s.r.n[on], 1);
	CHECK(s.r.gone);
	if (reading)
		reader_done(&rd);
	if (sv[1] >= 0)
		close(sv[1]);
	free(data);
	loop_free(l);
}

TEST(free_inside_own_callback)
{
	sf_run(CONN_EV_DATA);
	sf_run(CONN_EV_EOF);
	sf_run(CONN_EV_TIMEOUT);
	sf_run(CONN_EV_ERROR);
	sf_run(CONN_EV_DRAINED);
}

/* Two connections with input in the same batch: the first callback frees both; the
 * second must get no callback. */
TEST(free_other_in_same_batch)
{
	struct loop *l = loop_new();
	struct sf s[2];
	struct stopper guard;
	int sv[2][2], stops = 1;
	memset(s, 0, sizeof(s));
	for (int i = 0; i < 2; i++) {
		make_pair(sv[i]);
		s[i].r.l = l;
		s[i].on = CONN_EV_DATA;
		s[i].stops = &stops;
		s[i].other = &s[1 - i];
		s[i].r.c = conn_new(l, sv[i][0], 100, sf_cb, &s[i]);
		CHECK_INT(write(sv[i][1], "x\n", 2), 2);
	}
	stopper_arm(l, &guard, GUARD_MS);
	CHECK_INT(loop_run(l), 0);
	CHECK(!guard.fired);
	CHECK_INT(s[0].r.n[CONN_EV_DATA] + s[1].r.n[CONN_EV_DATA], 1);
	CHECK(s[0].r.gone && s[1].r.gone);
	/* both sockets were closed (the one with unread input resets: -1 ECONNRESET) */
	char c;
	CHECK(read(sv[0][1], &c, 1) <= 0);
	CHECK(read(sv[1][1], &c, 1) <= 0);
	close(sv[0][1]);
	close(sv[1][1]);
	loop_timer_cancel(l, &guard.t);
	loop_free(l);
}
