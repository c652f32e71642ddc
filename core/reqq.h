/* SPDX-License-Identifier: MIT */
/* core/reqq.h: the requests of a client that keeps one connection to its server (core/ldap,
 * core/authclient): waiting to be sent (FIFO) and in flight; what happens to them when the
 * connection breaks (those in flight are sent once more, then they fail); and the delay
 * after the server could not be reached, 1 s doubling to a maximum, during which new
 * requests fail at once. Not a connection: the owner connects, sends, reads and matches
 * answers; items are embedded first in the owner's request structs. */
#ifndef CORE_REQQ_H
#define CORE_REQQ_H

#include <stdint.h>

struct reqq_item {
	struct reqq_item *next;
	int retried;
	int dropped;	/* the owner gave it up: it is freed, never sent again */
};

/* An item is done without an answer: the owner's callback (unless dropped) with error,
 * then its free. May push new items. */
typedef void reqq_end_fn(struct reqq_item *, const char *error, void *arg);

struct reqq {
	struct reqq_item *queue, *sent;
	unsigned int nsent;
	unsigned int delay_s, delay_max_s;
	uint64_t retry_at;
	reqq_end_fn *end;
	void *arg;
};

void reqq_init(struct reqq *, unsigned int delay_max_s, reqq_end_fn *, void *arg);
/* At the end of the queue. */
void reqq_push(struct reqq *, struct reqq_item *);
/* The first waiting item goes in flight (at the end of the sent list). */
void reqq_send(struct reqq *);
/* Takes it out of its list: 1 it was waiting, 2 in flight, 0 in neither. */
int reqq_unlink(struct reqq *, struct reqq_item *);
/* The connection broke. ready: it had been working, so what was in flight waits again
 * (at the front of the queue) unless it already was sent twice. Not ready: the server
 * could not be reached, every request ends with error and the delay grows. Returns the
 * new delay in seconds when it grew, else 0. */
unsigned int reqq_broken(struct reqq *, int ready, const char *error, uint64_t now_ms);
/* During the delay: every waiting request ends with error; returns 1. Else 0. */
int reqq_hold(struct reqq *, const char *error, uint64_t now_ms);
/* A connection works: the next failure starts the delay at 1 s again. */
void reqq_connected(struct reqq *);
/* Every request ends with error (the client goes away). */
void reqq_end_all(struct reqq *, const char *error);

#endif
