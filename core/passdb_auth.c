/* SPDX-License-Identifier: MIT */
/* Implementation notes: what Dovecot's login processes make of an auth answer
 * (login-common/sasl-server.c, client-common-auth.c): OK's user= is the user name after
 * the auth server's renames, the other fields are the passdb's; FAIL's code=temp_fail is
 * an internal failure, any other FAIL a failed login, with its reason and nodelay kept.
 * The password is always asked about, even when an earlier passdb of the chain already
 * accepted it (the auth server cannot be told to skip its check), and a lookup without a
 * password (LMTP, a passthrough SASL mechanism) is an internal failure: the auth-client
 * protocol has no such lookup (auth-master's PASS has, on another socket). */
#include "core/passdb_auth.h"
#include "core/authclient.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

#define PASSDB_AUTH_TIMEOUT_S	30

struct auth_lookup {
	struct passdb_lookup *L;
	struct authclient_op *op;
};

static void *
auth_create(const char *args, char *eb, size_t el)
{
	char where[256];
	long long secs = PASSDB_AUTH_TIMEOUT_S;
	const char *err;
	size_t wl = 0;

	where[0] = '\0';
	for (const char *p = args; *p != '\0';) {
		size_t n = strcspn(p, " \t");
		if (n == 0) {
			p++;
			continue;
		}
		if (n > 8 && strncmp(p, "timeout=", 8) == 0) {
			char num[24];
			str_fmt(num, sizeof(num), "%.*s", (int)(n - 8), p + 8);
			if (str_to_num(num, 1, 60, &secs, &err) < 0) {
				str_fmt(eb, el, "auth: timeout=%s: %s", num, err);
				return NULL;
			}
		} else if (wl == 0 && n < sizeof(where) && memchr(p, '=', n) == NULL) {
			memcpy(where, p, n);
			where[n] = '\0';
			wl = n;
		} else {
			str_fmt(eb, el, "auth: unknown argument: %.*s", (int)n, p);
			return NULL;
		}
		p += n;
	}
	if (wl == 0) {
		str_copy(eb, "auth: args needs the auth server's socket (a path or host:port)", el);
		return NULL;
	}
	char err2[160];
	struct authclient *c = authclient_new(where, (unsigned int)secs * 1000U, err2,
	    sizeof(err2));
	if (c == NULL)
		str_fmt(eb, el, "auth: %s", err2);
	return c;
}

static enum passdb_status
apply_fields(struct passdb_lookup *L, const struct authclient_reply *r)
{
	for (size_t i = 0; i < r->nfields; i++)
		if (passdb_set_field(L, r->keys[i], r->values[i]) < 0)
			return PASSDB_INTERNAL_FAILURE;
	return PASSDB_OK;
}

static void
auth_answer(const struct authclient_reply *r, void *arg)
{
	struct auth_lookup *al = arg;
	struct passdb_lookup *L = al->L;
	enum passdb_status st;

	switch (r->status) {
	case AUTHCLIENT_OK:
		st = PASSDB_OK;
		if (r->user != NULL && strcmp(r->user, L->res->user) != 0 &&
		    passdb_set_field(L, "user", r->user) < 0)
			st = PASSDB_INTERNAL_FAILURE;
		if (st == PASSDB_OK)
			st = apply_fields(L, r);
		break;
	case AUTHCLIENT_FAIL:
		passdb_log(L, LOG_LEVEL_DEBUG, "auth server: failed%s%s",
		    r->code != NULL ? ": code=" : "", r->code != NULL ? r->code : "");
		st = apply_fields(L, r) == PASSDB_OK ? PASSDB_PASSWORD_MISMATCH :
		    PASSDB_INTERNAL_FAILURE;
		break;
	case AUTHCLIENT_TEMPFAIL:
		passdb_log(L, LOG_LEVEL_ERROR, "auth server: temporary failure");
		st = PASSDB_INTERNAL_FAILURE;
		break;
	default:
		passdb_log(L, LOG_LEVEL_ERROR, "%s", r->error);
		st = PASSDB_INTERNAL_FAILURE;
	}
	L->drv_op = NULL;
	free(al);
	passdb_lookup_done(L, st);
}

static enum passdb_status
auth_lookup(void *db, struct passdb_lookup *L)
{
	struct authclient *c = db;
	struct auth_lookup *al;
	const struct passdb_request *req = L->req;

	if (req->password == NULL) {
		passdb_log(L, LOG_LEVEL_ERROR, "passdb auth needs the login's password "
		    "(a lookup without one is not part of the auth-client protocol)");
		return PASSDB_INTERNAL_FAILURE;
	}
	if ((al = calloc(1, sizeof(*al))) == NULL)
		return PASSDB_INTERNAL_FAILURE;
	al->L = L;
	/* the current user: an earlier passdb may have renamed it */
	struct passdb_request r = *req;
	r.user = L->res->user;
	passdb_log(L, LOG_LEVEL_DEBUG, "asking auth(%s)", authclient_name(c));
	if ((al->op = authclient_plain(c, &r, auth_answer, al)) == NULL) {
		free(al);
		passdb_log(L, LOG_LEVEL_INFO, "user or password too long for the auth server");
		return PASSDB_PASSWORD_MISMATCH;
	}
	L->drv_op = al;
	return PASSDB_PENDING;
}

static void
auth_cancel(void *db, struct passdb_lookup *L, int expired)
{
	struct auth_lookup *al = L->drv_op;

	(void)db;
	(void)expired;	/* the request's own deadline comes first and resets a stuck server */
	if (al == NULL)
		return;
	authclient_op_abort(al->op);
	free(al);
	L->drv_op = NULL;
}

static void
auth_set_loop(void *db, struct loop *loop)
{
	authclient_set_loop(db, loop);
}

static void
auth_destroy(void *db)
{
	authclient_free(db);
}

const struct passdb_drv_ops passdb_auth_ops = {
	"auth", auth_create, auth_lookup, auth_cancel, auth_set_loop, auth_destroy,
};
