/* SPDX-License-Identifier: MIT */
/* Implementation notes: epoll_wait's own timeout serves as the timer: each turn waits
 * until the earliest deadline, so no timerfd needs re-arming per turn (one syscall
 * less per wakeup). Timers live in a binary min-heap of pointers; each timer knows its
 * slot, so cancel and re-arm are O(log n). */
#include "core/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define LOOP_BATCH	64
#define LOOP_SIGNALS	65

struct deferred {
	void (*fn)(void *);
	void *p;
};

struct loop {
	int epfd;
	int running;
	uint64_t now;
	int64_t wall;

	struct loop_timer **heap;
	unsigned int nheap, capheap;

	struct loop_io sigio;
	sigset_t sigmask;
	loop_signal_cb *sigcb[LOOP_SIGNALS];
	void *sigarg[LOOP_SIGNALS];

	struct deferred *deferred;
	size_t ndeferred, capdeferred;
	int in_dispatch;
};

static void
loop_update_time(struct loop *l)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	l->now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	l->wall = time(NULL);
}

struct loop *
loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (l == NULL)
		log_fatal("loop_new");
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		log_fatal("epoll_create1");
	l->sigio.fd = -1;
	sigemptyset(&l->sigmask);
	loop_update_time(l);
	return l;
}

static void
loop_run_deferred(struct loop *l)
{
	/* a deferred free may defer more: the loop bound is re-read on every pass */
	for (size_t i = 0; i < l->ndeferred; i++)
		l->deferred[i].fn(l->deferred[i].p);
	l->ndeferred = 0;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	loop_run_deferred(l);
	if (l->sigio.fd >= 0)
		close(l->sigio.fd);
	close(l->epfd);
	free(l->heap);
	free(l->deferred);
	free(l);
}

uint64_t
loop_now(struct loop *l)
{
	return l->now;
}

int64_t
loop_wall(struct loop *l)
{
	return l->wall;
}

void
loop_stop(struct loop *l)
{
	l->running = 0;
}

/* epoll reports a hang-up or error even when no events are wanted, and level-triggered
 * that means on every turn: an owner that waits (paused, or done reading) would make the
 * loop spin. With no events the fd is registered edge-triggered, so it is reported once. */
static uint32_t
epoll_events(uint32_t events)
{
	return events ? events : EPOLLET;
}

int
loop_io_add(struct loop *l, struct loop_io *io, int fd, uint32_t events, loop_io_cb *cb, void *arg)
{
	struct epoll_event ev = { .events = epoll_events(events), .data.ptr = io };
	io->cb = cb;
	io->arg = arg;
	io->events = events;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		io->fd = -1;
		return -1;
	}
	io->fd = fd;
	return 0;
}

int
loop_io_set(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = epoll_events(events), .data.ptr = io };
	if (io->fd < 0 || io->events == events)
		return 0;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return -1;
	io->events = events;
	return 0;
}

void
loop_io_forget(struct loop_io *io)
{
	io->fd = -1;
}

int
loop_io_transfer(struct loop *l, struct loop_io *from, struct loop_io *to, uint32_t events,
    loop_io_cb *cb, void *arg)
{
	struct epoll_event ev = { .events = events, .data.ptr = to };
	if (from->fd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_MOD, from->fd, &ev) < 0)
		return -1;
	to->fd = from->fd;
	to->events = events;
	to->cb = cb;
	to->arg = arg;
	from->fd = -1;
	return 0;
}

void
loop_io_del(struct loop *l, struct loop_io *io)
{
	if (io->fd < 0)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->fd = -1;
}

/* ---- timers: a min-heap on deadline ---- */

static void
heap_place(struct loop *l, unsigned int i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

static void
heap_up(struct loop *l, unsigned int i)
{
	struct loop_timer *t = l->heap[i];
	while (i > 0) {
		unsigned int parent = (i - 1) / 2;
		if (l->heap[parent]->deadline <= t->deadline)
			break;
		heap_place(l, i, l->heap[parent]);
		i = parent;
	}
	heap_place(l, i, t);
}

static void
heap_down(struct loop *l, unsigned int i)
{
	struct loop_timer *t = l->heap[i];
	for (;;) {
		unsigned int c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && l->heap[c + 1]->deadline < l->heap[c]->deadline)
			c++;
		if (t->deadline <= l->heap[c]->deadline)
			break;
		heap_place(l, i, l->heap[c]);
		i = c;
	}
	heap_place(l, i, t);
}

