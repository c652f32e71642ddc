/* SPDX-License-Identifier: MIT */
/* tests/fuzz/directord_fuzz.c: see directord_fuzz.h. What directord_main() sets up,
 * without the config file, the state file and the privilege drop; health checks only for
 * the health inputs. */
#include "tests/fuzz/directord_fuzz.h"

#include <errno.h>
#include <netinet/in.h>
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

static struct sockaddr_in
sin_of(uint32_t ip, unsigned int port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(ip) };
}

/* a TCP socket bound to ip:port */
static int
tcp_bound(uint32_t ip, unsigned int port)
{
	struct sockaddr_in sin = sin_of(ip, port);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		abort();
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		abort();
	return fd;
}

/* closed with a reset: no TIME_WAIT left behind by a million inputs */
static void
close_reset(int fd)
{
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* The peer director 127.0.0.2:9091: its listener (directord dials it and is never
 * answered) and its connection into directord's ring port, data its lines. */
static void
ring_peer(struct directord *dd, const uint8_t *data, size_t size)
{
	int lfd = tcp_bound(0x7f000002, 9091);
	if (listen(lfd, 16) < 0)
		abort();
	int fd = tcp_bound(0x7f000002, 0);
	struct sockaddr_in sin = sin_of(0x7f000001, 9090);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 && errno != EINPROGRESS)
		abort();
	struct fuzz_side p = { fd, data, size, 4096 };
	converse(dd, &p);
	close_reset(fd);
	for (int c; (c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
		close_reset(c);
	close(lfd);
	/* the links see their peers gone and free themselves */
	for (int i = 0; i < 5; i++)
		fuzz_loop_turn(dd->loop);
}

/* director_health_check_ports for the health inputs: each protocol, plain and STARTTLS,
 * and implicit TLS once (the TLS engine itself has the tls target) */
static const char *const health_ports[] = {
	"imap:143", "imap:143/starttls", "pop3:110", "pop3:110/starttls", "lmtp:24",
	"lmtp:24/starttls", "submission:587", "submission:587/starttls", "sieve:4190",
	"sieve:4190/starttls", "imaps:993", "tcp:143",
};
#define HEALTH_PORTS	(sizeof(health_ports) / sizeof(health_ports[0]))

/* The mail host 127.0.0.2: its port listens, the probe connects, data is its answer. */
static void
health_peer(struct directord *dd, const char *spec, const uint8_t *data, size_t size)
{
	unsigned int port = (unsigned int)strtoul(strchr(spec, ':') + 1, NULL, 10);
	int lfd = tcp_bound(0x7f000002, port), fd = -1;
	struct ip_addr ip;
	if (listen(lfd, 4) < 0 || ip_parse("127.0.0.2", &ip) < 0)
		abort();
	health_check_now(dd, hosts_lookup(&dd->hosts, &ip));
	for (int i = 0; i < 10 && fd < 0; i++) {
		fuzz_loop_turn(dd->loop);
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	if (fd >= 0) {
		struct fuzz_side p = { fd, data, size, 4096 };
		converse(dd, &p);
		close_reset(fd);
	}
	close(lfd);
	for (int i = 0; i < 5; i++)
		fuzz_loop_turn(dd->loop);
}

void
fuzz_directord(enum fuzz_directord_socket sock, const uint8_t *data, size_t size)
{
	static const char servers[] = "10.0.0.1 10.0.0.2 10.0.1.1-10.0.1.3@tag1 192.0.2.1@tag2";
	static int logged;
	struct directord dd = { .admin_fd = -1, .proxy_fd = -1 };
	struct dir_settings *s = &dd.set;
	int proxy = sock == FUZZ_DIRECTORD_PROXY, health = sock == FUZZ_DIRECTORD_HEALTH;
	const char *hosts = health ? "127.0.0.2" : servers;
	unsigned int mode = 0;

	if ((sock == FUZZ_DIRECTORD_RING || health) && !fuzz_own_netns())
		return;
	if (health) {
		if (size < 1)
			return;
		mode = data[0];
		data++, size--;
	}
	if (!logged++)
		log_init("directord", getenv("FUZZ_DEBUG") != NULL, 0);
	s->base_dir = fuzz_dir();
	s->user = "";
	s->login_user = "nobody";	/* looked up only when the fuzzer runs as root, which may connect */
	s->proxy_max_conns = 64;
	s->max_sessions = 1000000;
	s->mail_servers = hosts;
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
	if (dd.loop == NULL || hosts_parse(&dd.hosts, hosts, stderr, "servers") < 0 ||
	    hosts_parse(&dd.orig, hosts, stderr, "servers") < 0 ||
	    diradmin_listen(&dd, stderr) < 0 || proxy_listen(&dd, stderr) < 0)
		abort();
	if (sock == FUZZ_DIRECTORD_RING) {
		s->director_servers = "127.0.0.1:9090 127.0.0.2:9091";
		s->ring_port = 9090;
		s->ring_alone = "grace";
		s->ping_idle_ms = 30000;
		s->ping_max_ms = 60000;
		s->outbuf_max = 1024 * 1024;
		if (ring_init(&dd, stderr) < 0)
			abort();
	}

	if (health) {
		s->hc_ports = health_ports[(mode & 0x3f) % HEALTH_PORTS];
		s->hc_user = mode & 0x80 ? "user1" : "";
		s->hc_password = "pass";
		s->hc_ssl_ca = fuzz_cert_pem;
		s->hc_ssl_any_cert = (mode & 0x40) != 0;
		s->hc_interval_ms = 60000;
		s->hc_timeout_ms = 30000;
		s->hc_fails = s->hc_rises = 1;	/* one round takes the host down or up */
		s->hc_flush = 1;
		s->hc_flush_parallel = 10;
		if (health_init(&dd, stderr) < 0)
			abort();
	}

	static const char hello[] = "VERSION\tmtool-director\t1\t0\nLOOKUP\t1\tuser1\t\n"
	    "START\tguid1\tuser1\t\t10.0.0.1\nLOOKUP\t2\tuser2\ttag1\n";
	struct fuzz_side p = { fuzz_unix_connect(s->proxy_path), (const uint8_t *)hello, strlen(hello), 4096 };
	if (proxy) {
		p.data = data;
		p.size = size;
	}
	converse(&dd, &p);
	if (sock == FUZZ_DIRECTORD_RING)
		ring_peer(&dd, data, size);
	if (health)
		health_peer(&dd, s->hc_ports, data, size);
	if (sock == FUZZ_DIRECTORD_ADMIN) {
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
	ring_free(&dd);
	diradmin_close_all(&dd);
	proxy_close_all(&dd);
	health_free(&dd);
	while (dd.resets)
		moves_resets_run(&dd), dd.resets = NULL;
	for (struct dir_tag *t = dd.hosts.tags; t; t = t->next)
		users_dir_free(&dd, &t->users);
	for (struct dir_tag *t = dd.orig.tags; t; t = t->next)
		users_dir_free(&dd, &t->users);
	hosts_free(&dd.hosts);
	hosts_free(&dd.orig);
	loop_free(dd.loop);
	buf_pool_drain();
}
