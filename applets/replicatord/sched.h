/* SPDX-License-Identifier: MIT */
/* applets/replicatord/sched.h: when which user syncs (sched.c). */
#ifndef REPLICATORD_SCHED_H
#define REPLICATORD_SCHED_H

#include "applets/replicatord/replicatord.h"

void sched_kick(struct repl *);
void sched_tick(struct repl *);
/* A sync ended (dsync.c): result is NULL on success, else the reason; code is the
 * doveadm server's -CODE when it sent one. */
void sched_done(struct repl *, struct repl_user *, int side, int full, int64_t old_full,
    const char *new_state, const char *code, const char *reason);

#endif
