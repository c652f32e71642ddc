/* SPDX-License-Identifier: MIT */
/* applets/directord/moves.h: what moves.c offers the rest of directord. */
#ifndef DIRECTORD_MOVES_H
#define DIRECTORD_MOVES_H

#include "applets/directord/directord.h"

/* Sends the user to host; kicks its sessions elsewhere and holds logins until they are
 * gone. host NULL: no host left, the user is kicked and forgotten afterwards. */
void moves_user(struct directord *, struct dir_tag *, struct dir_user *, struct dir_host *,
    const char *why);
/* Called when a user's sessions change and on every tick: finishes kills. */
void moves_check(struct directord *, struct dir_user *);
void moves_tick(struct directord *);
/* Takes the user off the moving list (its move is over or it is being freed). */
void moves_unlink(struct directord *, struct dir_user *);
/* HOST-RESET-USERS: a background job bound to the admin connection (done NULL for internal
 * flushes, e.g. a host the health check took down). done(arg) is called when every move
 * has started, possibly before moves_reset_start() returns. Returns 0, or -1 if out of memory
 * (done is then not called). */
int moves_reset_start(struct directord *, struct dir_host *only, unsigned int max_parallel,
    void (*done)(struct directord *, void *), void *arg);
void moves_reset_cancel_arg(struct directord *, void *arg);
void moves_resets_run(struct directord *);
/* HOST-REMOVE: moves the host's users elsewhere (kicking their sessions), then removes it. */
void moves_host_remove_safely(struct directord *, struct dir_host *);

#endif
