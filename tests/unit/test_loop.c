/* SPDX-License-Identifier: MIT */
/* core/loop.h: timers, I/O, signals, deferred frees and the frame rule. Every test arms
 * a guard timer, so a loop that never stops fails the test instead of hanging it. */
#include "tests/unit/unit.h"
#include "core/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define GUARD_MS	5000

/* Stops the loop after msec: each test arms one as a guard. Re-arm it only after it
 * fired or was cancelled (arming clears its slot). */
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
	s->l = l;
	s->fired = 0;
	s->t.slot = 0;
	CHECK_INT(loop_timer_set(l, &s->t, msec, stopper_cb, s), 0);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- timers ---- */

#define NTIMERS	300

struct tstate {
	struct loop *l;
	struct loop_timer t[NTIMERS];
	int idx[NTIMERS];
	int fired[NTIMERS];
	int order[NTIMERS * 2];
	uint64_t at[NTIMERS * 2];
	uint64_t deadline[NTIMERS * 2];
	int norder;
	int early;
	int remaining;
};

static struct tstate *ts_cur;

static void
order_cb(struct loop_timer *t, void *arg)
{
	struct tstate *s = ts_cur;
	int i = *(int *)arg;
	CHECK(t == &s->t[i]);
	CHECK(!loop_timer_armed(t));
	if (loop_now(s->l) < t->deadline)
		s->early++;
	s->fired[i]++;
	s->order[s->norder] = i;
	s->at[s->norder] = loop_now(s->l);
	s->deadline[s->norder] = t->deadline;
	s->norder++;
	if (--s->remaining == 0)
		loop_stop(s->l);
}

TEST(timers_fire_in_deadline_order)
{
	struct tstate *s = calloc(1, sizeof(*s));
	struct stopper guard;
	int expect = 0;

	s->l = loop_new();
	ts_cur = s;
	/* a scrambled set of deadlines 0..59 ms, many sharing one millisecond */
	for (int i = 0; i < NTIMERS; i++) {
		s->idx[i] = i;
		CHECK_INT(loop_timer_set(s->l, &s->t[i], (uint64_t)((i * 37) % 60), order_cb, &s->idx[i]), 0);
		CHECK(loop_timer_armed(&s->t[i]));
	}
	/* cancel every 7th (some of them sit deep inside the heap) */
	for (int i = 0; i < NTIMERS; i += 7)
		loop_timer_cancel(s->l, &s->t[i]);
	/* cancelling twice, or a timer that was never armed, is harmless */
	loop_timer_cancel(s->l, &s->t[0]);
	struct loop_timer never = { 0 };
	loop_timer_cancel(s->l, &never);
	/* re-arm every 11th that is still armed to a later deadline: it fires once, late */
	for (int i = 1; i < NTIMERS; i += 11)
		if (loop_timer_armed(&s->t[i]))
			CHECK_INT(loop_timer_set(s->l, &s->t[i], 70 + (uint64_t)(i % 5), order_cb, &s->idx[i]), 0);
	for (int i = 0; i < NTIMERS; i++)
		if (loop_timer_armed(&s->t[i]))
			expect++;
	s->remaining = expect;
	stopper_arm(s->l, &guard, GUARD_MS);
	uint64_t start = loop_now(s->l);
	CHECK_INT(loop_run(s->l), 0);
	CHECK(!guard.fired);
	CHECK_INT(s->norder, expect);
	CHECK_INT(s->early, 0);
	for (int k = 1; k < s->norder; k++) {
		if (s->deadline[k] < s->deadline[k - 1]) {
			unit_fail(__FILE__, __LINE__, "timer %d (deadline %llu) fired after timer %d (deadline %llu)",
			    s->order[k], (unsigned long long)s->deadline[k], s->order[k - 1],
			    (unsigned long long)s->deadline[k - 1]);
			break;
		}
		CHECK(s->at[k] >= s->at[k - 1]);
	}
	for (int i = 0; i < NTIMERS; i++) {
		if (i % 7 == 0)
			CHECK_INT(s->fired[i], 0);
		else
			CHECK_INT(s->fired[i], 1);
	}
	/* the re-armed ones fired at their new deadline */
	for (int k = 0; k < s->norder; k++)
		if (s->order[k] % 11 == 1 && s->order[k] % 7 != 0)
			CHECK(s->at[k] >= start + 70);
	loop_timer_cancel(s->l, &guard.t);
	loop_free(s->l);
	free(s);
}

