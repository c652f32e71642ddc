/* SPDX-License-Identifier: MIT */
/* applets/proxyd/penalty.c: Dovecot's auth penalty, kept in the process (Dovecot's auth
 * asks anvil's "anvil-auth-penalty"; proxyd is its own auth). Per client address (IPv6:
 * per /48, as Dovecot), a penalty of 0..4 and the time it last grew:
 * - before a login's passdb lookup, the penalty is aged as Dovecot's auth does (stepping
 *   down from 4 while the time since it last grew is at least penalty_secs(step): all of
 *   it after 15 s, none before) and the login waits penalty_secs() of what is left: 2 s
 *   doubled per step, at most 15 (4, 8, 15, 15);
 * - a failed login sets it to the aged value + 1 (at most 4), unless the same user and
 *   password failed from that address lately (kept: the last 10), which leaves it as it
 *   was: a client retrying a stale password is not a guesser;
 * - a successful login that had waited resets it to 0;
 * - a record unchanged for 29 s (2 + 4 + 8 + 15) is forgotten.
 * The table holds at most PENALTY_RECORDS addresses; when full the oldest goes. */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/penalty.h"
#include "applets/proxyd/proxyd.h"
#include "core/loop.h"

#define PENALTY_INIT_SECS	2
#define PENALTY_MAX_SECS	15
#define PENALTY_MAX		4
#define PENALTY_EXPIRE_SECS	(PENALTY_INIT_SECS + 4 + 8 + PENALTY_MAX_SECS)
#define PENALTY_IPV6_BITS	48
#define PENALTY_CHECKSUMS	10
#define PENALTY_BUCKETS		4096
#define PENALTY_RECORDS		100000

struct penalty_rec {
	struct penalty_rec *hnext;
	struct penalty_rec *prev, *next;	/* oldest update first */
	struct ip_addr ip;
	unsigned int penalty;
	int64_t last_penalty;		/* wall clock: when it last grew */
	int64_t last_update;
	uint32_t sums[PENALTY_CHECKSUMS];	/* newest first, 0: unused */
};

struct penalty {
	struct penalty_rec *buckets[PENALTY_BUCKETS];
	struct penalty_rec *oldest, *newest;
	unsigned int count;
};

unsigned int
penalty_secs(unsigned int penalty)
{
	unsigned int secs = PENALTY_INIT_SECS;
	if (penalty == 0)
		return 0;
	for (unsigned int i = 0; i < penalty && secs < PENALTY_MAX_SECS; i++)
		secs *= 2;
	return secs < PENALTY_MAX_SECS ? secs : PENALTY_MAX_SECS;
}

static void
list_unlink(struct penalty *p, struct penalty_rec *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		p->oldest = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		p->newest = r->prev;
	r->prev = r->next = NULL;
}

static void
list_append(struct penalty *p, struct penalty_rec *r)
{
	r->prev = p->newest;
	r->next = NULL;
	if (p->newest)
		p->newest->next = r;
	else
		p->oldest = r;
	p->newest = r;
}

static struct penalty_rec **
slot(struct penalty *p, const struct ip_addr *key)
{
	struct penalty_rec **pp = &p->buckets[ip_table_hash(key) % PENALTY_BUCKETS];
	while (*pp && memcmp(&(*pp)->ip, key, sizeof(*key)) != 0)
		pp = &(*pp)->hnext;
	return pp;
}

static void
rec_free(struct penalty *p, struct penalty_rec *r)
{
	struct penalty_rec **pp = slot(p, &r->ip);
	if (*pp == r)
		*pp = r->hnext;
	list_unlink(p, r);
	p->count--;
	free(r);
}

static void
expire(struct penalty *p, int64_t now)
{
	while (p->oldest && (p->oldest->last_update + PENALTY_EXPIRE_SECS <= now || p->count > PENALTY_RECORDS))
		rec_free(p, p->oldest);
}

