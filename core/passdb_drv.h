/* SPDX-License-Identifier: MIT */
/* core/passdb_drv.h: the passdb drivers behind core/passdb's chain: passwd-file, static,
 * sql (core/passdb_sql.h), ldap (core/passdb_ldap.h) and those of the driver table
 * (struct passdb_drv_ops below: auth, core/passdb_auth.h).
 * Not for applets, which use core/passdb.h; the chain's rules live in core/passdb.c. */
#ifndef CORE_PASSDB_DRV_H
#define CORE_PASSDB_DRV_H

#include <stddef.h>

#include "core/passdb_req.h"

struct passdb_drv;

/* A driver ("passwd-file", "static", "sql", "ldap" or one of the table) set up from args as
 * passdb_chain_add() describes them; a passwd-file without variables in its path is read
 * now (problems are logged, not fatal). Returns NULL with the reason in errbuf. */
struct passdb_drv *passdb_drv_new(const char *driver, const char *args, char *errbuf,
    size_t errlen);

/* The driver's name ("passwd-file", "static", "sql", "ldap", "auth"), for log prefixes. */
const char *passdb_drv_name(const struct passdb_drv *);

/* Looks L->req up for L's current user: sets the passdb's fields and stored password
 * through passdb_set_field() and checks the password with passdb_verify_password().
 * Returns OK, PASSWORD_MISMATCH, USER_UNKNOWN or INTERNAL_FAILURE (L->failed is the
 * caller's to apply). */
enum passdb_status passdb_drv_lookup(struct passdb_drv *, struct passdb_lookup *L);

/* Asynchronous drivers answer PASSDB_PENDING and later call passdb_lookup_done(). */

/* Gives up L's work under way (the lookup is cancelled, or timed out: expired 1). */
void passdb_drv_cancel(struct passdb_drv *, struct passdb_lookup *L, int expired);

/* The loop for drivers that wait on the network (see passdb_chain_set_loop). */
struct loop;
void passdb_drv_set_loop(struct passdb_drv *, struct loop *);

/* The auth cache key template of a driver whose answers are worth caching (sql), with
 * the default scheme of its passwords; NULL for the others. */
const char *passdb_drv_cache_key(const struct passdb_drv *, const char **scheme);

/* NULL is fine. */
void passdb_drv_free(struct passdb_drv *);

/* A driver that lives in its own files and is listed in core/passdb_drv.c's table:
 * lookup answers as passdb_drv_lookup() does (PASSDB_PENDING, then passdb_lookup_done()),
 * cancel as passdb_drv_cancel(). */
struct passdb_drv_ops {
	const char *name;
	void *(*create)(const char *args, char *eb, size_t el);
	enum passdb_status (*lookup)(void *db, struct passdb_lookup *L);
	void (*cancel)(void *db, struct passdb_lookup *L, int expired);
	void (*set_loop)(void *db, struct loop *);
	void (*destroy)(void *db);
};

#endif
