/* SPDX-License-Identifier: MIT */
/* applets/replicatord/dsync.c: one user's sync, run by the pair's initiator through its
 * doveadm server (replicator.md §4.2-4.3): "sync" with replication_dsync_parameters, -f
 * for a full sync (also when `replicate -f` asked for one, which Dovecot forgets), -s and
 * the stored state; the reply is the new state line, then "+" or "-CODE". */
#include <stdlib.h>
#include <string.h>

#include "applets/replicatord/dvclient.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/str.h"
#include "core/tab.h"

/* a state is 44 bytes per mailbox in base64: 16 MiB is some 280,000 mailboxes */
#define DSYNC_LINE_MAX	(16u * 1024 * 1024)

struct dsync {
	struct dvreq q;
	struct repl *r;
	struct repl_user *u;
	size_t slot;
	int side, full, incremental;
	int64_t old_full;
	uint64_t started_us;		/* for the duration metric */
	unsigned int nlines;
	char *new_state;
};

static void
ds_step(struct dvreq *q)
{
	struct dsync *ds = q->arg;
	struct repl_slot *s = &ds->r->slots[ds->slot];
	switch (q->step) {
	case DV_CONNECTING: s->st = SLOT_NOT_CONNECTED; break;
	case DV_HANDSHAKE_WAIT: s->st = SLOT_HANDSHAKE; break;
	case DV_AUTH_WAIT: s->st = SLOT_AUTH; break;
	case DV_REPLY: s->st = SLOT_DSYNC; break;
	}
}

static void
ds_end(struct dsync *ds, const char *code, const char *reason)
{
	struct repl *r = ds->r;
	struct repl_slot *s = &r->slots[ds->slot];
	if (ds->q.connect_failed) {
		s->st = SLOT_CONNECT_FAILED;
		s->connect_failed = loop_wall(r->loop);
		str_copy(s->fail_path, ds->q.b->spec, sizeof(s->fail_path));
	} else {
		s->st = SLOT_NOT_CONNECTED;
	}
	s->ds = NULL;
	r->running--;
	rstats_sync_done(ds->full, reason == NULL, ds->started_us);
	sched_done(r, ds->u, ds->side, ds->full, ds->old_full, ds->new_state, code, reason);
	strbuf_free(&ds->q.cmd);
	free(ds->new_state);
	free(ds);
}

static void
ds_done(struct dvreq *q, const char *reason)
{
	ds_end(q->arg, NULL, reason);
}

static int
ds_line(struct dvreq *q, char *line)
{
	struct dsync *ds = q->arg;
	if (ds->nlines++ == 0) {
		/* the state line: cut at the first TAB, as Dovecot's replicator does */
		line[strcspn(line, "\t")] = '\0';
		ds->new_state = strdup(line);
		ds->r->slots[ds->slot].st = SLOT_DSYNC_SECOND;
		return 0;
	}
	dvclient_req_cancel(q);
	if (strcmp(line, "+") == 0) {
		ds_end(ds, NULL, NULL);
	} else if (line[0] == '-') {
		char why[160];
		str_fmt(why, sizeof(why), "the doveadm server answered -%.64s%s", line + 1,
		    strcmp(line + 1, "NOTFOUND") == 0 ? " (no mail_replica for the user there?)" :
		    strcmp(line + 1, "UNKNOWN") == 0 ? " (dsync failed; its log says why)" : "");
		ds_end(ds, line + 1, why);
	} else {
		ds_end(ds, NULL, "the doveadm server sent an unexpected result line");
	}
	return 1;
}

/* "-d -N -l 30 -U" and the like: split on spaces, as Dovecot does (no quoting) */
static void
append_params(struct strbuf *sb, const char *params, int *has_d)
{
	*has_d = 0;
	while (*params) {
		size_t n = strcspn(params, " ");
		if (n > 0) {
			strbuf_putc(sb, '\t');
			strbuf_append(sb, params, n);
			if (n == 2 && strncmp(params, "-d", 2) == 0)
				*has_d = 1;
		}
		params += n + (params[n] == ' ');
	}
}

