/* SPDX-License-Identifier: MIT */
/* applets/directord/proxy.c: the socket proxyd asks (docs/director-proxy-protocol.md):
 * LOOKUP a user's host, START and END of each session so that the director knows who is
 * connected where, and KICK lines back to the proxies. Dovecot's director learns the same
 * from the auth replies it rewrites and from login processes' proxy-notify refreshes;
 * here the proxy says so directly, which lets an assignment expire exactly
 * director_user_expire after the user's last session ended. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "applets/directord/directord.h"
#include "applets/directord/dirstats.h"
#include "config.h"
#include "core/dline.h"
#include "core/log.h"
#include "core/peercred.h"
#include "core/privdrop.h"
#include "core/str.h"

#define PROXY_LINE_MAX		4096
#define SESSION_BUCKETS		4096
#define PROXY_SOCKET_MODE	0660

struct proxy_conn {
	struct proxy_conn *prev, *next;
	struct directord *dd;
	struct dline_conn *d;
	struct dir_session **buckets;
	unsigned int nsessions;
};

struct pending {
	struct pending *next;
	struct proxy_conn *pc;
	char *id, *user, *tag;
	uint32_t hash;
	uint64_t deadline;
	int64_t queued;
};

static const struct dline_set proxy_set = {
	"VERSION\tmtool-director\t1\t0", "mtool-director", 1, PROXY_LINE_MAX,
};

static unsigned int
guid_bucket(const char *guid)
{
	return str_hash(guid) % SESSION_BUCKETS;
}

static struct dir_session *
session_find(struct proxy_conn *pc, const char *guid, struct dir_session ***where)
{
	struct dir_session **pp = &pc->buckets[guid_bucket(guid)];
	for (; *pp; pp = &(*pp)->hnext)
		if (strcmp((*pp)->guid, guid) == 0)
			break;
	if (where)
		*where = pp;
	return *pp;
}

void
proxy_session_detach(struct dir_session *s)
{
	struct dir_user *u = s->u;
	if (u == NULL)
		return;
	if (s->uprev)
		s->uprev->unext = s->unext;
	else
		u->sessions = s->unext;
	if (s->unext)
		s->unext->uprev = s->uprev;
	s->unext = s->uprev = NULL;
	u->nsessions--;
	s->u = NULL;
}

static void
session_attach(struct dir_session *s, struct dir_user *u)
{
	s->u = u;
	s->uprev = NULL;
	s->unext = u->sessions;
	if (u->sessions)
		u->sessions->uprev = s;
	u->sessions = s;
	u->nsessions++;
}

/* A session ended (or its proxy went away): the user's expiry starts from now. */
static void
session_end(struct directord *dd, struct dir_session *s)
{
	struct dir_user *u = s->u;
	proxy_session_detach(s);
	if (u != NULL) {
		int64_t old = u->timestamp;
		users_refresh(&u->tag->users, u, loop_wall(dd->loop));
		ring_user_refreshed(dd, u, old);
		moves_check(dd, u);
	}
	free(s->guid);
	free(s->user);
	free(s);
}

static void
send_fields(struct proxy_conn *pc, const char *const *f, size_t n)
{
	dline_send(pc->d, f, n);
}

/* ---- lookups ---- */

/* 1 with *host set, 0 to wait (a move in progress, or no host in the tag yet) */
static int
lookup_try(struct directord *dd, uint32_t hash, const char *tagname, struct dir_host **host)
{
	int64_t now = loop_wall(dd->loop);
	struct dir_tag *tag = hosts_tag(&dd->hosts, tagname);
	struct dir_user *u = tag ? users_find(&tag->users, hash) : NULL;
	if (u != NULL && users_expired(dd, u, now)) {
		users_free(dd, &tag->users, u);
		u = NULL;
	}
	if (!ring_lookup_ok(dd, tag, hash, u))
		return 0;
	if (u != NULL) {
		if (u->killing || u->kick_delay || u->host == NULL)
			return 0;
		int64_t old = u->timestamp;
		users_refresh(&tag->users, u, now);
		ring_user_refreshed(dd, u, old);
		*host = u->host;
		return 1;
	}
	struct dir_host *h = hosts_by_hash(&dd->hosts, hash, tagname);
	if (h == NULL || (u = users_add(h->tag, hash, h, now)) == NULL)
		return 0;
	state_touch(dd);
	ring_user_refreshed(dd, u, 0);
	*host = h;
	return 1;
}

static void
reply_host(struct proxy_conn *pc, const char *id, const struct dir_host *h)
{
	const char *f[] = { "HOST", id, h->ip_str, h->hostname ? h->hostname : "" };
	send_fields(pc, f, 4);
}

