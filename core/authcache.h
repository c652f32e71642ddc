/* SPDX-License-Identifier: MIT */
/* core/authcache.h: Dovecot's passdb cache (auth_cache_size, auth_cache_ttl,
 * auth_cache_negative_ttl): answers by key, a positive entry holding the fields a passdb
 * set (its password among them) and whether the last login with it succeeded, a negative
 * one saying "user unknown". Size is counted in bytes of keys and values, the least
 * recently used entries go first. Not the policy (what is cached when, what a hit means):
 * core/passdb.c decides that as Dovecot's passdb-cache.c does. */
#ifndef CORE_AUTHCACHE_H
#define CORE_AUTHCACHE_H

#include <stddef.h>
#include <stdint.h>

struct authcache;

struct authcache_field {
	char *key;
	char *value;	/* NULL: set without a value */
};

struct authcache_entry {
	int negative;			/* the user was unknown */
	int last_success;		/* the last password checked against it was right */
	int expired;			/* older than its ttl (kept for a fallback) */
	int64_t created;
	const struct authcache_field *fields;
	size_t nfields;
};

#ifdef MTOOL_WITH_AUTH_CACHE
/* max_bytes 0 disables the cache (NULL is returned). */
struct authcache *authcache_new(size_t max_bytes, unsigned int ttl_s, unsigned int negative_ttl_s);

/* The entry for key, or NULL. An expired entry is returned with expired set (Dovecot
 * falls back to it when the passdb fails). Valid until the next call on the cache. */
const struct authcache_entry *authcache_get(struct authcache *, const char *key, int64_t now);

/* Stores (or replaces) key for user (the login name, for flushing by user). Entries
 * larger than a tenth of the cache are not stored. */
void authcache_put(struct authcache *, const char *key, const char *user, int negative,
    int last_success, const struct authcache_field *fields, size_t nfields, int64_t now);

/* Marks key's entry as having failed a password check (last_success = 0). */
void authcache_set_failed(struct authcache *, const char *key);

/* Drops every entry (users NULL) or those of the given login names; returns how many. */
unsigned int authcache_flush(struct authcache *, const char *const *users, size_t nusers);

size_t authcache_bytes(const struct authcache *);
void authcache_free(struct authcache *);
#else
/* Feature AUTH_CACHE is out (mk/features.mk): the auth_cache_* settings are refused, so
 * there is never a cache; these stand-ins keep core/passdb.c's calls compiling. */
static inline struct authcache *
authcache_new(size_t max_bytes, unsigned int ttl_s, unsigned int negative_ttl_s)
{
	(void)max_bytes, (void)ttl_s, (void)negative_ttl_s;
	return (struct authcache *)0;
}
static inline const struct authcache_entry *
authcache_get(struct authcache *c, const char *key, int64_t now)
{
	(void)c, (void)key, (void)now;
	return (const struct authcache_entry *)0;
}
static inline void
authcache_put(struct authcache *c, const char *key, const char *user, int negative,
    int last_success, const struct authcache_field *fields, size_t nfields, int64_t now)
{
	(void)c, (void)key, (void)user, (void)negative, (void)last_success, (void)fields;
	(void)nfields, (void)now;
}
static inline void authcache_set_failed(struct authcache *c, const char *k) { (void)c, (void)k; }
static inline unsigned int
authcache_flush(struct authcache *c, const char *const *users, size_t nusers)
{
	(void)c, (void)users, (void)nusers;
	return 0;
}
static inline size_t authcache_bytes(const struct authcache *c) { (void)c; return 0; }
static inline void authcache_free(struct authcache *c) { (void)c; }
#endif

#endif
