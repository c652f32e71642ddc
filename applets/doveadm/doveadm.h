/* SPDX-License-Identifier: MIT */
/* applets/doveadm/doveadm.h: what doveadm's command files share: the global options,
 * the command table row, and doveadm's ways of failing (its "Error:"/"Fatal:" lines,
 * exit codes and error texts). Not a library for other applets. */
#ifndef DOVEADM_H
#define DOVEADM_H

#include <stddef.h>

#include "core/dline.h"

/* doveadm's documented exit codes (sysexits.h values, as Dovecot uses them) */
#define DOVEADM_EX_OK		0
#define DOVEADM_EX_USAGE	64
#define DOVEADM_EX_DATAERR	65
#define DOVEADM_EX_NOUSER	67
#define DOVEADM_EX_NOTFOUND	68
#define DOVEADM_EX_TEMPFAIL	75	/* also what a "Fatal:" error exits with */
#define DOVEADM_EX_PROTOCOL	76
#define DOVEADM_EX_NOPERM	77

struct doveadm_ctx {
	int debug;
	int verbose;
	int hide_titles;
	const char *formatter;	/* -f, or NULL for the command's default */
	const char *conf_path;	/* -c */
	char **overrides;	/* -o, in order */
	int noverrides;
	const char *base_dir;	/* from -o base_dir, the config, or MTOOL_BASE_DIR */
	const char *director_username_hash;	/* the same way; default "%Lu" */
};

/* A command. run() gets argv[0] = the last word of the name ("list" for "proxy list"),
 * which is what getopt error lines start with in doveadm, and returns the exit code. */
struct doveadm_cmd {
	const char *name;	/* words, "proxy list" */
	int (*run)(struct doveadm_ctx *, const struct doveadm_cmd *, int argc, char **argv);
	const char *usage;	/* what follows the name, as doveadm prints it */
};

/* The commands, one file each. */
int cmd_proxy_list(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_proxy_kick(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_who(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_kick(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_auth_cache_flush(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_log_reopen(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
/* the director commands: see director.h; the replicator commands: replicator.c */
int cmd_replicator_add(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_replicator_dsync_status(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_replicator_remove(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_replicator_replicate(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_replicator_status(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);

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
