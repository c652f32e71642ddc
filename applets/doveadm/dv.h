/* SPDX-License-Identifier: MIT */
/* applets/doveadm/dv.h: doveadm's ways of failing ("Error:"/"Fatal:" lines, exit codes
 * and glibc's error texts) and its socket helpers, as doveadm 2.3 has them (dv.c). */
#ifndef DOVEADM_DV_H
#define DOVEADM_DV_H

#include <stddef.h>

#include "core/dline.h"

struct doveadm_ctx;
struct doveadm_cmd;

/* "Error: MESSAGE" on stderr, as doveadm's i_error(). */
void dv_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "Fatal: MESSAGE" on stderr and exit 75, as doveadm's i_fatal(): what the formatter
 * had not written yet is lost, stdio is flushed. */
void dv_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* The same with another exit code (i_fatal_status()). */
void dv_fatal_status(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* "Warning: MESSAGE" and "Info: MESSAGE" on stderr (i_warning(), i_info()). */
void dv_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dv_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The command's usage line "doveadm NAME USAGE" on stderr and exit 64 (help_ver2()). */
void dv_usage(const struct doveadm_cmd *) __attribute__((noreturn));

/* strerror() with glibc's texts, which doveadm prints (musl words some differently). */
const char *dv_strerror(int errnum);

/* "<base_dir>/<name>", allocated (the caller frees it); out of memory is fatal. */
char *dv_socket_path(const struct doveadm_ctx *, const char *name);

/* Dovecot's net_connect_unix(): a connected, blocking UNIX socket, or -1 with errno
 * (ENAMETOOLONG when path does not fit in sun_path). */
int dv_connect_unix(const char *path);

/* doveadm_connect(): a path without '/' is "host:port" over TCP, anything else a UNIX
 * socket. Failing is fatal with doveadm's texts ("net_connect_unix(PATH) failed: ..."). */
int dv_connect(const char *path);

/* Dovecot's t_strsplit_tabescaped() in place: splits line on TAB, unescapes each
 * field and returns a NULL-terminated array (free() it; the strings are in line).
 * An empty line has no fields at all. Out of memory is fatal. */
char **dv_split_tabescaped(char *line, size_t *nfields);

/* The VERSION handshake of doveadm's admin-socket clients (director, replicator): sends
 * hello (with its LF), waits up to 5 s (doveadm's alarm) for the server's line and checks
 * that it starts with "VERSION\t<service>\t1\t". Failures are fatal with doveadm's texts:
 * read error or silence 75, hang-up 75, another service or major 76 ("PATH not a
 * compatible <kind> socket"). */
void dv_handshake(int fd, struct dline_reader *r, const char *path, const char *hello,
    const char *service, const char *kind);

/* Writes all of buf; 0, or -1 with errno. */
int dv_write_all(int fd, const void *buf, size_t len);

#endif
