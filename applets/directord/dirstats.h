/* SPDX-License-Identifier: MIT */
/* applets/directord/dirstats.h: directord's metrics (docs/metrics.md), defined in
 * dirstats.c and counted by one-line hooks where the events happen. The ring's metrics
 * belong here too when the ring comes (docs/metrics.md says how). */
#ifndef DIRSTATS_H
#define DIRSTATS_H

#include "core/metrics.h"

struct directord;

extern struct metrics_family dirstats_lookups, dirstats_moves, dirstats_kicks, dirstats_health;

/* Registers every directord family, the per-host gauges and the build info. */
void dirstats_init(struct directord *);
/* One probe of one port of a host: "imap:143", result ok or failed. */
void dirstats_health_probe(const char *host, const char *port_name, unsigned int port, const char *result);

#endif
