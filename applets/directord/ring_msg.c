/* SPDX-License-Identifier: MIT */
/* applets/directord/ring_msg.c: the lines a director ring carries (director-ring.md §2.2
 * to §2.7): the handshake's host and user lists, SYNC, USER refreshes with Dovecot's
 * conflict rules (lower address wins, USER-KICK-HASH), USER-WEAK, host updates with the
 * desync rules, the USER-MOVE / USER-KILLED / USER-KILLED-EVERYWHERE token, kicks, and
 * membership (DIRECTOR, DIRECTOR-REMOVE, CONNECT). The input is untrusted: every field is
 * checked, and anything Dovecot would call a protocol error closes the link and bars the
 * peer for 60 s. Nothing is ever sent that a Dovecot 2.3 director would not understand. */
#include <stdlib.h>
#include <string.h>

#include "applets/directord/ring.h"
#include "core/log.h"
#include "core/str.h"
#include "core/tab.h"

#define SKIP_RECENT_REFRESH_MAX_SECS	15
#define SYNC_STALE_TIMESTAMP_RESET_SECS	120
#define MAX_SYNC_SEQ_DUPLICATES		4
#define PINGPONG_WARN_MS		5000
#define HOSTS_RESEND_MIN_MS		1000	/* rate limit of "resending hosts" */

