/* SPDX-License-Identifier: MIT */
/* applets/replicatord/dsync.h: one sync: a doveadm sync on a slot (dsync.c). */
#ifndef REPLICATORD_DSYNC_H
#define REPLICATORD_DSYNC_H

#include "applets/replicatord/replicatord.h"

int dsync_start(struct repl *, size_t slot, struct repl_user *, int full);
void dsync_abort_all(struct repl *);
const char *dsync_slot_status(const struct repl *, const struct repl_slot *, char *buf,
    size_t len);
const char *dsync_slot_user(const struct repl_slot *);
const char *dsync_slot_type(const struct repl_slot *);

#endif
