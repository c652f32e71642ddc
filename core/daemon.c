/* SPDX-License-Identifier: MIT */
#include "core/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/privdrop.h"
#include "core/sdnotify.h"
#include "core/str.h"

const struct opt daemon_opts[] = {
	{ 'c', "FILE", "read settings from FILE (default " MTOOL_CONF_PATH ")" },
	{ 'o', "KEY=VALUE", "override one setting; repeatable" },
	{ 'D', NULL, "log debug messages" },
	{ 'n', NULL, "check the configuration, print what differs from the defaults, exit" },
	{ 'd', NULL, "run in the background (pid file BASE_DIR/APPLET.pid)" },
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
	a->debug = a->background = a->check = 0;
	if (a->overrides == NULL)
		opt_die_usage(cmd, "out of memory");
	opt_init(&st, argc, argv);
	while ((ch = opt_next(&st, cmd)) != -1) {
		switch (ch) {
		case 'c': a->conf_path = st.arg; break;
		case 'o': a->overrides[a->noverrides++] = st.arg; break;
		case 'D': a->debug = 1; break;
		case 'd': a->background = 1; break;
		case 'n': a->check = 1; break;
		}
	}
	if (st.ind < argc)
		opt_die_usage(cmd, "unexpected argument '%s'", argv[st.ind]);
}

/* Written under a temporary name and renamed, so a reader never sees half a pid. */
static int
write_pidfile(const char *path, pid_t pid)
{
	char tmp[4096], line[32];
	if (str_fmt(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	size_t n = str_fmt(line, sizeof(line), "%d\n", (int)pid);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	int ok = write(fd, line, n) == (ssize_t)n;
	int saved = errno;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		saved = ok ? errno : saved;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

int
daemon_background(const char *pidfile)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	/* the parent writes it, so that it is there when `APPLET -d` returns */
	if (pid > 0) {
		if (pidfile != NULL && write_pidfile(pidfile, pid) < 0) {
			log_error("pid file %s", pidfile);
			kill(pid, SIGTERM);
			_exit(1);
		}
		_exit(0);
	}
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

void
daemon_mkdir(const char *dir, mode_t mode, const char *user)
{
	char path[4096], err[256];
	uid_t uid = 0;
	gid_t gid = 0;
	struct stat st;

	if (stat(dir, &st) == 0)
		return;
	if (str_copy(path, dir, sizeof(path)) >= sizeof(path))
		log_fatalx("%s: path too long", dir);
	for (char *p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			log_fatal("mkdir(%s)", path);
		*p = '/';
	}
	if (mkdir(path, mode) < 0) {
		if (errno == EEXIST)
			return;
		log_fatal("mkdir(%s)", path);
	}
	/* mkdir's mode went through the umask: the asked one is meant */
	if (chmod(path, mode) < 0)
		log_fatal("chmod(%s)", path);
	if (geteuid() != 0 || user == NULL || *user == '\0')
		return;
	if (privdrop_lookup(user, &uid, &gid, err, sizeof(err)) < 0)
		log_fatalx("%s: %s", path, err);
	if (chown(path, uid, gid) < 0)
		log_fatal("chown(%s)", path);
}

static void
on_usr1(int signo, void *arg)
{
	(void)signo;
	(void)arg;
	if (log_reopen() < 0)
		log_error("SIGUSR1: cannot reopen the log");
	else
		log_info("SIGUSR1: log reopened");
}

void
daemon_notify(const char *state)
{
	if (sdnotify(state) < 0)
		log_error("NOTIFY_SOCKET: cannot send %s", state);
}

void
daemon_started(struct loop *loop)
{
	if (loop_signal(loop, SIGUSR1, on_usr1, NULL) < 0)
		log_error("SIGUSR1: cannot catch it: log reopening is off");
	daemon_notify("READY=1");
}