static int
parse_u32(const char *s, unsigned int *out)
{
	long long v;
	const char *err;
	if (str_to_num(s, 0, 0xffffffffLL, &v, &err) < 0)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static int
parse_time(const char *s, int64_t *out)
{
	long long v;
	const char *err;
	if (str_to_num(s, 0, 0x7fffffffffffLL, &v, &err) < 0)
		return -1;
	*out = v;
	return 0;
}

static int
parse_port(const char *s, unsigned int *out)
{
	return parse_u32(s, out) < 0 || *out == 0 || *out > 65535 ? -1 : 0;
}

static int
parse_ip_port(struct ring_link *l, char **f, size_t n, struct ip_addr *ip, unsigned int *port)
{
	if (n < 2) {
		ring_link_error(l, "Missing IP+port parameters");
		return -1;
	}
	if (ip_parse(f[0], ip) < 0) {
		ring_link_error(l, "Invalid IP address: %s", f[0]);
		return -1;
	}
	if (parse_port(f[1], port) < 0) {
		ring_link_error(l, "Invalid port: %s", f[1]);
		return -1;
	}
	return 0;
}

static int64_t
now_wall(struct ring *r)
{
	return loop_wall(r->dd->loop);
}

/* A seen-prefix command (director-ring.md §2.4): forwarded as orig's, or, with orig NULL,
 * a new one of ours with the next sequence number. cmd_end() adds the LF and floods it. */
static void
cmd_begin(struct ring *r, struct strbuf *sb, const char *cmd, struct ring_dir *orig)
{
	if (orig == NULL) {
		orig = r->self;
		orig->last_seq++;
	}
	strbuf_init(sb, 2048);
	strbuf_printf(sb, "%s\t%s\t%u\t%u", cmd, orig->ip_str, orig->port, orig->last_seq);
}

static void
cmd_end(struct ring *r, struct strbuf *sb, const struct ring_dir *src, unsigned int min_minor)
{
	strbuf_putc(sb, '\n');
	if (!sb->error)
		ring_send_update(r, src, min_minor, sb->s);
	strbuf_free(sb);
}

/* ---- hosts ---- */

uint32_t
ring_hosts_hash(struct ring *r)
{
	return hosts_hash(&r->dd->hosts);
}

static int
hosts_have_tags(struct ring *r)
{
	for (size_t i = 0; i < r->dd->hosts.n; i++)
		if (r->dd->hosts.hosts[i]->tag->name[0] != '\0')
			return 1;
	return 0;
}

void
ring_send_host(struct ring *r, const struct ring_dir *src, struct ring_dir *orig, struct dir_host *h)
{
	struct strbuf sb;
	cmd_begin(r, &sb, "HOST", orig);
	strbuf_printf(&sb, "\t%s\t%u\t", h->ip_str, h->vhost_count);
	tab_escape(&sb, h->tag->name);
	strbuf_printf(&sb, "\t%c%lld\t", h->down ? 'D' : 'U', (long long)h->last_updown);
	if (h->hostname)
		tab_escape(&sb, h->hostname);
	cmd_end(r, &sb, src, 0);
}

void
ring_resend_hosts(struct ring *r)
{
	size_t n;
	struct dir_host **hosts = hosts_sorted(&r->dd->hosts, &n);
	for (size_t i = 0; i < n; i++)
		ring_send_host(r, r->self, NULL, hosts[i]);
}

/* director_update_host(): the host changed here (from doveadm or the ring) */
static void
update_host(struct ring *r, const struct ring_dir *src, struct ring_dir *orig, struct dir_host *h)
{
	state_touch(r->dd);
	ring_send_host(r, src, orig, h);
	if (r->right != NULL || r->left != NULL)
		h->desynced = 1;
	ring_sync(r);
	proxy_pending_run(r->dd);
}

static void
host_forget(struct ring *r, struct dir_host *h)
{
	users_forget_host(r->dd, h);
}

static void
remove_host(struct ring *r, const struct ring_dir *src, struct ring_dir *orig, struct dir_host *h)
{
	if (src != NULL) {
		struct strbuf sb;
		cmd_begin(r, &sb, "HOST-REMOVE", orig);
		strbuf_printf(&sb, "\t%s", h->ip_str);
		cmd_end(r, &sb, src, 0);
	}
	log_info("director: Host %s removed (its %u users forgotten)", h->ip_str, h->user_count);
	host_forget(r, h);
	health_host_removed(r->dd, h);
	hosts_remove(&r->dd->hosts, h);
	state_touch(r->dd);
	ring_sync(r);
}

static void
flush_host(struct ring *r, const struct ring_dir *src, struct ring_dir *orig, struct dir_host *h)
{
	struct strbuf sb;
	cmd_begin(r, &sb, "HOST-FLUSH", orig);
	strbuf_printf(&sb, "\t%s", h->ip_str);
	cmd_end(r, &sb, src, 0);
	host_forget(r, h);
	ring_sync(r);
}

/* HOST: ip vhosts [tag [U|D<time> [hostname]]], in the handshake (dir_host NULL) or
 * after the seen-prefix */
static int
cmd_host_int(struct ring_link *l, char **a, size_t n, struct ring_dir *orig)
{
	struct ring *r = l->r;
	const struct ring_dir *src = l->dir;
	struct ip_addr ip;
	unsigned int vhosts;
	const char *tag = "", *hostname = NULL;
	int down = 0;
	int64_t updown = 0;
	if (n < 2 || ip_parse(a[0], &ip) < 0 || parse_u32(a[1], &vhosts) < 0) {
		ring_link_error(l, "Invalid parameters");
		return 0;
	}
	if (n >= 3)
		tag = a[2];
	if (n >= 4) {
		if ((a[3][0] != 'D' && a[3][0] != 'U') || parse_time(a[3] + 1, &updown) < 0) {
			ring_link_error(l, "Invalid updown parameters");
			return 0;
		}
		down = a[3][0] == 'D';
	}
	if (n >= 5 && a[4][0] != '\0')
		hostname = a[4];
	if (l->ignore_hosts)
		return 1;
	if (tag[0] != '\0' && l->minor < RING_V_TAGS) {
		ring_link_error(l, "Received a host tag from older director version with incompatible tagging support");
		return 0;
	}
	if (vhosts > DIRHASH_VHOST_MAX)
		vhosts = DIRHASH_VHOST_MAX;
	struct dir_host *h = hosts_lookup(&r->dd->hosts, &ip);
	int update, tag_changed = 0;
	if (h == NULL) {
		h = hosts_add(&r->dd->hosts, &ip, tag);
		if (h == NULL) {
			log_errorx("out of memory adding host %s", a[0]);
			return 1;
		}
		if (hostname)
			h->hostname = strdup(hostname);
		h->vhost_count = vhosts;
		h->down = down;
		h->last_updown = updown;
		health_host_added(r->dd, h);
		log_info("director: Host %s added by the ring (vhosts %u%s%s)", h->ip_str, vhosts,
		    *tag ? ", tag " : "", tag);
		hosts_changed(&r->dd->hosts);
		update_host(r, src, orig, h);
		return 1;
	}
	tag_changed = strcmp(tag, h->tag->name) != 0;
	update = h->vhost_count != vhosts || h->down != down || tag_changed;
	if (update && h->desynced) {
		if (h->down != down && h->last_updown > updown)
			down = h->down;	/* ours is newer */
		log_warnx("Host %s is being updated before previous update had finished (%s%s%s) - setting to state=%s vhosts=%u",
		    h->ip_str, h->down != down ? (h->down ? "down -> up" : "up -> down") : "",
		    h->down != down && h->vhost_count != vhosts ? ", " : "",
		    h->vhost_count != vhosts ? "vhosts changed" : "", down ? "down" : "up",
		    vhosts < h->vhost_count ? vhosts : h->vhost_count);
		if (vhosts > h->vhost_count)
			vhosts = h->vhost_count;
		orig = NULL;
		src = r->self;
	}
	if (!update)
		return 1;
	if (updown < h->last_updown)
		updown = h->last_updown;
	if (tag_changed) {
		struct dir_tag *t = hosts_tag_get(&r->dd->hosts, tag);
		log_errorx("Host %s changed tag from '%s' to '%s'", h->ip_str, h->tag->name, tag);
		if (t != NULL) {
			host_forget(r, h);
			h->tag = t;
		}
	}
	if (h->down != down)
		log_info("director(%s): Host %s changed %s (vhost_count=%u last_updown_change=%lld)",
		    l->dir ? l->dir->ip_str : "?", h->ip_str, down ? "down" : "up", vhosts, (long long)updown);
	h->down = down;
	h->last_updown = updown;
	h->vhost_count = vhosts;
	hosts_changed(&r->dd->hosts);
	update_host(r, src, orig, h);
	return 1;
}

/* ---- users ---- */

static unsigned int
near_secs(const struct directord *dd)
{
	unsigned int n = dd->set.user_expire / 10;
	return n < 3 ? 3 : n > 30 ? 30 : n;
}

static int
near_expiring(const struct directord *dd, const struct dir_user *u, int64_t now)
{
	return u->timestamp + (int64_t)dd->set.user_expire - (int64_t)near_secs(dd) < now;
}

static int
recently_updated(const struct directord *dd, const struct dir_user *u, int64_t now)
{
	return u->timestamp + (int64_t)dd->set.user_expire / 2 >= now;
}

/* director_update_user(): USER to every link except those to src */
static void
send_user(struct ring *r, const struct ring_dir *src, const struct dir_user *u)
{
	char line[128], old[128];
	if (u->host == NULL)
		return;
	str_fmt(line, sizeof(line), "USER\t%u\t%s\t%lld\n", u->hash, u->host->ip_str, (long long)u->timestamp);
	str_fmt(old, sizeof(old), "USER\t%u\t%s\n", u->hash, u->host->ip_str);
	for (struct ring_link *l = r->links; l; l = l->next)
		if (l->dir != src && !l->closing)
			ring_send(l, l->minor >= RING_V_TIMESTAMP ? line : old);
}

static void
send_user_weak(struct ring *r, const struct ring_dir *src, struct ring_link *src_link,
    struct ring_dir *orig, const struct dir_user *u)
{
	struct strbuf sb;
	cmd_begin(r, &sb, "USER-WEAK", orig);
	strbuf_printf(&sb, "\t%u\t%s", u->hash, u->host->ip_str);
	if (src != r->self && r->left && r->right && r->left->dir == r->right->dir) {
		/* a ring of two: back to its origin through the other link */
		strbuf_putc(&sb, '\n');
		if (r->right == src_link)
			ring_send(r->left, sb.s);
		else if (r->left == src_link)
			ring_send(r->right, sb.s);
		strbuf_free(&sb);
	} else
		cmd_end(r, &sb, src, RING_V_WEAK);
}

/* local kick: every session of the user (any tag) on a backend other than except */
static void
kick_hash_local(struct directord *dd, uint32_t hash, const struct ip_addr *except)
{
	for (struct dir_tag *t = dd->hosts.tags; t; t = t->next) {
		struct dir_user *u = users_find(&t->users, hash);
		if (u == NULL)
			continue;
		for (struct dir_session *s = u->sessions; s; s = s->unext) {
			if (except && dirhash_ip_cmp(&s->ip, except) == 0)
				continue;
			if (!s->kicked)
				proxy_kick_session(dd, s, "Kicked because the user is on another backend");
			s->kicked = 1;
		}
	}
}

static void
kick_hash(struct ring *r, const struct ring_dir *src, struct ring_dir *orig, uint32_t hash,
    const struct ip_addr *except)
{
	struct strbuf sb;
	char ip[IP_ADDR_STRLEN];
	kick_hash_local(r->dd, hash, except);
	cmd_begin(r, &sb, "USER-KICK-HASH", orig);
	strbuf_printf(&sb, "\t%u\t%s", hash, ip_format(except, ip, sizeof(ip)));
	cmd_end(r, &sb, src, RING_V_KICK);
}

/* director_user_refresh(): -1 expired (ignored), 0 nothing changed, 1 changed */
static int
user_refresh(struct ring_link *l, uint32_t hash, struct dir_host *host, int64_t ts, int unknown_ts,
    int weak, int *forced, struct dir_user **ur)
{
	struct ring *r = l->r;
	struct directord *dd = r->dd;
	int64_t now = now_wall(r);
	int ret = 0, unweak = 0;
	struct user_dir *d = &host->tag->users;
	*forced = 0;
	if (unknown_ts)
		ts = now;
	if (ts + (int64_t)dd->set.user_expire <= now)
		return -1;
	if (ts > now)
		ts = now;	/* a deliberate difference: never a timestamp from the future */
	struct dir_user *u = users_find(d, hash);
	if (u == NULL) {
		u = users_add(host->tag, hash, host, ts);
		if (u == NULL)
			return -1;
		u->weak = weak;
		state_touch(dd);
		*ur = u;
		return 1;
	}
	if (u->host == NULL) {
		/* being forgotten after its host went away: take the ring's host */
		users_set_host(u, host);
		u->forget = 0;
		ret = 1;
	}
	if (u->weak) {
		if (!weak) {
			unweak = 1;
			u->weak = 0;
			ret = 1;
		}
	} else if (weak && !recently_updated(dd, u, now)) {
		u->weak = 1;
		ret = 1;
	} else if (weak) {
		host = u->host;
		ret = 1;
	} else if (u->host == host) {
		/* the same host */
	} else if (near_expiring(dd, u, now)) {
		ret = 1;
	} else if (u->killing || u->kick_delay) {
		host = u->host;	/* being moved here: the others do not know yet */
	} else {
		log_errorx("User hash %u is being redirected to two hosts: %s and %s (old_ts=%lld%s)",
		    hash, u->host->ip_str, host->ip_str, (long long)u->timestamp,
		    l->done ? "" : ",handshaking");
		if (dirhash_ip_cmp(&u->host->ip, &host->ip) > 0)
			*forced = 1;
		else
			host = u->host;
		kick_hash(r, r->self, NULL, hash, &host->ip);
		ret = 1;
	}
	if (u->host != host) {
		users_set_host(u, host);
		ret = 1;
	}
	if (ts > u->timestamp && (!unknown_ts ||
	    u->timestamp + (int64_t)(dd->set.user_expire / 4 < SKIP_RECENT_REFRESH_MAX_SECS ?
	    dd->set.user_expire / 4 : SKIP_RECENT_REFRESH_MAX_SECS) < ts)) {
		users_refresh(d, u, ts);
		ret = 1;
	}
	if (ret)
		state_touch(dd);
	if (unweak)
		ring_state_changed(r);
	*ur = u;
	return ret;
}

static int
cmd_user_handshake(struct ring_link *l, char **a, size_t n)
{
	struct ring *r = l->r;
	unsigned int hash;
	struct ip_addr ip;
	int64_t ts;
	int forced;
	struct dir_user *u;
	if (n < 3 || parse_u32(a[0], &hash) < 0 || ip_parse(a[1], &ip) < 0 || parse_time(a[2], &ts) < 0) {
		ring_link_error(l, "Invalid parameters");
		return 0;
	}
	int weak = n > 3 && a[3][0] == 'w';
	l->users++;
	struct dir_host *h = hosts_lookup(&r->dd->hosts, &ip);
	if (h == NULL) {
		log_errorx("director(%s): USER used unknown host %s in handshake", l->dir ? l->dir->ip_str : "?", a[1]);
		return 0;
	}
	if (user_refresh(l, hash, h, ts, 0, weak, &forced, &u) >= 0 && u->timestamp < ts &&
	    ts <= now_wall(r))
		users_refresh(&h->tag->users, u, ts);
	return 1;
}

static int
cmd_user(struct ring_link *l, char **a, size_t n)
{
	struct ring *r = l->r;
	unsigned int hash;
	struct ip_addr ip;
	int64_t ts = 0;
	int forced;
	struct dir_user *u;
	if (n < 2 || parse_u32(a[0], &hash) < 0 || ip_parse(a[1], &ip) < 0 ||
	    (n > 2 && parse_time(a[2], &ts) < 0)) {
		ring_link_error(l, "Invalid parameters");
		return 0;
	}
	struct dir_host *h = hosts_lookup(&r->dd->hosts, &ip);
	if (h == NULL)
		return 1;	/* we probably just removed this host */
	if (user_refresh(l, hash, h, ts, n <= 2, 0, &forced, &u) > 0)
		send_user(r, forced ? r->self : l->dir, u);
	return 1;
}

/* seen-prefix: origin ip, port, seq. -1 error, 1 duplicate, 0 new (*orig NULL: the origin
 * is gone, so the command is re-sent as ours) */
static int
is_seen(struct ring_link *l, char ***a, size_t *n, unsigned int *seq, struct ring_dir **orig)
{
	struct ip_addr ip;
	unsigned int port;
	char **f = *a;
	if (*n < 3 || ip_parse(f[0], &ip) < 0 || parse_port(f[1], &port) < 0 || parse_u32(f[2], seq) < 0) {
		ring_link_error(l, "Invalid parameters");
		return -1;
	}
	*a += 3;
	*n -= 3;
	struct ring_dir *d = ring_dir_lookup(l->r, &ip, port);
	if (d == NULL || d->removed) {
		*orig = NULL;
		return 0;
	}
	*orig = d;
	if (*seq <= d->last_seq)
		return 1;
	d->last_seq = *seq;
	return 0;
}

static int
cmd_user_weak(struct ring_link *l, char **a, size_t n)
{
	struct ring *r = l->r;
	struct ring_dir *orig;
	const struct ring_dir *src = l->dir;
	unsigned int seq, hash;
	struct ip_addr ip;
	int weak = 1, forward = 0, forced, ret;
	struct dir_user *u;
	if ((ret = is_seen(l, &a, &n, &seq, &orig)) < 0)
		return 0;
	if (n != 2 || parse_u32(a[0], &hash) < 0 || ip_parse(a[1], &ip) < 0) {
		ring_link_error(l, "Invalid parameters");
		return 0;
	}
	struct dir_host *h = hosts_lookup(&r->dd->hosts, &ip);
	if (h == NULL)
		return 1;
	if (ret == 0)
		forward = 1;
	else if (orig == r->self) {
		/* our USER-WEAK went round the whole ring: the user is ours again */
		src = r->self;
		weak = 0;
	} else
		forward = 1;
	ret = user_refresh(l, hash, h, now_wall(r), 0, weak, &forced, &u);
	if (ret < 0)
		return 1;
	if (ret > 0 || forward) {
		if (forced)
			src = r->self;
		if (!u->weak)
			send_user(r, src, u);
		else
			send_user_weak(r, src, l, orig, u);
	}
	return 1;
}

static int
cmd_host(struct ring_link *l, char **a, size_t n)
{
	struct ring_dir *orig;
	unsigned int seq;
	int ret = is_seen(l, &a, &n, &seq, &orig);
	if (ret != 0)
		return ret > 0;
	return cmd_host_int(l, a, n, orig);
}

static int
cmd_host_remove_flush(struct ring_link *l, char **a, size_t n, int flush)
{
	struct ring *r = l->r;
	struct ring_dir *orig;
	unsigned int seq;
	struct ip_addr ip;
	int ret = is_seen(l, &a, &n, &seq, &orig);
	if (ret != 0)
		return ret > 0;
	if (n != 1 || ip_parse(a[0], &ip) < 0) {
		ring_link_error(l, "Invalid parameters");
		return 0;
	}
	struct dir_host *h = hosts_lookup(&r->dd->hosts, &ip);
	if (h != NULL) {
		if (flush)
			flush_host(r, l->dir, orig, h);
		else
			remove_host(r, l->dir, orig, h);
		proxy_pending_run(r->dd);
	}
	return 1;
}

/* ---- moves ---- */

void
ring_move_user(struct ring *r, const struct ring_dir *src, struct ring_dir *orig, uint32_t hash,
    struct dir_host *h)
{
	struct directord *dd = r->dd;
	struct user_dir *d = &h->tag->users;
	struct dir_user *u = users_find(d, hash);
	int64_t now = now_wall(r);
	struct strbuf sb;
	if (u == NULL) {
		u = users_add(h->tag, hash, h, now);
		if (u == NULL)
			return;
		state_touch(dd);
	} else
		users_refresh(d, u, now);
	cmd_begin(r, &sb, "USER-MOVE", orig);
	strbuf_printf(&sb, "\t%u\t%s", hash, h->ip_str);
	cmd_end(r, &sb, src, 0);
	if (u->killing || u->kick_delay) {
		/* moved again before the last move finished: go on from where it was */
		if (u->host != h) {
			int applying = r->applying;
			r->applying = 1;
			moves_user(dd, h->tag, u, h, "director");
			r->applying = applying;
		}
		return;
	}
	u->kill_self = src == r->self;
	u->ring_kill = KILL_KILLING;
	int applying = r->applying;
	r->applying = 1;
	/* in ring mode moves_user() always starts a kill, also with no session to kick */
	moves_user(dd, h->tag, u, h, src == r->self ? "doveadm" : "director");
	r->applying = applying;
	moves_check(dd, u);
}

static int
cmd_user_move(struct ring_link *l, char **a, size_t n)
{
	struct ring *r = l->r;
	struct ring_dir *orig;
	unsigned int seq, hash;
	struct ip_addr ip;
	int ret = is_seen(l, &a, &n, &seq, &orig);
	if (ret != 0)
		return ret > 0;
	if (n != 2 || parse_u32(a[0], &hash) < 0 || ip_parse(a[1], &ip) < 0) {
		ring_link_error(l, "Invalid parameters");
		return 0;
	}
	struct dir_host *h = hosts_lookup(&r->dd->hosts, &ip);
	if (h != NULL)
		ring_move_user(r, l->dir, orig, hash, h);
	return 1;
}

static void
send_killed_everywhere(struct ring *r, const struct ring_dir *src, struct ring_dir *orig, uint32_t hash)
{
	struct strbuf sb;
	cmd_begin(r, &sb, "USER-KILLED-EVERYWHERE", orig);
	strbuf_printf(&sb, "\t%u", hash);
	cmd_end(r, &sb, src, 0);
}

static void
killed_everywhere(struct ring *r, const struct ring_dir *src, struct ring_dir *orig, uint32_t hash)
{
	int found = 0;
	for (struct dir_tag *t = r->dd->hosts.tags; t; t = t->next) {
		struct dir_user *u = users_find(&t->users, hash);
		if (u == NULL || !u->killing || u->ring_kill != KILL_WAIT_EVERYONE)
			continue;
		u->ring_kill = KILL_EVERYWHERE;
		moves_check(r->dd, u);
		found = 1;
	}
	if (found)
		send_killed_everywhere(r, src, orig, hash);
}

/* the local part of a move is done (its sessions elsewhere have ended) */
int
ring_kill_local_done(struct directord *dd, struct dir_user *u)
{
	struct ring *r = dd->ring;
	char line[64];
	if (r == NULL || u->ring_kill == KILL_EVERYWHERE)
		return 1;
	if (u->ring_kill == KILL_WAIT_NOTIFY || u->ring_kill == KILL_WAIT_EVERYONE)
		return 0;
	if (r->right == NULL)
		return 1;	/* alone */
	if (u->kill_self || u->ring_kill == KILL_NOTIFY_RECEIVED) {
		str_fmt(line, sizeof(line), "USER-KILLED\t%u\n", u->hash);
		ring_send(r->right, line);
		u->ring_kill = KILL_WAIT_EVERYONE;
	} else
		u->ring_kill = KILL_WAIT_NOTIFY;
	return 0;
}

static int
cmd_user_killed(struct ring_link *l, char **a, size_t n)
{
	struct ring *r = l->r;
	unsigned int hash;
	char line[64];
	int known = 0;
	if (n != 1 || parse_u32(a[0], &hash) < 0) {
		ring_link_error(l, "Invalid parameters");
		return 0;
	}
	for (struct dir_tag *t = r->dd->hosts.tags; t; t = t->next) {
		struct dir_user *u = users_find(&t->users, hash);
		if (u == NULL)
			continue;
		known = 1;
		if (u->kick_delay) {
			send_killed_everywhere(r, r->self, NULL, hash);
			continue;
		}
		if (!u->killing)
			continue;
		switch (u->ring_kill) {
		case KILL_KILLING:
			u->ring_kill = KILL_NOTIFY_RECEIVED;
			break;
		case KILL_WAIT_NOTIFY:
			u->kill_self = 1;
			u->ring_kill = KILL_KILLING;
			ring_kill_local_done(r->dd, u);
			break;
		case KILL_WAIT_EVERYONE:
			killed_everywhere(r, r->self, NULL, hash);
			break;
		default:
			break;
		}
	}
	if (!known && r->right != NULL && r->right != l) {
		/* a deliberate difference: Dovecot drops the token for a user it does not know
		 * and the move hangs for 30 s; it has nothing to kill here, so pass it on */
		str_fmt(line, sizeof(line), "USER-KILLED\t%u\n", hash);
		ring_send(r->right, line);
	}
	return 1;
}

static int
cmd_user_killed_everywhere(struct ring_link *l, char **a, size_t n)
{
	struct ring_dir *orig;
	unsigned int seq, hash;
	int ret = is_seen(l, &a, &n, &seq, &orig);
	if (ret < 0)
		return 0;
	if (n != 1 || parse_u32(a[0], &hash) < 0) {
		ring_link_error(l, "Invalid parameters");
		return 0;
	}
	if (ret == 0)
		killed_everywhere(l->r, l->dir, orig, hash);
	return 1;
}

/* ---- kicks ---- */

static void
kick_user(struct ring *r, const struct ring_dir *src, struct ring_dir *orig, const char *user)
{
	struct strbuf sb;
	proxy_kick_user(r->dd, user);
	cmd_begin(r, &sb, "USER-KICK", orig);
	strbuf_putc(&sb, '\t');
	tab_escape(&sb, user);
	cmd_end(r, &sb, src, RING_V_KICK);
}

static void
kick_alt(struct ring *r, const struct ring_dir *src, struct ring_dir *orig, const char *field,
    const char *value)
{
	struct strbuf sb;
	proxy_kick_alt(r->dd, field, value);
	cmd_begin(r, &sb, "USER-KICK-ALT", orig);
	strbuf_putc(&sb, '\t');
	tab_escape(&sb, field);
	strbuf_putc(&sb, '\t');
	tab_escape(&sb, value);
	cmd_end(r, &sb, src, RING_V_KICK_ALT);
}

static int
cmd_user_kick(struct ring_link *l, char **a, size_t n, int alt)
{
	struct ring_dir *orig;
	unsigned int seq;
	int ret = is_seen(l, &a, &n, &seq, &orig);
	if (ret != 0)
		return ret > 0;
	if (n != (alt ? 2u : 1u)) {
		ring_link_error(l, "Invalid parameters");
		return 0;
	}
	if (alt)
		kick_alt(l->r, l->dir, orig, a[0], a[1]);
	else
		kick_user(l->r, l->dir, orig, a[0]);
	return 1;
}

static int
cmd_user_kick_hash(struct ring_link *l, char **a, size_t n)
{
	struct ring_dir *orig;
	unsigned int seq, hash;
	struct ip_addr ip;
	int ret = is_seen(l, &a, &n, &seq, &orig);
	if (ret != 0)
		return ret > 0;
	if (n != 2 || parse_u32(a[0], &hash) < 0 || ip_parse(a[1], &ip) < 0) {
		ring_link_error(l, "Invalid parameters");
		return 0;
	}
	kick_hash(l->r, l->dir, orig, hash, &ip);
	return 1;
}

/* ---- membership and topology ---- */

static int
cmd_director(struct ring_link *l, char **a, size_t n)
{
	struct ring *r = l->r;
	struct ip_addr ip;
	unsigned int port;
	int log = 0;
	if (parse_ip_port(l, a, n, &ip, &port) < 0)
		return 0;
	struct ring_dir *d = ring_dir_lookup(r, &ip, port);
	if (d != NULL) {
		if (d->self || d->removed)
			return 1;
		if (l->done)
			d->net_fail = 0;
		ring_dir_restarted(d);
	} else {
		d = ring_dir_get(r, &ip, port);
		if (d == NULL)
			return 1;
		log = 1;
	}
	if (r->right != NULL && ring_dir_cmp_to_self(d, r->right->dir, r->self) > 0)
		log_debug("Received DIRECTOR update for a host where we should be connected to. Not forwarding it since it's probably crashed.");
	else
		ring_dir_added(r, d, l->dir ? l->dir : r->self, log);
	return 1;
}

static int
cmd_director_remove(struct ring_link *l, char **a, size_t n)
{
	struct ip_addr ip;
	unsigned int port;
	if (parse_ip_port(l, a, n, &ip, &port) < 0)
		return 0;
	struct ring_dir *d = ring_dir_lookup(l->r, &ip, port);
	if (d != NULL && !d->removed)
		ring_dir_remove(l->r, d, l->dir ? l->dir : l->r->self);
	return 1;
}

static int
cmd_connect(struct ring_link *l, char **a, size_t n)
{
	struct ring *r = l->r;
	struct ip_addr ip;
	unsigned int port;
	if (n != 2 || parse_ip_port(l, a, n, &ip, &port) < 0) {
		if (n != 2)
			ring_link_error(l, "Invalid parameters");
		return 0;
	}
	struct ring_dir *d = ring_dir_get(r, &ip, port);
	if (d == NULL)
		return 1;
	if ((r->right != NULL && ring_dir_cmp_to_self(d, r->right->dir, r->self) <= 0) || d->removed) {
		if (!l->disconnect_at) {
			l->disconnect_at = loop_now(r->dd->loop) + 1000;
			l->reconnect_after = 1;
		}
		return 1;
	}
	d->net_fail = 0;
	char why[160];
	if (r->right == NULL)
		str_fmt(why, sizeof(why), "Received CONNECT request from %s:%u - initializing right",
		    l->dir ? l->dir->ip_str : "?", l->dir ? l->dir->port : 0);
	else {
		str_fmt(why, sizeof(why), "Received CONNECT request from %s:%u - replacing current right %s:%u",
		    l->dir ? l->dir->ip_str : "?", l->dir ? l->dir->port : 0, r->right->dir->ip_str,
		    r->right->dir->port);
		if (r->right != l)
			ring_link_close(r->right, "CONNECT requested", 0);
		else if (!l->disconnect_at) {
			l->disconnect_at = loop_now(r->dd->loop);
			l->reconnect_after = 0;
		}
	}
	ring_connect_dir(r, d, why);
	return 1;
}

/* ---- SYNC ---- */

static int
sync_host(struct ring_link *l, struct ring_dir *d, unsigned int seq, unsigned int minor, int64_t ts,
    uint32_t hash)
{
	struct ring *r = l->r;
	uint32_t mine = ring_hosts_hash(r);
	if (minor > RING_MINOR)
		minor = RING_MINOR;
	if (d->self) {
		if (r->sync_seq != seq)
			return 0;
		if (r->left == NULL || r->right == NULL)
			return 0;
		if (hash != 0 && hash != mine) {
			log_errorx("Hosts unexpectedly changed during SYNC reply - resending (seq=%u, old hosts_hash=%u, new hosts_hash=%u)",
			    seq, hash, mine);
			ring_resend_sync(r);
			return 0;
		}
		r->min_minor = minor;
		if (!r->handshaked)
			ring_set_handshaked(r);
		else if (!r->synced) {
			r->last_sync_ms = (unsigned int)(loop_now(r->dd->loop) - r->sync_start_ms);
			log_debug("Ring is synced (seq=%u, hosts_hash=%u)", seq, mine);
			ring_set_synced(r);
		}
		return 1;
	}
	if (seq < d->last_sync_seq && ts < d->last_sync_ts + SYNC_STALE_TIMESTAMP_RESET_SECS)
		return 0;
	else if (seq < d->last_sync_seq) {
		log_warnx("Last SYNC seq for %s:%u appears to be stale, resetting (seq=%u, timestamp=%lld -> seq=%u, timestamp=%lld)",
		    d->ip_str, d->port, d->last_sync_seq, (long long)d->last_sync_ts, seq, (long long)ts);
		d->last_sync_seq = seq;
		d->last_sync_ts = ts;
		d->sync_dups = 1;
	} else if (seq > d->last_sync_seq || ts > d->last_sync_ts) {
		d->last_sync_seq = seq;
		d->last_sync_ts = ts;
		d->sync_dups = 1;
	} else if (++d->sync_dups > MAX_SYNC_SEQ_DUPLICATES)
		return 0;
	if (hash != 0 && hash != mine) {
		if (d->desynced_hash != hash) {
			d->desynced_hash = hash;
			return 0;
		}
		uint64_t now = loop_now(r->dd->loop);
		log_errorx("Director %s SYNC request hosts don't match us - resending hosts (seq=%u, remote hosts_hash=%u, my hosts_hash=%u)",
		    d->ip_str, seq, hash, mine);
		/* a deliberate difference: at most once a second (Dovecot's FIXME) */
		if (now - r->hosts_resend_ms >= HOSTS_RESEND_MIN_MS || r->hosts_resend_ms == 0) {
			r->hosts_resend_ms = now;
			ring_resend_hosts(r);
		}
		return 0;
	}
	d->desynced_hash = 0;
	if (r->right != NULL)
		ring_sync_send(r, d, seq, minor, ts, hash);
	else {
		d->delayed_seq = seq;
		d->delayed_minor = minor;
		d->delayed_ts = ts;
		d->delayed_hash = hash;
	}
	return 1;
}

static int
cmd_sync(struct ring_link *l, char **a, size_t n)
{
	struct ring *r = l->r;
	struct ip_addr ip = { 0 };
	unsigned int port, seq, minor = 0, hash = 0, ts32;
	int64_t ts = now_wall(r);
	if (n < 3 || parse_ip_port(l, a, n, &ip, &port) < 0 || parse_u32(a[2], &seq) < 0 ||
	    (n >= 4 && parse_u32(a[3], &minor) < 0) || (n >= 5 && parse_u32(a[4], &ts32) < 0) ||
	    (n >= 6 && parse_u32(a[5], &hash) < 0)) {
		if (n < 3)
			ring_link_error(l, "Invalid parameters");
		else if (ip.family)
			ring_link_error(l, "Invalid parameters");
		return 0;
	}
	if (n >= 5)
		ts = ts32;
	struct ring_dir *d = ring_dir_lookup(r, &ip, port);
	if (d != NULL && !sync_host(l, d, seq, minor, ts, hash))
		return 1;
	if ((d == NULL || !d->self) && r->sync_sent_change_counter != r->change_counter &&
	    r->self->last_sync_ts != now_wall(r))
		ring_resend_sync(r);
	return 1;
}

/* ---- handshake ---- */

void
ring_msg_send_handshake(struct ring_link *l)
{
	struct ring *r = l->r;
	struct strbuf sb;
	size_t n;
	char line[160];
	struct dir_host **hosts = hosts_sorted(&r->dd->hosts, &n);
	str_fmt(line, sizeof(line), "HOST-HAND-START\t%u\n", r->handshaked ? 1 : 0);
	ring_send(l, line);
	for (size_t i = 0; i < n; i++) {
		struct dir_host *h = hosts[i];
		strbuf_init(&sb, 2048);
		strbuf_printf(&sb, "HOST\t%s\t%u", h->ip_str, h->vhost_count);
		if (h->tag->name[0] != '\0' || l->minor >= RING_V_UPDOWN) {
			strbuf_putc(&sb, '\t');
			tab_escape(&sb, h->tag->name);
		}
		if (l->minor >= RING_V_UPDOWN) {
			strbuf_printf(&sb, "\t%c%lld\t", h->down ? 'D' : 'U', (long long)h->last_updown);
			if (h->hostname)
				tab_escape(&sb, h->hostname);
		}
		strbuf_putc(&sb, '\n');
		if (!sb.error)
			ring_send(l, sb.s);
		strbuf_free(&sb);
	}
	str_fmt(line, sizeof(line), "HOST-HAND-END\t%u\n", r->handshaked ? 1 : 0);
	ring_send(l, line);
	/* oldest first; a whole table at once (it is queued in memory, not in the kernel) */
	const char *cmd = l->minor >= RING_V_TIMESTAMP ? "U" : "USER";
	for (struct dir_tag *t = r->dd->hosts.tags; t; t = t->next) {
		for (struct dir_user *u = t->users.head; u; u = u->next) {
			if (u->host == NULL)
				continue;
			str_fmt(line, sizeof(line), "%s\t%u\t%s\t%lld%s\n", cmd, u->hash, u->host->ip_str,
			    (long long)u->timestamp, u->weak ? "\tw" : "");
			ring_send(l, line);
			l->users++;
		}
	}
	ring_send(l, "OPTIONS\tconsistent-hashing\nDONE\n");
}

static int
cmd_me(struct ring_link *l, char **a, size_t n)
{
	struct ring *r = l->r;
	struct ip_addr ip;
	unsigned int port;
	int64_t t;
	if (parse_ip_port(l, a, n, &ip, &port) < 0)
		return 0;
	if (l->me) {
		ring_link_error(l, "Duplicate ME");
		return 0;
	}
	if (!l->in && (dirhash_ip_cmp(&l->dir->ip, &ip) != 0 || l->dir->port != port)) {
		log_errorx("Remote director thinks it's someone else (connected to %s:%u, remote says it's %s:%u)",
		    l->dir->ip_str, l->dir->port, a[0], port);
		return 0;
	}
	l->me = 1;
	l->me_ms = loop_now(r->dd->loop);
	if (n > 2) {
		if (parse_time(a[2], &t) < 0) {
			ring_link_error(l, "Invalid ME timestamp");
			return 0;
		}
		int64_t diff = now_wall(r) - t;
		if (diff > 1 || diff < -1)
			log_warnx("Director %s:%u clock differs from ours by %lld secs: the ring needs synchronised clocks (NTP)",
			    a[0], port, (long long)diff);
	}
	if (!l->in)
		return 1;
	struct ring_dir *d = ring_dir_get(r, &ip, port);
	if (d == NULL) {
		log_errorx("director ring: no room for director %s:%u", a[0], port);
		return 0;
	}
	l->dir = d;
	d->removed = 0;
	ring_dir_restarted(d);
	int64_t next = d->proto_fail + 60;
	if (next > now_wall(r)) {
		log_errorx("Remote sent invalid protocol data recently, waiting %u secs before allowing further communication",
		    (unsigned int)(next - now_wall(r)));
		return 0;
	}
	ring_incoming_me(l);
	return 1;
}

static int
cmd_hand_start(struct ring_link *l, char **a, size_t n)
{
	struct ring *r = l->r;
	unsigned int completed;
	if (n < 1 || parse_u32(a[0], &completed) < 0) {
		ring_link_error(l, "Invalid parameters");
		return 0;
	}
	if (completed != 0 && !r->handshaked) {
		/* joining a complete ring: its hosts (and their users) replace ours */
		log_info("director(%s): We're joining a ring - replace all hosts", l->dir->ip_str);
		while (r->dd->hosts.n > 0)
			remove_host(r, NULL, NULL, r->dd->hosts.hosts[0]);
	} else if (completed == 0 && r->handshaked) {
		log_debug("director(%s): Remote is joining our ring - ignore all remote HOSTs", l->dir->ip_str);
		l->ignore_hosts = 1;
	}
	l->hosts_list = 1;
	return 1;
}

static int
cmd_done(struct ring_link *l)
{
	struct ring *r = l->r;
	char line[128];
	uint64_t ms = loop_now(r->dd->loop) - l->connected_ms;
	log_info("director(%s:%u/%s): Handshake finished in %u.%03u secs (%u users %s)", l->dir->ip_str,
	    l->dir->port, l->in ? "in" : "out", (unsigned int)(ms / 1000), (unsigned int)(ms % 1000),
	    l->users, l->in ? "received" : "sent");
	l->dir->net_fail = 0;
	l->done = 1;
	if (l->in) {
		ring_send(l, "DONE\n");
		str_fmt(line, sizeof(line), "DIRECTOR\t%s\t%u\n", l->dir->ip_str, l->dir->port);
		ring_send_update(r, l->dir, 0, line);
		return ring_link_assign_left(l);
	}
	return ring_link_assign_right(l);
}

/* 1 handled, -1 error, 0 not a handshake command */
static int
handshake(struct ring_link *l, const char *cmd, char **a, size_t n)
{
	struct ring *r = l->r;
	if (strcmp(cmd, "VERSION") == 0 && n >= 3) {
		unsigned int major, minor;
		if (strcmp(a[0], "director") != 0) {
			log_errorx("Wrong protocol in socket (%s vs director)", a[0]);
			return -1;
		}
		if (parse_u32(a[1], &major) < 0 || parse_u32(a[2], &minor) < 0) {
			log_errorx("Invalid protocol version: %s.%s", a[1], a[2]);
			return -1;
		}
		if (major != 1) {
			log_errorx("Incompatible protocol version: %u vs 1", major);
			return -1;
		}
		l->minor = minor;
		if (minor < RING_V_TAGS && hosts_have_tags(r)) {
			log_errorx("Director version supports incompatible tags");
			return -1;
		}
		l->version = 1;
		if (!l->in) {
			if (minor < RING_V_OPTIONS) {
				log_errorx("Director version is too old for supporting director_consistent_hashing=yes");
				return -1;
			}
			ring_msg_send_handshake(l);
		}
		return 1;
	}
	if (!l->version) {
		ring_link_error(l, "Incompatible protocol");
		return -1;
	}
	if (strcmp(cmd, "ME") == 0)
		return cmd_me(l, a, n) ? 1 : -1;
	if (!l->me) {
		ring_link_error(l, "Expecting ME command first");
		return -1;
	}
	if (l->hosts_list) {
		if (strcmp(cmd, "HOST") == 0)
			return cmd_host_int(l, a, n, NULL) ? 1 : -1;
		if (strcmp(cmd, "HOST-HAND-END") == 0) {
			l->hosts_list = 0;
			l->ignore_hosts = 0;
			return 1;
		}
		ring_link_error(l, "Unexpected command during host list");
		return -1;
	}
	if (strcmp(cmd, "OPTIONS") == 0) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(a[i], "consistent-hashing") == 0)
				return 1;
		log_errorx("director_consistent_hashing settings differ between directors. Set director_consistent_hashing=yes on old directors");
		return -1;
	}
	if (strcmp(cmd, "HOST-HAND-START") == 0) {
		if (!l->in) {
			ring_link_error(l, "Host list is only for incoming connections");
			return -1;
		}
		return cmd_hand_start(l, a, n) ? 1 : -1;
	}
	if (l->in && (strcmp(cmd, "U") == 0 || (strcmp(cmd, "USER") == 0 && l->minor < RING_V_TIMESTAMP && n > 2)))
		return cmd_user_handshake(l, a, n) ? 1 : -1;
	if (strcmp(cmd, "DONE") == 0)
		return cmd_done(l) ? 1 : -1;
	return 0;
}

