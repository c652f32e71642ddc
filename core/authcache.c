/* SPDX-License-Identifier: MIT */
/* Implementation notes: a chained hash table on str_hash() and a doubly linked list in
 * use order (head: most recent). Each entry is one allocation: the node, its field array
 * and every string. Its size as counted against max_bytes is that allocation, as
 * Dovecot counts key and value lengths plus its node. */
#include "core/authcache.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

struct node {
	struct node *hnext;		/* bucket chain */
	struct node *prev, *next;	/* use order */
	unsigned int hash;
	size_t size;
	char *key, *user;
	struct authcache_entry e;
	struct authcache_field fields[];
};

struct authcache {
	size_t max_bytes, bytes;
	unsigned int ttl_s, negative_ttl_s;
	struct node **buckets;
	size_t nbuckets, count;
	struct node *head, *tail;
};

struct authcache *
authcache_new(size_t max_bytes, unsigned int ttl_s, unsigned int negative_ttl_s)
{
	struct authcache *c;

	if (max_bytes == 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->max_bytes = max_bytes;
	c->ttl_s = ttl_s;
	c->negative_ttl_s = negative_ttl_s;
	c->nbuckets = 64;
	if ((c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

static struct node **
slot(struct authcache *c, const char *key, unsigned int h)
{
	struct node **np = &c->buckets[h & (c->nbuckets - 1)];

	while (*np != NULL && ((*np)->hash != h || strcmp((*np)->key, key) != 0))
		np = &(*np)->hnext;
	return np;
}

static void
unlink_use(struct authcache *c, struct node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		c->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		c->tail = n->prev;
	n->prev = n->next = NULL;
}

static void
push_front(struct authcache *c, struct node *n)
{
	n->next = c->head;
	if (c->head)
		c->head->prev = n;
	c->head = n;
	if (c->tail == NULL)
		c->tail = n;
}

static void
destroy(struct authcache *c, struct node *n)
{
	struct node **np = slot(c, n->key, n->hash);

	*np = n->hnext;
	unlink_use(c, n);
	c->bytes -= n->size;
	c->count--;
	free(n);
}

static void
grow(struct authcache *c)
{
	size_t nb = c->nbuckets * 2;
	struct node **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return;		/* longer chains, still correct */
	for (size_t i = 0; i < c->nbuckets; i++)
		for (struct node *n = c->buckets[i], *next; n != NULL; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
}

const struct authcache_entry *
authcache_get(struct authcache *c, const char *key, int64_t now)
{
	struct node *n = *slot(c, key, str_hash(key));

	if (n == NULL)
		return NULL;
	unsigned int ttl = n->e.negative ? c->negative_ttl_s : c->ttl_s;
	n->e.expired = now - n->e.created >= (int64_t)ttl;
	unlink_use(c, n);
	push_front(c, n);
	return &n->e;
}

static char *
put_str(char **p, const char *s)
{
	size_t l = strlen(s) + 1;

	memcpy(*p, s, l);
	*p += l;
	return *p - l;
}

void
authcache_put(struct authcache *c, const char *key, const char *user, int negative,
    int last_success, const struct authcache_field *fields, size_t nfields, int64_t now)
{
	unsigned int h = str_hash(key);
	size_t size = sizeof(struct node) + nfields * sizeof(struct authcache_field) +
	    strlen(key) + strlen(user) + 2;
	struct node *n, **np;

	for (size_t i = 0; i < nfields; i++)
		size += strlen(fields[i].key) + 1 +
		    (fields[i].value != NULL ? strlen(fields[i].value) + 1 : 0);
	if ((n = *slot(c, key, h)) != NULL)
		destroy(c, n);
	if (size > c->max_bytes / 10 || (n = calloc(1, size)) == NULL)
		return;
	char *p = (char *)(n->fields + nfields);
	n->hash = h;
	n->size = size;
	n->key = put_str(&p, key);
	n->user = put_str(&p, user);
	for (size_t i = 0; i < nfields; i++) {
		n->fields[i].key = put_str(&p, fields[i].key);
		n->fields[i].value = fields[i].value != NULL ? put_str(&p, fields[i].value) : NULL;
	}
	n->e.created = now;
	n->e.negative = negative;
	n->e.last_success = last_success;
	n->e.fields = n->fields;
	n->e.nfields = nfields;
	while (c->tail != NULL && c->bytes + size > c->max_bytes)
		destroy(c, c->tail);
	if (c->count >= c->nbuckets)
		grow(c);
	np = slot(c, key, h);
	n->hnext = *np;
	*np = n;
	push_front(c, n);
	c->bytes += size;
	c->count++;
}

void
authcache_set_failed(struct authcache *c, const char *key)
{
	struct node *n = *slot(c, key, str_hash(key));

	if (n != NULL)
		n->e.last_success = 0;
}

unsigned int
authcache_flush(struct authcache *c, const char *const *users, size_t nusers)
{
	unsigned int count = 0;

	for (struct node *n = c->head, *next; n != NULL; n = next) {
		size_t i = 0;
		next = n->next;
		if (users != NULL)
			for (i = 0; i < nusers && strcmp(users[i], n->user) != 0; i++)
				;
		if (users == NULL || i < nusers) {
			destroy(c, n);
			count++;
		}
	}
	return count;
}

size_t
authcache_bytes(const struct authcache *c)
{
	return c->bytes;
}

void
authcache_free(struct authcache *c)
{
	if (c == NULL)
		return;
	authcache_flush(c, NULL, 0);
	free(c->buckets);
	free(c);
}
