/* SPDX-License-Identifier: MIT */
/* applets/directord/ring.c: directord as a peer in a Dovecot 2.3 director ring: the list
 * of directors, the ring listener (only listed directors get in), the links with their
 * handshake and PING/PONG timers, left/right selection and CONNECT, the SYNC round that
 * says the ring has seen this director's last change, and what a director does when it
 * finds itself alone. The commands themselves are in ring_msg.c. Timeouts and rules are
 * Dovecot's (director.c, director-connection.c; shared/docs/director-ring.md §2), except
 * the deliberate differences of docs/directord.8.md (RING). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "applets/directord/dirstats.h"
#include "applets/directord/ring.h"
#include "core/listen.h"
#include "core/log.h"
#include "core/str.h"
#include "core/tab.h"

#define TICK_MS				100
#define CONNECT_TIMEOUT_MS		10000
#define ME_TIMEOUT_MS			10000
#define SEND_USERS_TIMEOUT_MS		30000
#define DONE_TIMEOUT_MS			40000
#define PING_INTERVAL_MS		15000
#define PING_SYNC_INTERVAL_MS		1000
#define PINGPONG_WARN_MS		5000
#define SUCCESS_MIN_CONNECT_SECS	40
#define RECONNECT_RETRY_SECS		60
#define PROTOCOL_FAILURE_RETRY_SECS	60
#define RING_MIN_WAIT_MS		20000
#define QUICK_RECONNECT_MS		1000
#define RECONNECT_PREFERRED_MS		30000
#define SYNC_TIMEOUT_MS			5000
#define DELAYED_DIR_REMOVE_MS		30000
#define WAIT_DISCONNECT_MS		10000
#define WRONG_CONNECT_MS		1000
#define CLOCK_DIFF_WARN_SECS		1

static void link_cb(struct conn *, enum conn_event, void *);

/* ---- the director list ---- */

static int
dir_cmp(const struct ring_dir *a, const struct ring_dir *b)
{
	int r = dirhash_ip_cmp(&a->ip, &b->ip);
	return r ? r : (int)a->port - (int)b->port;
}

static int
dir_cmp_p(const void *a, const void *b)
{
	return dir_cmp(*(struct ring_dir *const *)a, *(struct ring_dir *const *)b);
}

struct ring_dir *
ring_dir_lookup(struct ring *r, const struct ip_addr *ip, unsigned int port)
{
	for (size_t i = 0; i < r->ndirs; i++)
		if (dirhash_ip_cmp(&r->dirs[i]->ip, ip) == 0 && r->dirs[i]->port == port)
			return r->dirs[i];
	return NULL;
}

struct ring_dir *
ring_dir_lookup_ip(struct ring *r, const struct ip_addr *ip)
{
	for (size_t i = 0; i < r->ndirs; i++)
		if (dirhash_ip_cmp(&r->dirs[i]->ip, ip) == 0)
			return r->dirs[i];
	return NULL;
}

static struct ring_dir *
dir_add(struct ring *r, const struct ip_addr *ip, unsigned int port)
{
	if (r->ndirs >= DIR_PEERS_MAX) {
		log_errorx("director ring: more than %d directors: %s not added", DIR_PEERS_MAX,
		    ip_format(ip, (char[IP_ADDR_STRLEN]){ 0 }, IP_ADDR_STRLEN));
		return NULL;
	}
	if (r->ndirs == r->capdirs) {
		size_t cap = r->capdirs ? r->capdirs * 2 : 8;
		struct ring_dir **p = realloc(r->dirs, cap * sizeof(*p));
		if (p == NULL)
			return NULL;
		r->dirs = p;
		r->capdirs = cap;
	}
	struct ring_dir *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->ip = *ip;
	d->port = port;
	ip_format(ip, d->ip_str, sizeof(d->ip_str));
	r->dirs[r->ndirs++] = d;
	qsort(r->dirs, r->ndirs, sizeof(*r->dirs), dir_cmp_p);
	return d;
}

/* ring_dir_get() for a director a peer named: NULL (not added) when the list is full */
struct ring_dir *
ring_dir_get(struct ring *r, const struct ip_addr *ip, unsigned int port)
{
	struct ring_dir *d = ring_dir_lookup(r, ip, port);
	return d ? d : dir_add(r, ip, port);
}

void
ring_dir_restarted(struct ring_dir *d)
{
	d->last_seq = 0;
	d->last_sync_seq = 0;
	d->sync_dups = 0;
	d->last_sync_ts = 0;
}

/* Dovecot's director_host_cmp_to_self(): which of b1, b2 comes first going right from self */
int
ring_dir_cmp_to_self(const struct ring_dir *b1, const struct ring_dir *b2, const struct ring_dir *self)
{
	int ret = dir_cmp(b1, b2);
	if (ret >= 0)
		return ret == 0 ? 0 : -ring_dir_cmp_to_self(b2, b1, self);
	if (dir_cmp(self, b1) < 0)
		return 1;
	if (dir_cmp(self, b2) < 0)
		return -1;
	return 1;
}

static size_t
self_idx(struct ring *r)
{
	for (size_t i = 0; i < r->ndirs; i++)
		if (r->dirs[i] == r->self)
			return i;
	return 0;
}

static struct ring_dir *
preferred_right(struct ring *r)
{
	size_t si = self_idx(r);
	if (r->ndirs == 1)
		return NULL;
	for (size_t i = 0; i < r->ndirs; i++) {
		struct ring_dir *d = r->dirs[(si + i + 1) % r->ndirs];
		if (!d->removed)
			return d == r->self ? NULL : d;
	}
	return NULL;
}