static void
pending_free(struct directord *dd, struct pending *p)
{
	dd->npending--;
	free(p->id);
	free(p->user);
	free(p->tag);
	free(p);
}

void
proxy_pending_run(struct directord *dd)
{
	for (struct pending **pp = &dd->pending; *pp;) {
		struct pending *p = *pp;
		struct dir_host *h;
		if (lookup_try(dd, p->hash, p->tag, &h)) {
			METRICS_INC(dirstats_lookups, "waited");
			reply_host(p->pc, p->id, h);
			*pp = p->next;
			pending_free(dd, p);
		} else
			pp = &p->next;
	}
}

void
proxy_pending_tick(struct directord *dd)
{
	uint64_t now = loop_now(dd->loop);
	for (struct pending **pp = &dd->pending; *pp;) {
		struct pending *p = *pp;
		if (now < p->deadline) {
			pp = &p->next;
			continue;
		}
		char reason[256];
		struct dir_tag *tag = hosts_tag(&dd->hosts, p->tag);
		struct dir_user *u = tag ? users_find(&tag->users, p->hash) : NULL;
		str_fmt(reason, sizeof(reason), "Timeout because %s - queued for %lld secs",
		    u && (u->killing || u->kick_delay) ? "the user is being moved" :
		    !ring_synced(dd) || ring_cut_off(dd) ? "ring not synced" : "no mail host is available",
		    (long long)(loop_wall(dd->loop) - p->queued));
		log_errorx("director: User %s host lookup failed: %s", p->user, reason);
		if (u != NULL)
			u->weak = 0;	/* a USER-WEAK round that never came back (Dovecot too) */
		const char *f[] = { "FAIL", p->id, reason };
		METRICS_INC(dirstats_lookups, "timeout");
		send_fields(p->pc, f, 3);
		*pp = p->next;
		pending_free(dd, p);
	}
}

static void
cmd_lookup(struct proxy_conn *pc, char **f, size_t n)
{
	struct directord *dd = pc->dd;
	uint32_t hash;
	struct dir_host *h;
	if (n < 3) {
		log_errorx("proxy sent an invalid LOOKUP");
		return;
	}
	const char *tag = n > 3 ? f[3] : "";
	if (dirhash_user(f[2], dd->set.username_hash, &hash) < 0) {
		const char *r[] = { "FAIL", f[1], "director_username_hash could not be expanded" };
		log_errorx("director: User %s host lookup failed: director_username_hash could not be expanded", f[2]);
		METRICS_INC(dirstats_lookups, "failed");
		send_fields(pc, r, 3);
		return;
	}
	if (lookup_try(dd, hash, tag, &h)) {
		METRICS_INC(dirstats_lookups, "ok");
		reply_host(pc, f[1], h);
		return;
	}
	if (dd->npending >= DIRECTOR_PENDING_MAX) {
		const char *r[] = { "FAIL", f[1], "too many lookups held" };
		log_errorx("director: User %s host lookup failed: %u lookups are held already", f[2], dd->npending);
		METRICS_INC(dirstats_lookups, "failed");
		send_fields(pc, r, 3);
		return;
	}
	struct pending *p = calloc(1, sizeof(*p));
	if (p == NULL || (p->id = strdup(f[1])) == NULL || (p->user = strdup(f[2])) == NULL ||
	    (p->tag = strdup(tag)) == NULL) {
		if (p) {
			free(p->id);
			free(p->user);
			free(p);
		}
		const char *r[] = { "FAIL", f[1], "out of memory" };
		METRICS_INC(dirstats_lookups, "failed");
		send_fields(pc, r, 3);
		return;
	}
	p->pc = pc;
	p->hash = hash;
	p->queued = loop_wall(dd->loop);
	p->deadline = loop_now(dd->loop) + dd->set.lookup_timeout_ms;
	p->next = dd->pending;
	dd->pending = p;
	dd->npending++;
}

/* ---- sessions ---- */

