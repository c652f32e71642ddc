/* SPDX-License-Identifier: MIT */
/* applets/directord/users.c: one tag's user directory: hash -> assignment, kept in
 * timestamp order (oldest first) as Dovecot's user-directory.c, so that expiry looks at
 * the head only and USER-LIST lists in the same order. */
#include <stdlib.h>
#include <string.h>

#include "applets/directord/directord.h"
#include "core/log.h"

static void
list_unlink(struct user_dir *d, struct dir_user *u)
{
	if (u->prev)
		u->prev->next = u->next;
	else
		d->head = u->next;
	if (u->next)
		u->next->prev = u->prev;
	else
		d->tail = u->prev;
	u->prev = u->next = NULL;
}

static void
list_append(struct user_dir *d, struct dir_user *u)
{
	u->prev = d->tail;
	u->next = NULL;
	if (d->tail)
		d->tail->next = u;
	else
		d->head = u;
	d->tail = u;
}

struct dir_user *
users_find(struct user_dir *d, uint32_t hash)
{
	if (d->nbuckets == 0)
		return NULL;
	for (struct dir_user *u = d->buckets[hash % d->nbuckets]; u; u = u->hnext)
		if (u->hash == hash)
			return u;
	return NULL;
}

static int
grow(struct user_dir *d)
{
	size_t n = d->nbuckets ? d->nbuckets * 2 : 1024;
	struct dir_user **b = calloc(n, sizeof(*b));
	if (b == NULL)
		return -1;
	for (size_t i = 0; i < d->nbuckets; i++) {
		for (struct dir_user *u = d->buckets[i], *next; u; u = next) {
			next = u->hnext;
			u->hnext = b[u->hash % n];
			b[u->hash % n] = u;
		}
	}
	free(d->buckets);
	d->buckets = b;
	d->nbuckets = n;
	return 0;
}

void
users_set_host(struct dir_user *u, struct dir_host *h)
{
	if (u->host)
		u->host->user_count--;
	u->host = h;
	if (h)
		h->user_count++;
}

struct dir_user *
users_add(struct dir_tag *t, uint32_t hash, struct dir_host *h, int64_t now)
{
	struct user_dir *d = &t->users;
	if (d->count >= d->nbuckets && grow(d) < 0 && d->nbuckets == 0)
		return NULL;
	struct dir_user *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return NULL;
	u->hash = hash;
	u->tag = t;
	u->timestamp = now;
	users_set_host(u, h);
	u->hnext = d->buckets[hash % d->nbuckets];
	d->buckets[hash % d->nbuckets] = u;
	list_append(d, u);
	d->count++;
	return u;
}

void
users_refresh(struct user_dir *d, struct dir_user *u, int64_t now)
{
	u->timestamp = now;
	if (d->tail != u) {
		list_unlink(d, u);
		list_append(d, u);
	}
}

void
users_free(struct directord *dd, struct user_dir *d, struct dir_user *u)
{
	struct dir_user **pp = &d->buckets[u->hash % d->nbuckets];
	while (*pp != u)
		pp = &(*pp)->hnext;
	*pp = u->hnext;
	list_unlink(d, u);
	d->count--;
	while (u->sessions)
		proxy_session_detach(u->sessions);
	if (u->killing || u->kick_delay)
		moves_unlink(dd, u);
	users_set_host(u, NULL);
	free(u);
}

void
users_dir_free(struct directord *dd, struct user_dir *d)
{
	while (d->head)
		users_free(dd, d, d->head);
	free(d->buckets);
	d->buckets = NULL;
	d->nbuckets = 0;
}

int
users_expired(const struct directord *dd, const struct dir_user *u, int64_t now)
{
	/* connected users never expire; a move in progress keeps its entry */
	if (u->nsessions > 0 || u->killing || u->kick_delay)
		return 0;
	return u->timestamp + (int64_t)dd->set.user_expire <= now;
}

void
users_sweep(struct directord *dd)
{
	int64_t now = loop_wall(dd->loop);
	for (struct dir_tag *t = dd->hosts.tags; t; t = t->next) {
		/* oldest first; connected users are refreshed when their sessions end, so the
		 * walk cannot stop at the first live entry */
		for (struct dir_user *u = t->users.head, *next; u; u = next) {
			next = u->next;
			if (u->timestamp + (int64_t)dd->set.user_expire > now)
				break;
			if (users_expired(dd, u, now)) {
				users_free(dd, &t->users, u);
				state_touch(dd);
			}
		}
	}
}

void
users_forget_host(struct directord *dd, struct dir_host *h)
{
	struct user_dir *d = &h->tag->users;
	for (struct dir_user *u = d->head, *next; u; u = next) {
		next = u->next;
		if (u->host == h)
			users_free(dd, d, u);
	}
	state_touch(dd);
}
