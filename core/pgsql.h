/* SPDX-License-Identifier: MIT */
/* core/pgsql.h: the PostgreSQL driver of core/sql (frontend/backend protocol 3.0: startup,
 * SSLRequest and TLS on core/tls, cleartext, md5 and SCRAM-SHA-256 authentication, simple
 * query). The pool reaches it through core/sql_drv.h; this header is the message parser's
 * entry for the fuzz target and unit tests: a connection without a socket, already logged
 * in and waiting for a query's answer. */
#ifndef CORE_PGSQL_H
#define CORE_PGSQL_H

#include <stddef.h>

struct pgsql_conn;

/* A socketless connection in the "query sent" state, or NULL (out of memory). */
struct pgsql_conn *pgsql_test_new(void);
/* Parses every complete message in data: the bytes used, or -1 when the server broke
 * the protocol (the connection would be closed). The result, when complete, goes
 * nowhere; pgsql_test_state() tells how far the parser got. */
long pgsql_test_feed(struct pgsql_conn *, const unsigned char *data, size_t len);
/* "query", "ready", "failed: <why>" (valid until the next call). */
const char *pgsql_test_state(struct pgsql_conn *);
void pgsql_test_free(struct pgsql_conn *);

#endif
