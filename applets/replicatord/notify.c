/* SPDX-License-Identifier: MIT */
/* applets/replicatord/notify.c: notifications of changed users (replicator.md §5).
 * Two dialects on one parser: the aggregator's ("VERSION\treplicator-notify\t1\t0", then
 * "U\t<user>\t<low|high>" and "U\t<user>\tsync\t<id>", answered "+\t<id>" or "-\t<id>"
 * after the user's next sync), and the replication plugin's own, for a replicatord that
 * serves a backend's replication-notify socket itself ("<user>\t<low|high|sync>",
 * sync answered "+" or "-"). A sync request is answered by the first sync that starts
 * after it (Dovecot 2.3 crashes here instead: §5.4). */
#include <stdlib.h>
#include <string.h>

#include "applets/replicatord/replicatord.h"
#include "core/dline.h"
#include "core/log.h"
#include "core/str.h"

/* the aggregator's own limit on a plugin line is 8 KiB */
#define NOTIFY_LINE_MAX		8192
/* sync requests one connection may have waiting; an aggregator holds one per mail
 * process that waits, so this is far above a real one */
#define NOTIFY_WAITERS_MAX	100000

struct notify_conn {
	struct notify_conn *prev, *next;
	struct repl *r;
	struct dline_conn *d;		/* NULL once closed */
	unsigned int refs;		/* the connection itself + waiters */
	unsigned int waiting;
	unsigned int pair;
	int side;			/* the pair member it comes from, -1 unknown */
	int plugin;			/* the plugin's dialect: 1 socket, 2 FIFO (no replies) */
	char peer[IP_ADDR_STRLEN];
};

static const struct dline_set aggregator_set = {
	NULL, "replicator-notify", 1, NOTIFY_LINE_MAX,
};
static const struct dline_set plugin_set = {
	NULL, NULL, 0, NOTIFY_LINE_MAX,
};

void
notify_ref(struct notify_conn *nc)
{
	nc->refs++;
	nc->waiting++;
}

static void
unref(struct notify_conn *nc)
{
	if (--nc->refs == 0)
		free(nc);
}

void
notify_unref(struct notify_conn *nc)
{
	nc->waiting--;
	unref(nc);
}

void
notify_answer(struct notify_conn *nc, unsigned int id, int ok)
{
	char buf[24];
	if (nc->d == NULL)
		return;
	log_debug("notify from %s: sync request %u answered %c", nc->peer, id, ok ? '+' : '-');
	if (nc->plugin)
		dline_send_raw(nc->d, ok ? "+" : "-");
	else {
		str_fmt(buf, sizeof(buf), "%c\t%u", ok ? '+' : '-', id);
		dline_send_raw(nc->d, buf);
	}
}

static void
notify_gone(struct notify_conn *nc)
{
	struct repl *r = nc->r;
	if (nc->prev)
		nc->prev->next = nc->next;
	else
		r->notifies = nc->next;
	if (nc->next)
		nc->next->prev = nc->prev;
	nc->d = NULL;
	unref(nc);
}

static void
bad(struct notify_conn *nc, const char *what)
{
	log_errorx("notify from %s: %s: disconnecting", nc->peer, what);
	dline_conn_free(nc->d);
	notify_gone(nc);
}