static void
cmd_start(struct proxy_conn *pc, char **f, size_t n)
{
	struct directord *dd = pc->dd;
	struct dir_session **where;
	struct ip_addr ip;
	uint32_t hash;
	if (n < 5 || ip_parse(f[4], &ip) < 0) {
		log_errorx("proxy sent an invalid START");
		return;
	}
	if (session_find(pc, f[1], &where) != NULL)
		return;		/* a resync repeating what we know */
	if (pc->nsessions >= DIRECTOR_PROXY_SESSIONS_MAX || dd->nsessions >= dd->set.max_sessions) {
		const char *k[] = { "KICK", f[1], "Too many sessions reported to the director" };
		log_errorx("proxies reported more than %u sessions (director_max_sessions): session %s kicked",
		    pc->nsessions >= DIRECTOR_PROXY_SESSIONS_MAX ? DIRECTOR_PROXY_SESSIONS_MAX : dd->set.max_sessions, f[1]);
		send_fields(pc, k, 3);
		return;
	}
	struct dir_session *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->guid = strdup(f[1])) == NULL || (s->user = strdup(f[2])) == NULL) {
		if (s) {
			free(s->guid);
			free(s);
		}
		log_errorx("out of memory recording a session");
		return;
	}
	s->pc = pc;
	s->ip = ip;
	*where = s;
	pc->nsessions++;
	dd->nsessions++;

	dirhash_user(f[2], dd->set.username_hash, &hash);
	int64_t now = loop_wall(dd->loop);
	struct dir_host *h = hosts_lookup(&dd->hosts, &ip);
	struct dir_tag *tag = h ? h->tag : hosts_tag(&dd->hosts, f[3]);
	struct dir_user *u = tag ? users_find(&tag->users, hash) : NULL;
	if (u == NULL && h != NULL) {
		/* a session we did not route (a restart lost it, or it expired): adopt it */
		u = users_add(h->tag, hash, h, now);
		state_touch(dd);
		if (u != NULL)
			ring_user_refreshed(dd, u, 0);
	}
	if (u == NULL) {
		/* on a host that is not (or no longer) a mail host */
		proxy_kick_session(dd, s, "Kicked because its backend is no longer a director mail host");
		s->kicked = 1;
		return;
	}
	session_attach(s, u);
	users_refresh(&tag->users, u, now);
	if (u->host == NULL || dirhash_ip_cmp(&u->host->ip, &ip) != 0) {
		/* it went to the old host while the user was being moved: kick it too, and
		 * hold the user's logins until it is gone */
		if (u->host != NULL)
			moves_user(dd, tag, u, u->host, "proxy");
		else {
			proxy_kick_session(dd, s, "Kicked because the user was moved to another backend");
			s->kicked = 1;
		}
	}
}

static void
cmd_end(struct proxy_conn *pc, char **f, size_t n)
{
	struct dir_session **where;
	if (n < 2) {
		log_errorx("proxy sent an invalid END");
		return;
	}
	struct dir_session *s = session_find(pc, f[1], &where);
	if (s == NULL)
		return;
	*where = s->hnext;
	pc->nsessions--;
	pc->dd->nsessions--;
	session_end(pc->dd, s);
}

static void
proxy_line(struct dline_conn *d, char **f, size_t n, void *arg)
{
	struct proxy_conn *pc = arg;
	(void)d;
	if (strcmp(f[0], "LOOKUP") == 0)
		cmd_lookup(pc, f, n);
	else if (strcmp(f[0], "START") == 0)
		cmd_start(pc, f, n);
	else if (strcmp(f[0], "END") == 0)
		cmd_end(pc, f, n);
	else
		log_errorx("proxy sent an unknown command: %s", f[0]);
}

static void
proxy_conn_free(struct proxy_conn *pc)
{
	struct directord *dd = pc->dd;
	for (struct pending **pp = &dd->pending; *pp;) {
		struct pending *p = *pp;
		if (p->pc == pc) {
			*pp = p->next;
			pending_free(dd, p);
		} else
			pp = &p->next;
	}
	for (unsigned int i = 0; i < SESSION_BUCKETS; i++) {
		while (pc->buckets[i]) {
			struct dir_session *s = pc->buckets[i];
			pc->buckets[i] = s->hnext;
			dd->nsessions--;
			session_end(dd, s);
		}
	}
	free(pc->buckets);
	if (pc->prev)
		pc->prev->next = pc->next;
	else
		dd->proxies = pc->next;
	if (pc->next)
		pc->next->prev = pc->prev;
	dd->nproxies--;
	free(pc);
}

static void
proxy_closed(struct dline_conn *d, const char *reason, void *arg)
{
	struct proxy_conn *pc = arg;
	(void)d;
	log_info("proxy connection closed (%s); its %u sessions are forgotten", reason, pc->nsessions);
	proxy_conn_free(pc);
}

