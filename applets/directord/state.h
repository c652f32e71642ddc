/* SPDX-License-Identifier: MIT */
/* applets/directord/state.h: what state.c offers the rest of directord. */
#ifndef DIRECTORD_STATE_H
#define DIRECTORD_STATE_H

#include "applets/directord/directord.h"

int state_load(struct directord *, FILE *errf);
/* Writes the state now (temp file, fsync, rename). Returns 0 or -1 (logged). */
int state_save(struct directord *);
static inline void state_touch(struct directord *d) { d->state_dirty = 1; }

#endif
