/* SPDX-License-Identifier: MIT */
/* applets/replicatord/rstats.h: the metric families (docs/metrics.md) */
#ifndef REPLICATORD_RSTATS_H
#define REPLICATORD_RSTATS_H

#include "applets/replicatord/replicatord.h"

/* Registers them and the build info; the queue gauges read r at scrape time. */
void rstats_init(struct repl *);
/* A sync ended; started_us is metrics_now_us() at its start. */
void rstats_sync_done(int full, int ok, uint64_t started_us);

#endif
