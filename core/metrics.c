/* SPDX-License-Identifier: MIT */
/* core/metrics.c: the metrics registry and its two text renderings. Series are found by
 * a linear walk comparing a hash of the label values, then the strings of the one that
 * matches: families have a few dozen series at most, and an update then costs far less
 * than the system call it counts (bench/metricsupd.c). Numbers are integers throughout
 * (durations in microseconds), so rendering needs no floating point. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "core/buf.h"
#include "core/metrics.h"
#include "core/str.h"

struct metrics_series {
	struct metrics_series *next;
	const char *labels[METRICS_LABELS_MAX];	/* copies, in the same allocation */
	int64_t value;			/* counter, gauge; histogram: number of observations */
	uint64_t sum_us;		/* histogram: sum of observations */
	uint64_t *buckets;		/* histogram: per-bound counts (not cumulative) */
	unsigned int gen;		/* the scrape that last touched it (collected gauges) */
	uint32_t hash;			/* of the label values: compared before the strings */
};

static struct metrics_family *families, **families_tail = &families;
static unsigned int scrape_gen;

static void
family_init(struct metrics_family *f)
{
	if (f->inited)
		return;
	f->inited = 1;
	while (f->nlabels < METRICS_LABELS_MAX && f->labels[f->nlabels])
		f->nlabels++;
	while (f->bounds && f->nbounds < METRICS_BOUNDS_MAX && f->bounds[f->nbounds])
		f->nbounds++;
}

void
metrics_register(struct metrics_family *f)
{
	if (f->registered)
		return;
	family_init(f);
	f->registered = 1;
	*families_tail = f;
	families_tail = &f->next;
	if (f->nlabels == 0 && f->type != METRICS_INFO)
		metrics_add(f, 0, NULL);	/* a family without labels reads 0 from the start */
}

void
metrics_register_collect(struct metrics_family *f, void (*collect)(struct metrics_family *, void *),
    void *arg)
{
	f->collect = collect;
	f->collect_arg = arg;
	metrics_register(f);
}

static uint32_t
values_hash(const struct metrics_family *f, const char *const *values)
{
	uint32_t h = 2166136261u;	/* FNV-1a over the values, each ended by its NUL */
	for (unsigned int i = 0; i < f->nlabels; i++) {
		const unsigned char *p = (const unsigned char *)(values[i] ? values[i] : "");
		do
			h = (h ^ *p) * 16777619u;
		while (*p++);
	}
	return h;
}

static struct metrics_series *
series_new(const struct metrics_family *f, const char *const *values)
{
	size_t size = sizeof(struct metrics_series) + f->nbounds * sizeof(uint64_t), off;
	for (unsigned int i = 0; i < f->nlabels; i++)
		size += strlen(values[i]) + 1;
	struct metrics_series *s = calloc(1, size);
	if (s == NULL)
		return NULL;
	off = sizeof(*s);
	if (f->nbounds) {
		s->buckets = (uint64_t *)((char *)s + off);
		off += f->nbounds * sizeof(uint64_t);
	}
	for (unsigned int i = 0; i < f->nlabels; i++) {
		size_t n = strlen(values[i]) + 1;
		memcpy((char *)s + off, values[i], n);
		s->labels[i] = (char *)s + off;
		off += n;
	}
	return s;
}

/* The series for values: found, made, or the "other" one when the family is full or
 * memory is short; NULL only when even that cannot be had. */
static struct metrics_series *
series_get(struct metrics_family *f, const char *const *values)
{
	struct metrics_series **pp = &f->series, *s;
	family_init(f);
	uint32_t h = values_hash(f, values);
	for (; (s = *pp) != NULL; pp = &s->next) {
		if (s->hash != h)
			continue;
		unsigned int i = 0;
		while (i < f->nlabels && strcmp(s->labels[i], values[i] ? values[i] : "") == 0)
			i++;
		if (i == f->nlabels)
			return s;
	}
	const char *v[METRICS_LABELS_MAX];
	for (unsigned int i = 0; i < f->nlabels; i++)
		v[i] = values[i] ? values[i] : "";
	if (f->nseries < METRICS_SERIES_MAX && (s = series_new(f, v)) != NULL) {
		s->hash = h;
		*pp = s;
		f->nseries++;
		return s;
	}
	if (f->other == NULL) {
		static const char *const others[METRICS_LABELS_MAX] = { "other", "other", "other" };
		f->other = series_new(f, others);
	}
	return f->other;
}

