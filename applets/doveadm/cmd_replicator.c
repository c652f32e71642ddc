/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmd_replicator.c: `doveadm replicator status [mask]`, `dsync-status`,
 * `replicate [-f] [-p prio] mask`, `add mask`, `remove user`, as doveadm-replicator.c
 * (replicator.md §2.3): the replicator-doveadm socket of replicatord or of Dovecot's
 * replicator, its replies rendered through doveadm's formatters. Like doveadm, replies
 * are split on TAB without unescaping, and a per-user line needs its 6 fields (a 7th,
 * from 2.3.20+ replicators, is ignored as 2.3.19 does). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "applets/doveadm/cmd.h"
#include "applets/doveadm/cmdopt.h"
#include "applets/doveadm/doveadm.h"
#include "applets/doveadm/print.h"
#include "core/str.h"
#include "core/tab.h"

#define REPL_HANDSHAKE		"VERSION\treplicator-doveadm-client\t1\t0\n"
#define REPL_FIELDS_MAX		16

struct repl_conn {
	char *path;
	struct dline_reader r;
};

static const struct cmdopt socket_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 0, "mask", CMDOPT_STR, 1 },
};

static const struct cmdopt replicate_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 0, "mask", CMDOPT_STR, 1 },
	{ 'f', "full-sync", CMDOPT_BOOL, 0 },
	{ 'p', "priority", CMDOPT_STR, 0 },
};

static void
rc_send(struct repl_conn *c, const char *data, size_t len)
{
	if (dv_write_all(c->r.fd, data, len) < 0)
		dv_fatal("write(%s) failed: %s", c->path, dv_strerror(errno));
}

/* Options, then the connection and the handshake: doveadm connects before it looks at
 * its operands. */
static int
rc_start(struct repl_conn *c, struct doveadm_ctx *ctx, int argc, char **argv,
    const struct cmdopt *opts, size_t nopts, struct cmdopt_val *v)
{
	if (cmdopt_parse(argc, argv, opts, nopts, v) < 0)
		return -1;
	if (v[0].set) {
		if ((c->path = strdup(v[0].str)) == NULL)
			dv_fatal("Out of memory");
	} else {
		c->path = dv_socket_path(ctx, "replicator-doveadm");
	}
	int fd = dv_connect(c->path);
	dline_reader_init(&c->r, fd);
	dv_handshake(fd, &c->r, c->path, REPL_HANDSHAKE, "replicator-doveadm-server",
	    "replicator-doveadm");
	return 0;
}

/* The next reply line, NULL at EOF; a read error is fatal when the connection closes,
 * as replicator_disconnect() does. */
static char *
rc_read(struct repl_conn *c, int *read_errno)
{
	char *line;
	int ret = dline_reader_line(&c->r, &line, -1);
	if (ret == 1)
		return line;
	if (ret < 0 && *read_errno == 0)
		*read_errno = errno ? errno : EIO;
	return NULL;
}

static int
rc_close(struct repl_conn *c, int read_errno, int exit_code)
{
	if (read_errno != 0)
		dv_fatal("read(%s) failed: %s", c->path, dv_strerror(read_errno));
	dline_reader_free(&c->r);
	free(c->path);
	return exit_code;
}

/* Dovecot's str_to_time(): a decimal number, a leading '-' allowed. */
static int
str_to_time(const char *s, long long *t)
{
	const char *err;
	return str_to_num(s, -0x7fffffffffffffffLL, 0x7fffffffffffffffLL, t, &err);
}

/* time_ago(): elapsed H:M:S against our clock, in int as doveadm computes it; the
 * subtraction wraps as doveadm's does instead of overflowing on a server's absurd time */
static const char *
time_ago(long long t, char *buf, size_t len)
{
	if (t == 0)
		return "-";
	int diff = (int)(long long)((unsigned long long)time(NULL) - (unsigned long long)t);
	str_fmt(buf, len, "%02d:%02d:%02d", diff / 3600, (diff / 60) % 60, diff % 60);
	return buf;
}

/* t_strsplit_tab(): fields as they are, no unescaping */
static size_t
split_raw(char *line, char **f, size_t max)
{
	size_t n = 0;
	for (;;) {
		if (n < max)
			f[n] = line;
		n++;
		char *tab = strchr(line, '\t');
		if (tab == NULL)
			break;
		*tab = '\0';
		line = tab + 1;
	}
	return n;
}

static int
status_overview(struct repl_conn *c)
{
	char *line;
	int rerr = 0;

	print_init("table", 1, stdout);
	print_header("field", "field", PRINT_HIDE_TITLE);
	print_header("value", "value", PRINT_HIDE_TITLE);
	rc_send(c, "STATUS\n", 7);
	while ((line = rc_read(c, &rerr)) != NULL && *line != '\0') {
		char *value = strchr(line, '\t');
		if (value != NULL)
			*value++ = '\0';
		print_value(line);
		print_value(value != NULL ? value : "");
	}
	return rc_close(c, rerr, 0);
}

