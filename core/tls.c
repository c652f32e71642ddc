/* SPDX-License-Identifier: MIT */
/* core/tls.c: see tls.h. The engines and their I/O; the contexts they are made from
 * (certificates, keys, trust anchors, suites) are built in tls_load.c.
 *
 * Implementation notes:
 * - Only the algorithms the configured suites need are registered on an engine, so the
 *   linker keeps only those (no CBC, 3DES, CCM, static RSA or ECDH key exchange).
 * - Big-number code by build (feature TLS_FAST, mk/features.mk): without it BearSSL's
 *   generic 31-bit code (RSA, X25519 and the NIST curves through one implementation:
 *   smallest); with it the special-purpose code, chosen at run time where it needs the
 *   CPU's help (BearSSL's *_get(): NULL when unsupported): P-256 and X25519 with 31-bit
 *   limbs (the fastest BearSSL 0.6 has; its m62/m64 code came later), RSA with 62-bit
 *   limbs (needs 64x64->128 multiplies), Poly1305 with 64-bit multiplies. AES-GCM uses
 *   AES-NI and PCLMUL, ChaCha20 SSE2, when the CPU has them (feature TLS_FAST too).
 * - SNI: the server engine gets our own policy object; its choose() looks at the name
 *   the client asked for, installs that certificate's "single" policy (RSA or EC) on the
 *   engine and hands over to it. BearSSL reads the policy pointer again for the key
 *   exchange and the signature, so the certificate chosen is the one used.
 * - Idle memory: the record buffers (21 KiB of the 25) hold nothing between records, so
 *   their whole pages go back to the kernel (madvise) after the handshake, when the
 *   engine is freed, and after a record bigger than 2 KiB came in and the socket is
 *   drained; an idle session keeps its context and the buffers' edge pages (~13 KiB at
 *   most). A dropped page reads as zeros, which BearSSL never looks at: it writes a record
 *   before reading it. Not after each record we send (4 KiB records during a download
 *   would fault their pages back in each time).
 * - A reload (SIGHUP) makes a new tls_server; engines keep a reference to the one they
 *   started with, so their chains stay valid for as long as they live. */
#include "core/tls.h"

#include <bearssl.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "core/ip.h"

#include "core/feature.h"
#include "core/metrics.h"
#include "core/str.h"
#include "core/tls_int.h"

/* ---- any-cert: take the server's key from its certificate without checking it ---- */

struct anycert {
	const br_x509_class *vtable;
	br_x509_decoder_context dc;
	unsigned int n;
};

static void
any_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct anycert *a = (struct anycert *)ctx;
	(void)server_name;
	a->n = 0;
}

static void
any_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct anycert *a = (struct anycert *)ctx;
	(void)length;
	if (a->n == 0)
		br_x509_decoder_init(&a->dc, NULL, NULL);
}

static void
any_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct anycert *a = (struct anycert *)ctx;
	if (a->n == 0)
		br_x509_decoder_push(&a->dc, buf, len);
}

static void
any_end_cert(const br_x509_class **ctx)
{
	((struct anycert *)ctx)->n++;
}

static unsigned
any_end_chain(const br_x509_class **ctx)
{
	struct anycert *a = (struct anycert *)ctx;
	if (a->n == 0)
		return BR_ERR_X509_EMPTY_CHAIN;
	if (br_x509_decoder_get_pkey(&a->dc) == NULL) {
		int e = br_x509_decoder_last_error(&a->dc);
		return e ? (unsigned)e : BR_ERR_X509_TRUNCATED;
	}
	return 0;
}

static const br_x509_pkey *
any_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct anycert *a = (struct anycert *)ctx;
	if (usages)
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	return br_x509_decoder_get_pkey(&a->dc);
}

static const br_x509_class anycert_class = {
	sizeof(struct anycert), any_start_chain, any_start_cert, any_append, any_end_cert,
	any_end_chain, any_get_pkey,
};

/* ---- big numbers: the build's choice (see the notes on top) ---- */

static const br_ec_impl *
ec_for(int curve)
{
#if MTOOL_WITH_TLS_FAST
	if (curve == BR_EC_secp256r1)
		return &br_ec_p256_m31;
	return curve == BR_EC_curve25519 ? &br_ec_c25519_m31 : &br_ec_prime_i31;
#else
	return curve == BR_EC_curve25519 ? &br_ec_c25519_i31 : &br_ec_prime_i31;
#endif
}

