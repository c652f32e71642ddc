/* SPDX-License-Identifier: MIT */
/* core/mysql.h: the MySQL/MariaDB driver of core/sql (client protocol 4.1: TLS on
 * core/tls, mysql_native_password and caching_sha2_password, text queries). The pool
 * reaches it through core/sql_drv.h; this header is for the fuzz target and unit tests:
 * the password scramble, and a socketless connection waiting for a query's answer. */
#ifndef CORE_MYSQL_H
#define CORE_MYSQL_H

#include <stddef.h>

/* The auth response of plugin ("mysql_native_password": 20 bytes,
 * "caching_sha2_password": 32) for password and the server's 20-byte scramble; 0 bytes
 * for an empty password. */
size_t mysql_scramble(const char *plugin, const char *password, const unsigned char *scramble,
    unsigned char out[32]);

struct mysql_conn;

/* A socketless connection that has sent a query (the next packet is number 1), or NULL. */
struct mysql_conn *mysql_test_new(void);
/* Parses every complete packet: the bytes used, or -1 when the server broke the
 * protocol. */
long mysql_test_feed(struct mysql_conn *, const unsigned char *data, size_t len);
/* "query", "ready" (the answer was complete), "failed: <why>". */
const char *mysql_test_state(struct mysql_conn *);
void mysql_test_free(struct mysql_conn *);

#endif
