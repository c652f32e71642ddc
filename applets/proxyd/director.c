/* SPDX-License-Identifier: MIT */
/* applets/proxyd/director.c: the connection to directord (docs/director-proxy-protocol.md).
 * Lookups wait for their HOST/FAIL line; while directord is unreachable they fail at once
 * (the login gets Dovecot's temporary-failure reply) and the socket is retried with
 * backoff. Every session a lookup routed is remembered until it ends, so that a new
 * connection can tell directord again which sessions are open (START for each). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "applets/proxyd/director.h"
#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/sessions.h"
#include "applets/proxyd/settings.h"
#include "core/dline.h"
#include "core/log.h"
#include "core/str.h"

#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		10000
#define SESSION_BUCKETS		4096
#define DIRECTOR_LINE_MAX	4096

struct dsession {
	struct dsession *next;
	char *guid, *user, *tag, *ip;
};

struct dlookup {
	struct dlookup *next;
	unsigned int id;
	director_reply_fn *fn;
	void *arg;
	unsigned int *idp;	/* the caller's copy of id, zeroed when the answer comes */
};

struct director {
	struct proxyd *pd;
	char path[512];
	struct dline_conn *d;		/* NULL while disconnected */
	struct loop_timer retry;
	unsigned int backoff_ms;
	unsigned int next_id;
	struct dlookup *lookups;
	struct dsession **buckets;
	int warned;
};

static struct director *dir_of_pd;	/* one proxyd process, one director link */

static const struct dline_set director_set = {
	"VERSION\tmtool-director\t1\t0", "mtool-director", 1, DIRECTOR_LINE_MAX,
};

static void director_connect(struct loop_timer *, void *);

static unsigned int
bucket(const char *guid)
{
	return str_hash(guid) % SESSION_BUCKETS;
}

int
director_enabled(const struct proxyd *pd)
{
	(void)pd;
	return dir_of_pd != NULL;
}

static void
send_fields(struct director *dr, const char *const *f, size_t n)
{
	if (dr->d != NULL)
		dline_send(dr->d, f, n);
}

static void
send_start(struct director *dr, const struct dsession *s)
{
	const char *f[] = { "START", s->guid, s->user, s->tag, s->ip };
	send_fields(dr, f, 5);
}

static struct dlookup *
lookup_take(struct director *dr, unsigned int id)
{
	for (struct dlookup **pp = &dr->lookups; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct dlookup *l = *pp;
			*pp = l->next;
			return l;
		}
	}
	return NULL;
}

/* KICK guid: the session (relay or login under way) with that connection id */
static void
kick_guid(struct director *dr, const char *guid, const char *reason)
{
	struct proxyd *pd = dr->pd;
	if (sessions_kick_guid(pd, guid, reason))
		return;
	/* gone already (or never established): say so, or directord waits for it */
	int known = 0;
	for (struct dsession *s = dr->buckets[bucket(guid)]; s && !known; s = s->next)
		known = strcmp(s->guid, guid) == 0;
	if (known)
		director_session_end(pd, guid);
	else {
		const char *f[] = { "END", guid };
		send_fields(dr, f, 2);
	}
}