struct pair {
	struct loop *l;
	struct loop_timer a, b, c;
	int a_fired, b_fired, c_fired;
};

static void
pair_b(struct loop_timer *t, void *arg)
{
	struct pair *p = arg;
	(void)t;
	p->b_fired++;
}

static void
pair_c(struct loop_timer *t, void *arg)
{
	struct pair *p = arg;
	(void)t;
	p->c_fired++;
	loop_stop(p->l);
}

static void
pair_a(struct loop_timer *t, void *arg)
{
	struct pair *p = arg;
	(void)t;
	p->a_fired++;
	loop_timer_cancel(p->l, &p->b);
	CHECK(!loop_timer_armed(&p->b));
}

TEST(timer_cancels_another_from_its_callback)
{
	struct pair p = { 0 };
	struct stopper guard;
	p.l = loop_new();
	stopper_arm(p.l, &guard, GUARD_MS);
	/* a and b are both due when the loop first looks (it starts 20 ms late), so they
	 * run in one turn; a comes first by deadline and cancels b, which must not run */
	CHECK_INT(loop_timer_set(p.l, &p.a, 5, pair_a, &p), 0);
	CHECK_INT(loop_timer_set(p.l, &p.b, 6, pair_b, &p), 0);
	CHECK_INT(loop_timer_set(p.l, &p.c, 40, pair_c, &p), 0);
	usleep(20000);
	CHECK_INT(loop_run(p.l), 0);
	CHECK_INT(p.a_fired, 1);
	CHECK_INT(p.b_fired, 0);
	CHECK_INT(p.c_fired, 1);
	CHECK(!loop_timer_armed(&p.b));

	/* and a timer due in a later turn */
	p.a_fired = p.b_fired = p.c_fired = 0;
	CHECK_INT(loop_timer_set(p.l, &p.a, 2, pair_a, &p), 0);
	CHECK_INT(loop_timer_set(p.l, &p.b, 20, pair_b, &p), 0);
	CHECK_INT(loop_timer_set(p.l, &p.c, 40, pair_c, &p), 0);
	CHECK_INT(loop_run(p.l), 0);
	CHECK_INT(p.a_fired, 1);
	CHECK_INT(p.b_fired, 0);
	CHECK_INT(p.c_fired, 1);
	CHECK(!guard.fired);
	loop_timer_cancel(p.l, &guard.t);
	loop_free(p.l);
}

struct rearm {
	struct loop *l;
	struct loop_timer t;
	int n;
	uint64_t times[10];
};

static void
rearm_cb(struct loop_timer *t, void *arg)
{
	struct rearm *r = arg;
	r->times[r->n++] = loop_now(r->l);
	if (r->n < 10)
		CHECK_INT(loop_timer_set(r->l, t, 3, rearm_cb, r), 0);
	else
		loop_stop(r->l);
}

TEST(timer_rearms_itself_and_now_is_monotonic)
{
	struct rearm r = { 0 };
	struct stopper guard;
	r.l = loop_new();
	uint64_t wall0 = mono_ms();
	uint64_t start = loop_now(r.l);
	/* loop_now is CLOCK_MONOTONIC milliseconds */
	CHECK(start + 1000 >= wall0 && start <= wall0 + 1000);
	CHECK(loop_wall(r.l) > 1000000000);
	CHECK_INT(loop_timer_set(r.l, &r.t, 3, rearm_cb, &r), 0);
	stopper_arm(r.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(r.l), 0);
	CHECK(!guard.fired);
	CHECK_INT(r.n, 10);
	CHECK(r.times[0] >= start + 3);
	for (int i = 1; i < r.n; i++)
		CHECK(r.times[i] >= r.times[i - 1] + 3);
	CHECK(loop_now(r.l) >= start + 30);
	CHECK(mono_ms() >= wall0 + 30);
	loop_timer_cancel(r.l, &guard.t);
	loop_free(r.l);
}