int
cmd_replicator_status(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	struct cmdopt_val v[2];
	struct repl_conn c;
	struct strbuf sb;
	char *line, *f[REPL_FIELDS_MAX], t[3][32];
	long long fast, full, success;
	int rerr = 0, code = 0;

	(void)cmd;
	if (rc_start(&c, ctx, argc, argv, socket_opts, 2, v) < 0)
		return DOVEADM_EX_USAGE;
	if (!v[1].set) {
		cmdopt_free(v, 2);
		return status_overview(&c);
	}
	print_init("table", 1, stdout);
	print_header("username", "username", PRINT_EXPAND);
	print_header_simple("priority");
	print_header_simple("fast sync");
	print_header_simple("full sync");
	print_header_simple("success sync");
	print_header_simple("failed");
	strbuf_init(&sb, (size_t)-1);
	strbuf_puts(&sb, "STATUS\t");
	tab_escape(&sb, v[1].str);
	strbuf_putc(&sb, '\n');
	if (sb.error)
		dv_fatal("Out of memory");
	rc_send(&c, sb.s, sb.len);
	strbuf_free(&sb);
	cmdopt_free(v, 2);
	while ((line = rc_read(&c, &rerr)) != NULL && *line != '\0') {
		size_t n = split_raw(line, f, REPL_FIELDS_MAX);
		if (n >= 6 && str_to_time(f[2], &fast) == 0 && str_to_time(f[3], &full) == 0 &&
		    str_to_time(f[5], &success) == 0) {
			print_value(f[0]);
			print_value(f[1]);
			print_value(time_ago(fast, t[0], sizeof(t[0])));
			print_value(time_ago(full, t[1], sizeof(t[1])));
			print_value(time_ago(success, t[2], sizeof(t[2])));
			print_value(f[4][0] == '0' ? "-" : "y");
		}
	}
	if (line == NULL) {
		dv_error("Replicator disconnected unexpectedly");
		code = DOVEADM_EX_TEMPFAIL;
	}
	return rc_close(&c, rerr, code);
}

int
cmd_replicator_dsync_status(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc,
    char **argv)
{
	struct cmdopt_val v[1];
	struct repl_conn c;
	char *line, *f[REPL_FIELDS_MAX];
	int rerr = 0;

	(void)cmd;
	if (rc_start(&c, ctx, argc, argv, socket_opts, 1, v) < 0)
		return DOVEADM_EX_USAGE;
	cmdopt_free(v, 1);
	print_init("table", 1, stdout);
	print_header("username", "username", PRINT_EXPAND);
	print_header_simple("type");
	print_header_simple("status");
	rc_send(&c, "STATUS-DSYNC\n", 13);
	while ((line = rc_read(&c, &rerr)) != NULL && *line != '\0') {
		size_t n = split_raw(line, f, REPL_FIELDS_MAX), i;
		for (i = 0; i < 3 && i < n; i++)
			print_value(f[i]);
		for (; i < 3; i++)
			print_value("");
	}
	return rc_close(&c, rerr, 0);
}

/* One command line, one reply line: "+..." or "-<error>". */
static int
one_line(struct repl_conn *c, const char *cmdline, size_t len, int print_count)
{
	char *line, buf[256];
	int rerr = 0, code = 0;

	rc_send(c, cmdline, len);
	if (print_count) {
		print_init("flow", 1, stdout);
		print_header("result", "result", PRINT_HIDE_TITLE);
	}
	if ((line = rc_read(c, &rerr)) == NULL) {
		dv_error("Replicator disconnected unexpectedly");
		code = DOVEADM_EX_TEMPFAIL;
	} else if (line[0] != '+') {
		dv_error("Replicator failed: %s", line[0] ? line + 1 : "");
		code = DOVEADM_EX_USAGE;
	} else if (print_count) {
		str_fmt(buf, sizeof(buf), "%s users updated", line + 1);
		print_value(buf);
	}
	return rc_close(c, rerr, code);
}

static int
simple_cmd(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv,
    const char *verb)
{
	struct cmdopt_val v[2];
	struct repl_conn c;
	struct strbuf sb;

	/* doveadm's usage check looks at argv[1] before any option is parsed */
	if (argc < 2)
		dv_usage(cmd);
	if (rc_start(&c, ctx, argc, argv, socket_opts, 2, v) < 0)
		return DOVEADM_EX_USAGE;
	if (!v[1].set)
		dv_usage(cmd);
	strbuf_init(&sb, (size_t)-1);
	strbuf_printf(&sb, "%s\t", verb);
	tab_escape(&sb, v[1].str);
	strbuf_putc(&sb, '\n');
	if (sb.error)
		dv_fatal("Out of memory");
	cmdopt_free(v, 2);
	int r = one_line(&c, sb.s, sb.len, 0);
	strbuf_free(&sb);
	return r;
}

int
cmd_replicator_add(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	return simple_cmd(ctx, cmd, argc, argv, "ADD");
}

int
cmd_replicator_remove(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc,
    char **argv)
{
	return simple_cmd(ctx, cmd, argc, argv, "REMOVE");
}

int
cmd_replicator_replicate(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc,
    char **argv)
{
	struct cmdopt_val v[4];
	struct repl_conn c;
	struct strbuf sb;

	if (argc < 2)
		dv_usage(cmd);
	if (rc_start(&c, ctx, argc, argv, replicate_opts, 4, v) < 0)
		return DOVEADM_EX_USAGE;
	if (!v[1].set)
		dv_usage(cmd);
	strbuf_init(&sb, (size_t)-1);
	strbuf_puts(&sb, "REPLICATE\t");
	tab_escape(&sb, v[3].set ? v[3].str : "low");
	strbuf_puts(&sb, v[2].set ? "\tf\t" : "\t\t");
	tab_escape(&sb, v[1].str);
	strbuf_putc(&sb, '\n');
	if (sb.error)
		dv_fatal("Out of memory");
	cmdopt_free(v, 4);
	int r = one_line(&c, sb.s, sb.len, 1);
	strbuf_free(&sb);
	return r;
}
