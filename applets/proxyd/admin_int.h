/* SPDX-License-Identifier: MIT */
/* applets/proxyd/admin_int.h: what admin.c (ipc), anvil.c and authmaster.c share: the
 * listeners and the connections (the sessions they show and kick: sessions.h). */
#ifndef PROXYD_ADMIN_INT_H
#define PROXYD_ADMIN_INT_H

#include <sys/types.h>

#include "core/loop.h"

struct dline_conn;
struct proxyd;

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
};

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
