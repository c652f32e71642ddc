/* SPDX-License-Identifier: MIT */
#include "core/daemon.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"

const struct opt daemon_opts[] = {
	{ 'c', "FILE", "read settings from FILE (default " MTOOL_CONF_PATH ")" },
	{ 'o', "KEY=VALUE", "override one setting; repeatable" },
	{ 'D', NULL, "log debug messages" },
	{ 'd', NULL, "run in the background" },
	{ 0, NULL, NULL },
};

void
daemon_parse_args(int argc, char **argv, const struct opt_cmd *cmd, struct daemon_args *a)
{
	struct opt_state st;
	int ch;

	a->conf_path = MTOOL_CONF_PATH;
	a->overrides = calloc((size_t)argc + 1, sizeof(char *));
	a->noverrides = 0;
	a->debug = a->background = 0;
	if (a->overrides == NULL)
		opt_die_usage(cmd, "out of memory");
	opt_init(&st, argc, argv);
	while ((ch = opt_next(&st, cmd)) != -1) {
		switch (ch) {
		case 'c': a->conf_path = st.arg; break;
		case 'o': a->overrides[a->noverrides++] = st.arg; break;
		case 'D': a->debug = 1; break;
		case 'd': a->background = 1; break;
		}
	}
	if (st.ind < argc)
		opt_die_usage(cmd, "unexpected argument '%s'", argv[st.ind]);
}

int
daemon_background(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	setsid();
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}
