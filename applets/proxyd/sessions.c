/* SPDX-License-Identifier: MIT */
/* applets/proxyd/sessions.c: the sessions of this process as admins see them, how they
 * are matched and kicked, and the user_* keys seen so far. */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/relay.h"
#include "applets/proxyd/sessions.h"
#include "core/ip.h"
#include "core/passdb.h"

#define SESSIONS_ALT_KEYS_MAX	32

static void
sessions_of_relay(const struct relay *r, struct sessions_view *s)
{
	s->user = r->info->user;
	s->conn_guid = r->info->conn_guid;
	s->host = r->info->host;
	s->proto = r->proto->name;
	s->rip = r->info->rip;
	s->dest_ip = r->info->dest_ip;
	s->dest_port = r->info->dest_port;
	s->nalt = r->info->nalt;
	s->alt_keys = r->info->alt_keys;
	s->alt_values = r->info->alt_values;
	s->passdb = NULL;
}

/* rip and dip are buffers of IP_ADDR_STRLEN. */
static void
sessions_of_client(const struct client *c, struct sessions_view *s, char *rip, char *dip)
{
	s->user = c->virtual_user;
	s->conn_guid = c->conn_guid;
	s->host = c->dest.host;
	s->proto = c->proto->name;
	s->rip = ip_format(&c->rip, rip, IP_ADDR_STRLEN);
	s->dest_ip = ip_format(&c->dest.ip, dip, IP_ADDR_STRLEN);
	s->dest_port = c->dest.port;
	s->nalt = 0;
	s->alt_keys = s->alt_values = NULL;
	s->passdb = c->passdb;
}

/* A client still logging in to its backend is a "pending" session to Dovecot. */
static int
sessions_client_pending(const struct client *c)
{
	return c->proxying && c->virtual_user != NULL && c->dest.host != NULL && !c->destroyed;
}

const char *
sessions_alt(const struct sessions_view *s, const char *key)
{
	for (unsigned int i = 0; i < s->nalt; i++)
		if (strcmp(s->alt_keys[i], key) == 0)
			return s->alt_values[i];
	return s->passdb ? passdb_field(s->passdb, key) : NULL;
}

static int
sessions_matches(const struct sessions_view *s, const struct sessions_match *m)
{
	const char *v = m->by == SESSIONS_BY_ALT ? sessions_alt(s, m->field) :
	    m->by == SESSIONS_BY_HOST ? s->host : s->user;
	if (v == NULL || (m->guid != NULL && strcmp(m->guid, s->conn_guid) != 0))
		return 0;
	for (size_t i = 0; i < m->nvalues; i++)
		if (strcmp(v, m->values[i]) == 0)
			return 1;
	return 0;
}

/* The one walk over the sessions: fn returns 1 to kick the one it was shown. The next
 * pointers are taken first because a kicked client is unlinked at once. */
static unsigned int
sessions_walk(struct proxyd *pd, int (*fn)(const struct sessions_view *, void *), void *ctx,
    const char *reason)
{
	struct sessions_view s;
	char rip[IP_ADDR_STRLEN], dip[IP_ADDR_STRLEN];
	unsigned int n = 0;

	for (struct relay *r = pd->relays, *next; r; r = next) {
		next = r->next;
		if (r->closed)
			continue;
		sessions_of_relay(r, &s);
		if (fn(&s, ctx)) {
			if (reason)
				relay_kick(r, reason);
			n++;
		}
	}
	for (struct client *c = pd->clients, *next; c; c = next) {
		next = c->next;
		if (!sessions_client_pending(c))
			continue;
		sessions_of_client(c, &s, rip, dip);
		if (fn(&s, ctx)) {
			/* as Dovecot: a pending session is dropped without a protocol reply */
			if (reason)
				client_destroy(c, reason);
			n++;
		}
	}
	return n;
}

struct sessions_each_ctx {
	void (*fn)(const struct sessions_view *, void *);
	void *ctx;
};

static int
sessions_each_one(const struct sessions_view *s, void *arg)
{
	struct sessions_each_ctx *e = arg;
	e->fn(s, e->ctx);
	return 0;
}

void
sessions_each(struct proxyd *pd, void (*fn)(const struct sessions_view *, void *), void *ctx)
{
	struct sessions_each_ctx e = { fn, ctx };
	sessions_walk(pd, sessions_each_one, &e, NULL);
}

static int
sessions_match_one(const struct sessions_view *s, void *arg)
{
	return sessions_matches(s, arg);
}

unsigned int
sessions_kick(struct proxyd *pd, const struct sessions_match *m, const char *reason)
{
	return sessions_walk(pd, sessions_match_one, (void *)m, reason);
}

int
sessions_kick_guid(struct proxyd *pd, const char *guid, const char *reason)
{
	for (struct relay *r = pd->relays; r; r = r->next) {
		if (!r->closed && strcmp(r->info->conn_guid, guid) == 0) {
			relay_kick(r, reason);
			return 1;
		}
	}
	for (struct client *c = pd->clients; c; c = c->next) {
		if (!c->destroyed && strcmp(c->conn_guid, guid) == 0) {
			client_destroy(c, reason);
			return 1;
		}
	}
	return 0;
}

void
sessions_alt_keys_note(struct proxyd *pd, const char *const *keys, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (sessions_alt_key_known(pd, keys[i]) || pd->nalt_keys >= SESSIONS_ALT_KEYS_MAX)
			continue;
		char *k = strdup(keys[i]);
		char **nk = k ? realloc(pd->alt_keys, (pd->nalt_keys + 1) * sizeof(*nk)) : NULL;
		if (nk == NULL) {
			free(k);
			return;
		}
		pd->alt_keys = nk;
		pd->alt_keys[pd->nalt_keys++] = k;
	}
}

const char *const *
sessions_alt_keys(const struct proxyd *pd, unsigned int *n)
{
	*n = pd->nalt_keys;
	return (const char *const *)pd->alt_keys;
}

int
sessions_alt_key_known(const struct proxyd *pd, const char *key)
{
	for (unsigned int i = 0; i < pd->nalt_keys; i++)
		if (strcmp(pd->alt_keys[i], key) == 0)
			return 1;
	return 0;
}

void
sessions_free(struct proxyd *pd)
{
	for (unsigned int i = 0; i < pd->nalt_keys; i++)
		free(pd->alt_keys[i]);
	free(pd->alt_keys);
	pd->alt_keys = NULL;
	pd->nalt_keys = 0;
}
