/* SPDX-License-Identifier: MIT */
/* applets/proxyd/stats.h: proxyd's metrics (docs/metrics.md), defined in stats.c and
 * counted by one-line hooks where the events happen. Not the registry: core/metrics.h. */
#ifndef PROXYD_STATS_H
#define PROXYD_STATS_H

#include <stdint.h>

#include "core/metrics.h"

struct client;
struct proxyd;
struct relay;
struct relay_dir;
enum client_fail;

extern struct metrics_family stats_logins, stats_login_seconds, stats_backend_failures;
extern struct metrics_family stats_relayed_bytes, stats_lmtp_rcpts, stats_kicks;

/* The result label of a failed login. */
const char *stats_fail_result(enum client_fail);

#ifdef MTOOL_WITH_METRICS
/* Registers every proxyd family, the gauges computed at scrape time and the build info. */
void stats_init(struct proxyd *);
/* A login that reached its backend: counted, and its time from the client's connect. */
void stats_login_ok(struct client *);
/* A backend login that failed before the backend could answer: reason is one word
 * (refused, timeout, closed, tls, error); the backend label is "ip:port". */
void stats_backend_failure(struct client *, const char *reason);
/* Bytes relayed by one read or splice of direction d. */
void stats_relayed(const struct relay *, const struct relay_dir *d, uint64_t n);
#else
/* Feature METRICS is out (mk/features.mk): the hooks do nothing. */
static inline void stats_init(struct proxyd *pd) { (void)pd; }
static inline void stats_login_ok(struct client *c) { (void)c; }
static inline void stats_backend_failure(struct client *c, const char *r) { (void)c, (void)r; }
static inline void
stats_relayed(const struct relay *r, const struct relay_dir *d, uint64_t n)
{
	(void)r, (void)d, (void)n;
}
#endif

#endif