static br_rsa_private
rsa_private(void)
{
#if MTOOL_WITH_TLS_FAST
	br_rsa_private f = br_rsa_i62_private_get();
	if (f != NULL)
		return f;
#endif
	return &br_rsa_i31_private;
}

static br_rsa_pkcs1_sign
rsa_sign(void)
{
#if MTOOL_WITH_TLS_FAST
	br_rsa_pkcs1_sign f = br_rsa_i62_pkcs1_sign_get();
	if (f != NULL)
		return f;
#endif
	return &br_rsa_i31_pkcs1_sign;
}

static br_rsa_pkcs1_vrfy
rsa_vrfy(void)
{
#if MTOOL_WITH_TLS_FAST
	br_rsa_pkcs1_vrfy f = br_rsa_i62_pkcs1_vrfy_get();
	if (f != NULL)
		return f;
#endif
	return &br_rsa_i31_pkcs1_vrfy;
}

static br_poly1305_run
poly1305(void)
{
#if MTOOL_WITH_TLS_FAST
	br_poly1305_run f = br_poly1305_ctmulq_get();
	if (f != NULL)
		return f;
#endif
	return &br_poly1305_ctmul_run;
}

static const unsigned char *
ec_generator(int curve, size_t *len)
{
	return ec_for(curve)->generator(curve, len);
}

static const unsigned char *
ec_order(int curve, size_t *len)
{
	return ec_for(curve)->order(curve, len);
}

static size_t
ec_xoff(int curve, size_t *len)
{
	return ec_for(curve)->xoff(curve, len);
}

static uint32_t
ec_mul(unsigned char *G, size_t Glen, const unsigned char *x, size_t xlen, int curve)
{
	return ec_for(curve)->mul(G, Glen, x, xlen, curve);
}

static size_t
ec_mulgen(unsigned char *R, const unsigned char *x, size_t xlen, int curve)
{
	return ec_for(curve)->mulgen(R, x, xlen, curve);
}

static uint32_t
ec_muladd(unsigned char *A, const unsigned char *B, size_t len, const unsigned char *x, size_t xlen,
    const unsigned char *y, size_t ylen, int curve)
{
	return ec_for(curve)->muladd(A, B, len, x, xlen, y, ylen, curve);
}

static const br_ec_impl tls_ec = {
	(uint32_t)1 << BR_EC_curve25519 | (uint32_t)1 << BR_EC_secp256r1 |
	    (uint32_t)1 << BR_EC_secp384r1 | (uint32_t)1 << BR_EC_secp521r1,
	ec_generator, ec_order, ec_xoff, ec_mul, ec_mulgen, ec_muladd,
};

/* ---- engines ---- */

struct tls {
	br_ssl_engine_context *eng;
	struct tls_server *srv;		/* server side: a reference */
	const br_ssl_server_policy_class *sni_vtable;
	int handshaken;			/* the first handshake finished (latched: a
					 * failed engine says nothing any more) */
	unsigned char chose;		/* server: choose() ran, so the session is new */
	unsigned char counted;		/* the handshake's outcome is in tls_handshakes */
	unsigned char dirty;		/* buffer pages touched since they were last dropped */
	char errbuf[96];
	unsigned char *ibuf;		/* then the output buffer: see tls_alloc */
	size_t alloc;
};

/* Each role allocates only its own context: a server engine does not carry a client's
 * X.509 validator (3 KiB). */
struct tls_srv {
	struct tls t;
	br_ssl_server_context sc;
};

struct tls_cli {
	struct tls t;
	br_ssl_client_context cc;
	union {
		br_x509_minimal_context xc;
		struct anycert any;
	} x;
};

#define SRV(t)	(&((struct tls_srv *)(void *)(t))->sc)
#define CLI(t)	((struct tls_cli *)(void *)(t))

