/* SPDX-License-Identifier: MIT */
/* applets/replicatord/radmin.h: the replicator-doveadm admin socket (radmin.c). */
#ifndef REPLICATORD_RADMIN_H
#define REPLICATORD_RADMIN_H

#include "applets/replicatord/replicatord.h"

/* A new connection on a listener; admin is the replicator-doveadm protocol. */
void radmin_accept_fd(struct repl *, int fd);
void radmin_close_all(struct repl *);

#endif
