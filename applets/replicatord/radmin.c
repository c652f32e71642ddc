/* SPDX-License-Identifier: MIT */
/* applets/replicatord/radmin.c: the replicator-doveadm protocol as Dovecot 2.3 serves it
 * (replicator.md §2): STATUS, STATUS <mask>, STATUS-DSYNC, REPLICATE, ADD, REMOVE,
 * NOTIFY. As in Dovecot, an unknown command or wrong arguments get no reply: logged, and
 * the connection is closed. Per-user STATUS lines carry the 7th field of 2.3.20+
 * (seconds until the next sync), which 2.3.19's doveadm ignores. */
#include <stdlib.h>
#include <string.h>

#include "applets/replicatord/replicatord.h"
#include "core/dline.h"
#include "core/log.h"
#include "core/str.h"
#include "core/tab.h"
#include "core/wildcard.h"

/* Dovecot's connection.c limit for this socket is 1 KiB of input per line; NOTIFY lines
 * carry a dsync state, so allow what a state of a few thousand mailboxes needs */
#define ADMIN_LINE_MAX	(1024 * 1024)

struct admin_conn {
	struct admin_conn *prev, *next;
	struct repl *r;
	struct dline_conn *d;
};

static void
admin_unlink(struct admin_conn *ac)
{
	if (ac->prev)
		ac->prev->next = ac->next;
	else
		ac->r->admins = ac->next;
	if (ac->next)
		ac->next->prev = ac->prev;
	free(ac);
}

void
radmin_close_all(struct repl *r)
{
	while (r->admins) {
		struct admin_conn *ac = r->admins;
		dline_conn_free(ac->d);
		admin_unlink(ac);
	}
}

static const struct dline_set admin_set = {
	"VERSION\treplicator-doveadm-server\t1\t0", "replicator-doveadm-client", 1, ADMIN_LINE_MAX,
};

static void
send_num_line(struct dline_conn *d, const char *label, size_t n)
{
	char num[24];
	str_fmt(num, sizeof(num), "%zu", n);
	const char *f[2] = { label, num };
	dline_send(d, f, 2);
}

static void
status_overview(struct admin_conn *ac)
{
	struct repl *r = ac->r;
	int64_t now = loop_wall(r->loop);
	size_t q[4] = { 0 }, qfailed = 0, qfull = 0, wfailed = 0;

	for (size_t i = 0; i < r->nusers; i++) {
		const struct repl_user *u = r->users[i];
		if (u->syncing)
			continue;
		/* a failed user waits for its retry whatever its priority (Dovecot's failed
		 * users always have priority none) */
		int due = queue_due(r, u, now) <= now;
		if (u->failed)
			due ? qfailed++ : wfailed++;
		else if (u->prio != PRIO_NONE)
			q[u->prio]++;
		else if (due)
			qfull++;
	}
	send_num_line(ac->d, "Queued 'sync' requests", q[PRIO_SYNC]);
	send_num_line(ac->d, "Queued 'high' requests", q[PRIO_HIGH]);
	send_num_line(ac->d, "Queued 'low' requests", q[PRIO_LOW]);
	send_num_line(ac->d, "Queued 'failed' requests", qfailed);
	send_num_line(ac->d, "Queued 'full resync' requests", qfull);
	send_num_line(ac->d, "Waiting 'failed' requests", wfailed);
	send_num_line(ac->d, "Total number of known users", r->nusers);
	dline_send_raw(ac->d, "");
}

/* Lines queued as one write each time STATUS_CHUNK bytes are gathered: STATUS of every
 * user is one system call per chunk, not per user. */
#define STATUS_CHUNK	65536

static void
flush_lines(struct admin_conn *ac, struct strbuf *sb)
{
	if (sb->len == 0)
		return;
	sb->s[--sb->len] = '\0';	/* dline_send_raw() puts the last LF back */
	dline_send_raw(ac->d, sb->s);
	strbuf_truncate(sb, 0);
}

static void
status_mask(struct admin_conn *ac, const char *mask)
{
	struct repl *r = ac->r;
	int64_t now = loop_wall(r->loop);
	struct strbuf sb;

	strbuf_init(&sb, STATUS_CHUNK * 2);
	for (size_t i = 0; i < r->nusers && !sb.error; i++) {
		const struct repl_user *u = r->users[i];
		if (!wildcard_match(u->name, mask))
			continue;
		int64_t due = queue_due(r, u, now);
		tab_escape(&sb, u->name);
		strbuf_printf(&sb, "\t%s\t%lld\t%lld\t%c\t%lld\t%lld\n", queue_prio_name(u->prio),
		    (long long)u->last_fast, (long long)u->last_full, u->failed ? '1' : '0',
		    (long long)u->last_success, (long long)(due > now && !u->syncing ? due - now : 0));
		if (sb.len >= STATUS_CHUNK)
			flush_lines(ac, &sb);
	}
	if (sb.error)
		log_errorx("doveadm: STATUS: out of memory");
	else
		flush_lines(ac, &sb);
	strbuf_free(&sb);
	dline_send_raw(ac->d, "");
}

static void
status_dsync(struct admin_conn *ac)
{
	struct repl *r = ac->r;
	char buf[256];
	for (size_t i = 0; i < r->nslots; i++) {
		const struct repl_slot *s = &r->slots[i];
		const char *f[3] = { dsync_slot_user(s), dsync_slot_type(s),
			dsync_slot_status(r, s, buf, sizeof(buf)) };
		dline_send(ac->d, f, 3);
	}
	dline_send_raw(ac->d, "");
}