static void
purge_removed(struct ring *r)
{
	r->purge_at = 0;
	for (size_t i = 0; i < r->ndirs;) {
		struct ring_dir *d = r->dirs[i];
		int used = 0;
		for (struct ring_link *l = r->links; l; l = l->next)
			used |= l->dir == d;
		if (d->removed && !used) {
			memmove(&r->dirs[i], &r->dirs[i + 1], (r->ndirs - i - 1) * sizeof(*r->dirs));
			r->ndirs--;
			free(d);
		} else
			i++;
	}
}

/* ---- sending ---- */

void
ring_send(struct ring_link *l, const char *line)
{
	if (l->closing || !l->connected)
		return;
	size_t len = strlen(line);
	log_debug("director(%s%s): output: %.*s", l->dir ? l->dir->ip_str : "?", l->in ? "/in" : "/out",
	    (int)(len ? len - 1 : 0), line);
	conn_write(l->c, line, len);
	l->r->msgs_out++;
	dirstats_ring_msgs(1, line, len);
	l->last_output = loop_wall(l->r->dd->loop);
	size_t pending = conn_out_pending(l->c);
	if (pending > l->peak_buffered)
		l->peak_buffered = pending;
	/* the handshake's user table is queued at once: the limit is for a slow reader later */
	if (pending > l->r->outbuf_max && l->done && !l->disconnect_at) {
		log_errorx("director(%s): Output buffer full at %zu bytes: disconnecting",
		    l->dir ? l->dir->ip_str : "?", pending);
		l->disconnect_at = loop_now(l->r->dd->loop);
		l->reconnect_after = 1;
		l->outbuf_full = 1;
	}
}

void
ring_send_update(struct ring *r, const struct ring_dir *src, unsigned int min_minor, const char *line)
{
	for (struct ring_link *l = r->links; l; l = l->next)
		if (l->dir != src && l->minor >= min_minor && !l->closing)
			ring_send(l, line);
}

static void
send_handshake_start(struct ring_link *l)
{
	struct ring *r = l->r;
	char line[256];
	str_fmt(line, sizeof(line), "VERSION\tdirector\t1\t%u\nME\t%s\t%u\t%lld\n", RING_MINOR,
	    r->self->ip_str, r->self->port, (long long)loop_wall(r->dd->loop));
	ring_send(l, line);
}

/* ---- links ---- */

static struct ring_link *
link_new(struct ring *r, struct conn *c, int in)
{
	struct ring_link *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->r = r;
	l->c = c;
	l->in = in;
	l->created_ms = l->last_in_ms = loop_now(r->dd->loop);
	/* appended: ring status lists links in connection order, as Dovecot */
	struct ring_link **pp = &r->links;
	while (*pp)
		pp = &(*pp)->next;
	*pp = l;
	return l;
}

static const char *
link_name(const struct ring_link *l, char *buf, size_t len)
{
	char ip[IP_ADDR_STRLEN];
	if (l->dir)
		str_fmt(buf, len, "%s:%u/%s", l->dir->ip_str, l->dir->port,
		    l == l->r->left ? "left" : l == l->r->right ? "right" : l->in ? "in" : "out");
	else
		str_fmt(buf, len, "%s/in", ip_format(&l->peer, ip, sizeof(ip)));
	return buf;
}

static void
set_unsynced(struct ring *r)
{
	if (r->synced) {
		r->synced = 0;
		r->last_sync_time = loop_wall(r->dd->loop);
	}
	r->sync_resend_at = loop_now(r->dd->loop) + SYNC_TIMEOUT_MS;
}

static void
link_free(void *p)
{
	free(p);
}

