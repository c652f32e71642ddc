/* SPDX-License-Identifier: MIT */
/* tests/fuzz/directord_fuzz.c: see directord_fuzz.h. What directord_main() sets up,
 * without the config file, the state file, health checks and the privilege drop. */
#include "tests/fuzz/directord_fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "applets/directord/directord.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "tests/fuzz/fuzz.h"

static void
converse(struct directord *dd, struct fuzz_side *s)
{
	for (int i = 0, idle = 0; i < 2000 && idle < 3; i++) {
		int moved = fuzz_side_move(s);
		fuzz_loop_turn(dd->loop);
		idle = moved ? 0 : idle + 1;
	}
}

void
fuzz_directord(int proxy, const uint8_t *data, size_t size)
{
	static const char servers[] = "10.0.0.1 10.0.0.2 10.0.1.1-10.0.1.3@tag1 192.0.2.1@tag2";
	static int logged;
	struct directord dd = { .admin_fd = -1, .proxy_fd = -1 };
	struct dir_settings *s = &dd.set;

	if (!logged++)
		log_init("directord", getenv("FUZZ_DEBUG") != NULL, 0);
	s->base_dir = fuzz_dir();
	s->user = "";
	s->login_user = "nobody";	/* looked up only when the fuzzer runs as root, which may connect */
	s->proxy_max_conns = 64;
	s->max_sessions = 1000000;
	s->mail_servers = servers;
	s->username_hash = "%Lu";
	s->user_expire = 900;
	s->user_kick_delay_ms = 0;
	s->max_parallel_moves = 100;
	s->max_parallel_kicks = 100;
	s->lookup_timeout_ms = 30000;
	s->hc_fails = s->hc_rises = 3;
	ip_parse("127.0.0.1", &s->self_ip);
	strcpy(s->self_ip_str, "127.0.0.1");
	snprintf(s->admin_path, sizeof(s->admin_path), "%s/director-admin", fuzz_dir());
	snprintf(s->proxy_path, sizeof(s->proxy_path), "%s/mtool-director", fuzz_dir());
	dd.loop = loop_new();
	hosts_init(&dd.hosts);
	hosts_init(&dd.orig);
	if (dd.loop == NULL || hosts_parse(&dd.hosts, servers, stderr, "servers") < 0 ||
	    hosts_parse(&dd.orig, servers, stderr, "servers") < 0 ||
	    admin_listen(&dd, stderr) < 0 || proxy_listen(&dd, stderr) < 0)
		abort();

	static const char hello[] = "VERSION\tmtool-director\t1\t0\nLOOKUP\t1\tuser1\t\n"
	    "START\tguid1\tuser1\t\t10.0.0.1\nLOOKUP\t2\tuser2\ttag1\n";
	struct fuzz_side p = { fuzz_unix_connect(s->proxy_path), (const uint8_t *)hello, strlen(hello), 4096 };
	if (proxy) {
		p.data = data;
		p.size = size;
	}
	converse(&dd, &p);
	if (!proxy) {
		struct fuzz_side a = { fuzz_unix_connect(s->admin_path), data, size, 4096 };
		converse(&dd, &a);
		shutdown(a.fd, SHUT_WR);
		converse(&dd, &a);
		close(a.fd);
	}
	shutdown(p.fd, SHUT_WR);
	converse(&dd, &p);
	close(p.fd);

	/* directord_free() */
	admin_close_all(&dd);
	proxy_close_all(&dd);
	health_free(&dd);
	while (dd.resets)
		resets_run(&dd), dd.resets = NULL;
	for (struct dir_tag *t = dd.hosts.tags; t; t = t->next)
		users_dir_free(&dd, &t->users);
	for (struct dir_tag *t = dd.orig.tags; t; t = t->next)
		users_dir_free(&dd, &t->users);
	hosts_free(&dd.hosts);
	hosts_free(&dd.orig);
	loop_free(dd.loop);
	buf_pool_drain();
}
