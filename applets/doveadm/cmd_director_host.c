/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmd_director_host.c: the `doveadm director` commands that change state:
 * add, update, up, down, remove, move, kick, flush. As doveadm-director.c: the host is
 * resolved here and one command goes out per address, then one reply is read per
 * command; nothing is printed on success except -v's "Info:" lines. */
#include <stdlib.h>
#include <string.h>

#include "applets/doveadm/cmd.h"
#include "applets/doveadm/dirclient.h"
#include "core/str.h"
#include "core/tab.h"

static void
send_fmt(struct dir_conn *c, struct strbuf *sb)
{
	if (sb->error)
		dv_fatal("Out of memory");
	dirclient_send(c, sb->s);
	strbuf_truncate(sb, 0);
}

static const struct cmdopt add_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 't', "tag", CMDOPT_STR, 0 },
	{ 0, "host", CMDOPT_STR, 1 },
	{ 0, "vhost-count", CMDOPT_STR, 1 },
};

static const struct cmdopt update_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 0, "host", CMDOPT_STR, 1 },
	{ 0, "vhost-count", CMDOPT_STR, 1 },
};

/* HOST-SET / HOST-UPDATE "ip[@tag][\tvhosts]" for every address of the host */
static int
add_or_update(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv,
    int update)
{
	const struct cmdopt *opts = update ? update_opts : add_opts;
	size_t nopts = update ? 3 : 4, nips;
	struct cmdopt_val v[4];
	struct dir_conn c;
	struct ip_addr *ips;
	unsigned int vhosts = 0, num;
	int have_vhosts = 0;
	struct strbuf suffix;

	if (dirclient_start(&c, ctx, argc, argv, opts, nopts, v) < 0)
		return DOVEADM_EX_USAGE;
	const struct cmdopt_val *vtag = update ? NULL : &v[1];
	const struct cmdopt_val *vhost = &v[nopts - 2], *vcount = &v[nopts - 1];

	const char *tag = vtag != NULL && vtag->set && vtag->str[0] != '\0' ? vtag->str : NULL;
	if (!vhost->set)
		dir_usage(cmd);
	if (vcount->set) {
		if (dirclient_str_to_uint(vcount->str, &vhosts) < 0)
			dir_usage(cmd);
		have_vhosts = 1;
	} else if (update) {
		dir_usage(cmd);
	}
	if (dirclient_str_to_uint(vhost->str, &num) == 0) {
		/* a number would be read as an address: a mistake, as doveadm says */
		dv_error("Invalid host '%s'", vhost->str);
		dir_usage(cmd);
	}
	char *host = strdup(vhost->str);
	if (host == NULL)
		dv_fatal("Out of memory");
	if (tag == NULL) {
		char *at = strchr(host, '@');
		if (at != NULL) {
			*at = '\0';
			tag = vhost->str + (at - host) + 1;
		}
	}
	nips = dirclient_get_host(&c, host, &ips);
	free(host);
	strbuf_init(&suffix, (size_t)-1);
	if (tag != NULL)
		strbuf_printf(&suffix, "@%s", tag);
	if (have_vhosts)
		strbuf_printf(&suffix, "\t%u", vhosts);
	if (suffix.error)
		dv_fatal("Out of memory");
	/* here an unknown host is a failure like any other (exit 75) */
	dirclient_per_ip(ctx, &c, ips, nips, update ? "HOST-UPDATE" : "HOST-SET", suffix.s,
	    DOVEADM_EX_TEMPFAIL, dv_error, "OK");
	strbuf_free(&suffix);
	if (nips > 0)
		free(ips);
	cmdopt_free(v, nopts);
	return dirclient_close(&c);
}

int
cmd_director_add(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	return add_or_update(ctx, cmd, argc, argv, 0);
}

int
cmd_director_update(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc,
    char **argv)
{
	return add_or_update(ctx, cmd, argc, argv, 1);
}

static const struct cmdopt host_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 0, "host", CMDOPT_STR, 1 },
};

/* HOST-UP / HOST-DOWN / HOST-REMOVE for every address of the host */
static int
host_cmd(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv,
    const char *verb, const char *done)
{
	struct cmdopt_val v[2];
	struct dir_conn c;
	struct ip_addr *ips;
	size_t nips;

	if (dirclient_start(&c, ctx, argc, argv, host_opts, 2, v) < 0)
		return DOVEADM_EX_USAGE;
	if (!v[1].set)
		dir_usage(cmd);
	nips = dirclient_get_host(&c, v[1].str, &ips);
	dirclient_per_ip(ctx, &c, ips, nips, verb, "", DOVEADM_EX_NOTFOUND, dv_error, done);
	if (nips > 0)
		free(ips);
	cmdopt_free(v, 2);
	return dirclient_close(&c);
}

int
cmd_director_up(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	return host_cmd(ctx, cmd, argc, argv, "HOST-UP", "up");
}

int
cmd_director_down(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	return host_cmd(ctx, cmd, argc, argv, "HOST-DOWN", "down");
}

int
cmd_director_remove(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc,
    char **argv)
{
	return host_cmd(ctx, cmd, argc, argv, "HOST-REMOVE", "removed");
}

static const struct cmdopt move_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 0, "user", CMDOPT_STR, 1 },
	{ 0, "host", CMDOPT_STR, 1 },
};