static int
cmd_ping(struct ring_link *l, char **a, size_t n)
{
	int64_t sent;
	char line[96];
	if (n >= 2 && parse_time(a[0], &sent) == 0 && (now_wall(l->r) - sent) * 1000 + 500 > PINGPONG_WARN_MS)
		log_warnx("director(%s): PING response took %lld secs to receive", l->dir ? l->dir->ip_str : "?",
		    (long long)(now_wall(l->r) - sent));
	str_fmt(line, sizeof(line), "PONG\t%lld\t%zu\n", (long long)now_wall(l->r), conn_out_pending(l->c));
	ring_send(l, line);
	return 1;
}

static int
cmd_pong(struct ring_link *l)
{
	struct ring *r = l->r;
	if (l->ping_sent_ms == 0)
		return 1;
	uint64_t ms = loop_now(r->dd->loop) - l->ping_sent_ms;
	if (ms > PINGPONG_WARN_MS)
		log_warnx("director(%s): PONG response took %u.%03u secs", l->dir ? l->dir->ip_str : "?",
		    (unsigned int)(ms / 1000), (unsigned int)(ms % 1000));
	l->ping_ms = (unsigned int)ms;
	l->ping_sent_ms = 0;
	if (l->verifying_left) {
		l->verifying_left = 0;
		if (l == r->left) {
			/* our left works: the wrong incoming links are told to go to it */
			for (struct ring_link *o = r->links; o; o = o->next)
				if (o->in && o != r->left && o->me && !o->disconnect_at && o->dir &&
				    ring_dir_cmp_to_self(r->left->dir, o->dir, r->self) < 0)
					ring_send_connect(o, r->left->dir);
		}
	}
	return 1;
}

