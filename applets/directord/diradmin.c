/* SPDX-License-Identifier: MIT */
/* applets/directord/diradmin.c: the director-admin socket, speaking Dovecot 2.3's
 * director-doveadm protocol (protocols.md §3) so that the real doveadm and mtool doveadm
 * both manage directord. As in Dovecot, a malformed or unknown command gets no reply:
 * it is logged and the connection is closed. A director alone in its ring is always
 * synced, so every command answers at once (HOST-RESET-USERS when its moves are out). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "applets/directord/directord.h"
#include "config.h"
#include "core/dline.h"
#include "core/log.h"
#include "core/peercred.h"
#include "core/str.h"
#include "core/tab.h"

/* Dovecot reads doveadm's lines with a 1024-byte buffer; a user name is the longest part */
#define ADMIN_LINE_MAX	4096

struct admin_conn {
	struct admin_conn *prev, *next;
	struct directord *dd;
	struct dline_conn *d;
	int waiting;		/* a HOST-RESET-USERS runs for it */
	/* a ring (Dovecot's PRE_RING_SYNC / RING_SYNC_OK): a host or ring command waits
	 * for the ring to sync before it runs (held), and its OK waits for the SYNC round
	 * its change started (deferred); both give up after 30 s */
	char **held;
	size_t nheld;
	int defer, deferred;
	uint64_t sync_deadline;
};

#define RING_SYNC_TIMEOUT_MS	30000

static const struct dline_set admin_set = {
	"VERSION\tdirector-doveadm\t1\t0", "director-doveadm", 1, ADMIN_LINE_MAX,
};

static void
reply(struct admin_conn *ac, const char *line)
{
	if (ac->defer && strcmp(line, "OK") == 0) {
		ac->deferred = 1;
		return;
	}
	dline_send_raw(ac->d, line);
}

static void
reply_list_line(void *arg, const char *line)
{
	dline_send_raw(((struct admin_conn *)arg)->d, line);
}

static int
bad_args(struct admin_conn *ac, const char *cmd)
{
	(void)ac;
	log_errorx("doveadm sent invalid %s parameters", cmd);
	return -1;
}