static void
replicate(struct admin_conn *ac, char **f)
{
	struct repl *r = ac->r;
	enum repl_prio prio;
	int full = strchr(f[2], 'f') != NULL;
	size_t count = 0;
	char buf[32];

	if (queue_prio_parse(f[1], &prio) < 0) {
		dline_send_raw(ac->d, "-Invalid priority");
		return;
	}
	if (!queue_is_wildcard(f[3])) {
		struct repl_user *u = queue_get(r, f[3], 0);
		if (u == NULL) {
			dline_send_raw(ac->d, "-Invalid user name");
			return;
		}
		if (full)
			u->force_full = 1;
		queue_raise(r, u, prio, -1);
		dline_send_raw(ac->d, "+1");
		return;
	}
	for (size_t i = 0; i < r->nusers; i++) {
		struct repl_user *u = r->users[i];
		if (!wildcard_match(u->name, f[3]))
			continue;
		if (full)
			u->force_full = 1;
		queue_raise(r, u, prio, -1);
		count++;
	}
	str_fmt(buf, sizeof(buf), "+%zu", count);
	dline_send_raw(ac->d, buf);
}

static void
add(struct admin_conn *ac, const char *mask)
{
	struct repl *r = ac->r;
	if (queue_is_wildcard(mask)) {
		/* Dovecot lists the userdb here and blocks meanwhile; mtool lists through the
		 * backends in the background and answers at once */
		listing_start(r, mask, 0);
	} else {
		struct repl_user *u = queue_get(r, mask, 0);
		if (u == NULL) {
			dline_send_raw(ac->d, "-Invalid user name");
			return;
		}
		if (u->last_update == 0)
			u->last_update = loop_wall(r->loop);
		sched_kick(r);
	}
	dline_send_raw(ac->d, "+");
}

static void
remove_user(struct admin_conn *ac, const char *name)
{
	struct repl_user *u = queue_find(ac->r, name);
	if (u == NULL) {
		dline_send_raw(ac->d, "-User not found");
		return;
	}
	queue_remove(ac->r, u);
	dline_send_raw(ac->d, "+");
}

/* From a dsync-server run with -U on this host: the sync happened elsewhere. Its state is
 * the notifier's view, not the initiator's, so only the times are taken. */
static void
notify(struct admin_conn *ac, char **f)
{
	struct repl *r = ac->r;
	struct repl_user *u = queue_get(r, f[1], 0);
	if (u == NULL) {
		dline_send_raw(ac->d, "-Invalid user name");
		return;
	}
	int64_t now = loop_wall(r->loop);
	u->last_fast = u->last_update = now;
	if (f[2][0] == 'f')
		u->last_full = now;
	r->dirty = 1;
	dline_send_raw(ac->d, "+");
}

static void
admin_line(struct dline_conn *d, char **f, size_t n, void *arg)
{
	struct admin_conn *ac = arg;
	const char *cmd = f[0];
	size_t nargs = n - 1;

	if (n == 1 && cmd[0] == '\0') {
		log_errorx("doveadm: Unexpectedly received empty line");
		dline_conn_free(d);
		admin_unlink(ac);
		return;
	}
	if (strcmp(cmd, "STATUS") == 0) {
		if (nargs == 0)
			status_overview(ac);
		else
			status_mask(ac, f[1]);
	} else if (strcmp(cmd, "STATUS-DSYNC") == 0) {
		status_dsync(ac);
	} else if (strcmp(cmd, "REPLICATE") == 0 && nargs == 3) {
		replicate(ac, f);
	} else if (strcmp(cmd, "ADD") == 0 && nargs == 1) {
		add(ac, f[1]);
	} else if (strcmp(cmd, "REMOVE") == 0 && nargs == 1) {
		remove_user(ac, f[1]);
	} else if (strcmp(cmd, "NOTIFY") == 0 && nargs >= 3) {
		notify(ac, f);
	} else {
		int known = strcmp(cmd, "REPLICATE") == 0 || strcmp(cmd, "ADD") == 0 ||
		    strcmp(cmd, "REMOVE") == 0 || strcmp(cmd, "NOTIFY") == 0;
		if (known)
			log_errorx("doveadm: %.32s: Invalid parameters", cmd);
		else
			log_errorx("doveadm: Unknown command: %.64s", cmd);
		dline_conn_free(d);
		admin_unlink(ac);
	}
}

static void
admin_closed(struct dline_conn *d, const char *reason, void *arg)
{
	(void)d;
	if (strcmp(reason, "Disconnected") != 0)
		log_debug("doveadm connection closed: %s", reason);
	admin_unlink(arg);
}

void
radmin_accept_fd(struct repl *r, int fd)
{
	struct admin_conn *ac = calloc(1, sizeof(*ac));
	if (ac == NULL) {
		log_errorx("out of memory accepting a doveadm connection");
		return;
	}
	ac->r = r;
	ac->d = dline_conn_new(r->loop, fd, &admin_set, admin_line, admin_closed, ac);
	if (ac->d == NULL) {
		free(ac);
		return;
	}
	ac->next = r->admins;
	if (ac->next)
		ac->next->prev = ac;
	r->admins = ac;
}