int
ring_msg_handle(struct ring_link *l, char **f, size_t n)
{
	const char *cmd = f[0];
	char **a = f + 1;
	size_t na = n - 1;
	if (!l->done) {
		int ret = handshake(l, cmd, a, na);
		if (ret > 0)
			return 1;
		if (ret < 0)
			return 0;
	}
	if (strcmp(cmd, "PING") == 0)
		return cmd_ping(l, a, na);
	if (strcmp(cmd, "PONG") == 0)
		return cmd_pong(l);
	if (strcmp(cmd, "USER") == 0)
		return cmd_user(l, a, na);
	if (strcmp(cmd, "USER-WEAK") == 0)
		return cmd_user_weak(l, a, na);
	if (strcmp(cmd, "HOST") == 0)
		return cmd_host(l, a, na);
	if (strcmp(cmd, "HOST-REMOVE") == 0)
		return cmd_host_remove_flush(l, a, na, 0);
	if (strcmp(cmd, "HOST-FLUSH") == 0)
		return cmd_host_remove_flush(l, a, na, 1);
	if (strcmp(cmd, "USER-MOVE") == 0)
		return cmd_user_move(l, a, na);
	if (strcmp(cmd, "USER-KICK") == 0)
		return cmd_user_kick(l, a, na, 0);
	if (strcmp(cmd, "USER-KICK-ALT") == 0)
		return cmd_user_kick(l, a, na, 1);
	if (strcmp(cmd, "USER-KICK-HASH") == 0)
		return cmd_user_kick_hash(l, a, na);
	if (strcmp(cmd, "USER-KILLED") == 0)
		return cmd_user_killed(l, a, na);
	if (strcmp(cmd, "USER-KILLED-EVERYWHERE") == 0)
		return cmd_user_killed_everywhere(l, a, na);
	if (strcmp(cmd, "DIRECTOR") == 0)
		return cmd_director(l, a, na);
	if (strcmp(cmd, "DIRECTOR-REMOVE") == 0)
		return cmd_director_remove(l, a, na);
	if (strcmp(cmd, "SYNC") == 0)
		return cmd_sync(l, a, na);
	if (strcmp(cmd, "CONNECT") == 0)
		return cmd_connect(l, a, na);
	if (strcmp(cmd, "QUIT") == 0) {
		log_warnx("Director %s:%u disconnected us with reason: %s", l->dir ? l->dir->ip_str : "?",
		    l->dir ? l->dir->port : 0, na ? a[0] : "");
		return 0;
	}
	ring_link_error(l, "Unknown command %.64s", cmd);
	return 0;
}

