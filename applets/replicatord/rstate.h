/* SPDX-License-Identifier: MIT */
/* applets/replicatord/rstate.h: the state file (replicator.db) (rstate.c). */
#ifndef REPLICATORD_RSTATE_H
#define REPLICATORD_RSTATE_H

#include "applets/replicatord/replicatord.h"

int rstate_load(struct repl *, FILE *errf);
int rstate_save(struct repl *);

#endif
