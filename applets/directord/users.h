/* SPDX-License-Identifier: MIT */
/* applets/directord/users.h: what users.c offers the rest of directord. */
#ifndef DIRECTORD_USERS_H
#define DIRECTORD_USERS_H

#include "applets/directord/directord.h"

struct dir_user *users_find(struct user_dir *, uint32_t hash);
struct dir_user *users_add(struct dir_tag *, uint32_t hash, struct dir_host *, int64_t now);
/* Moves the user to the newest end with timestamp now. */
void users_refresh(struct user_dir *, struct dir_user *, int64_t now);
/* Forgets the user (its sessions stay, detached). */
void users_free(struct directord *, struct user_dir *, struct dir_user *);
void users_set_host(struct dir_user *, struct dir_host *);
void users_dir_free(struct directord *, struct user_dir *);
int users_expired(const struct directord *, const struct dir_user *, int64_t now);
/* Frees expired users everywhere. */
void users_sweep(struct directord *);
/* Forgets every user of host (no kicks). */
void users_forget_host(struct directord *, struct dir_host *);

#endif