void
metrics_add(struct metrics_family *f, int64_t n, const char *const *values)
{
	struct metrics_series *s = series_get(f, values);
	if (s) {
		s->value += n;
		s->gen = scrape_gen;
	}
}

void
metrics_set(struct metrics_family *f, int64_t v, const char *const *values)
{
	struct metrics_series *s = series_get(f, values);
	if (s) {
		s->value = v;
		s->gen = scrape_gen;
	}
}

void
metrics_observe(struct metrics_family *f, uint64_t usec, const char *const *values)
{
	struct metrics_series *s = series_get(f, values);
	if (s == NULL)
		return;
	s->value++;
	s->sum_us += usec;
	for (unsigned int i = 0; i < f->nbounds; i++)
		if (usec <= f->bounds[i]) {
			s->buckets[i]++;
			break;
		}
}

uint64_t
metrics_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const uint64_t metrics_bounds_latency[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 30000000, 0,
};

static struct metrics_family build_info = {
	.name = "mtool_build", .help = "Version of mtool and the applet of this process; always 1",
	.type = METRICS_INFO, .labels = { "version", "applet" },
};

void
metrics_build_info(const char *applet)
{
	metrics_set(&build_info, 1, METRICS_VALUES(MTOOL_VERSION, applet));
	metrics_register(&build_info);
}

/* ---- rendering ---- */

