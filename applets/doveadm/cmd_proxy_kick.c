/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmd_proxy_kick.c: `doveadm proxy kick [-a SOCKET] [-f FIELD] [-h HOST |
 * USER...]`, as doveadm-proxy.c: KICK, KICK-ALT or KICK-HOST to every login process
 * through the ipc socket. doveadm's quirks are kept (protocols.md §12): the -h value
 * goes out unescaped and any users are appended to it; the count printed is the one
 * ipc relays, which is the last process's, not a sum; "+(null)" prints "(null)". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "applets/doveadm/cmd.h"
#include "applets/doveadm/cmdopt.h"
#include "applets/doveadm/doveadm.h"
#include "applets/doveadm/ipc.h"
#include "applets/doveadm/print.h"
#include "core/str.h"
#include "core/tab.h"

enum { OPT_SOCKET, OPT_FIELD, OPT_HOST, OPT_USER, OPT_COUNT };

static const struct cmdopt kick_opts[OPT_COUNT] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 'f', "passdb-field", CMDOPT_STR, 0 },
	{ 'h', "host", CMDOPT_STR, 0 },
	{ 0, "user", CMDOPT_ARRAY, 1 },
};

static void
kick_reply(enum ipc_state state, const char *data, void *arg)
{
	int *ret = arg;

	if (state == IPC_OK) {
		print_value(data[0] == '\0' ? "0" : data);
	} else if (state == IPC_ERROR) {
		dv_error("KICK failed: %s", data);
		*ret = DOVEADM_EX_TEMPFAIL;
	}
}

int
cmd_proxy_kick(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	struct cmdopt_val v[OPT_COUNT];
	struct strbuf line;
	int ret = 0;

	if (cmdopt_parse(argc, argv, kick_opts, OPT_COUNT, v) < 0)
		return DOVEADM_EX_USAGE;
	if (!v[OPT_USER].set && !v[OPT_HOST].set)
		dv_usage(cmd);
	char *path = v[OPT_SOCKET].set ? strdup(v[OPT_SOCKET].str) : dv_socket_path(ctx, "ipc");
	if (path == NULL)
		dv_fatal("Out of memory");
	print_init("formatted", 1, stdout);
	print_set_format("%{count} connections kicked\n");
	print_header_simple("count");

	strbuf_init(&line, SIZE_MAX);
	strbuf_puts(&line, "proxy\t*\t");
	if (v[OPT_HOST].set) {
		strbuf_puts(&line, "KICK-HOST\t");
		strbuf_puts(&line, v[OPT_HOST].str);
	} else if (!v[OPT_FIELD].set) {
		strbuf_puts(&line, "KICK");
	} else {
		strbuf_puts(&line, "KICK-ALT\t");
		tab_escape(&line, v[OPT_FIELD].str);
	}
	for (size_t i = 0; i < v[OPT_USER].narr; i++) {
		strbuf_putc(&line, '\t');
		tab_escape(&line, v[OPT_USER].arr[i]);
	}
	if (line.error)
		dv_fatal("Out of memory");
	ipc_run(path, line.s, kick_reply, &ret);
	strbuf_free(&line);
	free(path);
	cmdopt_free(v, OPT_COUNT);
	return ret;
}