int
dsync_start(struct repl *r, size_t slot, struct repl_user *u, int full)
{
	struct repl_pair *p = &r->pairs[u->pair];
	struct dsync *ds = calloc(1, sizeof(*ds));
	int has_d;
	if (ds == NULL)
		return -1;
	ds->r = r;
	ds->u = u;
	ds->slot = slot;
	/* the side that changed initiates (its incremental state sees its own changes);
	 * a full sync compares everything, from A */
	int side = !full && !(u->sides & 1) && (u->sides & 2) ? 1 : 0;
	ds->side = side;
	ds->full = full;
	ds->incremental = !full && u->state[side][0] != '\0';
	ds->old_full = u->last_full;
	ds->started_us = metrics_now_us();
	struct dvreq *q = &ds->q;
	q->b = &p->b[side];
	q->password = r->set.password;
	q->line_max = DSYNC_LINE_MAX;
	q->handshake_timeout_ms = r->set.connect_timeout_ms;
	q->reply_timeout_ms = r->set.sync_timeout_ms;
	q->line = ds_line;
	q->done = ds_done;
	q->on_step = ds_step;
	q->arg = ds;
	strbuf_init(&q->cmd, (size_t)-1);
	strbuf_putc(&q->cmd, '\t');
	tab_escape(&q->cmd, u->name);
	strbuf_puts(&q->cmd, "\tsync");
	append_params(&q->cmd, r->set.dsync_params, &has_d);
	if (full)
		strbuf_puts(&q->cmd, "\t-f");
	/* the state goes raw, as Dovecot sends it: it is base64 */
	strbuf_puts(&q->cmd, "\t-s\t");
	if (!full)
		strbuf_puts(&q->cmd, u->state[side]);
	if (!has_d)
		strbuf_printf(&q->cmd, "\t%s", p->b[1 - side].dest);
	strbuf_putc(&q->cmd, '\n');
	if (q->cmd.error || dvclient_req_start(r, q) < 0) {
		log_error("%s: cannot start a sync on %s", u->name, q->b->spec);
		strbuf_free(&q->cmd);
		free(ds);
		return -1;
	}
	/* as Dovecot, before anything is sent: changes that arrive during the sync raise
	 * the priority again, so the user is synced once more afterwards */
	int64_t now = loop_wall(r->loop);
	u->sync_prio = u->prio;
	u->sync_old_full = u->last_full;
	u->syncing = 1;
	u->last_fast = now;
	if (full) {
		u->last_full = now;
		u->force_full = 0;
		u->sides = 0;
	}
	u->sides &= (unsigned char)~(1u << side);
	u->startup_sync = 0;
	/* while the other side still has to initiate, the user stays queued, and a waiting
	 * mail process is answered by that last sync */
	if (u->sides == 0) {
		u->prio = PRIO_NONE;
		for (struct repl_waiter *w = u->waiters; w; w = w->next)
			w->armed = 1;
	} else if (u->prio == PRIO_NONE) {
		u->prio = PRIO_LOW;
	}
	r->slots[slot].ds = ds;
	r->slots[slot].st = SLOT_NOT_CONNECTED;
	r->running++;
	r->dirty = 1;
	log_debug("%s: %s sync on %s", u->name, full ? "full" : ds->incremental ?
	    "incremental" : "normal", q->b->spec);
	return 0;
}

void
dsync_abort_all(struct repl *r)
{
	for (size_t i = 0; i < r->nslots; i++) {
		struct dsync *ds = r->slots[i].ds;
		if (ds == NULL)
			continue;
		dvclient_req_cancel(&ds->q);
		ds->u->syncing = 0;
		if (ds->u->removed)
			queue_release(ds->u);
		strbuf_free(&ds->q.cmd);
		free(ds->new_state);
		free(ds);
		r->slots[i].ds = NULL;
	}
	r->running = 0;
}

const char *
dsync_slot_user(const struct repl_slot *s)
{
	return s->ds ? s->ds->u->name : "";
}

const char *
dsync_slot_type(const struct repl_slot *s)
{
	if (s->ds == NULL)
		return "-";
	return s->ds->full ? "full" : s->ds->incremental ? "incremental" : "normal";
}

const char *
dsync_slot_status(const struct repl *r, const struct repl_slot *s, char *buf, size_t len)
{
	switch (s->st) {
	case SLOT_CONNECT_FAILED:
		if (s->ds == NULL) {
			str_fmt(buf, len, "Failed to connect to '%s' - last attempt %lld secs ago",
			    s->fail_path, (long long)(loop_wall(r->loop) - s->connect_failed));
			return buf;
		}
		return "Not connected";
	case SLOT_NOT_CONNECTED: return "Not connected";
	case SLOT_HANDSHAKE:
	case SLOT_AUTH: return "Waiting for handshake";
	case SLOT_DSYNC: return "Waiting for dsync to finish";
	case SLOT_DSYNC_SECOND: return "Waiting for dsync to finish (second line)";
	}
	return "Not connected";
}