/* ---- hooks for the rest of directord ---- */

int
ring_lookup_ok(struct directord *dd, struct dir_tag *tag, uint32_t hash, struct dir_user *u)
{
	struct ring *r = dd->ring;
	if (r == NULL)
		return 1;
	if (!r->handshaked || r->removed_self)
		return 0;
	if (u == NULL)
		return r->synced;
	if (u->killing || u->kick_delay)
		return 0;
	if (r->right == NULL && r->synced) {
		u->weak = 0;
		return 1;
	}
	if (u->weak)
		return 0;
	int64_t now = loop_wall(dd->loop);
	if (!near_expiring(dd, u, now))
		return 1;
	if (!r->synced)
		return 0;
	if (u->host == NULL || hosts_by_hash(&dd->hosts, hash, tag->name) == u->host)
		return 1;
	if (r->min_minor < RING_V_WEAK)
		return 1;
	/* near expiry and hashed elsewhere: a USER-WEAK round before the ring may drop it */
	u->weak = 1;
	send_user_weak(r, r->self, NULL, NULL, u);
	return 0;
}

void
ring_user_refreshed(struct directord *dd, struct dir_user *u, int64_t old_ts)
{
	struct ring *r = dd->ring;
	/* the same second: every receiver ignores an equal timestamp anyway */
	if (r == NULL || r->applying || u->weak || u->host == NULL || u->timestamp == old_ts)
		return;
	send_user(r, r->self, u);
}

