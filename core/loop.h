/* SPDX-License-Identifier: MIT */
/* core/loop.h: the event loop: epoll (level-triggered), timers as absolute monotonic
 * deadlines in a heap, signals through signalfd. No threads, one loop per process.
 * Not a connection layer: core/conn.h sits on top.
 *
 * Frame rule: a callback may release any object, including the one it was called for,
 * but only through loop_io_del() (which makes pending events for that fd vanish) and
 * loop_defer_free() (which frees after the current batch of events). So the loop never
 * touches freed memory, and no code needs to know whether it runs inside a callback. */
#ifndef CORE_LOOP_H
#define CORE_LOOP_H

#include <stdint.h>

struct loop;
struct loop_io;
struct loop_timer;

typedef void loop_io_cb(struct loop_io *, uint32_t events, void *arg);
typedef void loop_timer_cb(struct loop_timer *, void *arg);
typedef void loop_signal_cb(int signo, void *arg);

/* Embedded in the owner's struct; the loop never allocates or frees it. */
struct loop_io {
	int fd;			/* -1 when not registered */
	uint32_t events;	/* EPOLLIN / EPOLLOUT as registered */
	loop_io_cb *cb;
	void *arg;
};

struct loop_timer {
	uint64_t deadline;	/* loop_now() milliseconds */
	unsigned int slot;	/* heap index + 1; 0 when not armed */
	loop_timer_cb *cb;
	void *arg;
};

/* Start-up: dies if epoll cannot be created. */
struct loop *loop_new(void);
void loop_free(struct loop *);

/* Runs until loop_stop(). Returns 0, or -1 if epoll_wait failed for a reason other than EINTR. */
int loop_run(struct loop *);
void loop_stop(struct loop *);

/* Monotonic milliseconds, refreshed once per loop turn (cheap to call). */
uint64_t loop_now(struct loop *);
/* Wall-clock seconds, for logs and protocol fields. */
int64_t loop_wall(struct loop *);

/* Registers fd; events are EPOLLIN and/or EPOLLOUT. Returns 0 or -1 (errno set).
 * With no events (0) the callback may still see EPOLLHUP/EPOLLERR, but once, not on every
 * turn, so a paused fd whose peer hung up does not keep the loop busy. */
int loop_io_add(struct loop *, struct loop_io *, int fd, uint32_t events, loop_io_cb *, void *arg);
int loop_io_set(struct loop *, struct loop_io *, uint32_t events);
/* Unregisters (does not close the fd). Events already fetched for it are dropped.
 * Safe on an io that is not registered. */
void loop_io_del(struct loop *, struct loop_io *);
/* The same for an fd the caller closes right after: closing removes it from epoll, so no
 * system call is spent (the fd must not be shared with another process or dup). */
void loop_io_forget(struct loop_io *);
/* Hands from's registration to to (one epoll_ctl instead of a delete and an add):
 * to gets the fd, events, cb and arg; from becomes unregistered. Returns 0 or -1. */
int loop_io_transfer(struct loop *, struct loop_io *from, struct loop_io *to, uint32_t events,
    loop_io_cb *, void *arg);

/* Arms (or re-arms) the timer to fire once, msec from now. Returns -1 only when the
 * heap cannot grow (out of memory); the caller then gives up the object it times. */
int loop_timer_set(struct loop *, struct loop_timer *, uint64_t msec, loop_timer_cb *, void *arg);
void loop_timer_cancel(struct loop *, struct loop_timer *);
static inline int loop_timer_armed(const struct loop_timer *t) { return t->slot != 0; }

/* Blocks signo and delivers it through the loop. One callback per signal; start-up only. */
int loop_signal(struct loop *, int signo, loop_signal_cb *, void *arg);

/* Calls fn(p) after the current batch of events has been dispatched, or at once when
 * called outside loop_run. If the list cannot grow (out of memory) the object leaks
 * with an error line rather than being freed under a pending event. */
void loop_defer_free(struct loop *, void (*fn)(void *), void *p);

#endif
