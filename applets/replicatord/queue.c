/* SPDX-License-Identifier: MIT */
/* applets/replicatord/queue.c: the known users: a hash table for lookups, an array for
 * the scans (STATUS, the scheduler, the state file), priorities and when a user is due.
 * The due rule is Dovecot 2.3.20's (one "next sync time" per user, so a failed user no
 * longer blocks the queue), with mtool's backoff and start-up spreading added. */
#include <stdlib.h>
#include <string.h>

#include "applets/replicatord/replicatord.h"
#include "core/log.h"
#include "core/str.h"

#define USER_NAME_MAX	255

static const char *const prio_names[] = { "none", "low", "high", "sync" };

const char *
queue_prio_name(unsigned int prio)
{
	return prio < 4 ? prio_names[prio] : "none";
}

int
queue_prio_parse(const char *s, enum repl_prio *p)
{
	for (unsigned int i = 0; i < 4; i++) {
		if (strcmp(s, prio_names[i]) == 0) {
			*p = (enum repl_prio)i;
			return 0;
		}
	}
	return -1;
}

int
queue_is_wildcard(const char *mask)
{
	return strpbrk(mask, "*?") != NULL;
}

struct repl_user *
queue_find(struct repl *r, const char *name)
{
	if (r->nbuckets == 0)
		return NULL;
	for (struct repl_user *u = r->buckets[str_hash(name) % r->nbuckets]; u; u = u->hnext)
		if (strcmp(u->name, name) == 0)
			return u;
	return NULL;
}

static int
rehash(struct repl *r)
{
	size_t n = r->nbuckets ? r->nbuckets * 2 : 256;
	struct repl_user **b = calloc(n, sizeof(*b));
	if (b == NULL)
		return -1;
	for (size_t i = 0; i < r->nusers; i++) {
		struct repl_user *u = r->users[i];
		size_t h = str_hash(u->name) % n;
		u->hnext = b[h];
		b[h] = u;
	}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
	return 0;
}

struct repl_user *
queue_get(struct repl *r, const char *name, unsigned int pair)
{
	struct repl_user *u = queue_find(r, name);
	if (u != NULL)
		return u;
	size_t len = strlen(name);
	if (len == 0 || len > USER_NAME_MAX)
		return NULL;
	if (r->nusers == r->capusers) {
		size_t cap = r->capusers ? r->capusers * 2 : 256;
		struct repl_user **a = realloc(r->users, cap * sizeof(*a));
		if (a == NULL)
			return NULL;
		r->users = a;
		r->capusers = cap;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	if ((u->name = strdup(name)) == NULL || (u->state[0] = strdup("")) == NULL ||
	    (u->state[1] = strdup("")) == NULL) {
		free(u->name);
		free(u->state[0]);
		free(u);
		return NULL;
	}
	u->pair = pair < r->npairs ? pair : 0;
	u->idx = r->nusers;
	r->users[r->nusers++] = u;
	if (r->nusers > r->nbuckets && rehash(r) < 0)
		log_errorx("out of memory growing the user table");
	if (r->nbuckets) {
		size_t h = str_hash(name) % r->nbuckets;
		if (r->buckets[h] != u) {
			u->hnext = r->buckets[h];
			r->buckets[h] = u;
		}
	}
	r->dirty = 1;
	return u;
}

void
queue_raise(struct repl *r, struct repl_user *u, enum repl_prio p, int side)
{
	u->sides |= side < 0 ? 3 : 1 << side;
	/* 2.3.20+: only a higher priority refreshes last_update (a stream of equal
	 * notifications must not keep a user behind others forever) */
	if ((unsigned int)p > u->prio) {
		u->prio = (unsigned char)p;
		u->last_update = loop_wall(r->loop);
		r->dirty = 1;
	}
	sched_kick(r);
}

void
queue_answer_waiters(struct repl_user *u, int ok, int all)
{
	struct repl_waiter **pw = &u->waiters;
	while (*pw) {
		struct repl_waiter *w = *pw;
		if (!all && !w->armed) {
			pw = &w->next;
			continue;
		}
		*pw = w->next;
		notify_answer(w->nc, w->id, ok);
		notify_unref(w->nc);
		free(w);
	}
}

static void
user_free(struct repl_user *u)
{
	queue_answer_waiters(u, 0, 1);
	free(u->name);
	free(u->state[0]);
	free(u->state[1]);
	free(u);
}

void
queue_remove(struct repl *r, struct repl_user *u)
{
	if (r->nbuckets) {
		struct repl_user **pu = &r->buckets[str_hash(u->name) % r->nbuckets];
		while (*pu && *pu != u)
			pu = &(*pu)->hnext;
		if (*pu)
			*pu = u->hnext;
	}
	r->users[u->idx] = r->users[--r->nusers];
	r->users[u->idx]->idx = u->idx;
	r->dirty = 1;
	if (u->syncing) {
		/* dsync.c still points at it: it is freed when the sync ends */
		u->removed = 1;
		u->hnext = NULL;
		return;
	}
	user_free(u);
}

void
queue_release(struct repl_user *u)
{
	user_free(u);
}

int64_t
queue_due(const struct repl *r, const struct repl_user *u, int64_t now)
{
	int64_t due;
	(void)now;
	if (u->prio != PRIO_NONE) {
		/* never synced: first, highest priority first; else waiting long enough
		 * overtakes a newer request of a higher priority (2.3.20) */
		if (u->last_fast == 0)
			due = 3 - u->prio;
		else
			due = u->last_update - 15 * 60 * (int64_t)u->prio;
	} else if (u->failed) {
		due = u->retry_at;
	} else if (u->force_full) {
		due = 0;
	} else if (u->startup_sync) {
		due = u->not_before;
	} else {
		due = u->last_full + r->set.full_interval;
	}
	/* a failed user waits out its backoff even when notified again, so one user
	 * whose syncs always fail cannot take a slot every time a mail arrives */
	if (u->failed && due < u->retry_at)
		due = u->retry_at;
	if (u->prio == PRIO_NONE && due < u->not_before)
		due = u->not_before;
	return due;
}

void
queue_free_all(struct repl *r)
{
	for (size_t i = 0; i < r->nusers; i++) {
		if (r->users[i]->syncing)
			r->users[i]->removed = 1;
		else
			user_free(r->users[i]);
	}
	free(r->users);
	free(r->buckets);
	r->users = NULL;
	r->buckets = NULL;
	r->nusers = r->capusers = r->nbuckets = 0;
}
