/* SPDX-License-Identifier: MIT */
/* core/dirhash.h: Dovecot 2.3's director hashing (protocols.md §5): the user hash of
 * director_username_hash, the vhost points of a mail host, the ring lookup and the
 * hosts_hash a ring compares in SYNC. Not a host table: callers own their hosts and
 * hand the ring opaque host pointers. */
#ifndef CORE_DIRHASH_H
#define CORE_DIRHASH_H

#include <stddef.h>
#include <stdint.h>

#include "core/ip.h"

/* Largest vhost count doveadm may set (Dovecot's MAX_VALID_VHOST_COUNT). */
#define DIRHASH_VHOST_MAX	1000

/* The user hash: the first 4 bytes of MD5(format expanded for user), big-endian, 0 taken
 * as 1. format knows %u (user), %n (before '@'), %d (after '@'), with %L etc. as
 * core/varexpand; "%u" and "%Lu" take Dovecot's fast paths. Returns 0, or -1 when the
 * format cannot be expanded (Dovecot then answers TRYAGAIN); *hash is set either way. */
int dirhash_user(const char *user, const char *format, uint32_t *hash);

/* The hash of vhost point i of a host whose address prints as ip_str: MD5 of
 * "<ip_str>-<i>", first 4 bytes big-endian (0 stays 0 here, as in Dovecot). */
uint32_t dirhash_vhost(const char *ip_str, unsigned int i);

/* One tag's ring. Points are sorted by hash, then by host address, so that every
 * director agrees on collisions. */
struct dirhash_point {
	uint32_t hash;
	const struct ip_addr *ip;	/* of the host, for the tie-break */
	void *host;
};

struct dirhash_ring {
	struct dirhash_point *points;
	size_t n, cap;
};

/* Dovecot's net_ip_cmp: family first (AF_INET before AF_INET6), then the address bytes. */
int dirhash_ip_cmp(const struct ip_addr *, const struct ip_addr *);

/* Empties the ring (keeps its memory for the next build). */
void dirhash_ring_clear(struct dirhash_ring *);
/* Adds vhost_count points for one host (ip_str as the director prints it). Returns 0, or
 * -1 if out of memory (the ring then holds a prefix of the points: rebuild it). */
int dirhash_ring_add(struct dirhash_ring *, void *host, const struct ip_addr *ip,
    const char *ip_str, unsigned int vhost_count);
/* Sorts the points; call after the last dirhash_ring_add(). */
void dirhash_ring_sort(struct dirhash_ring *);
/* The host owning hash: the point equal to it, else the first greater one, else the
 * first point (with Dovecot's exact binary search, so that even a collision picks the
 * same point). NULL for an empty ring. */
void *dirhash_ring_lookup(const struct dirhash_ring *, uint32_t hash);
void dirhash_ring_free(struct dirhash_ring *);

/* hosts_hash, fed one host at a time in address order: start with crc = 0, then
 * crc = dirhash_hosts_hash_add(crc, ...) per host; dirhash_hosts_hash_final() maps 0
 * to 1. */
uint32_t dirhash_hosts_hash_add(uint32_t crc, const struct ip_addr *ip, unsigned int vhost_count,
    int down, const char *tag);
static inline uint32_t dirhash_hosts_hash_final(uint32_t crc) { return crc ? crc : 1; }

#endif