/* ---- I/O ---- */

struct iost {
	struct loop *l;
	struct loop_io rd, wr;
	int reads, writes;
	uint32_t rd_events, wr_events;
	char got[16];
};

static void
pipe_read_cb(struct loop_io *io, uint32_t events, void *arg)
{
	struct iost *s = arg;
	CHECK(io == &s->rd);
	s->rd_events |= events;
	s->reads++;
	ssize_t n = read(io->fd, s->got, sizeof(s->got) - 1);
	CHECK_INT(n, 5);
	loop_stop(s->l);
}

static void
pipe_write_cb(struct loop_io *io, uint32_t events, void *arg)
{
	struct iost *s = arg;
	CHECK(io == &s->wr);
	s->wr_events |= events;
	s->writes++;
	CHECK_INT(write(io->fd, "hello", 5), 5);
	/* writable again at once (level-triggered): stop asking */
	CHECK_INT(loop_io_set(s->l, io, 0), 0);
}

TEST(io_on_a_pipe)
{
	struct iost s = { 0 };
	struct stopper guard;
	int p[2];
	CHECK_INT(pipe(p), 0);
	s.l = loop_new();
	s.rd.fd = s.wr.fd = -1;
	CHECK_INT(loop_io_add(s.l, &s.rd, p[0], EPOLLIN, pipe_read_cb, &s), 0);
	CHECK_INT(s.rd.fd, p[0]);
	CHECK_INT(s.rd.events, EPOLLIN);
	CHECK_INT(loop_io_add(s.l, &s.wr, p[1], 0, pipe_write_cb, &s), 0);
	CHECK_INT(loop_io_set(s.l, &s.wr, EPOLLOUT), 0);
	CHECK_INT(s.wr.events, EPOLLOUT);
	stopper_arm(s.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(s.l), 0);
	CHECK(!guard.fired);
	CHECK_INT(s.writes, 1);
	CHECK_INT(s.reads, 1);
	CHECK(s.rd_events & EPOLLIN);
	CHECK(s.wr_events & EPOLLOUT);
	CHECK_STR(s.got, "hello");
	/* adding an fd twice fails with errno set and leaves the io unregistered */
	struct loop_io dup = { .fd = -1 };
	errno = 0;
	CHECK_INT(loop_io_add(s.l, &dup, p[0], EPOLLIN, pipe_read_cb, &s), -1);
	CHECK_INT(errno, EEXIST);
	CHECK_INT(dup.fd, -1);
	loop_io_del(s.l, &s.rd);
	CHECK_INT(s.rd.fd, -1);
	loop_io_del(s.l, &s.rd);	/* safe when not registered */
	loop_io_del(s.l, &s.wr);
	/* the fd is not closed by loop_io_del */
	CHECK_INT(write(p[1], "x", 1), 1);
	close(p[0]);
	close(p[1]);
	loop_timer_cancel(s.l, &guard.t);
	loop_free(s.l);
}

/* Two objects whose fds are both readable: the first callback of the batch deletes the
 * other one and defers its free; the other one's callback must not run. */
struct obj {
	struct loop_io io;
	int fd, peer;
	int called;
	struct obj *other;
	struct batch *b;
};

struct batch {
	struct loop *l;
	int callbacks;
	int freed;
	int freed_in_cb;
	struct obj *first;
};

static void
obj_free(void *p)
{
	struct obj *o = p;
	o->b->freed++;
	close(o->fd);
	close(o->peer);
	free(o);
}

static void
obj_cb(struct loop_io *io, uint32_t events, void *arg)
{
	struct obj *o = arg;
	struct batch *b = o->b;
	(void)events;
	CHECK(io == &o->io);
	o->called++;
	b->callbacks++;
	if (b->first == NULL) {
		b->first = o;
		loop_io_del(b->l, &o->other->io);
		loop_defer_free(b->l, obj_free, o->other);
		/* and itself, which is also legal inside its own callback */
		loop_io_del(b->l, &o->io);
		loop_defer_free(b->l, obj_free, o);
		b->freed_in_cb = b->freed;
		loop_stop(b->l);
	}
}