static void
director_line(struct dline_conn *d, char **f, size_t n, void *arg)
{
	struct director *dr = arg;
	long long id;
	const char *err;
	(void)d;
	log_set_prefix("proxyd");
	if ((strcmp(f[0], "HOST") == 0 || strcmp(f[0], "FAIL") == 0) && n >= 3 &&
	    str_to_num(f[1], 1, 0xffffffffLL, &id, &err) == 0) {
		struct dlookup *l = lookup_take(dr, (unsigned int)id);
		if (l == NULL)
			return;		/* its client went away */
		director_reply_fn *fn = l->fn;
		void *larg = l->arg;
		*l->idp = 0;
		free(l);
		if (f[0][0] == 'H')
			fn(larg, f[2], n > 3 ? f[3] : "", NULL);
		else
			fn(larg, NULL, NULL, f[2]);
	} else if (strcmp(f[0], "KICK") == 0 && n >= 2)
		kick_guid(dr, f[1], n > 2 && *f[2] ? f[2] : "Kicked by the director");
	else if (strcmp(f[0], "KICK-USER") == 0 && n >= 2) {
		struct sessions_match m = { SESSIONS_BY_USER, NULL, (const char *const *)f + 1, 1, NULL };
		unsigned int kicked = sessions_kick(dr->pd, &m, "Kicked by admin");
		log_info("director: KICK-USER %s: %u connections kicked", f[1], kicked);
	} else if (strcmp(f[0], "KICK-ALT") == 0 && n >= 3) {
		struct sessions_match m = { SESSIONS_BY_ALT, f[1], (const char *const *)f + 2, 1, NULL };
		unsigned int kicked = sessions_kick(dr->pd, &m, "Kicked by admin");
		log_info("director: KICK-ALT %s=%s: %u connections kicked", f[1], f[2], kicked);
	} else
		log_warnx("director: unexpected line from directord: %s", f[0]);
}

static void
schedule_retry(struct director *dr)
{
	loop_timer_set(dr->pd->loop, &dr->retry, dr->backoff_ms, director_connect, dr);
	dr->backoff_ms = dr->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : dr->backoff_ms * 2;
}

static void
fail_lookups(struct director *dr, const char *why)
{
	while (dr->lookups) {
		struct dlookup *l = dr->lookups;
		dr->lookups = l->next;
		director_reply_fn *fn = l->fn;
		void *larg = l->arg;
		*l->idp = 0;
		free(l);
		fn(larg, NULL, NULL, why);
	}
}

static void
director_closed(struct dline_conn *d, const char *reason, void *arg)
{
	struct director *dr = arg;
	(void)d;
	dr->d = NULL;
	log_set_prefix("proxyd");
	log_errorx("director: connection to %s lost (%s); retrying", dr->path, reason);
	dr->backoff_ms = BACKOFF_MIN_MS;
	schedule_retry(dr);
	fail_lookups(dr, "connection to directord lost");
}

