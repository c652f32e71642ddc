/* SPDX-License-Identifier: MIT */
/* applets/doveadm/dirclient.h: what the `doveadm director ...` command files share: the
 * client side of the director-doveadm protocol (protocols.md §3) as doveadm 2.3 speaks
 * it, with its texts and exit codes, host name resolution and the user hash. The
 * server is directord's (or Dovecot's director). */
#ifndef DOVEADM_DIRCLIENT_H
#define DOVEADM_DIRCLIENT_H

#include <stdint.h>

#include "applets/doveadm/cmdopt.h"
#include "applets/doveadm/doveadm.h"
#include "core/ip.h"

/* Every director command's parameter table starts with these rows, in this order. */
enum { DIR_OPT_SOCKET, DIR_OPT_FIRST_OWN };

struct dir_conn {
	char *path;		/* -a, or <base_dir>/director-admin */
	int explicit_path;	/* -a given: `dump` repeats it */
	struct dline_reader r;
	int connected;
	int read_errno;		/* a read failed: fatal when the connection closes */
	int exit_code;		/* doveadm_exit_code: the last error's */
};

/* Sets up c from the -a value (NULL for base_dir's socket). */
void dirclient_init(struct dir_conn *c, struct doveadm_ctx *ctx, const char *socket_opt);

/* A command's start: parses its options into v (row 0 is -a; -1 after the parse error
 * was printed: exit 64), then dirclient_init() and dirclient_connect(). */
int dirclient_start(struct dir_conn *c, struct doveadm_ctx *ctx, int argc, char **argv,
    const struct cmdopt *opts, size_t nopts, struct cmdopt_val *v);

/* Sends "VERB\tIP<suffix>" for every address, then reads one reply per address: OK
 * (-v: "Info: IP: DONE"), NOTFOUND ("IP: doesn't exist", exit notfound_exit; 68 only
 * if no error came first) or another line ("IP: LINE", exit 75), logged with log
 * (dv_error or dv_warning). */
void dirclient_per_ip(struct doveadm_ctx *ctx, struct dir_conn *c, const struct ip_addr *ips,
    size_t nips, const char *verb, const char *suffix, int notfound_exit,
    void (*log)(const char *fmt, ...), const char *done);

/* Connects and does the VERSION handshake; failures are fatal with doveadm's texts
 * (unreachable socket 75, silent for 5 s 75, wrong VERSION 76). */
void dirclient_connect(struct dir_conn *c);

/* Sends one line (LF added); a failed write is fatal. */
void dirclient_send(struct dir_conn *c, const char *line);

/* The next reply line (valid until the next read), or NULL when the director closed the
 * connection or the read failed: then "Error: PATH unexpectedly disconnected" (or the
 * read error) is logged and the exit code is 75, as director_disconnected(). */
char *dirclient_read(struct dir_conn *c);

/* Closes the connection (fatal if a read had failed) and frees c. Returns the exit
 * code the errors set (0 if none). */
int dirclient_close(struct dir_conn *c);

/* Records an exit code, as doveadm_exit_code = code. */
static inline void dir_fail(struct dir_conn *c, int code) { c->exit_code = code; }

/* director_get_host(): an address literal, else every address the name resolves to, in
 * getaddrinfo()'s order. Returns the count (> 0, *ips allocated), or 0 after logging
 * "Error: gethostname(HOST) failed: ..." with exit code 75. */
size_t dirclient_get_host(struct dir_conn *c, const char *host, struct ip_addr **ips);

/* The user hash with doveadm's director_username_hash setting (default "%Lu"); on a
 * format it cannot expand logs doveadm's error and returns -1. */
int dirclient_user_hash(struct doveadm_ctx *ctx, const char *user, uint32_t *hash);

/* Dovecot's str_to_uint(): digits only, no sign, fits 32 bits. 0, or -1. */
int dirclient_str_to_uint(const char *s, unsigned int *out);

/* unixdate2str(): the local time "YYYY-MM-DD HH:MM:SS" (in a static buffer). */
const char *dirclient_unixdate(long long t);

/* The usage line of the command (exit 64); what doveadm's director_cmd_help() does. */
#define dir_usage(cmd) dv_usage(cmd)

#endif