TEST(io_del_in_callback_drops_pending_events)
{
	struct batch b = { 0 };
	struct stopper guard;
	struct obj *o[2];
	b.l = loop_new();
	for (int i = 0; i < 2; i++) {
		int sv[2];
		CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		o[i] = calloc(1, sizeof(*o[i]));
		o[i]->fd = sv[0];
		o[i]->peer = sv[1];
		o[i]->b = &b;
		o[i]->io.fd = -1;
		CHECK_INT(write(sv[1], "x", 1), 1);
		CHECK_INT(loop_io_add(b.l, &o[i]->io, sv[0], EPOLLIN, obj_cb, o[i]), 0);
	}
	o[0]->other = o[1];
	o[1]->other = o[0];
	stopper_arm(b.l, &guard, GUARD_MS);
	CHECK_INT(loop_run(b.l), 0);
	CHECK(!guard.fired);
	/* exactly one callback ran; both frees were deferred past it and ran after the batch */
	CHECK_INT(b.callbacks, 1);
	CHECK_INT(b.freed_in_cb, 0);
	CHECK_INT(b.freed, 2);
	loop_timer_cancel(b.l, &guard.t);
	loop_free(b.l);
}

static void
defer_fn(void *p)
{
	(*(int *)p)++;
}

struct dstate {
	struct loop *l;
	struct loop_timer t;
	int v;
	int seen_in_cb;
};

static void
defer_timer_cb(struct loop_timer *t, void *arg)
{
	struct dstate *d = arg;
	(void)t;
	loop_defer_free(d->l, defer_fn, &d->v);
	d->seen_in_cb = d->v;
	loop_stop(d->l);
}

TEST(defer_free_after_batch_or_at_once)
{
	struct dstate d = { 0 };
	d.l = loop_new();
	/* outside loop_run: at once */
	loop_defer_free(d.l, defer_fn, &d.v);
	CHECK_INT(d.v, 1);
	/* inside a callback: after the batch, before loop_run returns */
	CHECK_INT(loop_timer_set(d.l, &d.t, 1, defer_timer_cb, &d), 0);
	CHECK_INT(loop_run(d.l), 0);
	CHECK_INT(d.seen_in_cb, 1);
	CHECK_INT(d.v, 2);
	/* after loop_run returned: at once again */
	loop_defer_free(d.l, defer_fn, &d.v);
	CHECK_INT(d.v, 3);
	loop_free(d.l);
}

/* ---- signals ---- */

struct sigst {
	struct loop *l;
	struct loop_timer t;
	int in_run;
	int got;
	int got_in_run;
	int signo;
};

static void
sig_cb(int signo, void *arg)
{
	struct sigst *s = arg;
	s->got++;
	s->signo = signo;
	s->got_in_run = s->in_run;
	loop_stop(s->l);
}

static void
sig_raise_cb(struct loop_timer *t, void *arg)
{
	struct sigst *s = arg;
	(void)t;
	s->in_run = 1;
	CHECK_INT(raise(SIGUSR2), 0);
}

