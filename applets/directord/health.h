/* SPDX-License-Identifier: MIT */
/* applets/directord/health.h: what health.c offers the rest of directord. */
#ifndef DIRECTORD_HEALTH_H
#define DIRECTORD_HEALTH_H

#include "applets/directord/directord.h"

int health_init(struct directord *, FILE *errf);
void health_host_added(struct directord *, struct dir_host *);
void health_host_removed(struct directord *, struct dir_host *);
void health_free(struct directord *);
/* Probes the host now instead of at its next round, unless a probe is under way (for
 * tests/fuzz/directord_fuzz.c, which cannot wait for a timer). */
void health_check_now(struct directord *, struct dir_host *);

#endif