void
ring_link_close(struct ring_link *l, const char *reason, int reconnect)
{
	struct ring *r = l->r;
	char name[128];
	if (l->closing)
		return;
	l->closing = 1;
	if (l->dir)
		log_debug("director(%s): Disconnecting: %s", link_name(l, name, sizeof(name)), reason);
	if (reason && *reason && l->version && l->minor >= RING_V_QUIT && l->connected) {
		char line[300];
		str_fmt(line, sizeof(line), "QUIT\t%s\n", reason);
		conn_write(l->c, line, strlen(line));
		conn_close_after_flush(l->c);
	} else
		conn_free(l->c);
	l->c = NULL;
	for (struct ring_link **pp = &r->links; *pp; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	if (r->left == l) {
		r->left = NULL;
		ring_assign_left(r);
	}
	if (r->right == l)
		r->right = NULL;
	if (r->left == NULL || r->right == NULL) {
		r->sync_seq++;
		set_unsynced(r);
	}
	loop_defer_free(r->dd->loop, link_free, l);
	if (reconnect && r->right == NULL)
		ring_connect(r, "Reconnecting after disconnection");
}

/* a link that went away by itself: a short-lived one counts as a network failure */
static void
link_disconnected(struct ring_link *l, const char *reason)
{
	struct ring *r = l->r;
	int64_t now = loop_wall(r->dd->loop);
	if (l->dir && (!l->connected ||
	    (loop_now(r->dd->loop) - l->connected_ms) / 1000 < SUCCESS_MIN_CONNECT_SECS))
		l->dir->net_fail = now;
	ring_link_close(l, reason, 1);
}

void
ring_link_error(struct ring_link *l, const char *fmt, ...)
{
	char msg[512], name[128];
	va_list ap;
	va_start(ap, fmt);
	str_vfmt(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_errorx("director(%s): Invalid input: %s", link_name(l, name, sizeof(name)), msg);
	if (l->dir)
		l->dir->proto_fail = loop_wall(l->r->dd->loop);
}

void
ring_link_set_synced(struct ring_link *l, int synced)
{
	l->synced = synced ? 1 : 0;
}

void
ring_ping(struct ring_link *l)
{
	char line[96];
	if (l->ping_sent_ms || l->closing || !l->connected)
		return;
	uint64_t now = loop_now(l->r->dd->loop);
	l->ping_sent_ms = now;
	l->pong_deadline = now + l->r->ping_max_ms;
	str_fmt(line, sizeof(line), "PING\t%lld\t%zu\n", (long long)loop_wall(l->r->dd->loop),
	    conn_out_pending(l->c));
	ring_send(l, line);
}

void
ring_send_connect(struct ring_link *l, const struct ring_dir *d)
{
	char line[128];
	if (l->disconnect_at)
		return;
	str_fmt(line, sizeof(line), "CONNECT\t%s\t%u\n", d->ip_str, d->port);
	ring_send(l, line);
	l->disconnect_at = loop_now(l->r->dd->loop) + WAIT_DISCONNECT_MS;
	l->reconnect_after = 0;
}

/* ---- ring state ---- */

void
ring_state_changed(struct ring *r)
{
	proxy_pending_run(r->dd);
	moves_resets_run(r->dd);
	diradmin_ring_changed(r->dd);
}

void
ring_set_synced(struct ring *r)
{
	struct ring_dir *host = r->right ? r->right->dir : NULL;
	r->reconnect_at = host != preferred_right(r) ?
	    loop_now(r->dd->loop) + RECONNECT_PREFERRED_MS : 0;
	if (r->left)
		ring_link_set_synced(r->left, 1);
	if (r->right)
		ring_link_set_synced(r->right, 1);
	r->sync_resend_at = 0;
	r->synced = 1;
	r->last_sync_time = loop_wall(r->dd->loop);
	if (r->left && r->right) {
		r->removed_self = 0;
		r->alone = 0;
		/* the next isolation gets its grace again (Dovecot: only the first one) */
		r->first_alone_ms = 0;
	}
	purge_removed(r);
	for (size_t i = 0; i < r->dd->hosts.n; i++)
		r->dd->hosts.hosts[i]->desynced = 0;
	ring_state_changed(r);
}

void
ring_set_handshaked(struct ring *r)
{
	log_debug("Director ring handshaked");
	r->handshaked = 1;
	ring_set_synced(r);
}

void
ring_sync_send(struct ring *r, const struct ring_dir *origin, unsigned int seq, unsigned int minor,
    int64_t ts, uint32_t hash)
{
	char line[256];
	size_t len;
	if (origin == r->self) {
		r->sync_sent_change_counter = r->change_counter;
		r->sync_start_ms = loop_now(r->dd->loop);
	}
	len = str_fmt(line, sizeof(line), "SYNC\t%s\t%u\t%u", origin->ip_str, origin->port, seq);
	if (minor > 0 && r->right->minor > 0)
		len += str_fmt(line + len, sizeof(line) - len, "\t%u\t%lld\t%u", minor, (long long)ts, hash);
	str_fmt(line + len, sizeof(line) - len, "\n");
	ring_send(r->right, line);
	if (r->left)
		ring_ping(r->left);
	ring_ping(r->right);
}

void
ring_sync(struct ring *r)
{
	r->sync_seq++;
	if (r->right == NULL && r->left == NULL)
		return;		/* alone: stays synced */
	set_unsynced(r);
	if (r->sync_frozen) {
		r->sync_pending = 1;
		return;
	}
	if (r->right == NULL)
		return;
	if (r->left)
		ring_link_set_synced(r->left, 0);
	ring_link_set_synced(r->right, 0);
	r->self->last_sync_ts = loop_wall(r->dd->loop);
	ring_sync_send(r, r->self, r->sync_seq, RING_MINOR, loop_wall(r->dd->loop), ring_hosts_hash(r));
}

int
ring_resend_sync(struct ring *r)
{
	if (r->synced)
		return 0;
	if (r->right == NULL) {
		int out = 0;
		for (struct ring_link *l = r->links; l; l = l->next)
			out |= !l->in;
		if (!out && !r->quick_retry_at) {
			log_warnx("Right side connection is unexpectedly lost, reconnecting");
			ring_connect(r, "Right side connection lost");
		}
	} else if (r->left != NULL) {
		r->self->last_sync_ts = loop_wall(r->dd->loop);
		ring_sync_send(r, r->self, r->sync_seq, RING_MINOR, loop_wall(r->dd->loop), ring_hosts_hash(r));
		r->sync_resend_at = loop_now(r->dd->loop) + SYNC_TIMEOUT_MS;
		return 1;
	}
	return 0;
}

static void
link_assigned(struct ring_link *l)
{
	struct ring *r = l->r;
	if (r->left != NULL && r->right != NULL) {
		r->sync_seq++;
		set_unsynced(r);
		r->self->last_sync_ts = loop_wall(r->dd->loop);
		ring_sync_send(r, r->self, r->sync_seq, RING_MINOR, loop_wall(r->dd->loop), ring_hosts_hash(r));
	}
}

int
ring_link_assign_left(struct ring_link *l)
{
	struct ring *r = l->r;
	char a[128], b[128];
	if (l->dir->self) {
		log_errorx("director(%s): Connection from self, dropping", link_name(l, a, sizeof(a)));
		return 0;
	} else if (r->left == NULL) {
		/* no conflicts yet */
	} else if (r->left->dir == l->dir) {
		log_warnx("Replacing left director connection %s with %s", link_name(r->left, a, sizeof(a)),
		    link_name(l, b, sizeof(b)));
		ring_link_close(r->left, "Replacing with new incoming connection", 0);
	} else if (r->left->verifying_left) {
		return 1;
	} else if (ring_dir_cmp_to_self(r->left->dir, l->dir, r->self) < 0) {
		ring_send_connect(l, r->left->dir);
		return 1;
	} else
		return 1;	/* the right one: used once the old left has gone */
	r->left = l;
	link_assigned(l);
	return 1;
}

void
ring_assign_left(struct ring *r)
{
	for (struct ring_link *l = r->links; l; l = l->next) {
		if (l->in && l->done && !l->closing && !l->disconnect_at && l != r->left) {
			if (!ring_link_assign_left(l)) {
				ring_link_close(l, "Unwanted incoming connection", 0);
				ring_assign_left(r);
			}
			return;
		}
	}
}

static void
send_delayed_syncs(struct ring *r)
{
	for (size_t i = 0; i < r->ndirs; i++) {
		struct ring_dir *d = r->dirs[i];
		if (d->delayed_seq == 0)
			continue;
		ring_sync_send(r, d, d->delayed_seq, d->delayed_minor, d->delayed_ts, d->delayed_hash);
		d->delayed_seq = 0;
	}
}

int
ring_link_assign_right(struct ring_link *l)
{
	struct ring *r = l->r;
	if (r->right != NULL) {
		if (ring_dir_cmp_to_self(l->dir, r->right->dir, r->self) <= 0) {
			log_warnx("Aborting incorrect outgoing connection to %s:%u (already connected to correct one: %s:%u)",
			    l->dir->ip_str, l->dir->port, r->right->dir->ip_str, r->right->dir->port);
			return 0;
		}
		log_warnx("Replacing right director connection %s:%u with %s:%u", r->right->dir->ip_str,
		    r->right->dir->port, l->dir->ip_str, l->dir->port);
		ring_link_close(r->right, "Replacing with new connection", 0);
	}
	r->right = l;
	link_assigned(l);
	send_delayed_syncs(r);
	return 1;
}

static int
has_outgoing(struct ring *r)
{
	for (struct ring_link *l = r->links; l; l = l->next)
		if (!l->in && !l->disconnect_at && !l->closing)
			return 1;
	return 0;
}

/* ME arrived on an incoming link (Dovecot's four cases) */
void
ring_incoming_me(struct ring_link *l)
{
	struct ring *r = l->r;
	if (r->left == NULL) {
		l->dir->net_fail = 0;
		if (!has_outgoing(r))
			ring_connect(r, "Connecting to left");
	} else if (r->left->dir == l->dir) {
		ring_link_close(r->left, "Replacing with new incoming connection", 0);
	} else if (ring_dir_cmp_to_self(l->dir, r->left->dir, r->self) < 0) {
		char line[128];
		str_fmt(line, sizeof(line), "CONNECT\t%s\t%u\n", l->dir->ip_str, l->dir->port);
		ring_send(r->left, line);
	} else {
		r->left->verifying_left = 1;
		ring_ping(r->left);
	}
}

/* ---- connecting ---- */

int
ring_connect_dir(struct ring *r, struct ring_dir *d, const char *reason)
{
	struct sockaddr_storage dst, src;
	socklen_t dlen, slen;
	for (struct ring_link *l = r->links; l; l = l->next)
		if (!l->in && l->dir == d && !l->closing)
			return 0;
	log_info("Connecting to %s:%u (%s)", d->ip_str, d->port, reason);
	ip_to_sockaddr(&d->ip, d->port, &dst, &dlen);
	/* from our own listed address: the peer admits listed directors only */
	ip_to_sockaddr(&r->self->ip, 0, &src, &slen);
	struct conn *c = conn_connect(r->dd->loop, (struct sockaddr *)&dst, dlen, (struct sockaddr *)&src,
	    slen, RING_LINE_MAX, link_cb, NULL);
	if (c == NULL) {
		d->net_fail = loop_wall(r->dd->loop);
		log_error("connect(%s:%u) failed", d->ip_str, d->port);
		return -1;
	}
	d->net_fail = 0;
	ring_dir_restarted(d);
	struct ring_link *l = link_new(r, c, 0);
	if (l == NULL) {
		conn_free(c);
		return -1;
	}
	l->dir = d;
	conn_set_cb(c, link_cb, l);
	return 0;
}

static int
wait_for_others(struct ring *r)
{
	uint64_t now = loop_now(r->dd->loop);
	if (r->first_alone_ms != 0 && now - r->first_alone_ms > RING_MIN_WAIT_MS)
		return 0;
	if (r->first_alone_ms == 0)
		r->first_alone_ms = now;
	for (size_t i = 0; i < r->ndirs; i++)
		r->dirs[i]->net_fail = r->dirs[i]->proto_fail = 0;
	r->quick_retry_at = now + QUICK_RECONNECT_MS;
	return 1;
}

void
ring_connect(struct ring *r, const char *reason)
{
	size_t si = self_idx(r);
	int64_t now = loop_wall(r->dd->loop);
	char name[128];
	r->quick_retry_at = 0;
	for (size_t i = 1; i < r->ndirs; i++) {
		struct ring_dir *d = r->dirs[(si + i) % r->ndirs];
		if (d->removed || d->net_fail + RECONNECT_RETRY_SECS > now ||
		    d->proto_fail + PROTOCOL_FAILURE_RETRY_SECS > now)
			continue;
		if (ring_connect_dir(r, d, reason) == 0)
			return;
	}
	if (r->ndirs > 1 && wait_for_others(r))
		return;
	if (r->ndirs > 1 && !r->alone)
		log_warnx("director: Couldn't connect to right side, we must be the only director left");
	if (r->left != NULL) {
		log_warnx("director: Assuming %s is dead, disconnecting", link_name(r->left, name, sizeof(name)));
		ring_link_close(r->left, "This connection is dead?", 0);
	}
	int was_alone = r->alone;
	r->alone = r->ndirs > 1;
	r->min_minor = RING_MINOR;
	if (r->ndirs > 1 && (r->removed_self || r->alone_policy == RING_ALONE_NEVER)) {
		/* a deliberate difference: no ring of one that serves new users on its own */
		if (!was_alone)
			log_errorx("director ring: cut off from every other director%s: new users wait and host changes are refused until the ring is back (director_ring_alone = %s)",
			    r->removed_self ? " (removed from the ring)" : "",
			    r->alone_policy == RING_ALONE_NEVER ? "never" : "grace");
		set_unsynced(r);
		r->sync_resend_at = 0;
		r->quick_retry_at = loop_now(r->dd->loop) + QUICK_RECONNECT_MS;
		return;
	}
	if (!r->handshaked)
		ring_set_handshaked(r);
	else if (!r->synced)
		ring_set_synced(r);
	if (r->alone)
		r->quick_retry_at = loop_now(r->dd->loop) + RECONNECT_PREFERRED_MS;
}

/* ---- membership ---- */

void
ring_dir_added(struct ring *r, struct ring_dir *added, const struct ring_dir *src, int log)
{
	char line[128];
	if (log)
		log_info("Adding director %s:%u to ring (requested by %s:%u)", added->ip_str, added->port,
		    src->ip_str, src->port);
	r->change_counter++;
	str_fmt(line, sizeof(line), "DIRECTOR\t%s\t%u\n", added->ip_str, added->port);
	ring_send_update(r, src, 0, line);
}

void
ring_dir_remove(struct ring *r, struct ring_dir *removed, struct ring_dir *src)
{
	char line[128];
	log_info("Removing director %s:%u from ring (requested by %s:%u)", removed->ip_str, removed->port,
	    src->ip_str, src->port);
	if (removed->self && !src->self) {
		/* Dovecot waits to be disconnected and then serves alone; directord stops
		 * assigning new users until it is in a complete ring again */
		r->removed_self = 1;
		log_errorx("director ring: this director was removed from the ring by %s:%u: new users wait until it is added back",
		    src->ip_str, src->port);
		return;
	}
	if (!removed->self) {
		removed->removed = 1;
		if (!r->purge_at)
			r->purge_at = loop_now(r->dd->loop) + DELAYED_DIR_REMOVE_MS;
	}
	str_fmt(line, sizeof(line), "DIRECTOR-REMOVE\t%s\t%u\n", removed->ip_str, removed->port);
	ring_send_update(r, src, RING_V_REMOVE, line);
	for (struct ring_link *l = r->links, *next; l; l = next) {
		next = l->next;
		if (l->dir == removed && !removed->self)
			ring_link_close(l, "Removing from ring", 0);
	}
	if (r->right == NULL)
		ring_connect(r, "Reconnecting after director was removed");
	ring_sync(r);
}

void
ring_director_add(struct directord *dd, const struct ip_addr *ip, unsigned int port)
{
	struct ring *r = dd->ring;
	struct ring_dir *d = ring_dir_lookup(r, ip, port);
	if (d != NULL && d->removed) {
		/* Dovecot ignores a re-add until the removed entry is purged (30 s) */
		d->removed = 0;
		ring_dir_restarted(d);
		ring_dir_added(r, d, r->self, 1);
	} else if (d == NULL && (d = dir_add(r, ip, port)) != NULL)
		ring_dir_added(r, d, r->self, 1);
}

int
ring_director_remove(struct directord *dd, const struct ip_addr *ip, unsigned int port)
{
	struct ring *r = dd->ring;
	struct ring_dir *d = port ? ring_dir_lookup(r, ip, port) : ring_dir_lookup_ip(r, ip);
	if (d == NULL)
		return -1;
	ring_dir_remove(r, d, r->self);
	return 0;
}

/* ---- input ---- */

static void
link_input(struct ring_link *l)
{
	struct ring *r = l->r;
	char *line, *f[RING_FIELDS_MAX + 1], name[128];
	size_t len;
	int ret;
	int frozen = r->sync_frozen;
	r->sync_frozen = 1;
	while (!l->closing && (ret = conn_getline(l->c, &line, &len)) != 0) {
		if (ret < 0) {
			ring_link_error(l, "Director %s sent us more than %d bytes",
			    link_name(l, name, sizeof(name)), RING_LINE_MAX);
			ring_link_close(l, "Too long input line", 1);
			break;
		}
		l->bytes_in += len + 1;
		l->last_in_ms = loop_now(r->dd->loop);
		l->last_input = loop_wall(r->dd->loop);
		if (l->disconnect_at && !l->reconnect_after)
			continue;	/* CONNECT sent: waiting for the peer to go */
		r->msgs_in++;
		dirstats_ring_msgs(0, line, len);
		log_debug("director(%s): input: %.*s", link_name(l, name, sizeof(name)), (int)len, line);
		size_t n = tab_split(line, f, RING_FIELDS_MAX);
		if (n > RING_FIELDS_MAX)
			n = RING_FIELDS_MAX;
		if (n == 0 || f[0][0] == '\0') {
			ring_link_error(l, "Received empty line");
			ring_link_close(l, "Invalid input", 1);
			break;
		}
		if (!ring_msg_handle(l, f, n)) {
			if (!l->closing)
				ring_link_close(l, "Invalid input", 1);
			break;
		}
	}
	r->sync_frozen = frozen;
	if (!frozen && r->sync_pending) {
		r->sync_pending = 0;
		ring_sync(r);
	}
}

static void
link_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct ring_link *l = arg;
	struct ring *r = l->r;
	char name[128];
	(void)c;
	switch (ev) {
	case CONN_EV_CONNECTED:
		l->connected = 1;
		l->connected_ms = l->last_in_ms = loop_now(r->dd->loop);
		send_handshake_start(l);
		for (size_t i = 0; i < r->ndirs; i++) {
			char line[128];
			if (r->dirs[i]->removed)
				continue;
			str_fmt(line, sizeof(line), "DIRECTOR\t%s\t%u\n", r->dirs[i]->ip_str, r->dirs[i]->port);
			ring_send(l, line);
		}
		break;
	case CONN_EV_DATA:
		link_input(l);
		break;
	case CONN_EV_DRAINED:
		break;
	case CONN_EV_EOF:
	case CONN_EV_ERROR:
	case CONN_EV_TIMEOUT:
		if (!l->connected)
			log_errorx("connect(%s) failed: %s", link_name(l, name, sizeof(name)),
			    ev == CONN_EV_ERROR ? strerror(conn_error(c)) : "closed");
		else if (l->disconnect_at && !l->reconnect_after && l->dir)
			log_warnx("Director %s tried to connect to us, should use another instead",
			    link_name(l, name, sizeof(name)));
		else
			log_errorx("Director %s disconnected: Connection closed%s%s (%s)",
			    link_name(l, name, sizeof(name)), ev == CONN_EV_ERROR ? ": " : "",
			    ev == CONN_EV_ERROR ? strerror(conn_error(c)) : "",
			    !l->me ? "handshake ME not received" : !l->done ? "handshake DONE not received" :
			    l->synced ? "synced" : "syncing");
		link_disconnected(l, "");
		break;
	}
}

static void
ring_accept(struct loop_io *io, uint32_t events, void *arg)
{
	struct ring *r = arg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ip_addr ip;
	char ips[IP_ADDR_STRLEN];
	(void)events;
	int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ring_dir *d = NULL;
	if (ip_from_sockaddr((struct sockaddr *)&ss, &ip, NULL) == 0)
		d = ring_dir_lookup_ip(r, &ip);
	if (d == NULL || d->removed) {
		/* the ring port is for listed directors only: no byte is sent to others */
		log_warnx("Connection from %s: Server not listed in director_servers, dropping",
		    ip.family ? ip_format(&ip, ips, sizeof(ips)) : "?");
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct conn *c = conn_new(r->dd->loop, fd, RING_LINE_MAX, link_cb, NULL);
	if (c == NULL)
		return;
	struct ring_link *l = link_new(r, c, 1);
	if (l == NULL) {
		conn_free(c);
		return;
	}
	conn_set_cb(c, link_cb, l);
	l->peer = ip;
	l->connected = 1;
	l->connected_ms = loop_now(r->dd->loop);
	log_info("Incoming connection from director %s/in", ip_format(&ip, ips, sizeof(ips)));
	send_handshake_start(l);
}

/* ---- timers ---- */

static void
link_tick(struct ring_link *l, uint64_t now)
{
	struct ring *r = l->r;
	char name[128];
	if (l->disconnect_at && now >= l->disconnect_at) {
		int rc = l->reconnect_after;
		ring_link_close(l, l->outbuf_full ? "Output buffer full" : rc ? "Wrong CONNECT requested" :
		    "Timeout waiting for disconnect after CONNECT", 0);
		if (rc && r->right == NULL)
			ring_connect(r, "Reconnecting after wrong CONNECT request");
		return;
	}
	const char *to = NULL;
	if (l->me && !l->done && !l->in && l->c && conn_out_pending(l->c) != l->last_pending) {
		/* the user table is still going out: that is progress (Dovecot's timer too) */
		l->last_pending = conn_out_pending(l->c);
		l->last_in_ms = now;
	}
	if (!l->connected && now - l->created_ms >= CONNECT_TIMEOUT_MS)
		to = "Connect timed out";
	else if (l->connected && !l->me && now - l->connected_ms >= ME_TIMEOUT_MS)
		to = "Handshaking ME timed out";
	else if (l->me && !l->done && !l->in && now - l->last_in_ms >= SEND_USERS_TIMEOUT_MS)
		to = "Sending handshake timed out";
	else if (l->me && !l->done && l->in && now - l->last_in_ms >= DONE_TIMEOUT_MS)
		to = "Handshaking DONE timed out";
	if (to != NULL) {
		log_errorx("director(%s): %s", link_name(l, name, sizeof(name)), to);
		link_disconnected(l, "Handshake timeout");
		return;
	}
	if (!l->done || l->closing)
		return;
	if (l->ping_sent_ms == 0) {
		uint64_t idle = l->synced ? PING_INTERVAL_MS : PING_SYNC_INTERVAL_MS;
		if (now - l->last_in_ms >= idle)
			ring_ping(l);
		return;
	}
	if (now - l->last_in_ms >= r->ping_idle_ms) {
		log_errorx("Director %s disconnected: Ping timed out in %u.%03u secs",
		    link_name(l, name, sizeof(name)), (unsigned int)((now - l->ping_sent_ms) / 1000),
		    (unsigned int)((now - l->ping_sent_ms) % 1000));
		link_disconnected(l, "Ping timeout");
	} else if (now >= l->pong_deadline) {
		log_errorx("Director %s disconnected: PONG reply not received in %u secs, although other input keeps coming",
		    link_name(l, name, sizeof(name)), (unsigned int)((now - l->ping_sent_ms) / 1000));
		link_disconnected(l, "Pong timeout");
	}
}

static void
ring_timer(struct loop_timer *t, void *arg)
{
	struct ring *r = arg;
	uint64_t now = loop_now(r->dd->loop);
	static uint64_t last_refresh;
	for (struct ring_link *l = r->links, *next; l; l = next) {
		next = l->next;
		link_tick(l, now);
	}
	if (r->sync_resend_at && now >= r->sync_resend_at && !r->synced) {
		r->sync_resend_at = now + SYNC_TIMEOUT_MS;
		if (ring_resend_sync(r))
			log_errorx("Ring SYNC seq=%u appears to have got lost, resending", r->sync_seq);
	}
	if (r->quick_retry_at && now >= r->quick_retry_at)
		ring_connect(r, r->handshaked || r->alone || r->first_alone_ms ?
		    "Alone in director ring - trying to connect to others" : "Initial connection");
	if (r->reconnect_at && now >= r->reconnect_at) {
		struct ring_dir *pref = preferred_right(r);
		r->reconnect_at = now + RECONNECT_PREFERRED_MS;
		if (pref != NULL && (r->right == NULL || r->right->dir != pref))
			ring_connect_dir(r, pref, "Reconnect attempt to preferred director");
	}
	if (r->purge_at && now >= r->purge_at)
		purge_removed(r);
	if (r->sync_pending && !r->sync_frozen) {
		r->sync_pending = 0;
		ring_sync(r);
	}
	if (now - last_refresh >= 1000) {
		last_refresh = now;
		ring_refresh_sessions(r->dd);
	}
	diradmin_ring_changed(r->dd);
	loop_timer_set(r->dd->loop, t, TICK_MS, ring_timer, r);
}

/* ---- ring status (DIRECTOR-LIST) ---- */

static void
link_status(struct ring_link *l, struct strbuf *sb)
{
	if (!l->done)
		strbuf_printf(sb, "handshaking - %u USERs %s", l->users, l->in ? "received" : "sent");
	else
		strbuf_puts(sb, l->synced ? "synced" : "syncing");
	strbuf_printf(sb, "\t%u\t%llu\t%llu\t%zu\t%llu\t%lld\t%lld", l->ping_ms,
	    (unsigned long long)l->bytes_in, (unsigned long long)(l->c ? conn_bytes_out(l->c) : 0),
	    l->c ? conn_out_pending(l->c) : 0, (unsigned long long)l->peak_buffered,
	    (long long)l->last_input, (long long)l->last_output);
}

void
ring_director_list(struct directord *dd, void (*out)(void *, const char *), void *arg)
{
	struct ring *r = dd->ring;
	struct strbuf sb;
	for (struct ring_link *l = r->links; l; l = l->next) {
		if (l->dir != NULL)
			continue;
		strbuf_init(&sb, 1024);
		link_status(l, &sb);
		out(arg, sb.s);
		strbuf_free(&sb);
	}
	for (size_t i = 0; i < r->ndirs; i++) {
		struct ring_dir *d = r->dirs[i];
		int64_t failed = d->net_fail > d->proto_fail ? d->net_fail : d->proto_fail;
		int any = 0;
		for (struct ring_link *l = r->links; l; l = l->next) {
			if (l->dir != d)
				continue;
			any = 1;
			strbuf_init(&sb, 1024);
			strbuf_printf(&sb, "%s\t%u\t%s\t%lld\t", d->ip_str, d->port,
			    l == r->left ? "left" : l == r->right ? "right" : l->in ? "in" : "out", (long long)failed);
			link_status(l, &sb);
			out(arg, sb.s);
			strbuf_free(&sb);
		}
		if (any)
			continue;
		strbuf_init(&sb, 1024);
		strbuf_printf(&sb, "%s\t%u\t%s\t%lld\t", d->ip_str, d->port,
		    d->removed ? "removed" : d->self ? "self" : "", (long long)failed);
		if (d->self) {
			if (!r->handshaked)
				strbuf_puts(&sb, "ring handshaking");
			else if (r->synced)
				strbuf_puts(&sb, "ring synced");
			else
				strbuf_printf(&sb, "ring syncing - last sync %d secs ago",
				    (int)(loop_wall(dd->loop) - r->last_sync_time));
			strbuf_printf(&sb, "\t%u", r->last_sync_ms);
		}
		out(arg, sb.s);
		strbuf_free(&sb);
	}
}

/* ---- hooks for the rest of directord ---- */

int
ring_synced(const struct directord *dd)
{
	return dd->ring == NULL || dd->ring->synced;
}

int
ring_cut_off(const struct directord *dd)
{
	const struct ring *r = dd->ring;
	return r != NULL && (r->removed_self || (r->alone && r->ndirs > 1));
}

/* The ring's lowest director is the one whose left neighbour sorts above it (the link
 * that wraps round); each director sees that from its own left link, so all agree with
 * no message of their own (docs/directord.8.md, RING: health checks in a ring). */
int
ring_health_originator(const struct directord *dd)
{
	const struct ring *r = dd->ring;
	if (r == NULL)
		return 1;
	if (!r->synced || ring_cut_off(dd))
		return 0;
	if (r->left == NULL)
		return r->ndirs == 1;
	return r->left->dir != NULL && dir_cmp(r->left->dir, r->self) > 0;
}

/* ---- start and stop ---- */

static int
listen_ring(struct ring *r, FILE *errf)
{
	struct dir_settings *s = &r->dd->set;
	char err[128];
	const struct ip_addr *ip = s->ring_listen_ip.family ? &s->ring_listen_ip : &r->self->ip;
	int fd = listen_tcp(ip, s->ring_port, 128, LISTEN_NODELAY, err, sizeof(err));
	if (fd >= 0 && loop_io_add(r->dd->loop, &r->io, fd, EPOLLIN, ring_accept, r) < 0) {
		str_copy(err, strerror(errno), sizeof(err));
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		fprintf(errf, "directord: cannot listen on the director ring port %s:%u: %s\n",
		    ip_format(ip, (char[IP_ADDR_STRLEN]){ 0 }, IP_ADDR_STRLEN), s->ring_port, err);
		return -1;
	}
	r->fd = fd;
	return 0;
}

/* an address of this machine: one a socket can be bound to */
static int
is_local(const struct ip_addr *ip)
{
	struct sockaddr_storage ss;
	socklen_t len;
	ip_to_sockaddr(ip, 0, &ss, &len);
	int fd = socket(ip->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
	close(fd);
	return ok;
}

int
ring_init(struct directord *dd, FILE *errf)
{
	struct dir_settings *s = &dd->set;
	if (s->ring_port == 0)
		return 0;
	struct ring *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -1;
	r->dd = dd;
	r->fd = -1;
	r->ping_idle_ms = s->ping_idle_ms;
	r->ping_max_ms = s->ping_max_ms;
	r->outbuf_max = (size_t)s->outbuf_max;
	r->alone_policy = strcmp(s->ring_alone, "never") == 0 ? RING_ALONE_NEVER : RING_ALONE_GRACE;
	r->min_minor = RING_MINOR;
	/* director_servers: ip[:port] ... (addresses only: a name would need a resolver) */
	const char *p = s->director_servers;
	int bad = 0;
	while (*p) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, " \t,");
		if (n == 0)
			break;
		char item[128];
		const char *host;
		unsigned int port;
		struct ip_addr ip;
		str_fmt(item, sizeof(item), "%.*s", (int)n, p);
		p += n;
		if (n >= sizeof(item) || ip_hostport_parse(item, &host, &port, s->ring_port) < 0 ||
		    ip_parse(host, &ip) < 0) {
			fprintf(errf, "director_servers: '%s' is not ip[:port] (host names are not resolved: list addresses)\n", item);
			bad = 1;
			continue;
		}
		if (ring_dir_lookup(r, &ip, port) == NULL && dir_add(r, &ip, port) == NULL)
			bad = 1;
	}
	if (!bad) {
		for (size_t i = 0; i < r->ndirs && r->self == NULL; i++) {
			struct ring_dir *d = r->dirs[i];
			if (d->port != s->ring_port)
				continue;
			if (s->ring_listen_ip.family ? dirhash_ip_cmp(&s->ring_listen_ip, &d->ip) == 0 : is_local(&d->ip))
				r->self = d;
		}
		if (r->ndirs == 0) {
			/* standalone with a ring port: ourselves only */
			const struct ip_addr *ip = s->ring_listen_ip.family ? &s->ring_listen_ip : &s->self_ip;
			r->self = dir_add(r, ip, s->ring_port);
		}
		if (r->self == NULL) {
			fprintf(errf, "director_servers doesn't list ourself (the ring listener's address and port %u)\n", s->ring_port);
			bad = 1;
		}
	}
	if (bad || listen_ring(r, errf) < 0) {
		for (size_t i = 0; i < r->ndirs; i++)
			free(r->dirs[i]);
		free(r->dirs);
		free(r);
		return -1;
	}
	r->self->self = 1;
	s->self_ip = r->self->ip;
	s->self_port = r->self->port;
	ip_format(&s->self_ip, s->self_ip_str, sizeof(s->self_ip_str));
	dd->ring = r;
	r->last_sync_time = loop_wall(dd->loop);
	log_info("director ring: this director is %s:%u, %zu directors listed", r->self->ip_str,
	    r->self->port, r->ndirs);
	loop_timer_set(dd->loop, &r->timer, TICK_MS, ring_timer, r);
	/* the first dial happens in the loop (after a -D fork, not before) */
	r->quick_retry_at = loop_now(dd->loop);
	return 0;
}

void
ring_free(struct directord *dd)
{
	struct ring *r = dd->ring;
	if (r == NULL)
		return;
	while (r->links) {
		struct ring_link *l = r->links;
		r->links = l->next;
		if (l->version && l->minor >= RING_V_QUIT && l->connected) {
			conn_write(l->c, "QUIT\tShutting down\n", 19);
			conn_close_after_flush(l->c);
		} else
			conn_free(l->c);
		free(l);
	}
	loop_timer_cancel(dd->loop, &r->timer);
	if (r->fd >= 0) {
		loop_io_del(dd->loop, &r->io);
		close(r->fd);
	}
	for (size_t i = 0; i < r->ndirs; i++)
		free(r->dirs[i]);
	free(r->dirs);
	free(r);
	dd->ring = NULL;
}
