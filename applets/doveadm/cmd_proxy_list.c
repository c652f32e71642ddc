/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmd_proxy_list.c: `doveadm proxy list [-a SOCKET]`, as doveadm-proxy.c:
 * "proxy\t*\tLIST-FULL" to the ipc socket; the first reply line names the columns,
 * every later one is a row. With several login processes each sends its own header
 * line, and doveadm prints the later ones as rows: so does this (protocols.md §12). */
#include <stdlib.h>
#include <string.h>

#include "applets/doveadm/cmd.h"
#include "applets/doveadm/cmdopt.h"
#include "applets/doveadm/doveadm.h"
#include "applets/doveadm/ipc.h"
#include "applets/doveadm/print.h"

static const struct cmdopt list_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
};

/* LIST-FULL's keys and the titles doveadm shows for them */
static const struct {
	const char *key, *title;
} titles[] = {
	{ "service", "proto" },
	{ "src-ip", "src ip" },
	{ "dest-ip", "dest ip" },
	{ "dest-port", "port" },
};

static void
list_header(char **keys)
{
	for (; *keys != NULL; keys++) {
		const char *title = *keys;
		if (strcmp(*keys, "username") == 0 || strncmp(*keys, "user_", 5) == 0) {
			print_header(*keys, *keys, PRINT_EXPAND);
			continue;
		}
		for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
			if (strcmp(titles[i].key, *keys) == 0)
				title = titles[i].title;
		}
		print_header(*keys, title, 0);
	}
}

static void
list_reply(enum ipc_state state, const char *data, void *arg)
{
	int *seen_header = arg;

	if (state == IPC_ERROR) {
		dv_error("LIST-FULL failed: %s", data);
		return;
	}
	if (state != IPC_REPLY)
		return;
	char *line = strdup(data);
	if (line == NULL)
		dv_fatal("Out of memory");
	char **f = dv_split_tabescaped(line, NULL);
	if (!*seen_header) {
		list_header(f);
		*seen_header = 1;
	} else {
		for (char **p = f; *p != NULL; p++)
			print_value(*p);
	}
	free(f);
	free(line);
}

int
cmd_proxy_list(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	struct cmdopt_val v[1];
	int seen_header = 0;

	(void)cmd;
	if (cmdopt_parse(argc, argv, list_opts, 1, v) < 0)
		return DOVEADM_EX_USAGE;
	char *path = v[0].set ? strdup(v[0].str) : dv_socket_path(ctx, "ipc");
	if (path == NULL)
		dv_fatal("Out of memory");
	print_init("table", 1, stdout);
	/* a failed LIST-FULL is only logged: doveadm exits 0 */
	ipc_run(path, "proxy\t*\tLIST-FULL", list_reply, &seen_header);
	free(path);
	cmdopt_free(v, 1);
	return 0;
}
