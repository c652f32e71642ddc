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

#endif
