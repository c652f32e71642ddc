/* SPDX-License-Identifier: MIT */
/* applets/directord/diradmin.h: the director-admin socket (Dovecot's director-doveadm
 * protocol), diradmin.c. */
#ifndef DIRECTORD_DIRADMIN_H
#define DIRECTORD_DIRADMIN_H

#include "applets/directord/directord.h"

int diradmin_listen(struct directord *, FILE *errf);
void diradmin_close_all(struct directord *);
/* The ring synced (or a tick passed): commands waiting for it go on. */
void diradmin_ring_changed(struct directord *);

#endif
