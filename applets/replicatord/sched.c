/* SPDX-License-Identifier: MIT */
/* applets/replicatord/sched.c: which user syncs next, and what a finished sync changes.
 * Every free slot takes the due user with the earliest due time (a scan, not a queue
 * head: one user that is not due never holds back the others); a user being synced is
 * never picked again until its sync ends, so one user never has two syncs. */
#include <stdlib.h>
#include <string.h>

#include "applets/replicatord/replicatord.h"
#include "core/log.h"

static void
kick_cb(struct loop_timer *t, void *arg)
{
	(void)t;
	sched_tick(arg);
}

void
sched_kick(struct repl *r)
{
	if (!loop_timer_armed(&r->kick))
		loop_timer_set(r->loop, &r->kick, 0, kick_cb, r);
}

static size_t
free_slot(struct repl *r)
{
	for (size_t i = 0; i < r->nslots; i++)
		if (r->slots[i].ds == NULL)
			return i;
	if (r->nslots < r->set.max_conns) {
		memset(&r->slots[r->nslots], 0, sizeof(r->slots[0]));
		return r->nslots++;
	}
	return (size_t)-1;
}

/* The due users with the earliest due times, at most want of them, earliest first. */
static size_t
pick(struct repl *r, int64_t now, struct repl_user **out, int64_t *dues, size_t want)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nusers; i++) {
		struct repl_user *u = r->users[i];
		if (u->syncing)
			continue;
		int64_t due = queue_due(r, u, now);
		if (due > now)
			continue;
		if (n == want && due >= dues[n - 1])
			continue;
		size_t j = n < want ? n++ : n - 1;
		while (j > 0 && dues[j - 1] > due) {
			out[j] = out[j - 1];
			dues[j] = dues[j - 1];
			j--;
		}
		out[j] = u;
		dues[j] = due;
	}
	return n;
}

void
sched_tick(struct repl *r)
{
	int64_t now = loop_wall(r->loop);
	size_t want = r->set.max_conns - r->running;
	if (want == 0 || r->nusers == 0)
		return;
	struct repl_user **cand = calloc(want, sizeof(*cand));
	int64_t *dues = calloc(want, sizeof(*dues));
	if (cand == NULL || dues == NULL) {
		free(cand);
		free(dues);
		return;
	}
	size_t n = pick(r, now, cand, dues, want);
	for (size_t i = 0; i < n; i++) {
		struct repl_user *u = cand[i];
		size_t slot = free_slot(r);
		if (slot == (size_t)-1)
			break;
		int full = u->force_full || u->last_full + r->set.full_interval <= now;
		if (dsync_start(r, slot, u, full) < 0)
			break;
	}
	free(cand);
	free(dues);
}

static unsigned int
backoff(const struct repl *r, unsigned int fails)
{
	unsigned int d = r->set.retry_min;
	while (--fails > 0 && d < r->set.retry_max)
		d *= 2;
	return d < r->set.retry_max ? d : r->set.retry_max;
}

void
sched_done(struct repl *r, struct repl_user *u, int side, int full, int64_t old_full,
    const char *new_state, const char *code, const char *reason)
{
	int64_t now = loop_wall(r->loop);
	u->syncing = 0;
	if (u->removed) {
		queue_release(u);
		sched_kick(r);
		return;
	}
	r->dirty = 1;
	if (reason == NULL) {
		char *s = strdup(new_state ? new_state : "");
		if (s != NULL) {
			free(u->state[side]);
			u->state[side] = s;
		}
		u->failed = 0;
		u->fails = 0;
		u->last_success = now;
		r->syncs_ok++;
		log_debug("%s: %s sync done", u->name, full ? "full" : "incremental");
		queue_answer_waiters(u, 1, 0);
	} else if (code != NULL && (strcmp(code, "NOUSER") == 0 ||
	    strcmp(code, "NOREPLICATE") == 0)) {
		/* as Dovecot: the userdb does not know the user, or says not to replicate */
		log_info("%s: removed from replication: the doveadm server answered %s",
		    u->name, code);
		r->syncs_failed++;
		queue_remove(r, u);
		sched_kick(r);
		return;
	} else {
		/* a state from before a failed sync may no longer match either side: the
		 * next sync runs without one (Dovecot's rule), and a full sync that failed
		 * is still owed */
		u->state[side][0] = '\0';
		/* the side still has changes to bring over */
		u->sides |= (unsigned char)(1u << side);
		if (full) {
			u->last_full = old_full;
			u->force_full = 1;
		}
		u->failed = 1;
		u->fails++;
		unsigned int wait = backoff(r, u->fails);
		u->retry_at = now + wait;
		r->syncs_failed++;
		log_errorx("%s: sync failed (%u in a row, retry in %u s): %s", u->name, u->fails,
		    wait, reason);
		queue_answer_waiters(u, 0, 0);
	}
	/* a request that came in during the sync waits for the next one */
	if (u->waiters != NULL && u->prio < PRIO_SYNC)
		u->prio = PRIO_SYNC;
	sched_kick(r);
}
