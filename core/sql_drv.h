/* SPDX-License-Identifier: MIT */
/* core/sql_drv.h: what core/sql.c's pool and its wire-protocol drivers (core/pgsql.c,
 * core/mysql.c) say to each other. Not for applets, which use core/sql.h.
 *
 * A driver connection reports to its link from loop callbacks only: ready once (logged
 * in), a result per query sent, or failed once (then the pool closes it: the driver
 * returns at once without touching its state again). */
#ifndef CORE_SQL_DRV_H
#define CORE_SQL_DRV_H

#include <stddef.h>
#include <sys/socket.h>

#include "core/conn.h"
#include "core/sql.h"

struct sql_link;

/* One key=value of the connect string (host= and maxconns= are the pool's). */
struct sql_param {
	char *key;
	char *value;
};

/* Where a host= value points: an IP address (with the driver's port) or a UNIX socket. */
struct sql_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int is_unix;
	char name[128];		/* for logs: "127.0.0.1:5432" or the socket's path */
};

/* host as Dovecot's drivers take it: an IP address, "localhost" (127.0.0.1: no
 * resolver here) or a path (pgsql: the socket's directory, mysql: the socket itself;
 * unix_name is appended to a directory when not NULL). 0, or -1 with err. */
int sql_addr_parse(const char *host, unsigned int port, const char *unix_name,
    struct sql_addr *, char *err, size_t errlen);

struct sql_driver {
	const char *name;
	/* host (NULL: the driver's default) and the other params: settings or NULL with
	 * err (unknown key, bad value) */
	void *(*parse)(const char *host, const struct sql_param *, size_t n, char *err,
	    size_t errlen);
	void (*parse_free)(void *set);
	const char *(*host_name)(const void *set);
	/* starts connecting: the driver's connection, or NULL (out of memory, socket) */
	void *(*open)(struct sql_link *, const void *set, struct loop *);
	/* sends one statement; 0 or -1 (then failed follows) */
	int (*query)(void *dc, const char *sql, size_t len);
	/* the escaping this connection's server settings need */
	var_escape_fn *(*escape)(void *dc);
	void (*close)(void *dc);
};

extern const struct sql_driver pgsql_sql_driver;
extern const struct sql_driver mysql_sql_driver;

void sql_link_ready(struct sql_link *);
void sql_link_result(struct sql_link *, const struct sql_result *);
void sql_link_failed(struct sql_link *, const char *error);

/* What the drivers share for their connections (core/conn.h): connecting to a (with
 * TCP_NODELAY: each message is one write and waits for its answer, so Nagle's algorithm
 * would only add the server's delayed ACK), the failure an event means ("the server
 * closed the connection" ...; NULL for CONNECTED, DATA and DRAINED), and one message
 * written at once from up to three parts. */
struct conn *sql_connect(struct loop *, const struct sql_addr *a, conn_cb *, void *arg);
const char *sql_conn_failure(struct conn *, enum conn_event);
void sql_write(struct conn *, const void *head, size_t hlen, const void *a, size_t alen,
    const void *b, size_t blen);

/* Control characters become spaces: a server's text goes to log lines. */
void sql_one_line(char *s);

/* Single quotes doubled: PostgreSQL with standard_conforming_strings, MySQL with
 * NO_BACKSLASH_ESCAPES. */
void sql_escape_quotes(struct strbuf *out, const char *v, size_t len);

/* Trust anchors from ca_file and/or ca_dir (both NULL: the system store) and an optional
 * client certificate (cert_file and key_file, PEM), for a driver's TLS. NULL with err. */
struct tls_client;
struct tls_client *sql_tls_client(const char *ca_file, const char *ca_dir,
    const char *cert_file, const char *key_file, char *err, size_t errlen);

/* For drivers' log lines: "pgsql(127.0.0.1:5432)". */
const char *sql_link_name(const struct sql_link *);

/* Collects a result's column names, the first row and the row count within the
 * limits of core/sql.h; shared by the drivers. */
struct sql_rows {
	unsigned int nfields;
	char *names[SQL_FIELDS_MAX];
	char *values[SQL_FIELDS_MAX];
	unsigned long nrows;
	size_t row_bytes;
	int have_row;
};
/* 0, or -1 with *error (too many columns, out of memory) */
int sql_rows_field(struct sql_rows *, const char *name, size_t len, const char **error);
/* value NULL: SQL NULL. Only the first row is kept; later ones are counted. 0 or -1. */
int sql_rows_value(struct sql_rows *, unsigned int col, const char *value, size_t len,
    const char **error);
void sql_rows_end_row(struct sql_rows *);
void sql_rows_result(const struct sql_rows *, struct sql_result *);
void sql_rows_clear(struct sql_rows *);

#endif
