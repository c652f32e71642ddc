/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_doveadm_replies.c: mtool doveadm's commands reading a server's replies:
 * `replicator status` (overview and per user), `replicator dsync-status`, `replicator
 * replicate`, `replicator add` on a replicator-doveadm socket, `director status` (hosts
 * and a user), `director ring status`, `director map` (a users file, one host) and
 * `director dump` on a
 * director-doveadm socket (each after a valid VERSION line), `proxy list` and `proxy
 * kick` on an ipc socket. The fuzzer is the server, in a
 * thread of its own: the command blocks on its socket as the real doveadm does.
 * The handshake line is the harness's: a wrong one makes doveadm exit (dv_fatal), which
 * is its documented answer, not a parser's; inputs are kept under DLINE_READER_MAX for
 * the same reason (a longer line is a fatal read error). dline_reader and TAB splitting
 * have their own targets (dline_reader, tabescape).
 * Input: one byte (the command, modulo 12, in the order of cmds[]), then the server's
 * bytes. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "applets/doveadm/cmd.h"
#include "applets/doveadm/dirclient.h"
#include "applets/doveadm/doveadm.h"
#include "applets/doveadm/print.h"
#include "tests/fuzz/fuzz.h"

#define INPUT_MAX	(256 * 1024)

struct server {
	int lfd;
	const char *hello;
	const uint8_t *data;
	size_t size;
};

static void
send_all(int fd, const void *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;	/* the command stopped reading and closed */
		p = (const char *)p + n;
		len -= (size_t)n;
	}
}

static void *
serve(void *arg)
{
	struct server *s = arg;
	char buf[4096];
	int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		abort();
	send_all(fd, s->hello, strlen(s->hello));
	send_all(fd, s->data, s->size);
	shutdown(fd, SHUT_WR);
	/* what the command sends, until it closes */
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char users_path[128];	/* director map's users file */
	static const char repl_hello[] = "VERSION\treplicator-doveadm-server\t1\t0\n";
	static const char dir_hello[] = "VERSION\tdirector-doveadm\t1\t0\n";
	static const struct {
		const char *name;
		int (*run)(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
		const char *hello;
		const char *args[5];
	} cmds[] = {
		{ "replicator status", cmd_replicator_status, repl_hello, { NULL } },
		{ "replicator status", cmd_replicator_status, repl_hello, { "user*" } },
		{ "replicator dsync-status", cmd_replicator_dsync_status, repl_hello, { NULL } },
		{ "replicator replicate", cmd_replicator_replicate, repl_hello, { "-f", "-p", "high", "user*" } },
		{ "replicator add", cmd_replicator_add, repl_hello, { "user1" } },
		{ "proxy list", cmd_proxy_list, "", { NULL } },
		{ "proxy kick", cmd_proxy_kick, "", { "user1" } },
		{ "director status", cmd_director_status, dir_hello, { NULL } },
		{ "director status", cmd_director_status, dir_hello, { "user1", "tag1" } },
		{ "director ring status", cmd_director_ring_status, dir_hello, { NULL } },
		{ "director map", cmd_director_map, dir_hello, { "-f", users_path, "10.0.0.1" } },
		{ "director dump", cmd_director_dump, dir_hello, { NULL } },
	};
	static char path[128];
	static int lfd = -1;

	if (size < 1 || size > INPUT_MAX)
		return 0;
	if (lfd < 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		signal(SIGPIPE, SIG_IGN);
		static const char users[] = "user1\nuser2@example.org\nUser3\n";
		snprintf(users_path, sizeof(users_path), "%s",
		    fuzz_write_file("users", users, sizeof(users) - 1));
		snprintf(path, sizeof(path), "%s/server", fuzz_dir());
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 4) < 0)
			abort();
	}
	unsigned int k = data[0] % (sizeof(cmds) / sizeof(cmds[0]));
	struct server s = { lfd, cmds[k].hello, data + 1, size - 1 };
	struct doveadm_cmd cmd = { cmds[k].name, cmds[k].run, "" };
	struct doveadm_ctx ctx = { .base_dir = fuzz_dir(), .director_username_hash = "%Lu" };
	char *argv[8];
	int argc = 0;
	argv[argc++] = strrchr(cmds[k].name, ' ') + 1;
	argv[argc++] = "-a";
	argv[argc++] = path;
	for (int i = 0; i < 5 && cmds[k].args[i] != NULL; i++)
		argv[argc++] = (char *)cmds[k].args[i];
	argv[argc] = NULL;

	pthread_t t;
	if (pthread_create(&t, NULL, serve, &s) != 0)
		abort();
	(void)cmd.run(&ctx, &cmd, argc, argv);
	print_deinit();
	fflush(stdout);
	pthread_join(t, NULL);
	return 0;
}
