/* SPDX-License-Identifier: MIT */
/* applets/replicatord/queue.h: the users to replicate, by priority (queue.c). */
#ifndef REPLICATORD_QUEUE_H
#define REPLICATORD_QUEUE_H

#include "applets/replicatord/replicatord.h"

struct repl_user *queue_find(struct repl *, const char *name);
/* Finds or adds (priority none, never synced); NULL if out of memory or the name is
 * unusable (empty or over 255 bytes). */
struct repl_user *queue_get(struct repl *, const char *name, unsigned int pair);
/* Raises the priority (a lower or equal one changes nothing) and wakes the scheduler;
 * side is the pair member that changed (0, 1), or -1 when unknown (then both sync). */
void queue_raise(struct repl *, struct repl_user *, enum repl_prio, int side);
/* Forgets the user; a running sync's result is dropped when it ends. */
void queue_remove(struct repl *, struct repl_user *);
/* Frees a user queue_remove() left to its running sync, once the sync let go of it. */
void queue_release(struct repl_user *);
/* When the user is next due (wall seconds). */
int64_t queue_due(const struct repl *, const struct repl_user *, int64_t now);
int queue_is_wildcard(const char *mask);
const char *queue_prio_name(unsigned int prio);
int queue_prio_parse(const char *s, enum repl_prio *);
void queue_free_all(struct repl *);
/* Answers the armed (or all) waiters with ok and forgets them. */
void queue_answer_waiters(struct repl_user *, int ok, int all);

#endif
