/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmd_director.c: `doveadm director status [user [tag]]`, `dump` and
 * `ring status|add|remove`, as doveadm-director.c prints them (protocols.md §3.4):
 * the director's replies rendered through doveadm's formatters. */
#include <stdlib.h>
#include <string.h>

#include "applets/doveadm/cmd.h"
#include "applets/doveadm/dirclient.h"
#include "applets/doveadm/print.h"
#include "core/str.h"

/* Dovecot's str_to_time(): a decimal number (a leading '-' allowed). */
static int
str_to_time(const char *s, long long *t)
{
	const char *err;

	return str_to_num(s, -0x7fffffffffffffffLL, 0x7fffffffffffffffLL, t, &err);
}

static const struct cmdopt status_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 0, "user", CMDOPT_STR, 1 },
	{ 0, "tag", CMDOPT_STR, 1 },
};

static void
status_user(struct dir_conn *c, const char *user, const char *tag)
{
	struct strbuf cmd;
	size_t n;
	long long expires;
	char *line;

	/* the user goes out unescaped, as doveadm sends it */
	strbuf_init(&cmd, (size_t)-1);
	strbuf_printf(&cmd, "USER-LOOKUP\t%s\t%s", user, tag != NULL ? tag : "");
	if (cmd.error)
		dv_fatal("Out of memory");
	dirclient_send(c, cmd.s);
	strbuf_free(&cmd);
	if ((line = dirclient_read(c)) == NULL)
		return;
	char **f = dv_split_tabescaped(line, &n);
	if (n != 4 || str_to_time(f[1], &expires) < 0) {
		dv_error("Invalid reply from director");
		dir_fail(c, DOVEADM_EX_PROTOCOL);
		free(f);
		return;
	}
	print_init("formatted", 1, stdout);
	print_header_simple("status");
	print_header_simple("expires");
	print_header_simple("hashed");
	print_header_simple("initial-config");
	print_set_format("Current: %{status} (expires %{expires})\n"
	    "Hashed: %{hashed}\n"
	    "Initial config: %{initial-config}\n");
	if (f[0][0] != '\0') {
		print_value(f[0]);
		print_value(dirclient_unixdate(expires));
	} else {
		print_value("n/a");
		print_value("-1");
	}
	print_value(f[2]);
	print_value(f[3]);
	free(f);
}

static void
status_hosts(struct dir_conn *c)
{
	char *line;
	size_t n;
	long long ts;

	print_init("table", 1, stdout);
	print_header_simple("mail server ip");
	print_header_simple("tag");
	print_header_simple("vhosts");
	print_header_simple("state");
	print_header("state-changed", "state changed", 0);
	print_header_simple("users");
	dirclient_send(c, "HOST-LIST");
	while ((line = dirclient_read(c)) != NULL && *line != '\0') {
		char **f = dv_split_tabescaped(line, &n);
		/* ip vhosts users tag updown updown-ts */
		if (n >= 6) {
			print_value(f[0]);
			print_value(f[3]);
			print_value(f[1]);
			print_value(f[4][0] == 'D' ? "down" : "up");
			if (str_to_time(f[5], &ts) < 0 || ts <= 0)
				print_value("-");
			else
				print_value(dirclient_unixdate(ts));
			print_value(f[2]);
		}
		free(f);
	}
}

int
cmd_director_status(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	struct cmdopt_val v[3];
	struct dir_conn c;

	(void)cmd;
	if (dirclient_start(&c, ctx, argc, argv, status_opts, 3, v) < 0)
		return DOVEADM_EX_USAGE;
	if (v[1].set)
		status_user(&c, v[1].str, v[2].set ? v[2].str : NULL);
	else
		status_hosts(&c);
	cmdopt_free(v, 3);
	return dirclient_close(&c);
}

static const struct cmdopt socket_only_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
};

