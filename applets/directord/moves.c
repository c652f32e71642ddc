/* SPDX-License-Identifier: MIT */
/* applets/directord/moves.c: moving users safely. A moved user's sessions on its old host
 * are kicked through the proxies that reported them; its new logins wait until every one
 * of those sessions has ended, plus director_user_kick_delay (Dovecot's USER-MOVE ->
 * USER-KILLED -> kick delay sequence for a ring of one), so that a user is never served by
 * two backends at once. HOST-RESET-USERS (doveadm director flush) runs as a job that
 * keeps at most max_parallel users moving; HOST-REMOVE moves a host's connected users
 * away before forgetting the host (Dovecot forgets them and leaves their sessions where
 * they are: docs/directord.8.md). */
#include <stdlib.h>
#include <string.h>

#include "applets/directord/directord.h"
#include "applets/directord/dirstats.h"
#include "core/log.h"
#include "core/str.h"

#define MOVE_TIMEOUT_MS		30000	/* Dovecot's user move timeout */

struct reset_cmd {
	struct reset_cmd *next;
	struct ip_addr only;		/* family 0: every host */
	unsigned int max_parallel;
	unsigned int moved, hosts;
	uint64_t started;
	void (*done)(struct directord *, void *);
	void *arg;
};

void
moves_unlink(struct directord *dd, struct dir_user *u)
{
	struct dir_user **pp = &dd->moving;
	while (*pp && *pp != u)
		pp = &(*pp)->mnext;
	if (*pp)
		*pp = u->mnext;
	u->mnext = NULL;
	if (u->killing)
		dd->users_moving--;
	u->killing = 0;
	u->kick_delay = 0;
}

/* sessions that must end before the user may log in again */
static unsigned int
sessions_elsewhere(const struct dir_user *u)
{
	unsigned int n = 0;
	for (const struct dir_session *s = u->sessions; s; s = s->unext)
		if (u->forget || u->host == NULL || dirhash_ip_cmp(&s->ip, &u->host->ip) != 0)
			n++;
	return n;
}

void
moves_user(struct directord *dd, struct dir_tag *tag, struct dir_user *u, struct dir_host *to,
    const char *why)
{
	const char *from = u->host ? u->host->ip_str : "-";
	struct dir_host *old = u->host;
	if (to != NULL) {
		log_info("%s: User hash %u moved from %s to %s", why, u->hash, from, to->ip_str);
		METRICS_INC(dirstats_moves, why);
		users_set_host(u, to);
	} else {
		log_info("%s: User hash %u on %s has no host left: kicked", why, u->hash, from);
		u->forget = 1;
		users_set_host(u, NULL);
	}
	users_refresh(&tag->users, u, loop_wall(dd->loop));
	state_touch(dd);
	if (to != NULL && to != old)
		ring_user_moved(dd, u);
	unsigned int kicked = 0;
	for (struct dir_session *s = u->sessions; s; s = s->unext) {
		if (!u->forget && u->host && dirhash_ip_cmp(&s->ip, &u->host->ip) == 0)
			continue;
		if (!s->kicked)
			proxy_kick_session(dd, s, "Kicked because the user was moved to another backend");
		s->kicked = 1;
		kicked++;
	}
	/* in a ring a move is a kill round (USER-KILLED token) even with nothing to kick */
	if (kicked == 0 && !u->killing && (dd->ring == NULL || u->forget)) {
		if (u->forget)
			users_free(dd, &tag->users, u);
		return;
	}
	if (!u->killing && !u->kick_delay) {
		u->mnext = dd->moving;
		dd->moving = u;
	}
	if (!u->killing)
		dd->users_moving++;
	u->killing = 1;
	u->kick_delay = 0;
	u->kill_deadline = loop_now(dd->loop) + MOVE_TIMEOUT_MS;
}

void
moves_check(struct directord *dd, struct dir_user *u)
{
	uint64_t now = loop_now(dd->loop);
	if (u->killing) {
		unsigned int left = sessions_elsewhere(u);
		if (left > 0 && now < u->kill_deadline)
			return;
		if (left > 0)
			log_warnx("User hash %u: %u sessions still open on the old host after %u secs; letting logins through",
			    u->hash, left, MOVE_TIMEOUT_MS / 1000);
		/* a ring: the USER-KILLED token goes round before logins go on */
		if (now < u->kill_deadline && !ring_kill_local_done(dd, u))
			return;
		if (dd->ring && now >= u->kill_deadline)
			log_errorx("Finishing user %u move timed out, its state may now be inconsistent", u->hash);
		u->killing = 0;
		dd->users_moving--;
		u->kick_delay = 1;
		u->kill_deadline = now + dd->set.user_kick_delay_ms;
	}
}