static void
notify_line(struct dline_conn *d, char **f, size_t n, void *arg)
{
	struct notify_conn *nc = arg;
	struct repl *r = nc->r;
	enum repl_prio prio;
	long long id = 0;
	const char *err;

	(void)d;
	if (!nc->plugin) {
		if (n < 3 || strcmp(f[0], "U") != 0) {
			bad(nc, n < 3 ? "a line with too few fields" : "an unknown command");
			return;
		}
		f++, n--;
	} else if (n < 2) {
		bad(nc, "a line with too few fields");
		return;
	}
	if (queue_prio_parse(f[1], &prio) < 0 || prio == PRIO_NONE) {
		bad(nc, "an invalid priority");
		return;
	}
	/* nobody can read an answer on the FIFO: a sync request there is just urgent */
	if (prio == PRIO_SYNC && nc->plugin == 2)
		prio = PRIO_HIGH;
	if (prio == PRIO_SYNC && !nc->plugin &&
	    (n < 3 || str_to_num(f[2], 1, 0xffffffffLL, &id, &err) < 0)) {
		bad(nc, "a sync request without a valid id");
		return;
	}
	log_debug("notify from %s: %s %s", nc->peer, f[0], f[1]);
	struct repl_user *u = queue_get(r, f[0], nc->pair);
	if (u == NULL) {
		log_errorx("notify from %s: unusable user name ignored", nc->peer);
		if (prio == PRIO_SYNC)
			notify_answer(nc, (unsigned int)id, 0);
		return;
	}
	if (prio == PRIO_SYNC) {
		struct repl_waiter *w = nc->waiting < NOTIFY_WAITERS_MAX ?
		    calloc(1, sizeof(*w)) : NULL;
		if (w == NULL) {
			notify_answer(nc, (unsigned int)id, 0);
			prio = PRIO_HIGH;
		} else {
			w->nc = nc;
			w->id = (unsigned int)id;
			notify_ref(nc);
			w->next = u->waiters;
			u->waiters = w;
		}
	}
	queue_raise(r, u, prio, u->pair == nc->pair ? nc->side : -1);
}

static void
notify_closed(struct dline_conn *d, const char *reason, void *arg)
{
	struct notify_conn *nc = arg;
	(void)d;
	if (strcmp(reason, "Disconnected") != 0)
		log_errorx("notify from %s: %s", nc->peer, reason);
	else
		log_debug("notify from %s: disconnected", nc->peer);
	notify_gone(nc);
}

static struct notify_conn *
accept_fd(struct repl *r, int fd, const struct ip_addr *peer, int plugin)
{
	struct notify_conn *nc = calloc(1, sizeof(*nc));
	if (nc == NULL) {
		log_errorx("out of memory accepting a notify connection");
		return NULL;
	}
	nc->r = r;
	nc->refs = 1;
	nc->plugin = plugin;
	nc->side = -1;
	if (peer != NULL && peer->family != 0) {
		ip_format(peer, nc->peer, sizeof(nc->peer));
		/* the pair whose backend this is: its users are that pair's, and the changes it
		 * reports are synced from it */
		for (size_t i = 0; i < r->npairs; i++)
			for (int k = 0; k < 2; k++)
				if (ip_equal(&r->pairs[i].b[k].ip, peer)) {
					nc->pair = (unsigned int)i;
					nc->side = k;
				}
	} else {
		str_copy(nc->peer, plugin == 2 ? "FIFO" : "local socket", sizeof(nc->peer));
	}
	nc->d = dline_conn_new(r->loop, fd, plugin ? &plugin_set : &aggregator_set, notify_line,
	    notify_closed, nc);
	if (nc->d == NULL) {
		free(nc);
		return NULL;
	}
	nc->next = r->notifies;
	if (nc->next)
		nc->next->prev = nc;
	r->notifies = nc;
	return nc;
}

void
notify_accept_fd(struct repl *r, int fd, const struct ip_addr *peer, int pair, int side)
{
	struct notify_conn *nc = accept_fd(r, fd, peer, 0);
	if (nc != NULL && pair >= 0) {
		nc->pair = (unsigned int)pair;
		nc->side = side;
	}
}

void
notify_plugin_accept_fd(struct repl *r, int fd, int fifo)
{
	(void)accept_fd(r, fd, NULL, fifo ? 2 : 1);
}

void
notify_close_all(struct repl *r)
{
	while (r->notifies) {
		struct notify_conn *nc = r->notifies;
		dline_conn_free(nc->d);
		notify_gone(nc);
	}
}