static int
parse_uint(const char *s, unsigned int *out)
{
	long long v;
	const char *err;
	if (str_to_num(s, 0, 0xffffffffLL, &v, &err) < 0)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

/* user name or, when it parses as a number, the hash itself (as Dovecot) */
static int
user_hash(struct directord *dd, const char *user, uint32_t *hash)
{
	unsigned int v;
	if (parse_uint(user, &v) == 0) {
		*hash = v;
		return 0;
	}
	return dirhash_user(user, dd->set.username_hash, hash);
}

static int
host_list(struct admin_conn *ac, char **f, size_t nf, int arg)
{
	(void)f, (void)nf, (void)arg;
	struct directord *dd = ac->dd;
	size_t n;
	users_sweep(dd);
	struct dir_host **hosts = hosts_sorted(&dd->hosts, &n);
	for (size_t i = 0; i < n; i++) {
		struct dir_host *h = hosts[i];
		struct strbuf sb;
		strbuf_init(&sb, 4096);
		strbuf_printf(&sb, "%s\t%u\t%u\t", h->ip_str, h->vhost_count, h->user_count);
		tab_escape(&sb, h->tag->name);
		strbuf_printf(&sb, "\t%c\t%lld", h->down ? 'D' : 'U', (long long)h->last_updown);
		reply(ac, sb.s);
		strbuf_free(&sb);
	}
	reply(ac, "");
	return 0;
}

static int
host_list_removed(struct admin_conn *ac, char **f, size_t nf, int arg)
{
	(void)f, (void)nf, (void)arg;
	struct directord *dd = ac->dd;
	size_t n;
	struct dir_host **orig = hosts_sorted(&dd->orig, &n);
	for (size_t i = 0; i < n; i++)
		if (hosts_lookup(&dd->hosts, &orig[i]->ip) == NULL)
			reply(ac, orig[i]->ip_str);
	reply(ac, "");
	return 0;
}

/* A director alone: itself, "self", always synced; directors added with DIRECTOR-ADD are
 * listed (and marked removed by DIRECTOR-REMOVE) as Dovecot lists a peer it never reached. */
static int
director_list(struct admin_conn *ac, char **f, size_t n, int arg)
{
	(void)f, (void)n, (void)arg;
	struct directord *dd = ac->dd;
	char line[256];
	if (dd->ring) {
		ring_director_list(dd, reply_list_line, ac);
		reply(ac, "");
		return 0;
	}
	str_fmt(line, sizeof(line), "%s\t%u\tself\t0\tring synced\t0", dd->set.self_ip_str, dd->set.self_port);
	/* sorted by (ip, port) with self among them */
	int self_done = 0;
	for (size_t i = 0; i <= dd->npeers; i++) {
		struct dir_peer *p = i < dd->npeers ? &dd->peers[i] : NULL;
		if (!self_done && (p == NULL || dirhash_ip_cmp(&dd->set.self_ip, &p->ip) < 0 ||
		    (dirhash_ip_cmp(&dd->set.self_ip, &p->ip) == 0 && dd->set.self_port < p->port))) {
			reply(ac, line);
			self_done = 1;
		}
		if (p != NULL) {
			char ip[IP_ADDR_STRLEN], pl[128];
			str_fmt(pl, sizeof(pl), "%s\t%u\t%s\t0\t", ip_format(&p->ip, ip, sizeof(ip)), p->port,
			    p->removed ? "removed" : "");
			reply(ac, pl);
		}
	}
	reply(ac, "");
	return 0;
}

static int
peer_cmp(const void *a, const void *b)
{
	const struct dir_peer *x = a, *y = b;
	int r = dirhash_ip_cmp(&x->ip, &y->ip);
	return r ? r : (int)x->port - (int)y->port;
}

static int
director_add_remove(struct admin_conn *ac, char **f, size_t n, int add)
{
	struct directord *dd = ac->dd;
	struct ip_addr ip;
	unsigned int port = add ? dd->set.self_port : 0;
	if (n < 2 || ip_parse(f[1], &ip) < 0 || (n > 2 && (parse_uint(f[2], &port) < 0 || port > 65535)))
		return bad_args(ac, f[0]);
	if (dd->ring && add) {
		ring_director_add(dd, &ip, port);
		reply(ac, "OK");
		return 0;
	} else if (dd->ring) {
		reply(ac, ring_director_remove(dd, &ip, port) < 0 ? "NOTFOUND" : "OK");
		return 0;
	}
	int self = dirhash_ip_cmp(&ip, &dd->set.self_ip) == 0 && (port == 0 || port == dd->set.self_port);
	struct dir_peer *p = NULL;
	for (size_t i = 0; i < dd->npeers && p == NULL; i++)
		if (dirhash_ip_cmp(&dd->peers[i].ip, &ip) == 0 && (port == 0 || dd->peers[i].port == port))
			p = &dd->peers[i];
	if (add) {
		/* ring peers are not implemented: the director is listed, never dialled */
		if (!self && p == NULL && dd->npeers < DIR_PEERS_MAX) {
			dd->peers[dd->npeers].ip = ip;
			dd->peers[dd->npeers].port = port;
			dd->peers[dd->npeers].removed = 0;
			dd->npeers++;
			qsort(dd->peers, dd->npeers, sizeof(*dd->peers), peer_cmp);
			log_warnx("doveadm: director %s:%u added to the list; directord does not run a ring in this version", f[1], port);
		}
		reply(ac, "OK");
	} else if (p == NULL && !self)
		reply(ac, "NOTFOUND");
	else {
		if (p != NULL)
			p->removed = 1;
		reply(ac, "OK");
	}
	return 0;
}

static int
host_set(struct admin_conn *ac, char **f, size_t n, int update)
{
	struct directord *dd = ac->dd;
	const char *cmd = update ? "HOST-UPDATE" : "HOST-SET";
	unsigned int vhosts = 0;
	int have_vhosts = n > 2;
	char ipbuf[256], *tag = "";
	struct ip_addr ip;

	if (n < 2)
		return bad_args(ac, cmd);
	str_copy(ipbuf, f[1], sizeof(ipbuf));
	char *at = strchr(ipbuf, '@');
	if (at) {
		*at = '\0';
		tag = at + 1;
	}
	if (ip_parse(ipbuf, &ip) < 0 || (have_vhosts && parse_uint(f[2], &vhosts) < 0) ||
	    (!have_vhosts && update))
		return bad_args(ac, cmd);
	if (have_vhosts && vhosts > DIRHASH_VHOST_MAX) {
		reply(ac, "vhost count too large");
		return 0;
	}
	struct dir_host *h = hosts_lookup(&dd->hosts, &ip);
	if (h == NULL) {
		if (update) {
			reply(ac, "NOTFOUND");
			return 0;
		}
		h = hosts_add(&dd->hosts, &ip, tag);
		if (h == NULL) {
			reply(ac, "out of memory");
			return 0;
		}
		log_info("doveadm: Host %s added%s%s", h->ip_str, *tag ? " with tag " : "", tag);
		health_host_added(dd, h);
	} else if (*tag && strcmp(h->tag->name, tag) != 0) {
		reply(ac, "host tag can't be changed");
		return 0;
	} else if (h->desynced) {
		reply(ac, "host is already being updated - try again later");
		return 0;
	}
	if (have_vhosts) {
		log_info("doveadm: Host %s vhost count changed from %u to %u", h->ip_str, h->vhost_count, vhosts);
		h->vhost_count = vhosts;
	}
	hosts_changed(&dd->hosts);
	state_touch(dd);
	ring_host_changed(dd, h);
	proxy_pending_run(dd);
	reply(ac, "OK");
	return 0;
}

static int
host_updown(struct admin_conn *ac, char **f, size_t n, int down)
{
	struct directord *dd = ac->dd;
	struct ip_addr ip;
	if (n < 2 || ip_parse(f[1], &ip) < 0)
		return bad_args(ac, f[0]);
	struct dir_host *h = hosts_lookup(&dd->hosts, &ip);
	if (h == NULL) {
		reply(ac, "NOTFOUND");
		return 0;
	}
	if (h->down != down && h->desynced) {
		reply(ac, "host is already being updated - try again later");
		return 0;
	}
	directord_host_set_down(dd, h, down, "doveadm: ");
	reply(ac, "OK");
	return 0;
}

static int
host_remove(struct admin_conn *ac, char **f, size_t n, int arg)
{
	(void)arg;
	struct directord *dd = ac->dd;
	struct ip_addr ip;
	if (n < 2 || ip_parse(f[1], &ip) < 0)
		return bad_args(ac, f[0]);
	struct dir_host *h = hosts_lookup(&dd->hosts, &ip);
	if (h == NULL) {
		reply(ac, "NOTFOUND");
		return 0;
	}
	moves_host_remove_safely(dd, h);
	reply(ac, "OK");
	return 0;
}

static int
host_flush(struct admin_conn *ac, char **f, size_t n, int arg)
{
	(void)arg;
	struct directord *dd = ac->dd;
	struct ip_addr ip;
	size_t nh;
	if (n < 2 || f[1][0] == '\0') {
		unsigned int total = 0;
		struct dir_host **hosts = hosts_sorted(&dd->hosts, &nh);
		for (size_t i = 0; i < nh; i++) {
			total += hosts[i]->user_count;
			users_forget_host(dd, hosts[i]);
			ring_host_flushed(dd, hosts[i]);
		}
		log_warnx("Flushed all backend hosts with %u users. This is an unsafe operation and may cause the same users to end up in multiple backends.", total);
		reply(ac, "OK");
		return 0;
	}
	if (ip_parse(f[1], &ip) < 0)
		return bad_args(ac, f[0]);
	struct dir_host *h = hosts_lookup(&dd->hosts, &ip);
	if (h == NULL) {
		reply(ac, "NOTFOUND");
		return 0;
	}
	log_info("doveadm: Flushing host %s with %u users (no kicks)", h->ip_str, h->user_count);
	users_forget_host(dd, h);
	ring_host_flushed(dd, h);
	reply(ac, "OK");
	return 0;
}

static void
reset_done(struct directord *dd, void *arg)
{
	struct admin_conn *ac = arg;
	(void)dd;
	ac->waiting = 0;
	reply(ac, "OK");
	dline_pause(ac->d, 0);
}

static int
host_reset_users(struct admin_conn *ac, char **f, size_t n, int arg)
{
	(void)arg;
	struct directord *dd = ac->dd;
	unsigned int max = dd->set.max_parallel_moves;
	struct dir_host *only = NULL;
	struct ip_addr ip;

	if (n > 2 && (parse_uint(f[2], &max) < 0 || max == 0))
		return bad_args(ac, f[0]);
	if (n > 1 && f[1][0] != '\0') {
		if (ip_parse(f[1], &ip) < 0) {
			log_errorx("doveadm sent invalid HOST-RESET-USERS ip: %s", f[1]);
			return -1;
		}
		if ((only = hosts_lookup(&dd->hosts, &ip)) == NULL) {
			reply(ac, "NOTFOUND");
			return 0;
		}
	}
	ac->waiting = 1;
	dline_pause(ac->d, 1);
	if (moves_reset_start(dd, only, max, reset_done, ac) < 0) {
		ac->waiting = 0;
		dline_pause(ac->d, 0);
		reply(ac, "out of memory");
	}
	return 0;
}

static int
user_lookup(struct admin_conn *ac, char **f, size_t n, int arg)
{
	(void)arg;
	struct directord *dd = ac->dd;
	const char *user = n > 1 ? f[1] : "", *tagname = n > 2 ? f[2] : "";
	uint32_t hash;
	char line[256];
	size_t len = 0;

	if (user_hash(dd, user, &hash) < 0) {
		reply(ac, "TRYAGAIN");
		return 0;
	}
	int64_t now = loop_wall(dd->loop);
	struct dir_tag *tag = hosts_tag(&dd->hosts, tagname);
	struct dir_user *u = tag ? users_find(&tag->users, hash) : NULL;
	if (u != NULL && users_expired(dd, u, now)) {
		users_free(dd, &tag->users, u);
		u = NULL;
	}
	if (u == NULL || u->host == NULL)
		len = str_fmt(line, sizeof(line), "\t0");
	else {
		/* a connected user is as fresh as now: proxies report session ends (in a ring
		 * the timestamp the ring agreed on, refreshed while sessions last) */
		int64_t ts = u->nsessions && !dd->ring ? now : u->timestamp;
		len = str_fmt(line, sizeof(line), "%s\t%lld", u->host->ip_str,
		    (long long)(ts + dd->set.user_expire));
	}
	struct dir_host *h = hosts_by_hash(&dd->hosts, hash, tagname);
	len += str_fmt(line + len, sizeof(line) - len, "\t%s", h ? h->ip_str : "");
	h = hosts_by_hash(&dd->orig, hash, tagname);
	str_fmt(line + len, sizeof(line) - len, "\t%s", h ? h->ip_str : "");
	reply(ac, line);
	return 0;
}

static int
user_list(struct admin_conn *ac, char **f, size_t n, int arg)
{
	(void)arg;
	struct directord *dd = ac->dd;
	struct ip_addr ip = { 0 };
	char line[128];
	if (n > 1 && f[1][0] != '\0' && ip_parse(f[1], &ip) < 0)
		return bad_args(ac, f[0]);
	users_sweep(dd);
	int64_t now = loop_wall(dd->loop);
	for (struct dir_tag *t = dd->hosts.tags; t; t = t->next) {
		for (struct dir_user *u = t->users.head; u; u = u->next) {
			if (u->host == NULL || (ip.family != 0 && dirhash_ip_cmp(&ip, &u->host->ip) != 0))
				continue;
			int64_t ts = u->nsessions && !dd->ring ? now : u->timestamp;
			str_fmt(line, sizeof(line), "%u\t%lld\t%s", u->hash,
			    (long long)(ts + dd->set.user_expire), u->host->ip_str);
			reply(ac, line);
		}
	}
	reply(ac, "");
	return 0;
}

static int
user_move(struct admin_conn *ac, char **f, size_t n, int arg)
{
	(void)arg;
	struct directord *dd = ac->dd;
	struct ip_addr ip;
	uint32_t hash;
	if (n < 3 || ip_parse(f[2], &ip) < 0)
		return bad_args(ac, f[0]);
	struct dir_host *h = hosts_lookup(&dd->hosts, &ip);
	if (h == NULL) {
		reply(ac, "NOTFOUND");
		return 0;
	}
	if (user_hash(dd, f[1], &hash) < 0) {
		reply(ac, "TRYAGAIN");
		return 0;
	}
	struct dir_user *u = users_find(&h->tag->users, hash);
	if (u != NULL && (u->killing || u->kick_delay)) {
		reply(ac, "TRYAGAIN");
		return 0;
	}
	if (dd->ring) {
		ring_user_move(dd, hash, h);
		reply(ac, "OK");
		return 0;
	}
	int64_t now = loop_wall(dd->loop);
	if (u == NULL) {
		if (users_add(h->tag, hash, h, now) == NULL) {
			reply(ac, "out of memory");
			return 0;
		}
		log_info("doveadm: User hash %u moved to %s (no earlier assignment)", hash, h->ip_str);
		state_touch(dd);
	} else if (u->host != h) {
		moves_user(dd, h->tag, u, h, "doveadm");
	} else
		users_refresh(&h->tag->users, u, now);
	reply(ac, "OK");
	return 0;
}

static int
user_kick(struct admin_conn *ac, char **f, size_t n, int alt)
{
	struct directord *dd = ac->dd;
	if (n < (alt ? 3u : 2u))
		return bad_args(ac, f[0]);
	/* the proxies do the kicking; there is never more than one kick batch in flight, so
	 * "nowait" never needs TRYAGAIN */
	if (dd->ring) {
		if (alt)
			ring_user_kicked_alt(dd, f[1], f[2]);
		else
			ring_user_kicked(dd, f[1]);
		log_info("doveadm: %s %s%s%s sent to the proxies and the ring", f[0], f[1], alt ? "=" : "", alt ? f[2] : "");
		reply(ac, "OK");
		return 0;
	}
	unsigned int np = alt ? proxy_kick_alt(dd, f[1], f[2]) : proxy_kick_user(dd, f[1]);
	log_info("doveadm: %s %s%s%s sent to %u proxies", f[0], f[1], alt ? "=" : "", alt ? f[2] : "", np);
	reply(ac, "OK");
	return 0;
}

#define CMD_GATED	0x1	/* in a ring: run on a synced ring only, answered after the
				 * next sync (Dovecot's) */
#define CMD_WRITES	0x2	/* refused while cut off from the ring: a deliberate
				 * difference, a director cut off from its ring changes nothing
				 * the others would not see (Dovecot's lone director counts as
				 * synced and applies it) */

struct admin_cmd {
	const char *name;
	int (*fn)(struct admin_conn *, char **f, size_t n, int arg);
	int arg;
	unsigned int flags;
};

static const struct admin_cmd admin_cmds[] = {
	{ "HOST-LIST", host_list, 0, 0 },
	{ "HOST-LIST-REMOVED", host_list_removed, 0, 0 },
	{ "DIRECTOR-LIST", director_list, 0, 0 },
	{ "DIRECTOR-ADD", director_add_remove, 1, CMD_GATED },
	{ "DIRECTOR-REMOVE", director_add_remove, 0, CMD_GATED },
	{ "HOST-SET", host_set, 0, CMD_GATED | CMD_WRITES },
	{ "HOST-UPDATE", host_set, 1, CMD_GATED | CMD_WRITES },
	{ "HOST-UP", host_updown, 0, CMD_GATED | CMD_WRITES },
	{ "HOST-DOWN", host_updown, 1, CMD_GATED | CMD_WRITES },
	{ "HOST-REMOVE", host_remove, 0, CMD_GATED | CMD_WRITES },
	{ "HOST-FLUSH", host_flush, 0, CMD_GATED | CMD_WRITES },
	{ "HOST-RESET-USERS", host_reset_users, 0, CMD_WRITES },
	{ "USER-LOOKUP", user_lookup, 0, 0 },
	{ "USER-LIST", user_list, 0, 0 },
	{ "USER-MOVE", user_move, 0, CMD_WRITES },
	{ "USER-KICK", user_kick, 0, 0 },
	{ "USER-KICK-ALT", user_kick, 1, 0 },
	{ NULL, NULL, 0, 0 },
};

static const struct admin_cmd *
find_cmd(const char *name)
{
	for (const struct admin_cmd *c = admin_cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static int
dispatch(struct admin_conn *ac, char **f, size_t n)
{
	const struct admin_cmd *cmd = n > 0 ? find_cmd(f[0]) : NULL;
	if (n == 0 || f[0][0] == '\0') {
		log_errorx("doveadm sent empty command line");
		return -1;
	}
	if (cmd == NULL) {
		log_errorx("doveadm sent unknown command: %s", f[0]);
		return -1;
	}
	if ((cmd->flags & CMD_WRITES) && ac->dd->ring && ring_cut_off(ac->dd)) {
		log_warnx("doveadm: %s refused: this director is cut off from its ring", f[0]);
		reply(ac, "director is cut off from its ring - try again later");
		return 0;
	}
	return cmd->fn(ac, f, n, cmd->arg);
}

static void
admin_free(struct admin_conn *ac)
{
	if (ac->prev)
		ac->prev->next = ac->next;
	else
		ac->dd->admins = ac->next;
	if (ac->next)
		ac->next->prev = ac->prev;
	for (size_t i = 0; i < ac->nheld; i++)
		free(ac->held[i]);
	free(ac->held);
	free(ac);
}

static void
held_free(struct admin_conn *ac)
{
	for (size_t i = 0; i < ac->nheld; i++)
		free(ac->held[i]);
	free(ac->held);
	ac->held = NULL;
	ac->nheld = 0;
}

/* runs a command in a ring: 1 when it is waiting for the ring (the connection paused) */
static int
run_gated(struct admin_conn *ac, char **f, size_t n, int *r)
{
	struct directord *dd = ac->dd;
	if (!ring_synced(dd)) {
		ac->held = calloc(n, sizeof(*ac->held));
		for (size_t i = 0; ac->held && i < n; i++)
			if ((ac->held[ac->nheld++] = strdup(f[i])) == NULL)
				held_free(ac);
		if (ac->held == NULL) {
			reply(ac, "out of memory");
			*r = 0;
			return 0;
		}
		ac->sync_deadline = loop_now(dd->loop) + RING_SYNC_TIMEOUT_MS;
		dline_pause(ac->d, 1);
		return 1;
	}
	/* DIRECTOR-ADD answers at once (Dovecot's RET_OK); the others after the sync */
	ac->defer = strcmp(f[0], "DIRECTOR-ADD") != 0;
	*r = dispatch(ac, f, n);
	ac->defer = 0;
	if (*r == 0 && ac->deferred) {
		if (ring_synced(dd)) {
			ac->deferred = 0;
			dline_send_raw(ac->d, "OK");
		} else {
			ac->sync_deadline = loop_now(dd->loop) + RING_SYNC_TIMEOUT_MS;
			dline_pause(ac->d, 1);
			return 1;
		}
	}
	return 0;
}

void
diradmin_ring_changed(struct directord *dd)
{
	uint64_t now = loop_now(dd->loop);
	for (struct admin_conn *ac = dd->admins, *next; ac; ac = next) {
		next = ac->next;
		if (ac->nheld == 0 && !ac->deferred)
			continue;
		if (!ring_synced(dd) && now < ac->sync_deadline)
			continue;
		if (!ring_synced(dd)) {
			held_free(ac);
			ac->deferred = 0;
			dline_send_raw(ac->d, "Ring sync timed out");
		} else if (ac->deferred) {
			ac->deferred = 0;
			dline_send_raw(ac->d, "OK");
		} else {
			char **f = ac->held;
			size_t n = ac->nheld;
			int r = 0;
			ac->held = NULL;
			ac->nheld = 0;
			int waiting = run_gated(ac, f, n, &r);
			for (size_t i = 0; i < n; i++)
				free(f[i]);
			free(f);
			if (r < 0) {
				dline_conn_free(ac->d);
				admin_free(ac);
				continue;
			}
			if (waiting)
				continue;
		}
		dline_pause(ac->d, 0);
	}
}

static void
admin_line(struct dline_conn *d, char **f, size_t n, void *arg)
{
	struct admin_conn *ac = arg;
	int r;
	(void)d;
	if (ac->waiting || ac->nheld || ac->deferred) {
		/* pipelined after a command that waits: Dovecot does not read it either */
		return;
	}
	const struct admin_cmd *cmd = n > 0 ? find_cmd(f[0]) : NULL;
	if (ac->dd->ring && cmd != NULL && (cmd->flags & CMD_GATED)) {
		if (run_gated(ac, f, n, &r))
			return;
	} else
		r = dispatch(ac, f, n);
	if (r < 0) {
		dline_conn_free(ac->d);
		admin_free(ac);
	}
}

static void
admin_closed(struct dline_conn *d, const char *reason, void *arg)
{
	struct admin_conn *ac = arg;
	(void)d;
	(void)reason;
	if (ac->waiting)
		moves_reset_cancel_arg(ac->dd, ac);
	admin_free(ac);
}

static void
admin_accept(struct loop_io *io, uint32_t events, void *arg)
{
	struct directord *dd = arg;
	(void)events;
	struct peercred cred;
	int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!peercred_allowed(fd, 0600, dd->admin_uid, (gid_t)-1, &cred)) {
		log_warnx("%s: refused a connection from uid %u (pid %d): the socket's mode does not allow it (docs/sockets.md)",
		    dd->set.admin_path, (unsigned int)cred.uid, (int)cred.pid);
		close(fd);
		return;
	}
	struct admin_conn *ac = calloc(1, sizeof(*ac));
	if (ac == NULL) {
		close(fd);
		return;
	}
	ac->dd = dd;
	ac->d = dline_conn_new(dd->loop, fd, &admin_set, admin_line, admin_closed, ac);
	if (ac->d == NULL) {
		free(ac);
		return;
	}
	ac->next = dd->admins;
	if (ac->next)
		ac->next->prev = ac;
	dd->admins = ac;
}

int
diradmin_listen(struct directord *dd, FILE *errf)
{
	/* made before the privilege drop: root's, or the user's who started directord */
	dd->admin_uid = geteuid();
	dd->admin_fd = directord_listen(dd, dd->set.admin_path, 0600, &dd->admin_io, admin_accept, errf);
	return dd->admin_fd < 0 ? -1 : 0;
}

void
diradmin_close_all(struct directord *dd)
{
	while (dd->admins) {
		struct admin_conn *ac = dd->admins;
		dline_conn_free(ac->d);
		admin_free(ac);
	}
	if (dd->admin_fd >= 0) {
		loop_io_del(dd->loop, &dd->admin_io);
		close(dd->admin_fd);
		unlink(dd->set.admin_path);
		dd->admin_fd = -1;
	}
}
