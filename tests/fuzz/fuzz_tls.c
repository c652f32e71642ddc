/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_tls.c: the TLS server and client engines fed a peer's garbage, at the
 * points an attacker reaches them: a server's first bytes (ClientHello); a client after
 * its ClientHello went out (what a hostile backend answers, verified or any-cert); a
 * server after a real handshake began (the client's second flight); and both after a
 * whole handshake (records). Input: one byte of mode, then the peer's bytes. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/tls.h"
#include "tests/fuzz/fuzz.h"

static struct tls_server *servers[2];	/* EC, RSA */
static struct tls_client *client;

static void
setup(void)
{
	struct tls_params p;
	char err[256], ca[4096];
	tls_params_default(&p);
	struct tls_cert_conf ec = { NULL, fuzz_cert_pem, fuzz_key_pem };
	struct tls_cert_conf rsa = { NULL, fuzz_rsa_cert_pem, fuzz_rsa_key_pem };
	servers[0] = tls_server_new(&ec, 1, &p, 4096, err, sizeof(err));
	servers[1] = tls_server_new(&rsa, 1, &p, 4096, err, sizeof(err));
	strcpy(ca, fuzz_cert_pem);
	strcat(ca, fuzz_rsa_cert_pem);
	client = tls_client_new(ca, NULL, NULL, NULL, &p, err, sizeof(err));
	if (servers[0] == NULL || servers[1] == NULL || client == NULL)
		abort();
}

/* Throws away what the engine's peer end received. */
static void
drain(int fd)
{
	char buf[4096];
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Runs one engine against whatever is in its socket until nothing moves; answers
 * application data with a little of its own so that the sealing side runs too. */
static void
run(struct tls *t, int fd, int peer)
{
	for (int i = 0; i < 10000; i++) {
		if (tls_sock_write(t, fd) < 0)
			break;
		drain(peer);
		size_t len;
		unsigned char *in = tls_in(t, &len);
		if (in != NULL) {
			tls_in_ack(t, len);
			unsigned char *out = tls_out(t, &len);
			if (out != NULL && len > 0) {
				memcpy(out, "+OK\r\n", len < 5 ? len : 5);
				tls_out_ack(t, len < 5 ? len : 5);
			}
			continue;
		}
		if (tls_closed(t) || tls_sock_read(t, fd) <= 0)
			break;
	}
	(void)tls_closed(t);
	(void)tls_error(t);
	tls_sock_write(t, fd);
	drain(peer);
}

/* Moves the engines' records between them for a few rounds (steps < 0: until both are
 * done with the handshake). */
static void
pump(struct tls *s, struct tls *c, int fs, int fc, int steps)
{
	for (int i = 0; i < (steps < 0 ? 100 : steps); i++) {
		tls_sock_write(c, fc);
		tls_sock_read(s, fs);
		tls_sock_write(s, fs);
		tls_sock_read(c, fc);
		if (tls_closed(s) || tls_closed(c))
			return;
		if (steps < 0 && tls_handshake_done(s) && tls_handshake_done(c))
			return;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (client == NULL)
		setup();
	if (size < 1)
		return 0;
	unsigned int mode = data[0] % 6;
	struct tls_server *srv = servers[(data[0] >> 3) & 1];
	data++;
	size--;

	/* a[0]: the engine under test; a[1]: the peer end, where the input is written */
	int a[2], b[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a) < 0)
		abort();
	struct tls *t = NULL, *other = NULL;
	switch (mode) {
	case 0:		/* server, from its first byte */
		t = tls_new_server(srv);
		break;
	case 1:		/* client that verifies, after its ClientHello */
	case 2:		/* client with any-cert */
		t = tls_new_client(client, mode == 1 ? "unit.test" : "127.0.0.1", mode == 1);
		tls_sock_write(t, a[0]);
		drain(a[1]);
		break;
	case 3:		/* server, after the real ClientHello and its own answer */
	case 4:		/* server after a whole handshake */
	case 5:		/* client after a whole handshake */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b) < 0)
			abort();
		t = tls_new_server(srv);
		other = tls_new_client(client, "unit.test", 1);
		pump(t, other, a[0], b[0], mode == 3 ? 1 : -1);
		if (mode == 5) {
			struct tls *x = t;
			t = other;
			other = x;
			int fd = a[0];
			a[0] = b[0];
			b[0] = fd;
			fd = a[1];
			a[1] = b[1];
			b[1] = fd;
		}
		/* from now on the peer is the fuzzer: the real one's bytes are dropped */
		drain(a[1]);
		break;
	}
	if (t == NULL)
		abort();
	size_t off = 0;
	while (off < size) {
		ssize_t n = send(a[1], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
		run(t, a[0], a[1]);
	}
	shutdown(a[1], SHUT_WR);
	run(t, a[0], a[1]);
	tls_free(t);
	close(a[0]);
	close(a[1]);
	if (other != NULL) {
		tls_free(other);
		close(b[0]);
		close(b[1]);
	}
	return 0;
}
