/* SPDX-License-Identifier: MIT */
/* applets/directord/health.h: what health.c offers the rest of directord. */
#ifndef DIRECTORD_HEALTH_H
#define DIRECTORD_HEALTH_H

#include "applets/directord/directord.h"

int health_init(struct directord *, FILE *errf);
void health_host_added(struct directord *, struct dir_host *);
void health_host_removed(struct directord *, struct dir_host *);
void health_free(struct directord *);

#endif