struct out {
	struct buf *b;
	int err;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (!o->err && buf_append(o->b, s, n) < 0)
		o->err = 1;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Label values may hold what a configuration or a passdb wrote: escaped as both formats
 * want (backslash, double quote, newline). */
static void
put_escaped(struct out *o, const char *s)
{
	for (;;) {
		size_t n = strcspn(s, "\\\"\n");
		put(o, s, n);
		s += n;
		if (*s == '\0')
			return;
		put(o, *s == '\n' ? "\\n" : *s == '"' ? "\\\"" : "\\\\", 2);
		s++;
	}
}

static void
put_u64(struct out *o, uint64_t v)
{
	char tmp[24];
	put(o, tmp, str_fmt(tmp, sizeof(tmp), "%llu", (unsigned long long)v));
}

static void
put_i64(struct out *o, int64_t v)
{
	char tmp[24];
	put(o, tmp, str_fmt(tmp, sizeof(tmp), "%lld", (long long)v));
}

/* Microseconds as seconds: "0.005", "1", "2.5" */
static void
put_seconds(struct out *o, uint64_t us)
{
	char tmp[32];
	size_t n = str_fmt(tmp, sizeof(tmp), "%llu.%06llu", (unsigned long long)(us / 1000000u),
	    (unsigned long long)(us % 1000000u));
	while (tmp[n - 1] == '0')
		n--;
	if (tmp[n - 1] == '.')
		n--;
	put(o, tmp, n);
}

/* {a="x",b="y"} with an optional extra le="..." (extra_us == UINT64_MAX: +Inf) */
static void
put_labels(struct out *o, const struct metrics_family *f, const struct metrics_series *s,
    int with_le, uint64_t le_us)
{
	if (f->nlabels == 0 && !with_le)
		return;
	put(o, "{", 1);
	for (unsigned int i = 0; i < f->nlabels; i++) {
		if (i)
			put(o, ",", 1);
		puts_(o, f->labels[i]);
		put(o, "=\"", 2);
		put_escaped(o, s->labels[i]);
		put(o, "\"", 1);
	}
	if (with_le) {
		puts_(o, f->nlabels ? ",le=\"" : "le=\"");
		if (le_us == UINT64_MAX)
			puts_(o, "+Inf");
		else
			put_seconds(o, le_us);
		put(o, "\"", 1);
	}
	put(o, "}", 1);
}

static void
put_sample(struct out *o, const struct metrics_family *f, const char *suffix,
    const struct metrics_series *s)
{
	puts_(o, f->name);
	puts_(o, suffix);
	put_labels(o, f, s, 0, 0);
	put(o, " ", 1);
}

static void
render_histogram(struct out *o, const struct metrics_family *f, const struct metrics_series *s)
{
	uint64_t cum = 0;
	for (unsigned int i = 0; i <= f->nbounds; i++) {
		cum += i < f->nbounds ? s->buckets[i] : 0;
		puts_(o, f->name);
		puts_(o, "_bucket");
		put_labels(o, f, s, 1, i < f->nbounds ? f->bounds[i] : UINT64_MAX);
		put(o, " ", 1);
		put_u64(o, i < f->nbounds ? cum : (uint64_t)s->value);
		put(o, "\n", 1);
	}
	put_sample(o, f, "_sum", s);
	put_seconds(o, s->sum_us);
	put(o, "\n", 1);
	put_sample(o, f, "_count", s);
	put_i64(o, s->value);
	put(o, "\n", 1);
}

static void
render_family(struct out *o, struct metrics_family *f, int om)
{
	static const char *const types[][2] = {
		[METRICS_COUNTER] = { "counter", "counter" },
		[METRICS_GAUGE] = { "gauge", "gauge" },
		[METRICS_HISTOGRAM] = { "histogram", "histogram" },
		[METRICS_INFO] = { "gauge", "info" },
	};
	/* the text format names the family as its samples; OpenMetrics without the suffix */
	const char *suffix = f->type == METRICS_COUNTER ? "_total" : f->type == METRICS_INFO ? "_info" : "";
	const char *family_suffix = om ? "" : suffix;

	puts_(o, "# HELP ");
	puts_(o, f->name);
	puts_(o, family_suffix);
	put(o, " ", 1);
	puts_(o, f->help);
	puts_(o, "\n# TYPE ");
	puts_(o, f->name);
	puts_(o, family_suffix);
	put(o, " ", 1);
	puts_(o, types[f->type][om]);
	put(o, "\n", 1);
	for (int pass = 0; pass < 2; pass++) {
		const struct metrics_series *s = pass == 0 ? f->series : f->other;
		for (; s != NULL; s = pass == 0 ? s->next : NULL) {
			if (f->collect && s->gen != scrape_gen)
				continue;	/* not set by this scrape's collect */
			if (f->type == METRICS_HISTOGRAM) {
				render_histogram(o, f, s);
				continue;
			}
			put_sample(o, f, suffix, s);
			put_i64(o, s->value);
			put(o, "\n", 1);
		}
	}
}

int
metrics_render(struct buf *b, int openmetrics)
{
	struct out o = { b, 0 };
	scrape_gen++;
	for (struct metrics_family *f = families; f; f = f->next) {
		if (f->collect) {
			for (struct metrics_series *s = f->series; s; s = s->next)
				s->value = 0;
			if (f->other)
				f->other->value = 0;
			f->collect(f, f->collect_arg);
		}
		render_family(&o, f, openmetrics);
	}
	if (openmetrics)
		puts_(&o, "# EOF\n");
	return o.err ? -1 : 0;
}

const char *
metrics_content_type(int openmetrics)
{
	return openmetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8" :
	    "text/plain; version=0.0.4; charset=utf-8";
}

void
metrics_reset(void)
{
	for (struct metrics_family *f = families, *next; f; f = next) {
		next = f->next;
		for (struct metrics_series *s = f->series, *sn; s; s = sn) {
			sn = s->next;
			free(s);
		}
		free(f->other);
		f->series = f->other = NULL;
		f->next = NULL;
		f->nseries = f->registered = f->inited = f->nlabels = f->nbounds = 0;
	}
	families = NULL;
	families_tail = &families;
}