static void
director_connect(struct loop_timer *t, void *arg)
{
	struct director *dr = arg;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	(void)t;
	str_copy(sun.sun_path, dr->path, sizeof(sun.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		log_set_prefix("proxyd");
		if (!dr->warned)
			log_errorx("director: connect(%s) failed: %s; retrying with backoff", dr->path, strerror(e));
		dr->warned = 1;
		schedule_retry(dr);
		return;
	}
	dr->d = dline_conn_new(dr->pd->loop, fd, &director_set, director_line, director_closed, dr);
	if (dr->d == NULL) {
		schedule_retry(dr);
		return;
	}
	dr->backoff_ms = BACKOFF_MIN_MS;
	dr->warned = 0;
	log_set_prefix("proxyd");
	log_info("director: connected to %s", dr->path);
	/* tell it again what is open here */
	for (unsigned int i = 0; i < SESSION_BUCKETS; i++)
		for (struct dsession *s = dr->buckets[i]; s; s = s->next)
			send_start(dr, s);
}

int
director_init(struct proxyd *pd)
{
	const char *path = pd->set->director_socket;
	if (path == NULL || *path == '\0')
		return 0;
	struct director *dr = calloc(1, sizeof(*dr));
	if (dr == NULL || (dr->buckets = calloc(SESSION_BUCKETS, sizeof(*dr->buckets))) == NULL) {
		free(dr);
		return -1;
	}
	dr->pd = pd;
	if (path[0] == '/')
		str_copy(dr->path, path, sizeof(dr->path));
	else
		str_fmt(dr->path, sizeof(dr->path), "%s/%s", pd->set->base_dir, path);
	dr->backoff_ms = BACKOFF_MIN_MS;
	dir_of_pd = dr;
	director_connect(NULL, dr);
	return 0;
}

void
director_close(struct proxyd *pd)
{
	struct director *dr = dir_of_pd;
	(void)pd;
	if (dr == NULL)
		return;
	loop_timer_cancel(dr->pd->loop, &dr->retry);
	if (dr->d)
		dline_conn_free(dr->d);
	dr->d = NULL;
	while (dr->lookups) {
		struct dlookup *l = dr->lookups;
		dr->lookups = l->next;
		*l->idp = 0;
		free(l);
	}
	for (unsigned int i = 0; i < SESSION_BUCKETS; i++) {
		while (dr->buckets[i]) {
			struct dsession *s = dr->buckets[i];
			dr->buckets[i] = s->next;
			free(s->guid);
			free(s->user);
			free(s->tag);
			free(s->ip);
			free(s);
		}
	}
	free(dr->buckets);
	free(dr);
	dir_of_pd = NULL;
}

void
director_lookup_fn(const char *user, const char *tag, director_reply_fn *fn, void *arg,
    unsigned int *idp)
{
	struct director *dr = dir_of_pd;
	*idp = 0;
	if (dr == NULL || dr->d == NULL) {
		fn(arg, NULL, NULL, "directord is not reachable");
		return;
	}
	struct dlookup *l = calloc(1, sizeof(*l));
	if (l == NULL) {
		fn(arg, NULL, NULL, "out of memory");
		return;
	}
	if (++dr->next_id == 0)
		dr->next_id = 1;
	l->id = dr->next_id;
	l->fn = fn;
	l->arg = arg;
	l->idp = idp;
	l->next = dr->lookups;
	dr->lookups = l;
	*idp = l->id;
	char id[16];
	str_fmt(id, sizeof(id), "%u", l->id);
	const char *f[] = { "LOOKUP", id, user, tag };
	send_fields(dr, f, 4);
}

void
director_lookup_cancel(unsigned int *idp)
{
	struct director *dr = dir_of_pd;
	if (dr == NULL || *idp == 0)
		return;
	free(lookup_take(dr, *idp));
	*idp = 0;
}

static void
client_reply(void *arg, const char *ip, const char *hostname, const char *error)
{
	client_director_reply(arg, ip, hostname, error);
}

void
director_lookup(struct client *c, const char *user, const char *tag)
{
	director_lookup_fn(user, tag, client_reply, c, &c->director_lookup_id);
}

void
director_client_gone(struct client *c)
{
	struct director *dr = dir_of_pd;
	if (dr == NULL)
		return;
	director_lookup_cancel(&c->director_lookup_id);
	if (!c->logged_in)
		director_session_end(c->pd, c->conn_guid);
}

void
director_session_start(struct client *c, const char *user, const char *tag, const char *ip)
{
	struct director *dr = dir_of_pd;
	if (dr == NULL)
		return;
	director_session_end(c->pd, c->conn_guid);	/* an earlier attempt on this connection */
	struct dsession *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->guid = strdup(c->conn_guid)) == NULL || (s->user = strdup(user)) == NULL ||
	    (s->tag = strdup(tag)) == NULL || (s->ip = strdup(ip)) == NULL) {
		if (s) {
			free(s->guid);
			free(s->user);
			free(s->tag);
			free(s);
		}
		return;
	}
	unsigned int b = bucket(s->guid);
	s->next = dr->buckets[b];
	dr->buckets[b] = s;
	send_start(dr, s);
}

void
director_session_end(struct proxyd *pd, const char *guid)
{
	struct director *dr = dir_of_pd;
	(void)pd;
	if (dr == NULL || guid == NULL)
		return;
	for (struct dsession **pp = &dr->buckets[bucket(guid)]; *pp; pp = &(*pp)->next) {
		struct dsession *s = *pp;
		if (strcmp(s->guid, guid) != 0)
			continue;
		*pp = s->next;
		const char *f[] = { "END", guid };
		send_fields(dr, f, 2);
		free(s->guid);
		free(s->user);
		free(s->tag);
		free(s->ip);
		free(s);
		return;
	}
}