int
cmd_director_move(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	struct cmdopt_val v[3];
	struct dir_conn c;
	struct ip_addr *ips;
	uint32_t hash;
	char ipstr[IP_ADDR_STRLEN], line[128];
	char *reply;

	if (dirclient_start(&c, ctx, argc, argv, move_opts, 3, v) < 0)
		return DOVEADM_EX_USAGE;
	if (!v[1].set || !v[2].set)
		dir_usage(cmd);
	/* the hash is doveadm's (its director_username_hash), the address the first one */
	if (dirclient_user_hash(ctx, v[1].str, &hash) < 0 || dirclient_get_host(&c, v[2].str, &ips) == 0)
		goto out;
	ip_format(&ips[0], ipstr, sizeof(ipstr));
	free(ips);
	str_fmt(line, sizeof(line), "USER-MOVE\t%u\t%s", (unsigned int)hash, ipstr);
	dirclient_send(&c, line);
	if ((reply = dirclient_read(&c)) == NULL) {
		/* logged */
	} else if (strcmp(reply, "OK") == 0) {
		if (ctx->verbose)
			dv_info("User hash %u moved to %s", (unsigned int)hash, ipstr);
	} else if (strcmp(reply, "NOTFOUND") == 0) {
		dv_error("Host '%s' doesn't exist", ipstr);
		dir_fail(&c, DOVEADM_EX_NOTFOUND);
	} else if (strcmp(reply, "TRYAGAIN") == 0) {
		dv_error("User is already being moved, wait a while for it to be finished");
		dir_fail(&c, DOVEADM_EX_TEMPFAIL);
	} else {
		dv_error("failed: %s", reply);
		dir_fail(&c, DOVEADM_EX_TEMPFAIL);
	}
out:
	cmdopt_free(v, 3);
	return dirclient_close(&c);
}

static const struct cmdopt kick_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 'f', "passdb-field", CMDOPT_STR, 0 },
	{ 0, "user", CMDOPT_STR, 1 },
};

int
cmd_director_kick(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	struct cmdopt_val v[3];
	struct dir_conn c;
	struct strbuf sb;
	char *reply;

	if (dirclient_start(&c, ctx, argc, argv, kick_opts, 3, v) < 0)
		return DOVEADM_EX_USAGE;
	if (!v[2].set)
		dir_usage(cmd);
	strbuf_init(&sb, (size_t)-1);
	if (v[1].set) {
		strbuf_puts(&sb, "USER-KICK-ALT\t");
		tab_escape(&sb, v[1].str);
		strbuf_putc(&sb, '\t');
	} else {
		strbuf_puts(&sb, "USER-KICK\t");
	}
	tab_escape(&sb, v[2].str);
	send_fmt(&c, &sb);
	strbuf_free(&sb);
	if ((reply = dirclient_read(&c)) == NULL) {
		/* logged */
	} else if (strcmp(reply, "OK") == 0) {
		if (ctx->verbose)
			dv_info("User %s kicked", v[2].str);
	} else {
		dv_error("failed: %s", reply);
		dir_fail(&c, DOVEADM_EX_TEMPFAIL);
	}
	cmdopt_free(v, 3);
	return dirclient_close(&c);
}

static const struct cmdopt flush_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 'F', "force-flush", CMDOPT_BOOL, 0 },
	{ 0, "max-parallel", CMDOPT_STR, 0 },
	{ 0, "host", CMDOPT_STR, 1 },
};

/* doveadm's int64 parameter: a number, or as if not given at all */
static long long
max_parallel(const struct cmdopt_val *v)
{
	long long n;
	const char *err;

	if (!v->set || str_to_num(v->str, -0x7fffffffffffffffLL - 1, 0x7fffffffffffffffLL,
	    &n, &err) < 0)
		return 0;
	return n;
}

static void
flush_all(struct doveadm_ctx *ctx, struct dir_conn *c, int force, long long maxp)
{
	char line[64];
	char *reply;

	if (force)
		str_fmt(line, sizeof(line), "HOST-FLUSH");
	else if (maxp > 0)
		str_fmt(line, sizeof(line), "HOST-RESET-USERS\t\t%lld", maxp);
	else
		str_fmt(line, sizeof(line), "HOST-RESET-USERS");
	dirclient_send(c, line);
	if ((reply = dirclient_read(c)) == NULL) {
		/* logged */
	} else if (strcmp(reply, "OK") != 0) {
		dv_error("failed: %s", reply);
		dir_fail(c, DOVEADM_EX_TEMPFAIL);
	} else if (ctx->verbose) {
		dv_info("flushed");
	}
}

int
cmd_director_flush(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	struct cmdopt_val v[4];
	struct dir_conn c;
	struct ip_addr *ips;
	char suffix[32] = "";
	size_t nips;

	if (dirclient_start(&c, ctx, argc, argv, flush_opts, 4, v) < 0)
		return DOVEADM_EX_USAGE;
	if (!v[3].set)
		dir_usage(cmd);
	int force = v[1].set;
	long long maxp = max_parallel(&v[2]);
	if (strcmp(v[3].str, "all") == 0) {
		flush_all(ctx, &c, force, maxp);
		goto out;
	}
	nips = dirclient_get_host(&c, v[3].str, &ips);
	if (!force && maxp > 0)
		str_fmt(suffix, sizeof(suffix), "\t%lld", maxp);
	dirclient_per_ip(ctx, &c, ips, nips, force ? "HOST-FLUSH" : "HOST-RESET-USERS", suffix,
	    DOVEADM_EX_NOTFOUND, dv_warning, "flushed");
	if (nips > 0)
		free(ips);
out:
	cmdopt_free(v, 4);
	return dirclient_close(&c);
}
