/* SPDX-License-Identifier: MIT */
/* applets/directord/hosts.h: what hosts.c offers the rest of directord. */
#ifndef DIRECTORD_HOSTS_H
#define DIRECTORD_HOSTS_H

#include "applets/directord/directord.h"

void hosts_init(struct host_list *);
void hosts_free(struct host_list *);
/* Parses director_mail_servers (IPs, names, ranges ip1-ip2, each @tag). Errors go to errf
 * prefixed with what. Returns 0 or -1. */
int hosts_parse(struct host_list *, const char *servers, FILE *errf, const char *what);
struct dir_host *hosts_lookup(struct host_list *, const struct ip_addr *);
struct dir_host *hosts_add(struct host_list *, const struct ip_addr *, const char *tag);
/* Removes and frees the host; its users must be gone already. */
void hosts_remove(struct host_list *, struct dir_host *);
struct dir_tag *hosts_tag(struct host_list *, const char *name);	/* NULL if none */
struct dir_tag *hosts_tag_get(struct host_list *, const char *name);	/* creates */
/* Marks the rings for a rebuild (after vhost/up/down/add/remove). */
static inline void hosts_changed(struct host_list *l) { l->unsorted = 1; }
/* The host the ring gives hash in tag, or NULL. */
struct dir_host *hosts_by_hash(struct host_list *, uint32_t hash, const char *tag);
/* Sorts and rebuilds the rings if something changed; returns the sorted array. */
struct dir_host **hosts_sorted(struct host_list *, size_t *n);
uint32_t hosts_hash(struct host_list *);

#endif
