/* SPDX-License-Identifier: MIT */
/* applets/replicatord/listeners.h: opens and closes the sockets of service replicator
 * and service aggregator (listeners.c). */
#ifndef REPLICATORD_LISTENERS_H
#define REPLICATORD_LISTENERS_H

#include "applets/replicatord/replicatord.h"

int listeners_open(struct repl *, FILE *errf);
void listeners_close(struct repl *);

#endif
