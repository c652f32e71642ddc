/* SPDX-License-Identifier: MIT */
/* core/sql.h: a pool of database connections as Dovecot's dovecot-sql.conf.ext describes
 * it ("connect = host=a host=b maxconns=5 dbname=... user=..."): each host= is a server
 * with up to maxconns connections (default 5), queries wait in one queue for an idle
 * connection of any host (failover), a failed host is tried again after a delay that
 * doubles from 1 s up to 30 min (Dovecot's SQL_CONNECT_MIN/MAX_DELAY) and starts over
 * once a connection has lived 15 s. Drivers (core/pgsql.c, core/mysql.c) speak the wire
 * protocols on the event loop; no client library.
 * Only what a passdb needs: one statement per query, the first row's values, a row count.
 * Not for applets' SQL of their own. */
#ifndef CORE_SQL_H
#define CORE_SQL_H

#include <stddef.h>

#include "core/varexpand.h"

struct loop;
struct sql_db;
struct sql_query;

/* Limits on what a server may send for one query: a bigger result is an error. */
#define SQL_FIELDS_MAX		64
#define SQL_ROW_MAX		(64 * 1024)	/* all values of the first row together */
#define SQL_MSG_MAX		(1024 * 1024)	/* one protocol message or packet */

/* A query's outcome. error NULL: it ran; names and values (the first row, NULL when
 * there was none; an element NULL is SQL NULL) are valid during the callback only. */
struct sql_result {
	const char *error;
	unsigned int nfields;
	const char *const *names;
	const char *const *values;
	unsigned long nrows;
};

typedef void sql_query_cb(const struct sql_result *, void *arg);

/* Writes the statement into out with escape for every value that goes inside quotes:
 * called when the query gets its connection, so that the escaping follows that
 * server's settings (PostgreSQL's standard_conforming_strings, MySQL's
 * NO_BACKSLASH_ESCAPES). Returns 0, or -1 (the query fails with *error). */
typedef int sql_build_fn(struct strbuf *out, var_escape_fn *escape, void *arg,
    const char **error);

/* driver "pgsql" or "mysql" with Dovecot's connect string. Returns NULL with the reason
 * in err (unknown driver or parameter, bad value, no host). Connections start with
 * sql_db_set_loop(). */
struct sql_db *sql_db_new(const char *driver, const char *connect, char *err, size_t errlen);
void sql_db_set_loop(struct sql_db *, struct loop *);
const char *sql_db_driver(const struct sql_db *);

/* Queues a query; cb runs once from the loop (never before this returns), unless the
 * query is aborted. A query whose connection breaks before its answer is sent again
 * once on another connection. Returns NULL only when out of memory. */
struct sql_query *sql_query(struct sql_db *, sql_build_fn *build, void *build_arg,
    sql_query_cb *cb, void *arg);

/* Forgets q: its callback will not run. close_conn 1: a statement already sent is
 * given up by closing its connection (a timeout: the server may be stuck); else the
 * connection reads the answer and throws it away. */
void sql_query_abort(struct sql_query *q, int close_conn);

/* Waiting queries fail with "Not connected to database". NULL is fine. */
void sql_db_free(struct sql_db *);

#endif