static struct penalty_rec *
find(struct proxyd *pd, const struct ip_addr *ip, int64_t now)
{
	struct ip_addr key;
	if (pd->penalty == NULL || ip->family == 0)
		return NULL;
	expire(pd->penalty, now);
	return *slot(pd->penalty, ip_prefix(ip, PENALTY_IPV6_BITS, &key));
}

unsigned int
penalty_get(struct proxyd *pd, const struct ip_addr *ip)
{
	int64_t now = loop_wall(pd->loop);
	struct penalty_rec *r = find(pd, ip, now);
	if (r == NULL)
		return 0;
	int64_t last = r->last_penalty > now ? now : r->last_penalty;
	unsigned int penalty = r->penalty, drop = PENALTY_MAX;
	while (penalty > 0 && now - last >= (int64_t)penalty_secs(drop)) {
		drop--;
		penalty--;
	}
	return penalty;
}

/* Dovecot's checksum is crc32 of the password, continued with the user; any hash that
 * tells combinations apart will do (only equality is asked). */
static uint32_t
checksum(const char *user, const char *password)
{
	uint32_t h = 2166136261u;
	for (const char *s = password ? password : ""; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (const char *s = user ? user : ""; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h ? h : 1;
}

static struct penalty_rec *
get_rec(struct proxyd *pd, const struct ip_addr *ip, int64_t now)
{
	struct ip_addr key;
	if (pd->penalty == NULL && (pd->penalty = calloc(1, sizeof(*pd->penalty))) == NULL)
		return NULL;
	struct penalty *p = pd->penalty;
	expire(p, now);
	struct penalty_rec **pp = slot(p, ip_prefix(ip, PENALTY_IPV6_BITS, &key));
	if (*pp != NULL) {
		list_unlink(p, *pp);
		return *pp;
	}
	struct penalty_rec *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->ip = key;
	*pp = r;
	p->count++;
	return r;
}

static void
touch(struct proxyd *pd, struct penalty_rec *r, int64_t now)
{
	r->last_update = now;
	list_append(pd->penalty, r);
	expire(pd->penalty, now);
}

void
penalty_failed(struct proxyd *pd, const struct ip_addr *ip, unsigned int last, const char *user,
    const char *password)
{
	int64_t now = loop_wall(pd->loop);
	if (ip->family == 0)
		return;
	struct penalty_rec *r = get_rec(pd, ip, now);
	if (r == NULL)
		return;
	unsigned int value = last + 1 > PENALTY_MAX ? PENALTY_MAX : last + 1;
	uint32_t sum = checksum(user, password);
	unsigned int i;
	for (i = 0; i < PENALTY_CHECKSUMS && r->sums[i] != sum; i++)
		;
	if (i < PENALTY_CHECKSUMS) {
		/* seen lately: the penalty stays what it was, the entry moves to the front */
		memmove(r->sums + 1, r->sums, i * sizeof(r->sums[0]));
		r->sums[0] = sum;
		r->penalty = value - 1;
	} else {
		memmove(r->sums + 1, r->sums, (PENALTY_CHECKSUMS - 1) * sizeof(r->sums[0]));
		r->sums[0] = sum;
		r->penalty = value;
		r->last_penalty = now;
	}
	touch(pd, r, now);
}

void
penalty_reset(struct proxyd *pd, const struct ip_addr *ip)
{
	int64_t now = loop_wall(pd->loop);
	if (find(pd, ip, now) == NULL)
		return;
	struct penalty_rec *r = get_rec(pd, ip, now);
	r->penalty = 0;
	r->last_penalty = now;
	touch(pd, r, now);
}

void
penalty_free(struct proxyd *pd)
{
	struct penalty *p = pd->penalty;
	if (p == NULL)
		return;
	while (p->oldest) {
		struct penalty_rec *r = p->oldest;
		p->oldest = r->next;
		free(r);
	}
	free(p);
	pd->penalty = NULL;
}
