/* SPDX-License-Identifier: MIT */
/* applets/proxyd/admin_int.h: what admin.c (ipc) and anvil.c share: the listener, the
 * session view, matching and kicking. */
#ifndef PROXYD_ADMIN_INT_H
#define PROXYD_ADMIN_INT_H

#include <sys/types.h>

#include "core/loop.h"

struct client;
struct dline_conn;
struct passdb_result;
struct proxyd;
struct relay;

struct admin_listener {
	struct proxyd *pd;
	struct loop_io io;
	int fd;
	const char *path;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	void (*accept)(struct proxyd *, int fd);
};

/* One admin connection; every open one is on the admin's list so shutdown can close it. */
struct admin_conn {
	struct admin_conn *prev, *next;
	struct proxyd *pd;
	struct dline_conn *d;
	int anvil_version;	/* anvil: 0 until the VERSION line */
};

struct admin {
	struct admin_listener ipc, anvil, authm;
	struct admin_conn *conns;
	char **alt_keys;	/* user_* keys in first-seen order */
	unsigned int nalt_keys;
};

/* One session, established (relay) or still logging in (client), as admins see it.
 * Strings are borrowed from the session and valid until the loop runs again. */
struct admin_session {
	const char *user, *host, *proto, *rip, *dest_ip, *conn_guid;
	unsigned int dest_port;
	unsigned int nalt;
	const char *const *alt_keys, *const *alt_values;
	const struct passdb_result *passdb;	/* pending sessions: their user_* fields */
};

void admin_session_of_relay(const struct relay *, struct admin_session *);
/* rip and dip are caller buffers of IP_ADDR_STRLEN. */
void admin_session_of_client(const struct client *, struct admin_session *, char *rip, char *dip);
int admin_client_pending(const struct client *);
const char *admin_session_alt(const struct admin_session *, const char *key);
/* Kicks every session match() accepts; returns how many. */
unsigned int admin_kick(struct proxyd *, int (*match)(const struct admin_session *, void *),
    void *ctx, const char *reason);

/* Tracks a new connection (ipc or anvil) with the given line handler; NULL if out of
 * memory (fd closed). admin_conn_close() ends one from inside its handler. */
struct dline_set;
struct admin_conn *admin_conn_new(struct proxyd *, int fd, const struct dline_set *,
    void (*line)(struct dline_conn *, char **, size_t, void *));
void admin_conn_close(struct admin_conn *);

/* anvil.c */
void anvil_accept(struct proxyd *, int fd);
/* authmaster.c */
void authmaster_accept(struct proxyd *, int fd);

#endif
