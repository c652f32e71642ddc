/* SPDX-License-Identifier: MIT */
/* applets/directord/dirstats.h: directord's metrics (docs/metrics.md), defined in
 * dirstats.c and counted by one-line hooks where the events happen. */
#ifndef DIRSTATS_H
#define DIRSTATS_H

#include <stddef.h>

#include "core/metrics.h"

struct directord;

extern struct metrics_family dirstats_lookups, dirstats_moves, dirstats_kicks, dirstats_health;

/* Registers every directord family, the per-host gauges and the build info. */
void dirstats_init(struct directord *);
/* One probe of one port of a host: "imap:143", result ok or failed. */
void dirstats_health_probe(const char *host, const char *port_name, unsigned int port, const char *result);
/* Ring lines received (sent 0: one line, without its LF) or sent (sent 1: one or more
 * lines, each ending with LF), counted by command. */
void dirstats_ring_msgs(int sent, const char *data, size_t len);

#endif