TEST(signals_through_the_loop)
{
	struct sigst s = { 0 };
	struct stopper guard;
	sigset_t old, now;
	CHECK_INT(sigprocmask(SIG_BLOCK, NULL, &old), 0);
	s.l = loop_new();
	CHECK_INT(loop_signal(s.l, SIGUSR1, sig_cb, &s), 0);
	CHECK_INT(loop_signal(s.l, SIGUSR2, sig_cb, &s), 0);
	CHECK_INT(loop_signal(s.l, 0, sig_cb, &s), -1);
	CHECK_INT(sigprocmask(SIG_BLOCK, NULL, &now), 0);
	CHECK(sigismember(&now, SIGUSR1));
	CHECK(sigismember(&now, SIGUSR2));
	/* blocked: raising it does not kill us, and nothing runs before loop_run */
	CHECK_INT(raise(SIGUSR1), 0);
	CHECK_INT(s.got, 0);
	stopper_arm(s.l, &guard, GUARD_MS);
	s.in_run = 1;
	CHECK_INT(loop_run(s.l), 0);
	s.in_run = 0;
	CHECK(!guard.fired);
	CHECK_INT(s.got, 1);
	CHECK_INT(s.signo, SIGUSR1);
	CHECK(s.got_in_run);

	/* raised while the loop runs */
	s.got = 0;
	CHECK_INT(loop_timer_set(s.l, &s.t, 2, sig_raise_cb, &s), 0);
	CHECK_INT(loop_run(s.l), 0);
	s.in_run = 0;
	CHECK_INT(s.got, 1);
	CHECK_INT(s.signo, SIGUSR2);
	CHECK(!guard.fired);
	loop_timer_cancel(s.l, &guard.t);
	loop_free(s.l);
	/* nothing is left pending; restore the mask for the other tests */
	sigset_t pend;
	CHECK_INT(sigpending(&pend), 0);
	CHECK(!sigismember(&pend, SIGUSR1));
	CHECK(!sigismember(&pend, SIGUSR2));
	CHECK_INT(sigprocmask(SIG_SETMASK, &old, NULL), 0);
}

/* ---- loop_stop ---- */

struct stopst {
	struct loop *l;
	struct loop_timer a, b;
	int a_fired, b_fired;
};

static void
stop_a(struct loop_timer *t, void *arg)
{
	struct stopst *s = arg;
	(void)t;
	s->a_fired++;
	loop_stop(s->l);
}

static void
stop_b(struct loop_timer *t, void *arg)
{
	struct stopst *s = arg;
	(void)t;
	s->b_fired++;
	loop_stop(s->l);
}

TEST(stop_returns_and_run_resumes)
{
	struct stopst s = { 0 };
	s.l = loop_new();
	CHECK_INT(loop_timer_set(s.l, &s.a, 1, stop_a, &s), 0);
	CHECK_INT(loop_timer_set(s.l, &s.b, 30, stop_b, &s), 0);
	CHECK_INT(loop_run(s.l), 0);
	CHECK_INT(s.a_fired, 1);
	CHECK_INT(s.b_fired, 0);
	CHECK(loop_timer_armed(&s.b));
	/* the second run picks up where the first stopped */
	CHECK_INT(loop_run(s.l), 0);
	CHECK_INT(s.a_fired, 1);
	CHECK_INT(s.b_fired, 1);
	CHECK(!loop_timer_armed(&s.b));
	loop_free(s.l);
	loop_free(NULL);
}

/* An fd registered with no events whose peer hangs up: the hang-up may be reported, but
 * not on every turn (that would be a busy loop while its owner waits). */
struct hup {
	struct loop_io io;
	int calls;
	uint32_t events;
};

static void
hup_cb(struct loop_io *io, uint32_t events, void *arg)
{
	struct hup *h = arg;
	(void)io;
	h->calls++;
	h->events |= events;
}

TEST(io_without_events_reports_hangup_once)
{
	struct hup h = { .io.fd = -1 };
	struct stopper guard;
	int sv[2];
	struct loop *l = loop_new();
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_INT(loop_io_add(l, &h.io, sv[0], EPOLLIN, hup_cb, &h), 0);
	CHECK_INT(loop_io_set(l, &h.io, 0), 0);
	CHECK_INT(h.io.events, 0);
	CHECK_INT(write(sv[1], "x", 1), 1);
	close(sv[1]);
	stopper_arm(l, &guard, 50);
	CHECK_INT(loop_run(l), 0);
	CHECK(guard.fired);
	CHECK(h.calls <= 1);
	CHECK(!(h.events & EPOLLIN));
	/* asking for input again reports it (and the hang-up) */
	h.calls = 0;
	CHECK_INT(loop_io_set(l, &h.io, EPOLLIN), 0);
	stopper_arm(l, &guard, 20);
	CHECK_INT(loop_run(l), 0);
	CHECK(h.calls >= 1);
	CHECK(h.events & EPOLLIN);
	loop_io_del(l, &h.io);
	close(sv[0]);
	loop_free(l);
}
