/* SPDX-License-Identifier: MIT */
/* applets/proxyd/sessions.h: the sessions of this proxyd process as admins see them:
 * established (a relay) or still logging in to a backend (a pending client). The ipc
 * socket (doveadm proxy list/kick), anvil (doveadm who/kick) and the director client
 * list, match and kick (and count: a kick returns how many) through here only: the seam
 * a master asking its worker processes will use. */
#ifndef PROXYD_SESSIONS_H
#define PROXYD_SESSIONS_H

#include <stddef.h>

struct client;
struct passdb_result;
struct proxyd;
struct relay;

/* One session. Strings are borrowed from the session and valid until the loop runs
 * again. */
struct sessions_view {
	const char *user, *host, *proto, *rip, *dest_ip, *conn_guid;
	unsigned int dest_port;
	unsigned int nalt;
	const char *const *alt_keys, *const *alt_values;
	const struct passdb_result *passdb;	/* pending sessions: their user_* fields */
};

enum sessions_by {
	SESSIONS_BY_USER,	/* the (passdb's) user name */
	SESSIONS_BY_ALT,	/* the value of a user_* field */
	SESSIONS_BY_HOST,	/* the backend as the passdb named it */
};

/* Which sessions a kick selects: by's value is one of values[0..nvalues),
 * and the connection id is guid unless guid is NULL. */
struct sessions_match {
	enum sessions_by by;
	const char *field;		/* SESSIONS_BY_ALT: the user_* key */
	const char *const *values;
	size_t nvalues;
	const char *guid;
};

/* Calls fn for every session: established ones first, then those still logging in (as
 * Dovecot lists them). */
void sessions_each(struct proxyd *, void (*fn)(const struct sessions_view *, void *), void *ctx);
/* Kicks every session m selects (a pending one is dropped without a protocol reply, as
 * Dovecot does); returns how many. */
unsigned int sessions_kick(struct proxyd *, const struct sessions_match *m, const char *reason);
/* Kicks the session with this connection id, established or at any point of its login
 * (the director's KICK); returns 1, or 0 if there is none. */
int sessions_kick_guid(struct proxyd *, const char *guid, const char *reason);

/* The value of a user_* field of the session, or NULL. */
const char *sessions_alt(const struct sessions_view *, const char *key);
/* The user_* keys seen so far, in first-seen order (the LIST-FULL and CONNECT-DUMP
 * headers); a relay notes its keys when it starts. */
void sessions_alt_keys_note(struct proxyd *, const char *const *keys, unsigned int n);
const char *const *sessions_alt_keys(const struct proxyd *, unsigned int *n);
int sessions_alt_key_known(const struct proxyd *, const char *key);
/* Frees what the module keeps (shutdown). */
void sessions_free(struct proxyd *);

#endif