void
ring_user_moved(struct directord *dd, struct dir_user *u)
{
	struct ring *r = dd->ring;
	struct strbuf sb;
	if (r == NULL || r->applying || u->host == NULL)
		return;
	cmd_begin(r, &sb, "USER-MOVE", NULL);
	strbuf_printf(&sb, "\t%u\t%s", u->hash, u->host->ip_str);
	cmd_end(r, &sb, r->self, 0);
	if (!u->killing && !u->kick_delay) {
		u->kill_self = 1;
		u->ring_kill = KILL_KILLING;
	}
}

void
ring_user_move(struct directord *dd, uint32_t hash, struct dir_host *h)
{
	ring_move_user(dd->ring, dd->ring->self, NULL, hash, h);
}

void
ring_host_changed(struct directord *dd, struct dir_host *h)
{
	if (dd->ring != NULL && !dd->ring->applying)
		update_host(dd->ring, dd->ring->self, NULL, h);
}

void
ring_host_removed(struct directord *dd, const struct ip_addr *ip)
{
	struct ring *r = dd->ring;
	struct strbuf sb;
	char ips[IP_ADDR_STRLEN];
	if (r == NULL || r->applying)
		return;
	cmd_begin(r, &sb, "HOST-REMOVE", NULL);
	strbuf_printf(&sb, "\t%s", ip_format(ip, ips, sizeof(ips)));
	cmd_end(r, &sb, r->self, 0);
	ring_sync(r);
}

