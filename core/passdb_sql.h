/* SPDX-License-Identifier: MIT */
/* core/passdb_sql.h: Dovecot's passdb driver "sql": args is the path of a
 * dovecot-sql.conf.ext (driver, connect, password_query, default_pass_scheme; the
 * user_query, update_query, iterate_query and userdb_warning_disable of a userdb are
 * accepted and unused), password_query is expanded with the standard %-variables, each
 * value escaped for the connection's server, and the columns of the one row it returns
 * are the passdb's fields (NULL columns are left out; a "password" or
 * "password_noscheme" column must be there, NULL being allowed with nopassword).
 * Not for applets: core/passdb_drv.c is its only caller. */
#ifndef CORE_PASSDB_SQL_H
#define CORE_PASSDB_SQL_H

#include <stddef.h>

#include "core/passdb_req.h"

struct passdb_sql;
struct loop;

#ifdef MTOOL_WITH_SQL

/* Reads the file now (every error with file:line). NULL with the reason in eb. */
struct passdb_sql *passdb_sql_new(const char *args, char *eb, size_t el);
/* PASSDB_PENDING, then passdb_lookup_done() from the loop; or INTERNAL_FAILURE at once */
enum passdb_status passdb_sql_lookup(struct passdb_sql *, struct passdb_lookup *L);
void passdb_sql_cancel(struct passdb_sql *, struct passdb_lookup *L, int expired);
void passdb_sql_set_loop(struct passdb_sql *, struct loop *);
/* The auth cache key template (the query's variables, as Dovecot's) and the default
 * scheme of the passwords it returns. */
const char *passdb_sql_cache_key(const struct passdb_sql *, const char **scheme);
void passdb_sql_free(struct passdb_sql *);
#else
/* Feature SQL is out (mk/features.mk): core/passdb_drv.c never makes one, so the calls
 * below are never reached; these stand-ins let the driver switch compile. */
static inline struct passdb_sql *passdb_sql_new(const char *a, char *eb, size_t el)
{ (void)a; (void)eb; (void)el; return 0; }
static inline enum passdb_status passdb_sql_lookup(struct passdb_sql *s, struct passdb_lookup *L)
{ (void)s; (void)L; return PASSDB_INTERNAL_FAILURE; }
static inline void passdb_sql_cancel(struct passdb_sql *s, struct passdb_lookup *L, int e)
{ (void)s; (void)L; (void)e; }
static inline void passdb_sql_set_loop(struct passdb_sql *s, struct loop *l) { (void)s; (void)l; }
static inline const char *passdb_sql_cache_key(const struct passdb_sql *s, const char **scheme)
{ (void)s; (void)scheme; return 0; }
static inline void passdb_sql_free(struct passdb_sql *s) { (void)s; }
#endif

#endif