static void
proxy_accept(struct loop_io *io, uint32_t events, void *arg)
{
	struct directord *dd = arg;
	(void)events;
	struct peercred cred;
	int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!peercred_allowed(fd, PROXY_SOCKET_MODE, dd->proxy_uid, dd->proxy_gid, &cred)) {
		log_warnx("%s: refused a connection from uid %u (pid %d): only %s (default_login_user) may use it (docs/sockets.md)",
		    dd->set.proxy_path, (unsigned int)cred.uid, (int)cred.pid, dd->set.login_user);
		close(fd);
		return;
	}
	if (dd->nproxies >= dd->set.proxy_max_conns) {
		log_warnx("%s: refused a connection from uid %u (pid %d): %u proxies are connected (director_proxy_max_connections)",
		    dd->set.proxy_path, (unsigned int)cred.uid, (int)cred.pid, dd->nproxies);
		close(fd);
		return;
	}
	struct proxy_conn *pc = calloc(1, sizeof(*pc));
	if (pc == NULL || (pc->buckets = calloc(SESSION_BUCKETS, sizeof(*pc->buckets))) == NULL) {
		free(pc);
		close(fd);
		return;
	}
	pc->dd = dd;
	pc->d = dline_conn_new(dd->loop, fd, &proxy_set, proxy_line, proxy_closed, pc);
	if (pc->d == NULL) {
		free(pc->buckets);
		free(pc);
		return;
	}
	pc->next = dd->proxies;
	if (pc->next)
		pc->next->prev = pc;
	dd->proxies = pc;
	dd->nproxies++;
	log_debug("proxy connected (uid %u, pid %d)", (unsigned int)cred.uid, (int)cred.pid);
}

/* Only the proxies may use the socket, as only Dovecot's login processes reach its
 * login/director socket (base_dir/login is 0750, group of default_login_user): the file
 * is mode 0660, group default_login_user's group, and the peer's credentials must say
 * root, directord itself, the file's owner or a member of that group. Run by a user
 * other than root, the socket is that user's (mode 0660, its own group). */
int
proxy_listen(struct directord *dd, FILE *errf)
{
	char err[256];
	uid_t luid;
	gid_t lgid = (gid_t)-1;
	struct stat st;
	if (geteuid() == 0 && privdrop_lookup(dd->set.login_user, &luid, &lgid, err, sizeof(err)) < 0) {
		fprintf(errf, "directord: default_login_user (who may use %s): %s\n", dd->set.proxy_path, err);
		return -1;
	}
	dd->proxy_fd = directord_listen(dd, dd->set.proxy_path, PROXY_SOCKET_MODE, &dd->proxy_io, proxy_accept, errf);
	if (dd->proxy_fd < 0)
		return -1;
	if ((lgid != (gid_t)-1 && chown(dd->set.proxy_path, (uid_t)-1, lgid) < 0) ||
	    stat(dd->set.proxy_path, &st) < 0) {
		fprintf(errf, "directord: %s: %s\n", dd->set.proxy_path, strerror(errno));
		return -1;
	}
	dd->proxy_uid = st.st_uid;
	dd->proxy_gid = st.st_gid;
	return 0;
}

void
proxy_close_all(struct directord *dd)
{
	while (dd->proxies) {
		struct dline_conn *d = dd->proxies->d;
		proxy_conn_free(dd->proxies);
		dline_conn_free(d);
	}
	if (dd->proxy_fd >= 0) {
		loop_io_del(dd->loop, &dd->proxy_io);
		close(dd->proxy_fd);
		unlink(dd->set.proxy_path);
		dd->proxy_fd = -1;
	}
}

void
proxy_kick_session(struct directord *dd, struct dir_session *s, const char *reason)
{
	(void)dd;
	const char *f[] = { "KICK", s->guid, reason };
	METRICS_INC(dirstats_kicks, "user_moved");
	send_fields(s->pc, f, 3);
}

static int
proxy_has_user(const struct proxy_conn *pc, const char *user)
{
	if (pc->nsessions == 0)
		return 0;
	for (unsigned int i = 0; i < SESSION_BUCKETS; i++)
		for (const struct dir_session *s = pc->buckets[i]; s; s = s->hnext)
			if (strcmp(s->user, user) == 0)
				return 1;
	return 0;
}

/* A user's name goes only to a proxy that told us about one of its sessions: the others
 * have nothing to kick and no business learning who is logged in elsewhere. */
unsigned int
proxy_kick_user(struct directord *dd, const char *user)
{
	unsigned int n = 0;
	const char *f[] = { "KICK-USER", user };
	METRICS_INC(dirstats_kicks, "doveadm_user");
	for (struct proxy_conn *pc = dd->proxies; pc; pc = pc->next) {
		if (proxy_has_user(pc, user)) {
			send_fields(pc, f, 2);
			n++;
		}
	}
	return n;
}

/* The user_* fields live in the proxies only: every proxy with sessions gets it. */
unsigned int
proxy_kick_alt(struct directord *dd, const char *field, const char *value)
{
	unsigned int n = 0;
	const char *f[] = { "KICK-ALT", field, value };
	METRICS_INC(dirstats_kicks, "doveadm_alt");
	for (struct proxy_conn *pc = dd->proxies; pc; pc = pc->next) {
		if (pc->nsessions > 0) {
			send_fields(pc, f, 3);
			n++;
		}
	}
	return n;
}