void
loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	if (t->slot == 0)
		return;
	unsigned int i = t->slot - 1;
	t->slot = 0;
	struct loop_timer *last = l->heap[--l->nheap];
	if (i == l->nheap)
		return;
	heap_place(l, i, last);
	heap_up(l, i);
	heap_down(l, last->slot - 1);
}

int
loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t msec, loop_timer_cb *cb, void *arg)
{
	loop_timer_cancel(l, t);
	if (l->nheap == l->capheap) {
		unsigned int cap = l->capheap ? l->capheap * 2 : 64;
		struct loop_timer **h = realloc(l->heap, cap * sizeof(*h));
		if (h == NULL)
			return -1;
		l->heap = h;
		l->capheap = cap;
	}
	t->deadline = l->now + msec;
	t->cb = cb;
	t->arg = arg;
	heap_place(l, l->nheap++, t);
	heap_up(l, l->nheap - 1);
	return 0;
}

static int
loop_timeout_ms(struct loop *l)
{
	if (l->nheap == 0)
		return -1;
	uint64_t d = l->heap[0]->deadline;
	if (d <= l->now)
		return 0;
	return d - l->now > 3600000 ? 3600000 : (int)(d - l->now);
}

static void
loop_run_timers(struct loop *l)
{
	/* at most the timers armed now: one re-armed for 0 ms from its own callback waits
	 * for the next turn instead of starving I/O */
	unsigned int budget = l->nheap;
	while (budget-- > 0 && l->nheap > 0 && l->heap[0]->deadline <= l->now) {
		struct loop_timer *t = l->heap[0];
		loop_timer_cancel(l, t);
		t->cb(t, t->arg);
	}
}

/* ---- signals ---- */

static void
loop_signal_read(struct loop_io *io, uint32_t events, void *arg)
{
	struct loop *l = arg;
	struct signalfd_siginfo si;
	(void)events;
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int signo = (int)si.ssi_signo;
		if (signo > 0 && signo < LOOP_SIGNALS && l->sigcb[signo])
			l->sigcb[signo](signo, l->sigarg[signo]);
	}
}

int
loop_signal(struct loop *l, int signo, loop_signal_cb *cb, void *arg)
{
	if (signo <= 0 || signo >= LOOP_SIGNALS)
		return -1;
	sigaddset(&l->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &l->sigmask, NULL) < 0)
		return -1;
	int fd = signalfd(l->sigio.fd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (l->sigio.fd < 0 && loop_io_add(l, &l->sigio, fd, EPOLLIN, loop_signal_read, l) < 0) {
		close(fd);
		return -1;
	}
	l->sigcb[signo] = cb;
	l->sigarg[signo] = arg;
	return 0;
}

/* ---- deferred frees and the loop itself ---- */

void
loop_defer_free(struct loop *l, void (*fn)(void *), void *p)
{
	if (!l->in_dispatch) {
		fn(p);
		return;
	}
	if (l->ndeferred == l->capdeferred) {
		size_t cap = l->capdeferred ? l->capdeferred * 2 : 64;
		struct deferred *d = realloc(l->deferred, cap * sizeof(*d));
		if (d == NULL) {
			/* Freeing now could leave a dangling pointer in this batch; leaking one
			 * object under memory pressure is the lesser harm. */
			log_errorx("loop: out of memory, leaking one object");
			return;
		}
		l->deferred = d;
		l->capdeferred = cap;
	}
	l->deferred[l->ndeferred].fn = fn;
	l->deferred[l->ndeferred].p = p;
	l->ndeferred++;
}

int
loop_run(struct loop *l)
{
	struct epoll_event evs[LOOP_BATCH];

	l->running = 1;
	while (l->running) {
		int n = epoll_wait(l->epfd, evs, LOOP_BATCH, loop_timeout_ms(l));
		if (n < 0 && errno != EINTR)
			return -1;
		loop_update_time(l);
		l->in_dispatch = 1;
		for (int i = 0; i < n; i++) {
			struct loop_io *io = evs[i].data.ptr;
			/* an earlier callback of this batch may have unregistered it */
			if (io->fd >= 0)
				io->cb(io, evs[i].events, io->arg);
		}
		loop_run_timers(l);
		loop_run_deferred(l);
		l->in_dispatch = 0;
	}
	return 0;
}
