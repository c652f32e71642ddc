/* SPDX-License-Identifier: MIT */
/* applets/replicatord/rstats.c: replicatord's metric families (docs/metrics.md). The
 * queue gauges are read from the user list at scrape time, so they always agree with
 * what `doveadm replicator status` says; the syncs are counted where a sync ends. */
#include "applets/replicatord/replicatord.h"
#include "core/metrics.h"

static struct metrics_family syncs = {
	.name = "mtool_replicator_syncs", .help = "Finished syncs by type and result",
	.type = METRICS_COUNTER, .labels = { "type", "result" },
};
static struct metrics_family sync_seconds = {
	.name = "mtool_replicator_sync_duration_seconds",
	.help = "Time from a sync's start to the doveadm server's answer, by type",
	.type = METRICS_HISTOGRAM, .labels = { "type" }, .bounds = metrics_bounds_latency,
};
static struct metrics_family queued = {
	.name = "mtool_replicator_queued_users",
	.help = "Users not being synced, by the priority of their pending request",
	.type = METRICS_GAUGE, .labels = { "priority" },
};
static struct metrics_family oldest = {
	.name = "mtool_replicator_oldest_pending_seconds",
	.help = "Age of the oldest pending request of a user not being synced, 0 if none",
	.type = METRICS_GAUGE,
};
static struct metrics_family users = {
	.name = "mtool_replicator_users", .help = "Known users",
	.type = METRICS_GAUGE,
};
static struct metrics_family running = {
	.name = "mtool_replicator_running_syncs", .help = "Syncs under way",
	.type = METRICS_GAUGE,
};

static void
collect_queue(struct metrics_family *f, void *arg)
{
	const struct repl *r = arg;
	int64_t now = r->loop != NULL ? loop_wall(r->loop) : 0, n[4] = { 0 }, age = 0;
	for (size_t i = 0; i < r->nusers; i++) {
		const struct repl_user *u = r->users[i];
		if (u->syncing)
			continue;
		n[u->prio & 3]++;
		if (u->prio != PRIO_NONE && u->last_update > 0 && now - u->last_update > age)
			age = now - u->last_update;
	}
	if (f == &queued) {
		for (unsigned int p = PRIO_NONE; p <= PRIO_SYNC; p++)
			metrics_set(f, n[p], METRICS_VALUES(queue_prio_name(p)));
	} else {
		metrics_set(f, age, NULL);
	}
}

static void
collect_counts(struct metrics_family *f, void *arg)
{
	const struct repl *r = arg;
	metrics_set(f, f == &users ? (int64_t)r->nusers : (int64_t)r->running, NULL);
}

void
rstats_init(struct repl *r)
{
	metrics_build_info("replicatord");
	metrics_register_collect(&queued, collect_queue, r);
	metrics_register_collect(&oldest, collect_queue, r);
	metrics_register_collect(&users, collect_counts, r);
	metrics_register_collect(&running, collect_counts, r);
	metrics_register(&syncs);
	metrics_register(&sync_seconds);
	/* every type x result exists at 0, so rate() works from the first scrape */
	static const char *const types[] = { "full", "incremental" };
	for (int t = 0; t < 2; t++) {
		METRICS_ADD(syncs, 0, types[t], "ok");
		METRICS_ADD(syncs, 0, types[t], "failed");
	}
}

void
rstats_sync_done(int full, int ok, uint64_t started_us)
{
	const char *type = full ? "full" : "incremental";
	METRICS_INC(syncs, type, ok ? "ok" : "failed");
	metrics_observe(&sync_seconds, metrics_now_us() - started_us, METRICS_VALUES(type));
}
