/* SPDX-License-Identifier: MIT */
/* tests/unit/test_tls.c: core/tls: Dovecot's ssl_* settings mapped to BearSSL, PEM
 * certificates and keys, and a real handshake between a server and a client engine over
 * a socketpair: verified, wrong name, untrusted, any-cert, data both ways. The
 * certificate is tests/unit/test_cert.h's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "core/tls.h"
#include "tests/unit/test_cert.h"
#include "tests/unit/unit.h"

TEST(tls_min_protocol)
{
	unsigned int v = 0;
	char err[200];
	CHECK_INT(tls_parse_min_protocol("TLSv1.2", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 0x0303);
	CHECK_INT(tls_parse_min_protocol("TLSv1.3", &v, err, sizeof(err)), -1);
	CHECK(strstr(err, "TLS up to 1.2") != NULL);
	CHECK_INT(tls_parse_min_protocol("TLSv1", &v, err, sizeof(err)), -1);
	CHECK_INT(tls_parse_min_protocol("bogus", &v, err, sizeof(err)), -1);
}

TEST(tls_cipher_list)
{
	struct tls_params p, def;
	char ign[200];
	tls_params_default(&def);
	/* Dovecot 2.3's default list names no suite: the default suites */
	p = def;
	CHECK_INT(tls_parse_cipher_list("ALL:!kRSA:!SRP:!kDHd:!DSS:!aNULL:!eNULL:!EXPORT:!DES:!3DES:!MD5:!PSK:!RC4:!ADH:!LOW@STRENGTH",
	    &p, ign, sizeof(ign)), 0);
	CHECK_INT(p.nsuites, def.nsuites);
	CHECK(memcmp(p.suites, def.suites, def.nsuites * sizeof(def.suites[0])) == 0);
	CHECK_INT(ign[0], 0);
	/* names in their order; the unknown ones reported */
	p = def;
	CHECK_INT(tls_parse_cipher_list("ECDHE-RSA-CHACHA20-POLY1305:AES128-SHA:ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256",
	    &p, ign, sizeof(ign)), 0);
	CHECK_INT(p.nsuites, 2);
	CHECK_INT(p.suites[0], 0xCCA8);
	CHECK_INT(p.suites[1], 0xC02C);
	CHECK(strcmp(ign, "AES128-SHA DHE-RSA-AES128-GCM-SHA256") == 0);
}

TEST(tls_bad_pem)
{
	struct tls_params p;
	char err[200];
	tls_params_default(&p);
	struct tls_cert_conf cf = { NULL, "not a certificate", test_key_pem };
	CHECK(tls_server_new(&cf, 1, &p, 0, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "ssl_cert") != NULL);
	cf.cert_pem = test_cert_pem;
	cf.key_pem = "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n";
	CHECK(tls_server_new(&cf, 1, &p, 0, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "ssl_key") != NULL);
}

/* Runs both engines over a socketpair until both are done with the handshake or one
 * failed. Returns 0 or -1. */
static int
pump(struct tls *s, struct tls *c, int fs, int fc)
{
	for (int i = 0; i < 1000; i++) {
		if (tls_sock_write(c, fc) < 0 || tls_sock_write(s, fs) < 0)
			return -1;
		tls_sock_read(s, fs);
		tls_sock_read(c, fc);
		if (tls_closed(s) || tls_closed(c))
			return -1;
		if (tls_handshake_done(s) && tls_handshake_done(c))
			return 0;
	}
	return -1;
}

static int
handshake(struct tls_server *srv, struct tls_client *cl, const char *name, int verify,
    char *why, size_t whylen)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return -2;
	struct tls *s = tls_new_server(srv), *c = tls_new_client(cl, name, verify);
	int r = pump(s, c, sv[0], sv[1]);
	why[0] = '\0';
	if (r < 0 && tls_closed(c) < 0)
		snprintf(why, whylen, "%s", tls_error(c));
	if (r == 0) {
		/* application data both ways */
		size_t room, len;
		(void)room;
		unsigned char *p = tls_out(c, &room);
		memcpy(p, "a NOOP\r\n", 8);
		tls_out_ack(c, 8);
		tls_sock_write(c, sv[1]);
		tls_sock_read(s, sv[0]);
		p = tls_in(s, &len);
		if (p == NULL || len != 8 || memcmp(p, "a NOOP\r\n", 8) != 0)
			r = -3;
		else
			tls_in_ack(s, len);
		char d[64];
		if (strcmp(tls_describe(s, d, sizeof(d)), "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256") != 0)
			r = -4;
	}
	tls_free(s);
	tls_free(c);
	close(sv[0]);
	close(sv[1]);
	return r;
}

