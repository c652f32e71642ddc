/* SPDX-License-Identifier: MIT */
/* core/tls.h: TLS over BearSSL: server and client contexts built from PEM text at
 * start-up (certificate chains, RSA and EC keys, trust anchors), and one engine per
 * connection with its record buffers. Not a connection: core/conn.c and the relay feed
 * it bytes from their sockets.
 *
 * Protocols: TLS 1.2 only (BearSSL has no TLS 1.3; TLS 1.0/1.1 would need CBC suites, MD5
 * and their PRF, left out for size). Suites: ECDHE with AES-GCM or ChaCha20-Poly1305, the
 * server's order first.
 *
 * Memory per connection (TLS_IBUF_SIZE + TLS_OBUF_SIZE + the BearSSL context, see
 * config.h): the input buffer must hold the largest record a peer may send (16 KiB of
 * payload, BR_SSL_BUFSIZE_INPUT); the output buffer only bounds the records we make, so
 * it is smaller. BearSSL keeps partial records in these buffers, so they live as long as
 * the connection, idle or not. */
#ifndef CORE_TLS_H
#define CORE_TLS_H

#include <stddef.h>
#include <stdint.h>

struct tls_server;	/* certificates, keys, session cache; reference-counted */
struct tls_client;	/* trust anchors, client certificate */
struct tls;		/* one connection's engine */

/* Protocol versions and suites, shared by both roles. */
struct tls_params {
	unsigned int min_version;	/* 0x0303 (TLS 1.2) */
	uint16_t suites[16];
	unsigned int nsuites;
};

/* ssl_min_protocol: "TLSv1.2". Returns 0, or -1 with a message in err (older versions,
 * TLSv1.3 and unknown names). */
int tls_parse_min_protocol(const char *s, unsigned int *version, char *err, size_t errlen);
/* ssl_cipher_list in OpenSSL's syntax. OpenSSL suite names that proxyd offers (ECDHE with
 * AES-GCM or ChaCha20-Poly1305) are taken in their order; keywords and
 * exclusions (ALL, HIGH, !aNULL, @STRENGTH, ...) select nothing and are ignored. If no
 * name was taken, the default suites are used. Names BearSSL lacks are listed in
 * ignored (space-separated, truncated to ignlen) for a start-up warning. Returns 0, or
 * -1 if the list is malformed. */
int tls_parse_cipher_list(const char *s, struct tls_params *, char *ignored, size_t ignlen);
void tls_params_default(struct tls_params *);

/* One certificate: chain and key as PEM text, for the names given (space-separated;
 * "*.example.org" matches one label). names NULL: the default certificate. */
struct tls_cert_conf {
	const char *names;
	const char *cert_pem;
	const char *key_pem;
};

/* Builds a server context from certs[0..n) (the one with names == NULL is the default;
 * there must be one). Returns NULL with a message in err. The caller holds one
 * reference. */
struct tls_server *tls_server_new(const struct tls_cert_conf *, unsigned int n,
    const struct tls_params *, size_t cache_bytes, char *err, size_t errlen);
void tls_server_ref(struct tls_server *);
void tls_server_unref(struct tls_server *);

/* Trust anchors from ca_pem (PEM text of CA certificates; may be NULL) and every file
 * in ca_dir (may be NULL). With neither, the system store (/etc/ssl/certs/...). A client
 * certificate is optional (both or neither of cert_pem/key_pem). NULL with err on
 * failure. */
struct tls_client *tls_client_new(const char *ca_pem, const char *ca_dir, const char *cert_pem,
    const char *key_pem, const struct tls_params *, char *err, size_t errlen);
void tls_client_free(struct tls_client *);
unsigned int tls_client_anchors(const struct tls_client *);

/* A server-side engine (takes a reference on srv), or a client-side one that verifies
 * the chain and server_name (verify = 1) or accepts any certificate (verify = 0).
 * server_name is also sent as SNI unless it is an IP address. NULL if out of memory. */
struct tls *tls_new_server(struct tls_server *srv);
struct tls *tls_new_client(struct tls_client *, const char *server_name, int verify);
void tls_free(struct tls *);

/* Socket side. tls_sock_read reads into the record buffer while the engine wants
 * records (never past the record it needs, so a STARTTLS peer's early bytes stay in the
 * socket): 1 bytes came, 0 nothing to do or EAGAIN, -2 EOF, -1 error (errno).
 * tls_sock_write sends the records the engine has made until the socket is full:
 * 0, or -1 (errno). */
int tls_sock_read(struct tls *, int fd);
int tls_sock_write(struct tls *, int fd);
int tls_want_read(struct tls *);	/* wants records from the peer */
int tls_want_write(struct tls *);	/* has records to send */

/* Application side. tls_in: decrypted bytes waiting (NULL when none); tls_in_ack marks
 * n of them used. tls_out: room for plaintext (NULL while the handshake runs or the
 * output records are not sent yet); tls_out_ack seals n bytes into a record at once.
 * Pointers are valid until the next call on this engine. */
unsigned char *tls_in(struct tls *, size_t *len);
void tls_in_ack(struct tls *, size_t n);
unsigned char *tls_out(struct tls *, size_t *len);
void tls_out_ack(struct tls *, size_t n);

/* Sends close_notify (when the records already made have gone). */
void tls_close(struct tls *);
/* 0 while open, 1 closed or closing cleanly (close_notify received or sent), -1 failed:
 * tls_error() says why. A failed or closing engine may still have a record to send (its
 * alert, its close_notify): tls_sock_write() it, best effort. */
int tls_closed(struct tls *);
int tls_handshake_done(struct tls *);
/* Why the engine failed, in words ("certificate is not trusted (unknown CA)",
 * "received alert 48", ...). Static or per-engine storage. */
const char *tls_error(struct tls *);
/* "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256" for logs, after the handshake. */
const char *tls_describe(struct tls *, char *buf, size_t len);

/* mtool_tls_handshakes_total{side, result, resumed} (core/metrics.h): counted by every
 * engine once; a daemon that wants it shown registers it. */
struct metrics_family;
extern struct metrics_family tls_handshakes;

#endif