/* Everything an engine of either role needs for the suites in p. */
static void
engine_setup(br_ssl_engine_context *eng, const struct tls_params *p, unsigned char *ibuf,
    unsigned char *obuf)
{
	br_ssl_engine_set_versions(eng, p->min_version, BR_TLS12);
	br_ssl_engine_set_suites(eng, p->suites, p->nsuites);
	br_ssl_engine_set_hash(eng, br_sha1_ID, &br_sha1_vtable);
	br_ssl_engine_set_hash(eng, br_sha224_ID, &br_sha224_vtable);
	br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
	br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
	br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	/* feature TLS_FAST: AES-NI/PCLMUL or constant-time AES-GCM, ChaCha20 with SSE2 where
	 * the CPU has it (without it, size first: the portable constant-time code only);
	 * Poly1305 with 32-bit multiplies unless feature TLS_FAST (the 64-bit one is 3 KiB more, for
	 * clients without AES hardware). Chosen once: each probe is a CPUID, which traps to
	 * the hypervisor in a VM (2 % of a resumed handshake's CPU when done per engine). */
	static const br_block_ctr_class *aes_ctr;
	static br_ghash ghash;
	static br_chacha20_run chacha;
	static br_poly1305_run poly;
	if (aes_ctr == NULL) {
#if MTOOL_WITH_TLS_FAST
		br_ssl_engine_set_default_aes_gcm(eng);
		aes_ctr = eng->iaes_ctr;
		ghash = eng->ighash;
		chacha = br_chacha20_sse2_get();
#else
		/* size first (the router profile): the portable constant-time code only */
		aes_ctr = &br_aes_ct64_ctr_vtable;
		ghash = &br_ghash_ctmul64;
		chacha = NULL;
#endif
		if (chacha == NULL)
			chacha = &br_chacha20_ct_run;
		poly = poly1305();
	}
	br_ssl_engine_set_gcm(eng, &br_sslrec_in_gcm_vtable, &br_sslrec_out_gcm_vtable);
	br_ssl_engine_set_aes_ctr(eng, aes_ctr);
	br_ssl_engine_set_ghash(eng, ghash);
	br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable);
	br_ssl_engine_set_chacha20(eng, chacha);
	br_ssl_engine_set_poly1305(eng, poly);
	br_ssl_engine_set_ec(eng, &tls_ec);
	br_ssl_engine_set_buffers_bidi(eng, ibuf, TLS_IBUF_SIZE, obuf, TLS_OBUF_SIZE);
	br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION | BR_OPT_ENFORCE_SERVER_PREFERENCES);
}

struct metrics_family tls_handshakes = {
	.name = "mtool_tls_handshakes",
	.help = "TLS handshakes by side (client: mtool serves a mail client; backend: mtool connects to a server), result and resumption",
	.type = METRICS_COUNTER, .labels = { "side", "result", "resumed" },
};

/* Once per engine: success, failed (an alert either way), or aborted (freed before the
 * handshake ended: the peer left or timed out). The client side never resumes. */
static void
tls_count(struct tls *t, const char *result)
{
	if (t->counted || (t->handshaken && strcmp(result, "success") != 0))
		return;
	t->counted = 1;
	METRICS_INC(tls_handshakes, t->srv ? "client" : "backend", result,
	    t->srv && t->handshaken && !t->chose ? "yes" : "no");
}

/* Gives the whole pages inside [p, p + len) back to the kernel; the rest is zeroed if
 * wipe (then all of it reads as zeros). */
static void
pages_drop(unsigned char *p, size_t len, int wipe)
{
	static uintptr_t pg;
	if (pg == 0) {
		long v = sysconf(_SC_PAGESIZE);
		pg = v > 0 ? (uintptr_t)v : 4096;
	}
	uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1), b = ((uintptr_t)p + len) & ~(pg - 1);
	if (b <= a || madvise((void *)a, b - a, MADV_DONTNEED) != 0)
		a = b = (uintptr_t)p + len;
	if (wipe) {
		memset(p, 0, a - (uintptr_t)p);
		memset((void *)b, 0, (uintptr_t)p + len - b);
	}
}

/* Drops the buffers' pages if they hold nothing: after the handshake, no record partly
 * in (ixa == ixb == 0, the next header wanted whole), no plaintext waiting either way,
 * nothing to send. */
static void
tls_trim(struct tls *t)
{
	br_ssl_engine_context *e = t->eng;
	size_t len;
	if (!tls_handshake_done(t) || !t->dirty || e->ixa != 0 || e->ixb != 0 || e->ixc != 5 ||
	    e->oxa != e->oxc || br_ssl_engine_sendrec_buf(e, &len) != NULL)
		return;
	pages_drop(t->ibuf, TLS_IBUF_SIZE + TLS_OBUF_SIZE, 0);
	t->dirty = 0;
}