TEST(tls_handshake)
{
	struct tls_params p;
	char err[200], why[200];
	tls_params_default(&p);
	struct tls_cert_conf cf = { NULL, test_cert_pem, test_key_pem };
	struct tls_server *srv = tls_server_new(&cf, 1, &p, 4096, err, sizeof(err));
	struct tls_client *trusting = tls_client_new(test_cert_pem, NULL, NULL, NULL, &p, err, sizeof(err));
	CHECK(srv != NULL && trusting != NULL);
	if (srv == NULL || trusting == NULL)
		return;
	CHECK_INT(tls_client_anchors(trusting), 1);
	CHECK_INT(handshake(srv, trusting, "unit.test", 1, why, sizeof(why)), 0);
	CHECK_INT(handshake(srv, trusting, "other.test", 1, why, sizeof(why)), -1);
	CHECK(strcmp(why, "certificate does not match the host name") == 0);
	/* a client that trusts nothing: not trusted, unless any-cert */
	struct tls_client *empty = tls_client_new("", NULL, NULL, NULL, &p, err, sizeof(err));
	CHECK(empty != NULL);
	if (empty != NULL) {
		CHECK_INT(tls_client_anchors(empty), 0);
		CHECK_INT(handshake(srv, empty, "unit.test", 1, why, sizeof(why)), -1);
		CHECK(strcmp(why, "certificate is not trusted (unknown CA)") == 0);
		CHECK_INT(handshake(srv, empty, "unit.test", 0, why, sizeof(why)), 0);
		tls_client_free(empty);
	}
	/* ssl_client_ca_dir: every file in it is read, what is not PEM is skipped */
	char dir[] = "/tmp/mtool-unit-ca.XXXXXX";
	if (mkdtemp(dir) != NULL) {
		char path[128];
		FILE *f;
		snprintf(path, sizeof(path), "%s/ca.pem", dir);
		if ((f = fopen(path, "w")) != NULL) {
			fputs(test_cert_pem, f);
			fclose(f);
		}
		snprintf(path, sizeof(path), "%s/README", dir);
		if ((f = fopen(path, "w")) != NULL) {
			fputs("not a certificate\n", f);
			fclose(f);
		}
		struct tls_client *fromdir = tls_client_new(NULL, dir, NULL, NULL, &p, err, sizeof(err));
		CHECK(fromdir != NULL);
		if (fromdir != NULL) {
			CHECK_INT(tls_client_anchors(fromdir), 1);
			CHECK_INT(handshake(srv, fromdir, "unit.test", 1, why, sizeof(why)), 0);
			tls_client_free(fromdir);
		}
		snprintf(path, sizeof(path), "%s/ca.pem", dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/README", dir);
		unlink(path);
		rmdir(dir);
	}
	tls_client_free(trusting);
	tls_server_unref(srv);
}

/* Sends n pattern bytes from one engine to the other; 0 if all arrived intact. */
static int
xfer(struct tls *from, int ffd, struct tls *to, int tfd, size_t n, unsigned seed)
{
	size_t sent = 0, got = 0;
	for (int i = 0; i < 10000 && got < n; i++) {
		size_t room, len;
		unsigned char *p;
		if (sent < n && (p = tls_out(from, &room)) != NULL) {
			size_t k = n - sent < room ? n - sent : room;
			for (size_t j = 0; j < k; j++)
				p[j] = (unsigned char)((sent + j) * 31 + seed);
			tls_out_ack(from, k);
			sent += k;
		}
		/* the second read finds the socket drained, often in the middle of a record */
		if (tls_sock_write(from, ffd) < 0 || tls_sock_read(to, tfd) < 0 ||
		    tls_sock_read(to, tfd) < 0 || tls_sock_write(to, tfd) < 0)
			return -1;
		while ((p = tls_in(to, &len)) != NULL) {
			for (size_t j = 0; j < len; j++)
				if (p[j] != (unsigned char)((got + j) * 31 + seed))
					return -2;
			got += len;
			tls_in_ack(to, len);
			if (tls_sock_read(to, tfd) < 0)
				return -1;
		}
	}
	return got == n ? 0 : -3;
}

/* Large records both ways, several times: between them the engines are idle and hand
 * their buffer pages back (core/tls.c), and the next records must still come through. */
TEST(tls_big_records_after_idle)
{
	struct tls_params p;
	char err[200];
	int sv[2];
	tls_params_default(&p);
	struct tls_cert_conf cf = { NULL, test_cert_pem, test_key_pem };
	struct tls_server *srv = tls_server_new(&cf, 1, &p, 4096, err, sizeof(err));
	struct tls_client *cl = tls_client_new(test_cert_pem, NULL, NULL, NULL, &p, err, sizeof(err));
	CHECK(srv != NULL && cl != NULL);
	if (srv == NULL || cl == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return;
	/* small socket buffers: records arrive in pieces, so an engine is often idle on the
	 * socket with half a record in its buffer, which must not be dropped */
	int small = 2048;
	for (int i = 0; i < 2; i++)
		(void)setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	struct tls *s = tls_new_server(srv), *c = tls_new_client(cl, "unit.test", 1);
	CHECK_INT(pump(s, c, sv[0], sv[1]), 0);
	for (unsigned round = 0; round < 3; round++) {
		CHECK_INT(xfer(c, sv[1], s, sv[0], 40000, round), 0);
		CHECK_INT(xfer(s, sv[0], c, sv[1], 40000, round + 7), 0);
		CHECK_INT(xfer(c, sv[1], s, sv[0], 5, round), 0);
	}
	tls_free(s);
	tls_free(c);
	close(sv[0]);
	close(sv[1]);
	tls_client_free(cl);
	tls_server_unref(srv);
}