void
ring_host_flushed(struct directord *dd, struct dir_host *h)
{
	if (dd->ring != NULL && !dd->ring->applying)
		flush_host(dd->ring, dd->ring->self, NULL, h);
}

void
ring_user_kicked(struct directord *dd, const char *user)
{
	if (dd->ring != NULL)
		kick_user(dd->ring, dd->ring->self, NULL, user);
	else
		proxy_kick_user(dd, user);
}

void
ring_user_kicked_alt(struct directord *dd, const char *field, const char *value)
{
	if (dd->ring != NULL)
		kick_alt(dd->ring, dd->ring->self, NULL, field, value);
	else
		proxy_kick_alt(dd, field, value);
}

void
ring_refresh_sessions(struct directord *dd)
{
	struct ring *r = dd->ring;
	if (r == NULL)
		return;
	int64_t now = loop_wall(dd->loop);
	int64_t due = now - (int64_t)dd->set.user_expire / 4;
	for (struct dir_tag *t = dd->hosts.tags; t; t = t->next) {
		struct dir_user *last = t->users.tail;
		for (struct dir_user *u = t->users.head, *next; u; u = next) {
			next = u == last ? NULL : u->next;
			if (u->timestamp > due)
				break;
			if (u->nsessions == 0 || u->host == NULL || u->weak)
				continue;
			/* a connected user: the ring must not expire it (Dovecot's proxy-notify) */
			int64_t old = u->timestamp;
			users_refresh(&t->users, u, now);
			ring_user_refreshed(dd, u, old);
		}
	}
}