static struct tls *
tls_alloc(size_t size)
{
	/* one block: the role's context, then the two record buffers (not zeroed: BearSSL
	 * writes a record before it reads it; pages another engine left resident are
	 * dropped after the handshake, one madvise less per connection than here) */
	size = (size + 15) & ~(size_t)15;
	struct tls *t = malloc(size + TLS_IBUF_SIZE + TLS_OBUF_SIZE);
	if (t != NULL) {
		memset(t, 0, size);
		t->ibuf = (unsigned char *)t + size;
		t->alloc = size + TLS_IBUF_SIZE + TLS_OBUF_SIZE;
	}
	return t;
}

static int
sni_choose(const br_ssl_server_policy_class **pctx, const br_ssl_server_context *cc,
    br_ssl_server_choices *choices)
{
	struct tls *t = (struct tls *)((char *)pctx - offsetof(struct tls, sni_vtable));
	br_ssl_server_context *sc = SRV(t);
	t->chose = 1;	/* BearSSL asks the policy only in a full handshake, not on resumption */
	const struct tls_cert *ct = tls_server_pick(t->srv, br_ssl_engine_get_server_name(&sc->eng));

	if (ct->key_type == BR_KEYTYPE_RSA)
		br_ssl_server_set_single_rsa(sc, ct->chain, ct->nchain, &ct->rsa, BR_KEYTYPE_SIGN,
		    rsa_private(), rsa_sign());
	else
		br_ssl_server_set_single_ec(sc, ct->chain, ct->nchain, &ct->ec, BR_KEYTYPE_SIGN,
		    (unsigned)ct->issuer_type, &tls_ec, &br_ecdsa_i31_sign_asn1);
	return (*sc->policy_vtable)->choose(sc->policy_vtable, cc, choices);
}

static const br_ssl_server_policy_class sni_policy_class = {
	sizeof(const br_ssl_server_policy_class *), sni_choose, NULL, NULL,
};

struct tls *
tls_new_server(struct tls_server *srv)
{
	struct tls *t = tls_alloc(sizeof(struct tls_srv));
	if (t == NULL)
		return NULL;
	t->srv = srv;
	tls_server_ref(srv);
	br_ssl_server_zero(SRV(t));
	t->eng = &SRV(t)->eng;
	engine_setup(t->eng, &srv->params, t->ibuf, t->ibuf + TLS_IBUF_SIZE);
	t->sni_vtable = &sni_policy_class;
	SRV(t)->policy_vtable = &t->sni_vtable;
	if (srv->cache_store)
		br_ssl_server_set_cache(SRV(t), &srv->cache.vtable);
	if (!br_ssl_server_reset(SRV(t))) {
		tls_free(t);
		return NULL;
	}
	return t;
}

struct tls *
tls_new_client(struct tls_client *cl, const char *server_name, int verify)
{
	struct tls *t = tls_alloc(sizeof(struct tls_cli));
	struct ip_addr ip;
	if (t == NULL)
		return NULL;
	br_ssl_client_context *cc = &CLI(t)->cc;
	br_ssl_client_zero(cc);
	t->eng = &cc->eng;
	engine_setup(t->eng, &cl->params, t->ibuf, t->ibuf + TLS_IBUF_SIZE);
	br_ssl_engine_set_rsavrfy(t->eng, rsa_vrfy());
	br_ssl_engine_set_ecdsa(t->eng, &br_ecdsa_i31_vrfy_asn1);
	if (verify) {
		br_x509_minimal_context *xc = &CLI(t)->x.xc;
		br_x509_minimal_init(xc, &br_sha256_vtable, cl->tas, cl->ntas);
		br_x509_minimal_set_hash(xc, br_sha1_ID, &br_sha1_vtable);
		br_x509_minimal_set_hash(xc, br_sha224_ID, &br_sha224_vtable);
		br_x509_minimal_set_hash(xc, br_sha256_ID, &br_sha256_vtable);
		br_x509_minimal_set_hash(xc, br_sha384_ID, &br_sha384_vtable);
		br_x509_minimal_set_hash(xc, br_sha512_ID, &br_sha512_vtable);
		br_x509_minimal_set_rsa(xc, br_ssl_engine_get_rsavrfy(t->eng));
		br_x509_minimal_set_ecdsa(xc, br_ssl_engine_get_ec(t->eng), br_ssl_engine_get_ecdsa(t->eng));
		br_ssl_engine_set_x509(t->eng, &xc->vtable);
	} else {
		CLI(t)->x.any.vtable = &anycert_class;
		br_ssl_engine_set_x509(t->eng, &CLI(t)->x.any.vtable);
	}
	const struct tls_cert *ct = &cl->cert;
	if (ct->nchain > 0 && ct->key_type == BR_KEYTYPE_RSA)
		br_ssl_client_set_single_rsa(cc, ct->chain, ct->nchain, &ct->rsa, rsa_sign());
	else if (ct->nchain > 0)
		br_ssl_client_set_single_ec(cc, ct->chain, ct->nchain, &ct->ec, BR_KEYTYPE_SIGN,
		    (unsigned)ct->issuer_type, &tls_ec, &br_ecdsa_i31_sign_asn1);
	/* an address is no host name: no SNI, and the certificate is matched against it as
	 * text (BearSSL checks DNS names only) */
	if (server_name != NULL && ip_parse(server_name, &ip) == 0 && verify == 0)
		server_name = NULL;
	if (!br_ssl_client_reset(cc, server_name, 0)) {
		tls_free(t);
		return NULL;
	}
	return t;
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	tls_count(t, "aborted");
	tls_server_unref(t->srv);
	/* the buffers held plaintext and keys: their pages go, the edges are zeroed */
	size_t head = (size_t)(t->ibuf - (unsigned char *)t);
	pages_drop(t->ibuf, t->alloc - head, 1);
	memset(t, 0, head);
	free(t);
}

