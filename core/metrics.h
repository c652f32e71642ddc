/* SPDX-License-Identifier: MIT */
/* core/metrics.h: the process's metrics registry: counters, gauges, histograms and one
 * info metric, each a family of series told apart by up to METRICS_LABELS_MAX label
 * values, rendered in Prometheus text format 0.0.4 or OpenMetrics 1.0. Not a server:
 * core/http.h serves metrics_render() on /metrics.
 *
 * A family is a static struct in the file that owns the metric, registered once at
 * start-up; updates are one call at the place where the event happens:
 *
 *	struct metrics_family stats_logins = { .name = "mtool_proxyd_logins",
 *	    .help = "Logins by protocol and result", .type = METRICS_COUNTER,
 *	    .labels = { "protocol", "result" } };
 *	metrics_register(&stats_logins);			(start-up)
 *	METRICS_INC(stats_logins, "imap", "success");		(the event)
 *
 * Label values must come from a small fixed set (protocol names, result words, backend
 * addresses the configuration names): never user names or client addresses. A family
 * holds at most METRICS_SERIES_MAX series; values beyond that (or met while out of
 * memory) are counted in one series whose labels all read "other", so nothing is lost
 * silently. The registry is process-wide and lives as long as the process: a SIGHUP
 * reload does not reset it. Single-threaded, like the loop. */
#ifndef CORE_METRICS_H
#define CORE_METRICS_H

#include <stdint.h>

struct buf;

#define METRICS_LABELS_MAX	3
#define METRICS_SERIES_MAX	512
#define METRICS_BOUNDS_MAX	16

enum metrics_type {
	METRICS_COUNTER,	/* rendered NAME_total */
	METRICS_GAUGE,
	METRICS_HISTOGRAM,	/* observations in microseconds, rendered in seconds */
	METRICS_INFO,		/* value 1, the labels carry the information: NAME_info */
};

struct metrics_series;

struct metrics_family {
	const char *name;		/* without _total / _info: "mtool_proxyd_logins" */
	const char *help;		/* one line, no backslash or double quote */
	enum metrics_type type;
	const char *labels[METRICS_LABELS_MAX + 1];	/* label names, NULL-terminated */
	/* histogram: upper bounds in microseconds, ascending, 0-terminated (+Inf is added);
	 * metrics_bounds_latency is 1 ms .. 30 s */
	const uint64_t *bounds;
	/* gauges computed at scrape time: called before rendering; only the series it sets
	 * (metrics_set or metrics_add) are shown, so a removed host's series disappears */
	void (*collect)(struct metrics_family *, void *arg);
	void *collect_arg;

	/* private */
	struct metrics_family *next;
	struct metrics_series *series, *other;
	unsigned int nseries, nlabels, nbounds, registered, inited;
};

#ifdef MTOOL_WITH_METRICS
extern const uint64_t metrics_bounds_latency[];

/* Adds the family to the rendered ones (start-up; a second call does nothing).
 * A family that is updated but never registered counts without being rendered. */
void metrics_register(struct metrics_family *);
/* Sets the collect callback of f and registers it. */
void metrics_register_collect(struct metrics_family *f,
    void (*collect)(struct metrics_family *, void *), void *arg);

/* values: one per label name of the family (NULL for a family without labels). */
void metrics_add(struct metrics_family *, int64_t n, const char *const *values);
void metrics_set(struct metrics_family *, int64_t v, const char *const *values);
void metrics_observe(struct metrics_family *, uint64_t usec, const char *const *values);

#define METRICS_VALUES(...)	((const char *const[]){ __VA_ARGS__ })
#define METRICS_INC(f, ...)	metrics_add(&(f), 1, METRICS_VALUES(__VA_ARGS__))
#define METRICS_ADD(f, n, ...)	metrics_add(&(f), (int64_t)(n), METRICS_VALUES(__VA_ARGS__))

/* Monotonic microseconds, for durations. */
uint64_t metrics_now_us(void);

/* The build info every daemon exports: mtool_build_info{version, applet} 1. */
void metrics_build_info(const char *applet);

/* Appends every registered family (collect callbacks run first) in Prometheus text
 * format 0.0.4, or OpenMetrics 1.0 (with "# EOF") when openmetrics is set.
 * Returns 0, or -1 when out of memory (b then holds a partial text). */
int metrics_render(struct buf *b, int openmetrics);
/* The Content-Type of what metrics_render() writes. */
const char *metrics_content_type(int openmetrics);

/* Tests: forgets every family (their series are freed). */
void metrics_reset(void);
#else
/* Feature METRICS is out (mk/features.mk): the hooks where events happen compile to
 * nothing (sizeof keeps their arguments "used" without evaluating or referencing them),
 * and service stats { inet_listener } is refused (core/http.h). */
#define metrics_bounds_latency	((const uint64_t *)0)
#define METRICS_VALUES(...)	((const char *const[]){ __VA_ARGS__ })
#define METRICS_INC(f, ...)	((void)sizeof(&(f)), (void)sizeof(METRICS_VALUES(__VA_ARGS__)))
#define METRICS_ADD(f, n, ...)	((void)sizeof(&(f)), (void)sizeof(n), \
	(void)sizeof(METRICS_VALUES(__VA_ARGS__)))
static inline void metrics_register(struct metrics_family *f) { (void)f; }
static inline void
metrics_register_collect(struct metrics_family *f, void (*collect)(struct metrics_family *, void *),
    void *arg)
{
	(void)f, (void)collect, (void)arg;
}
static inline void
metrics_add(struct metrics_family *f, int64_t n, const char *const *v) { (void)f, (void)n, (void)v; }
static inline void
metrics_set(struct metrics_family *f, int64_t n, const char *const *v) { (void)f, (void)n, (void)v; }
static inline void
metrics_observe(struct metrics_family *f, uint64_t u, const char *const *v)
{
	(void)f, (void)u, (void)v;
}
static inline uint64_t metrics_now_us(void) { return 0; }
static inline void metrics_build_info(const char *applet) { (void)applet; }
#endif

#endif