int
cmd_director_dump(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	struct cmdopt_val v[1];
	struct dir_conn c;
	char *line;
	size_t n;

	(void)cmd;
	if (dirclient_start(&c, ctx, argc, argv, socket_only_opts, 1, v) < 0)
		return DOVEADM_EX_USAGE;
	print_init("formatted", 1, stdout);
	print_set_format(c.explicit_path ?
	    "doveadm director %{command} -a %{socket-path} %{host} %{vhost_count}\n" :
	    "doveadm director %{command} %{host} %{vhost_count}\n");
	print_header_simple("command");
	print_header_simple("socket-path");
	print_header_simple("host");
	print_header_simple("vhost_count");

	dirclient_send(&c, "HOST-LIST");
	while ((line = dirclient_read(&c)) != NULL && *line != '\0') {
		char **f = dv_split_tabescaped(line, &n);
		if (n >= 2) {
			struct strbuf host;
			strbuf_init(&host, (size_t)-1);
			strbuf_puts(&host, f[0]);
			if (n >= 4 && f[3][0] != '\0')
				strbuf_printf(&host, "@%s", f[3]);
			if (host.error)
				dv_fatal("Out of memory");
			print_value("add");
			print_value(c.path);
			print_value(host.s);
			print_value(f[1]);
			strbuf_free(&host);
		}
		free(f);
	}
	/* doveadm asks for the removed hosts even when HOST-LIST broke off */
	dirclient_send(&c, "HOST-LIST-REMOVED");
	while ((line = dirclient_read(&c)) != NULL && *line != '\0') {
		print_value("remove");
		print_value(c.path);
		print_value(line);
		print_value("");
	}
	cmdopt_free(v, 1);
	return dirclient_close(&c);
}

int
cmd_director_ring_status(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc,
    char **argv)
{
	static const char *const titles[] = {
		"director ip", "port", "type", "last failed", "status", "ping ms", "input",
		"output", "buffered", "buffered peak", "last read", "last write",
	};
	struct cmdopt_val v[1];
	struct dir_conn c;
	char *line;
	size_t n, i;
	long long ts;

	(void)cmd;
	if (dirclient_start(&c, ctx, argc, argv, socket_only_opts, 1, v) < 0)
		return DOVEADM_EX_USAGE;
	print_init("table", 1, stdout);
	for (i = 0; i < 12; i++)
		print_header_simple(titles[i]);
	dirclient_send(&c, "DIRECTOR-LIST");
	while ((line = dirclient_read(&c)) != NULL && *line != '\0') {
		char **f = dv_split_tabescaped(line, &n);
		for (i = 0; i < 12 && i < n; i++) {
			/* last failed, last read, last write: times, if they are numbers */
			if ((i == 3 || i == 10 || i == 11) && str_to_time(f[i], &ts) == 0)
				print_value(ts == 0 ? "never" : dirclient_unixdate(ts));
			else
				print_value(f[i]);
		}
		for (; i < 12; i++)
			print_value("-");
		free(f);
	}
	cmdopt_free(v, 1);
	return dirclient_close(&c);
}

static const struct cmdopt ring_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 0, "ip", CMDOPT_STR, 1 },
	{ 0, "port", CMDOPT_STR, 1 },
};

/* net_str2port(): 1..65535, digits only */
static int
parse_port(const char *s, unsigned int *port)
{
	unsigned int p;

	if (dirclient_str_to_uint(s, &p) < 0 || p == 0 || p > 65535)
		return -1;
	*port = p;
	return 0;
}

static int
ring_cmd(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv,
    const char *verb)
{
	struct cmdopt_val v[3];
	struct dir_conn c;
	struct ip_addr ip;
	unsigned int port = 0;
	char ipstr[IP_ADDR_STRLEN], line[128];
	char *reply;

	if (dirclient_start(&c, ctx, argc, argv, ring_opts, 3, v) < 0)
		return DOVEADM_EX_USAGE;
	if (!v[1].set || ip_parse(v[1].str, &ip) < 0 ||
	    (v[2].set && parse_port(v[2].str, &port) < 0))
		dir_usage(cmd);
	ip_format(&ip, ipstr, sizeof(ipstr));
	if (port != 0)
		str_fmt(line, sizeof(line), "%s\t%s\t%u", verb, ipstr, port);
	else
		str_fmt(line, sizeof(line), "%s\t%s", verb, ipstr);
	dirclient_send(&c, line);
	if ((reply = dirclient_read(&c)) == NULL) {
		/* logged */
	} else if (strcmp(reply, "NOTFOUND") == 0) {
		dv_error("Not found");
		dir_fail(&c, DOVEADM_EX_NOTFOUND);
	} else if (strcmp(reply, "OK") != 0) {
		dv_error("Failed: %s", reply);
		dir_fail(&c, DOVEADM_EX_TEMPFAIL);
	}
	cmdopt_free(v, 3);
	return dirclient_close(&c);
}

int
cmd_director_ring_add(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc,
    char **argv)
{
	return ring_cmd(ctx, cmd, argc, argv, "DIRECTOR-ADD");
}

int
cmd_director_ring_remove(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc,
    char **argv)
{
	return ring_cmd(ctx, cmd, argc, argv, "DIRECTOR-REMOVE");
}