/* ---- I/O ---- */

int
tls_want_read(struct tls *t)
{
	return (br_ssl_engine_current_state(t->eng) & BR_SSL_RECVREC) != 0;
}

int
tls_want_write(struct tls *t)
{
	return (br_ssl_engine_current_state(t->eng) & BR_SSL_SENDREC) != 0;
}

int
tls_sock_read(struct tls *t, int fd)
{
	int got = 0;
	/* BearSSL asks for exactly what the record needs (its 5-byte header, then its
	 * body), so nothing past a record is read from the socket; a record therefore
	 * takes two reads, done here in one call. Stops when a read comes back short,
	 * or when the engine has plaintext for the caller (it takes no more records
	 * until that is consumed). */
	for (int i = 0; i < 8 && tls_want_read(t); i++) {
		size_t len;
		unsigned char *p = br_ssl_engine_recvrec_buf(t->eng, &len);
		ssize_t n = read(fd, p, len);
		if (n > 0) {
			if ((size_t)(p - t->ibuf) + (size_t)n > 2048)
				t->dirty = 1;
			br_ssl_engine_recvrec_ack(t->eng, (size_t)n);
			(void)tls_handshake_done(t);
			got = 1;
			if ((size_t)n < len)
				break;
			continue;
		}
		if (n == 0)
			return got ? 1 : -2;	/* the EOF shows on the next call */
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			tls_trim(t);	/* drained: the peer is idle for now */
			break;
		}
		if (errno == EINTR)
			break;
		return got ? 1 : -1;
	}
	return got;
}

int
tls_sock_write(struct tls *t, int fd)
{
	size_t len;
	unsigned char *p;
	while ((p = br_ssl_engine_sendrec_buf(t->eng, &len)) != NULL) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			br_ssl_engine_sendrec_ack(t->eng, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == 0)
			errno = EPIPE;
		return -1;
	}
	tls_trim(t);
	return 0;
}

unsigned char *
tls_in(struct tls *t, size_t *len)
{
	return br_ssl_engine_recvapp_buf(t->eng, len);
}

void
tls_in_ack(struct tls *t, size_t n)
{
	br_ssl_engine_recvapp_ack(t->eng, n);
}

unsigned char *
tls_out(struct tls *t, size_t *len)
{
	return br_ssl_engine_sendapp_buf(t->eng, len);
}

void
tls_out_ack(struct tls *t, size_t n)
{
	br_ssl_engine_sendapp_ack(t->eng, n);
	br_ssl_engine_flush(t->eng, 0);
}

void
tls_close(struct tls *t)
{
	br_ssl_engine_close(t->eng);
}

