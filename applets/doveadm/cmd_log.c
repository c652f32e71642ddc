/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmd_log.c: `doveadm log reopen`. Dovecot's sends SIGUSR1 to the pid in
 * base_dir/master.pid; this one does that too (a Dovecot beside mtool shares base_dir)
 * and also signals every mtool daemon whose pid file (-d) is there: APPLET.pid. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/doveadm/cmd.h"
#include "applets/doveadm/doveadm.h"
#include "core/str.h"

static const char *const pidfiles[] = {
	"master.pid", "proxyd.pid", "directord.pid", "replicatord.pid",
};

/* The pid in path, or 0 when the file is missing or holds no pid. */
static long
read_pid(const char *path)
{
	char line[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	line[n] = '\0';
	long long v;
	line[strcspn(line, "\n")] = '\0';
	const char *why;
	if (str_to_num(line, 2, 0x7fffffff, &v, &why) < 0)
		return 0;
	return (long)v;
}

int
cmd_log_reopen(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	int signalled = 0, failed = 0;

	(void)argv;
	if (argc > 1)
		dv_usage(cmd);
	for (size_t i = 0; i < sizeof(pidfiles) / sizeof(pidfiles[0]); i++) {
		char *path = dv_socket_path(ctx, pidfiles[i]);
		long pid = read_pid(path);
		if (pid == 0) {
			free(path);
			continue;
		}
		if (kill((pid_t)pid, SIGUSR1) == 0)
			signalled++;
		else if (errno == ESRCH)
			dv_warning("%s: process %ld is not running (a stale pid file)", path, pid);
		else {
			dv_error("kill(%ld, SIGUSR1) failed: %s", pid, dv_strerror(errno));
			failed = 1;
		}
		free(path);
	}
	if (signalled == 0 && !failed)
		dv_fatal("Dovecot is not running (no running daemon's pid file in %s)", ctx->base_dir);
	return failed ? DOVEADM_EX_TEMPFAIL : 0;
}
