/* SPDX-License-Identifier: MIT */
/* tests/fuzz/proxyd_fuzz.c: see proxyd_fuzz.h. The loop is turned by hand
 * (fuzz_loop_turn), so an input costs no waiting; the turns go on until nothing moves on
 * the client's or the backend's socket. Timers that would fire later
 * (auth failure delay, timeouts) never do: what is left is destroyed at the end. */
#include "tests/fuzz/proxyd_fuzz.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "applets/proxyd/admin.h"
#include "applets/proxyd/director.h"
#include "applets/proxyd/limits.h"
#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/settings.h"
#include "config.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/dns.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/passdb.h"
#include "tests/fuzz/fuzz.h"

#define MAX_BACKENDS	8

static struct proxyd pd;
static struct proxyd_settings set;
static int backend_listen = -1;
static int director_listen = -1;	/* directord's proxy socket, played by the fuzzer */
static char authm_path[600];		/* the auth-master socket */

static void
turn(void)
{
	fuzz_loop_turn(pd.loop);
}

static void
setup(void)
{
	const char *dir = fuzz_dir();
	char path[600], conf[4096], err[512];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);

	log_init("fuzz", getenv("FUZZ_DEBUG") != NULL, 0);
	backend_listen = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (backend_listen < 0 || bind(backend_listen, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(backend_listen, 64) < 0 ||
	    getsockname(backend_listen, (struct sockaddr *)&sin, &slen) < 0)
		abort();
	unsigned int port = ntohs(sin.sin_port);

	snprintf(conf, sizeof(conf),
	    "user:{PLAIN}pass::::::proxy=y host=127.0.0.1 port=%u user_tag=t1\n"
	    "tls:{PLAIN}pass::::::proxy=y host=127.0.0.1 port=%u starttls=any-cert\n"
	    "nologin:{PLAIN}pass::::::nologin=y reason=Go\\040away\n"
	    "user@example.org:{PLAIN}pass::::::proxy=y host=127.0.0.1 port=%u\n"
	    "dir:{PLAIN}pass::::::proxy=y port=%u director_tag=tag1\n"
	    "local:{PLAIN}pass::::::\n", port, port, port, port);
	fuzz_write_file("passwd", conf, strlen(conf));
	fuzz_write_file("cert.pem", fuzz_cert_pem, strlen(fuzz_cert_pem));
	fuzz_write_file("key.pem", fuzz_key_pem, strlen(fuzz_key_pem));
	fuzz_write_file("resolv.conf", "", 0);
	fuzz_write_file("hosts", "", 0);
	snprintf(path, sizeof(path), "%s/run", dir);
	mkdir(path, 0700);
	snprintf(conf, sizeof(conf),
	    "base_dir = %s/run\n"
	    "protocols = imap pop3 submission sieve lmtp\n"
	    "login_trusted_networks = 127.0.0.0/8\n"
	    "disable_plaintext_auth = no\n"
	    "auth_failure_delay = 0\n"
	    "auth_mechanisms = plain login xoauth2 oauthbearer\n"
	    "proxy_relay_splice = no\n"
	    "imap_id_retain = yes\n"
	    "mail_temp_dir = %s\n"
	    "ssl_cert = <%s/cert.pem\n"
	    "ssl_key = <%s/key.pem\n"
	    "submission_backend_capabilities = 8BITMIME CHUNKING SIZE PIPELINING DSN\n"
	    "director_socket = %s/director.sock\n"
	    /* no name server: the fuzzer never sends a DNS query anywhere */
	    "proxy_resolv_conf = %s/resolv.conf\n"
	    "proxy_hosts_file = %s/hosts\n"
	    /* no auth penalty: a failed login must not make the next input wait */
	    "service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n"
	    "passdb {\n  driver = passwd-file\n  args = %s/passwd\n}\n",
	    dir, dir, dir, dir, dir, dir, dir, dir);
	snprintf(path, sizeof(path), "%s", fuzz_write_file("mtool.conf", conf, strlen(conf)));
	if (settings_load(&set, path, NULL, 0, stderr) < 0)
		abort();
	pd.set = &set;
	pd.loop = loop_new();
	pd.passdb = passdb_chain_new();
	const char *error;
	snprintf(path, sizeof(path), "%s/passwd", dir);
	if (pd.loop == NULL || pd.passdb == NULL ||
	    passdb_chain_add(pd.passdb, "passwd-file", path, NULL, NULL, NULL, &error) < 0 ||
	    /* Dovecot's default format and a translation: fuzzed names go through them */
	    passdb_chain_set_username(pd.passdb, "#@", "%Lu", NULL, NULL, &error) < 0 ||
	    limits_init(&pd) < 0 ||
	    (pd.dns = dns_new(pd.loop, set.resolv_conf, set.hosts_file)) == NULL)
		abort();
	passdb_chain_set_loop(pd.passdb, pd.loop, PASSDB_TIMEOUT_MS);
	if (proxyd_tls_load(&pd, &set, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	struct admin_socket_set ipc = { set.ipc.path, 0600, (uid_t)-1, (gid_t)-1 };
	struct admin_socket_set anvil = { set.anvil.path, 0600, (uid_t)-1, (gid_t)-1 };
	snprintf(authm_path, sizeof(authm_path), "%s/run/auth-master", dir);
	struct admin_socket_set authm = { authm_path, 0600, (uid_t)-1, (gid_t)-1 };
	if (admin_open(&pd, &ipc, &anvil, &authm, stderr) < 0 || admin_start(&pd) < 0)
		abort();
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", set.director_socket);
	director_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (director_listen < 0 || bind(director_listen, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(director_listen, 4) < 0)
		abort();
}

static const struct proxyd_proto *
proto_of(const char *name)
{
	const struct proxyd_proto *p = settings_protos_named(name);
	if (p == NULL)
		abort();
	return p;
}

/* The backend connections of one input: they live until its teardown. */
static struct fuzz_side backends[MAX_BACKENDS];
static unsigned int nbackends;

/* Turns the loop while a peer (sides[0..n)) or any backend moves, accepting backend
 * connections and giving each the backend bytes. */
static void
converse(struct fuzz_side *sides, unsigned int n, const uint8_t *bdata, size_t bsize)
{
	int idle = 0;
	for (int i = 0; i < 2000 && idle < 3; i++) {
		int moved = 0, fd;
		for (unsigned int k = 0; k < n; k++)
			moved |= fuzz_side_move(&sides[k]);
		while (nbackends < MAX_BACKENDS &&
		    (fd = accept4(backend_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			backends[nbackends++] = (struct fuzz_side){ fd, bdata, bsize, 4096 };
			moved = 1;
		}
		for (unsigned int b = 0; b < nbackends; b++)
			moved |= fuzz_side_move(&backends[b]);
		turn();
		idle = moved ? 0 : idle + 1;
	}
}

static void
teardown(void)
{
	client_destroy_all(&pd);
	lmtp_destroy_all(&pd);
	relay_shutdown_all(&pd);
	turn();
	for (unsigned int b = 0; b < nbackends; b++)
		close(backends[b].fd);
	nbackends = 0;
	int fd;
	while ((fd = accept4(backend_listen, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	buf_pool_drain();
}

/* A client connection from a trusted or an untrusted address, on a socketpair: its
 * proxyd end goes to the protocol, the other end is returned. */
static int
client_connect(const struct proxyd_proto *proto, int trusted)
{
	int sv[2];
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(50123) };
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(143) };
	peer.sin_addr.s_addr = trusted ? htonl(0x7f000001) : htonl(0xc0000201);
	local.sin_addr.s_addr = htonl(0x7f000002);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (proto->accept != NULL)
		proto->accept(&pd, sv[0], (struct sockaddr *)&peer, (struct sockaddr *)&local, 0);
	else
		client_create(&pd, proto, sv[0], (struct sockaddr *)&peer, (struct sockaddr *)&local, 0);
	return sv[1];
}

/* Splits the input after its flags byte at the first two NUL bytes. */
static void
split(const uint8_t *data, size_t size, size_t *client_len, const uint8_t **bdata, size_t *bsize)
{
	*client_len = size;
	*bdata = NULL;
	*bsize = 0;
	for (size_t i = 0; i + 1 < size; i++) {
		if (data[i] == 0 && data[i + 1] == 0) {
			*client_len = i;
			*bdata = data + i + 2;
			*bsize = size - i - 2;
			break;
		}
	}
}

void
fuzz_proxyd_login(const char *proto_name, const uint8_t *data, size_t size)
{
	if (pd.loop == NULL)
		setup();
	if (size < 1)
		return;
	const struct proxyd_proto *proto = proto_of(proto_name);
	int trusted = data[0] & 1;
	size_t step = (size_t)(data[0] >> 1) * 8 + 1, clen, bsize;
	const uint8_t *bdata;
	split(data + 1, size - 1, &clen, &bdata, &bsize);
	struct fuzz_side client = { client_connect(proto, trusted), data + 1, clen, step };
	converse(&client, 1, bdata, bsize);
	shutdown(client.fd, SHUT_WR);
	converse(&client, 1, bdata, bsize);
	close(client.fd);
	teardown();
}

void
fuzz_proxyd_admin(int sock, const uint8_t *data, size_t size)
{
	static const char login[] = "a ID (\"x-originating-ip\" \"192.0.2.9\")\r\nb LOGIN user pass\r\n";
	if (pd.loop == NULL)
		setup();
	/* one session, logging in: its backend was accepted and says nothing */
	struct fuzz_side client = { client_connect(&imap_proto, 1), (const uint8_t *)login, strlen(login), 4096 };
	const uint8_t *none = (const uint8_t *)"";
	converse(&client, 1, none, 0);
	const char *path = sock == 2 ? authm_path : sock == 1 ? set.anvil.path : set.ipc.path;
	struct fuzz_side admin = { fuzz_unix_connect(path), data, size, 4096 };
	converse(&admin, 1, none, 0);
	shutdown(admin.fd, SHUT_WR);
	converse(&admin, 1, none, 0);
	close(admin.fd);
	close(client.fd);
	teardown();
}

void
fuzz_proxyd_director(const uint8_t *data, size_t size)
{
	static const char login[] = "a LOGIN dir pass\r\nb LOGIN dir pass\r\n";
	if (pd.loop == NULL)
		setup();
	if (director_init(&pd) < 0)
		abort();
	int fd = accept4(director_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		abort();
	struct fuzz_side sides[2] = {
		{ client_connect(&imap_proto, 0), (const uint8_t *)login, strlen(login), 4096 },
		{ fd, data, 0, 4096 },
	};
	const uint8_t *none = (const uint8_t *)"";
	/* the logins first, so that directord's answers find their lookups */
	converse(sides, 2, none, 0);
	sides[1].size = size;
	converse(sides, 2, none, 0);
	shutdown(fd, SHUT_WR);
	converse(sides, 2, none, 0);
	close(fd);
	close(sides[0].fd);
	teardown();
	director_close(&pd);
}
