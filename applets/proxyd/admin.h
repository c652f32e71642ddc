/* SPDX-License-Identifier: MIT */
/* applets/proxyd/admin.h: proxyd's admin sockets: Dovecot's ipc protocol (doveadm proxy
 * list/kick) and the anvil protocol (doveadm who/kick), served by the process itself. */
#ifndef PROXYD_ADMIN_H
#define PROXYD_ADMIN_H

#include <stdio.h>
#include <sys/types.h>

struct proxyd;

struct admin_socket_set {
	const char *path;
	mode_t mode;
	uid_t uid;	/* (uid_t)-1: the process's */
	gid_t gid;
};

/* Binds the sockets (start-up, before privileges are dropped). Returns 0 or -1 after
 * printing why to errf. */
int admin_open(struct proxyd *, const struct admin_socket_set *ipc,
    const struct admin_socket_set *anvil, const struct admin_socket_set *authm, FILE *errf);
/* Registers the listeners with the loop. */
int admin_start(struct proxyd *);
void admin_close(struct proxyd *);

#endif