void
moves_tick(struct directord *dd)
{
	uint64_t now = loop_now(dd->loop);
	int finished = 0;
	for (struct dir_user *u = dd->moving, *next; u; u = next) {
		next = u->mnext;
		moves_check(dd, u);
		if (u->kick_delay && now >= u->kill_deadline) {
			moves_unlink(dd, u);
			finished = 1;
			if (u->forget)
				users_free(dd, &u->tag->users, u);
		}
	}
	if (finished) {
		proxy_pending_run(dd);
		moves_resets_run(dd);
	}
}

/* ---- HOST-RESET-USERS ---- */

/* Moves what it may of host's users; returns 1 when none is left to move. */
static int
reset_host(struct directord *dd, struct reset_cmd *rc, struct dir_host *h)
{
	struct user_dir *d = &h->tag->users;
	int complete = 1, killed = 0;
	/* moved users go to the tail; stop at the entry that was last when we began */
	struct dir_user *last = d->tail;
	for (struct dir_user *u = d->head, *next; u; u = next) {
		next = u == last ? NULL : u->next;
		if (u->host != h || u->killing || u->kick_delay)
			continue;
		struct dir_host *to = hosts_by_hash(&dd->hosts, u->hash, h->tag->name);
		if (to == h)
			continue;
		if (dd->users_moving >= rc->max_parallel) {
			complete = 0;
			break;
		}
		if (to == NULL)
			killed = 1;
		rc->moved++;
		moves_user(dd, h->tag, u, to, "doveadm: flush");
	}
	(void)killed;
	return complete;
}

static int
reset_run(struct directord *dd, struct reset_cmd *rc)
{
	size_t n;
	struct dir_host **hosts = hosts_sorted(&dd->hosts, &n);
	rc->hosts = 0;
	for (size_t i = 0; i < n; i++) {
		if (rc->only.family && dirhash_ip_cmp(&rc->only, &hosts[i]->ip) != 0)
			continue;
		rc->hosts++;
		if (!reset_host(dd, rc, hosts[i]))
			return 0;
	}
	return 1;
}

static void
reset_finish(struct directord *dd, struct reset_cmd *rc)
{
	uint64_t ms = loop_now(dd->loop) - rc->started;
	log_info("Moved %u users in %u hosts in %u.%03u secs (max parallel=%u)", rc->moved, rc->hosts,
	    (unsigned int)(ms / 1000), (unsigned int)(ms % 1000), rc->max_parallel);
	if (rc->done)
		rc->done(dd, rc->arg);
	free(rc);
}

int
moves_reset_start(struct directord *dd, struct dir_host *only, unsigned int max_parallel,
    void (*done)(struct directord *, void *), void *arg)
{
	struct reset_cmd *rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		return -1;
	if (only)
		rc->only = only->ip;
	rc->max_parallel = max_parallel ? max_parallel : 1;
	rc->started = loop_now(dd->loop);
	rc->done = done;
	rc->arg = arg;
	if (reset_run(dd, rc)) {
		reset_finish(dd, rc);
		return 0;
	}
	rc->next = dd->resets;
	dd->resets = rc;
	return 0;
}

void
moves_resets_run(struct directord *dd)
{
	for (struct reset_cmd **pp = &dd->resets; *pp;) {
		struct reset_cmd *rc = *pp;
		if (reset_run(dd, rc)) {
			*pp = rc->next;
			reset_finish(dd, rc);
		} else
			pp = &rc->next;
	}
}

void
moves_reset_cancel_arg(struct directord *dd, void *arg)
{
	for (struct reset_cmd *rc = dd->resets; rc; rc = rc->next)
		if (rc->arg == arg)
			rc->done = NULL;
}

/* ---- HOST-REMOVE ---- */

void
moves_host_remove_safely(struct directord *dd, struct dir_host *h)
{
	struct user_dir *d = &h->tag->users;
	char ip[IP_ADDR_STRLEN];
	unsigned int moved = 0, forgotten = 0;
	struct dir_tag *tag = h->tag;

	str_copy(ip, h->ip_str, sizeof(ip));
	/* out of the ring first, so that the users hash elsewhere */
	unsigned int vhosts = h->vhost_count;
	int down = h->down;
	h->down = 1;
	hosts_changed(&dd->hosts);
	for (struct dir_user *u = d->head, *next; u; u = next) {
		next = u->next;
		if (u->host != h)
			continue;
		if (u->nsessions == 0 && !u->killing) {
			users_free(dd, d, u);
			forgotten++;
			continue;
		}
		struct dir_host *to = hosts_by_hash(&dd->hosts, u->hash, tag->name);
		if (to == NULL)
			users_set_host(u, NULL);
		moves_user(dd, tag, u, to, "doveadm: remove");
		/* moves_user() may have freed the user */
		moved++;
	}
	h->vhost_count = vhosts;
	h->down = down;
	health_host_removed(dd, h);
	struct ip_addr hip = h->ip;
	hosts_remove(&dd->hosts, h);
	ring_host_removed(dd, &hip);
	log_info("doveadm: Host %s removed (%u users forgotten, %u connected users moved)", ip, forgotten, moved);
	state_touch(dd);
	proxy_pending_run(dd);
}