int
tls_closed(struct tls *t)
{
	unsigned int st = br_ssl_engine_current_state(t->eng);
	/* a failure counts at once, while its alert may still wait to be sent */
	if (br_ssl_engine_last_error(t->eng) != BR_ERR_OK) {
		tls_count(t, "failed");
		return -1;
	}
	if (st == BR_SSL_CLOSED)
		return 1;
	/* closing: after the handshake, an engine that neither reads nor takes data only
	 * has its close_notify (or its answer to the peer's) left to send */
	if (tls_handshake_done(t) && (st & (BR_SSL_RECVREC | BR_SSL_RECVAPP | BR_SSL_SENDAPP)) == 0)
		return 1;
	return 0;
}

int
tls_handshake_done(struct tls *t)
{
	/* the engine takes application data only once the handshake has finished */
	if (!t->handshaken) {
		t->handshaken = (br_ssl_engine_current_state(t->eng) & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) != 0;
		if (t->handshaken) {
			tls_count(t, "success");
			t->dirty = 1;	/* the handshake's flights: dropped when all is sent */
		}
	}
	return t->handshaken;
}

static const struct {
	int code;
	const char *text;
} tls_errors[] = {
	{ BR_ERR_UNSUPPORTED_VERSION, "unsupported protocol version (TLS 1.2 only)" },
	{ BR_ERR_BAD_VERSION, "unexpected protocol version" },
	{ BR_ERR_BAD_LENGTH, "bad record length (not TLS?)" },
	{ BR_ERR_TOO_LARGE, "record too large" },
	{ BR_ERR_BAD_MAC, "bad record MAC (corrupt data)" },
	{ BR_ERR_UNKNOWN_TYPE, "unknown record type (not TLS?)" },
	{ BR_ERR_UNEXPECTED, "unexpected message" },
	{ BR_ERR_BAD_HANDSHAKE, "malformed handshake message" },
	{ BR_ERR_BAD_CIPHER_SUITE, "no shared cipher suite" },
	{ BR_ERR_BAD_SIGNATURE, "bad signature" },
	{ BR_ERR_X509_EMPTY_CHAIN, "the server sent no certificate" },
	{ BR_ERR_X509_BAD_SIGNATURE, "certificate signature is invalid" },
	{ BR_ERR_X509_EXPIRED, "certificate has expired or is not yet valid" },
	{ BR_ERR_X509_BAD_SERVER_NAME, "certificate does not match the host name" },
	{ BR_ERR_X509_NOT_CA, "certificate issuer is not a CA" },
	{ BR_ERR_X509_NOT_TRUSTED, "certificate is not trusted (unknown CA)" },
};

const char *
tls_error(struct tls *t)
{
	int e = br_ssl_engine_last_error(t->eng);
	if (e == BR_ERR_OK)
		return "no error";
	if (e >= BR_ERR_SEND_FATAL_ALERT) {
		str_fmt(t->errbuf, sizeof(t->errbuf), "sent fatal alert %d", e - BR_ERR_SEND_FATAL_ALERT);
		return t->errbuf;
	}
	if (e >= BR_ERR_RECV_FATAL_ALERT) {
		str_fmt(t->errbuf, sizeof(t->errbuf), "received fatal alert %d%s", e - BR_ERR_RECV_FATAL_ALERT,
		    e - BR_ERR_RECV_FATAL_ALERT == 48 ? " (unknown CA)" :
		    e - BR_ERR_RECV_FATAL_ALERT == 42 ? " (bad certificate)" :
		    e - BR_ERR_RECV_FATAL_ALERT == 40 ? " (handshake failure)" : "");
		return t->errbuf;
	}
	for (size_t i = 0; i < sizeof(tls_errors) / sizeof(tls_errors[0]); i++)
		if (tls_errors[i].code == e)
			return tls_errors[i].text;
	str_fmt(t->errbuf, sizeof(t->errbuf), "%s error %d", e >= BR_ERR_X509_OK ? "certificate" : "protocol", e);
	return t->errbuf;
}

const char *
tls_describe(struct tls *t, char *buf, size_t len)
{
	br_ssl_session_parameters sp;
	unsigned int v = br_ssl_engine_get_version(t->eng);
	br_ssl_engine_get_session_parameters(t->eng, &sp);
	const char *suite = tls_suite_name(sp.cipher_suite);
	str_fmt(buf, len, "TLSv1.%u %s", v >= BR_TLS10 ? v - BR_TLS10 : 0, suite);
	return buf;
}
