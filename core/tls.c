/* SPDX-License-Identifier: MIT */
/* core/tls.c: see tls.h.
 *
 * Implementation notes:
 * - Only the algorithms the configured suites need are registered on an engine, so the
 *   linker keeps only those (no CBC, 3DES, CCM, static RSA or ECDH key exchange, MD5 or
 *   static RSA or ECDH key exchange; RSA with 31-bit limbs only: 3 KiB smaller than the
 *   62-bit code, slower). Elliptic curves with BearSSL's generic 31-bit code: X25519 and
 *   the NIST curves (P-256, P-384, P-521); the special-purpose P-256 and X25519 code would
 *   be 10 KiB more for faster handshakes.
 * - SNI: the server engine gets our own policy object; its choose() looks at the name
 *   the client asked for, installs that certificate's "single" policy (RSA or EC) on the
 *   engine and hands over to it. BearSSL reads the policy pointer again for the key
 *   exchange and the signature, so the certificate chosen is the one used.
 * - Trust anchors are made from X.509 certificates with BearSSL's decoder: subject DN,
 *   public key, CA flag; every byte copied into memory owned by the tls_client.
 * - A reload (SIGHUP) makes a new tls_server; engines keep a reference to the one they
 *   started with, so their chains stay valid for as long as they live. */
#include "core/tls.h"

#include <bearssl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core/addr.h"
#include "core/base64.h"
#include "core/str.h"

/* ---- suites ---- */

struct suite_name {
	const char *openssl;
	uint16_t id;
};

static const struct suite_name suite_names[] = {
	{ "ECDHE-ECDSA-AES128-GCM-SHA256", BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 },
	{ "ECDHE-RSA-AES128-GCM-SHA256", BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 },
	{ "ECDHE-ECDSA-AES256-GCM-SHA384", BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 },
	{ "ECDHE-RSA-AES256-GCM-SHA384", BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 },
	{ "ECDHE-ECDSA-CHACHA20-POLY1305", BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 },
	{ "ECDHE-RSA-CHACHA20-POLY1305", BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 },
};
#define NSUITE_NAMES	(sizeof(suite_names) / sizeof(suite_names[0]))

void
tls_params_default(struct tls_params *p)
{
	/* AEAD with forward secrecy only; AES-128-GCM first (AES-NI makes it the fastest),
	 * ChaCha20 for clients without AES hardware */
	static const uint16_t def[] = {
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	};
	p->min_version = BR_TLS12;
	memcpy(p->suites, def, sizeof(def));
	p->nsuites = sizeof(def) / sizeof(def[0]);
}

int
tls_parse_min_protocol(const char *s, unsigned int *version, char *err, size_t errlen)
{
	static const char *const older[] = { "SSLv3", "TLSv1", "TLSv1.0", "TLSv1.1", "ANY", NULL };
	*version = BR_TLS12;
	if (strcasecmp(s, "TLSv1.2") == 0)
		return 0;
	for (int i = 0; older[i]; i++)
		if (strcasecmp(s, older[i]) == 0) {
			/* TLS 1.0/1.1 need CBC suites, MD5 and their PRF: 10 KiB of code for
			 * clients that are rare by now (and refused by Dovecot's default too) */
			str_fmt(err, errlen, "ssl_min_protocol: %s: this build speaks TLS 1.2 only", s);
			return -1;
		}
	str_fmt(err, errlen, strcasecmp(s, "TLSv1.3") == 0 ?
	    "ssl_min_protocol: %s is not available: BearSSL speaks TLS up to 1.2" :
	    "ssl_min_protocol: unknown protocol '%s' (TLSv1.2)", s);
	return -1;
}

int
tls_parse_cipher_list(const char *s, struct tls_params *p, char *ignored, size_t ignlen)
{
	char tok[64];
	size_t ign = 0;
	unsigned int min_version = p->min_version;

	p->nsuites = 0;
	if (ignlen)
		ignored[0] = '\0';
	while (*s) {
		s += strspn(s, ": ,");
		size_t n = strcspn(s, ": ,");
		if (n == 0)
			break;
		if (n >= sizeof(tok))
			return -1;
		memcpy(tok, s, n);
		tok[n] = '\0';
		s += n;
		/* keywords (ALL, HIGH, DEFAULT, kRSA, ...), exclusions and @STRENGTH are
		 * OpenSSL's set algebra: they name no single suite */
		if (strchr(tok, '-') == NULL || strchr("!-+@", tok[0]) != NULL)
			continue;
		size_t i;
		for (i = 0; i < NSUITE_NAMES; i++)
			if (strcasecmp(tok, suite_names[i].openssl) == 0)
				break;
		if (i == NSUITE_NAMES) {
			if (ign < ignlen)
				ign += str_fmt(ignored + ign, ignlen - ign, "%s%s", ign ? " " : "", tok);
			continue;
		}
		int dup = 0;
		for (unsigned int j = 0; j < p->nsuites; j++)
			dup |= p->suites[j] == suite_names[i].id;
		if (!dup && p->nsuites < sizeof(p->suites) / sizeof(p->suites[0]))
			p->suites[p->nsuites++] = suite_names[i].id;
	}
	if (p->nsuites == 0) {
		tls_params_default(p);
		p->min_version = min_version;
	}
	return 0;
}

/* ---- PEM and DER ---- */

struct dbuf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

static void
dbuf_append(void *arg, const void *data, size_t len)
{
	struct dbuf *b = arg;
	if (b->oom)
		return;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + len)
			cap *= 2;
		unsigned char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

typedef int pem_cb(void *arg, const char *name, unsigned char *der, size_t len);

/* Calls cb for every PEM object in text ("-----BEGIN NAME-----", base64, "-----END
 * NAME-----"); cb takes ownership of der. Our own decoder on core/base64 rather than
 * BearSSL's (2 KiB less). Returns the number of objects, or -1 (malformed PEM, out of
 * memory, or cb failed). */
static int
pem_each(const char *text, pem_cb *cb, void *arg)
{
	const char *p = text;
	char name[64], endmark[96];
	int n = 0;

	while ((p = strstr(p, "-----BEGIN ")) != NULL) {
		const char *nm = p + 11, *e = strstr(nm, "-----");
		if (e == NULL || (size_t)(e - nm) >= sizeof(name))
			return -1;
		memcpy(name, nm, (size_t)(e - nm));
		name[e - nm] = '\0';
		str_fmt(endmark, sizeof(endmark), "-----END %s-----", name);
		const char *body = e + 5, *end = strstr(body, endmark);
		if (end == NULL)
			return -1;
		size_t blen = (size_t)(end - body), k = 0, dn;
		char *b64 = malloc(blen + 1);
		unsigned char *der = malloc(base64_decoded_max(blen) + 1);
		if (b64 == NULL || der == NULL) {
			free(b64);
			free(der);
			return -1;
		}
		for (size_t i = 0; i < blen; i++)
			if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' && body[i] != '\n')
				b64[k++] = body[i];
		/* an encrypted key's "Proc-Type:" header is not base64: it fails here */
		int bad = base64_decode(b64, k, der, base64_decoded_max(blen) + 1, &dn) < 0;
		free(b64);
		if (bad) {
			free(der);
			return -1;
		}
		if (cb(arg, name, der, dn) < 0)
			return -1;
		n++;
		p = end + strlen(endmark);
	}
	return n;
}

static void *
memdup(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);
	if (q && n)
		memcpy(q, p, n);
	return q;
}

/* ---- certificates and keys ---- */

struct tls_cert {
	char **names;			/* NULL: the default */
	unsigned int nnames;
	br_x509_certificate *chain;
	size_t nchain;
	int key_type;			/* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
	int issuer_type;		/* key type of the leaf's signer (EC policy) */
	br_rsa_private_key rsa;
	br_ec_private_key ec;
};

struct chain_ctx {
	struct tls_cert *ct;
	int oom;
};

static int
chain_add(void *arg, const char *name, unsigned char *der, size_t len)
{
	struct chain_ctx *cx = arg;
	if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0) {
		free(der);
		return 0;
	}
	br_x509_certificate *c = realloc(cx->ct->chain, (cx->ct->nchain + 1) * sizeof(*c));
	if (c == NULL) {
		free(der);
		return -1;
	}
	cx->ct->chain = c;
	c[cx->ct->nchain].data = der;
	c[cx->ct->nchain].data_len = len;
	cx->ct->nchain++;
	return 0;
}

struct key_ctx {
	br_skey_decoder_context kc;
	int found, err;
};

static int
key_add(void *arg, const char *name, unsigned char *der, size_t len)
{
	struct key_ctx *k = arg;
	if (strstr(name, "PRIVATE KEY") != NULL && !k->found) {
		br_skey_decoder_init(&k->kc);
		br_skey_decoder_push(&k->kc, der, len);
		k->err = br_skey_decoder_last_error(&k->kc);
		k->found = 1;
	}
	/* the decoder keeps its own copy of the key; ours is wiped */
	memset(der, 0, len);
	free(der);
	return 0;
}

static void
cert_clear(struct tls_cert *ct)
{
	for (unsigned int i = 0; i < ct->nnames; i++)
		free(ct->names[i]);
	free(ct->names);
	for (size_t i = 0; i < ct->nchain; i++)
		free(ct->chain[i].data);
	free(ct->chain);
	if (ct->key_type == BR_KEYTYPE_RSA) {
		/* p, q, dp, dq, iq live in one block at p */
		size_t n = ct->rsa.plen + ct->rsa.qlen + ct->rsa.dplen + ct->rsa.dqlen + ct->rsa.iqlen;
		if (ct->rsa.p) {
			memset(ct->rsa.p, 0, n);
			free(ct->rsa.p);
		}
	} else if (ct->ec.x) {
		memset(ct->ec.x, 0, ct->ec.xlen);
		free(ct->ec.x);
	}
	memset(ct, 0, sizeof(*ct));
}

static int
cert_load(struct tls_cert *ct, const struct tls_cert_conf *cf, char *err, size_t errlen)
{
	struct chain_ctx cx = { ct, 0 };
	struct key_ctx *k;

	if (pem_each(cf->cert_pem, chain_add, &cx) < 0 || ct->nchain == 0) {
		str_fmt(err, errlen, "ssl_cert: no PEM certificate could be read");
		return -1;
	}
	br_x509_decoder_context dc;
	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, ct->chain[0].data, ct->chain[0].data_len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	if (pk == NULL) {
		str_fmt(err, errlen, "ssl_cert: the first certificate cannot be decoded (BearSSL error %d)",
		    br_x509_decoder_last_error(&dc));
		return -1;
	}
	ct->issuer_type = br_x509_decoder_get_signer_key_type(&dc);

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		str_fmt(err, errlen, "out of memory");
		return -1;
	}
	if (pem_each(cf->key_pem, key_add, k) < 0 || !k->found || k->err != 0) {
		if (k->found && k->err)
			str_fmt(err, errlen, "ssl_key: the private key cannot be decoded (BearSSL error %d)", k->err);
		else
			str_fmt(err, errlen, "ssl_key: no PEM private key could be read");
		free(k);
		return -1;
	}
	int type = br_skey_decoder_key_type(&k->kc);
	int ok = 0;
	if (type == BR_KEYTYPE_RSA && pk->key_type == BR_KEYTYPE_RSA) {
		const br_rsa_private_key *r = br_skey_decoder_get_rsa(&k->kc);
		size_t n = r->plen + r->qlen + r->dplen + r->dqlen + r->iqlen;
		unsigned char *m = malloc(n);
		if (m != NULL) {
			ct->rsa = *r;
			ct->rsa.p = m;
			memcpy(m, r->p, r->plen);
			ct->rsa.q = m += r->plen;
			memcpy(m, r->q, r->qlen);
			ct->rsa.dp = m += r->qlen;
			memcpy(m, r->dp, r->dplen);
			ct->rsa.dq = m += r->dplen;
			memcpy(m, r->dq, r->dqlen);
			ct->rsa.iq = m += r->dqlen;
			memcpy(m, r->iq, r->iqlen);
			ok = 1;
		}
	} else if (type == BR_KEYTYPE_EC && pk->key_type == BR_KEYTYPE_EC &&
	    br_skey_decoder_get_ec(&k->kc)->curve == pk->key.ec.curve) {
		const br_ec_private_key *e = br_skey_decoder_get_ec(&k->kc);
		ct->ec = *e;
		ct->ec.x = memdup(e->x, e->xlen);
		ok = ct->ec.x != NULL;
	} else {
		str_fmt(err, errlen, "ssl_key: the key does not match the certificate's key type");
		memset(k, 0, sizeof(*k));
		free(k);
		return -1;
	}
	ct->key_type = type;
	memset(k, 0, sizeof(*k));
	free(k);
	if (!ok) {
		str_fmt(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
cert_names(struct tls_cert *ct, const char *names)
{
	char tok[256];
	while (names && *names) {
		names += strspn(names, " ,");
		size_t n = strcspn(names, " ,");
		if (n == 0)
			break;
		str_fmt(tok, sizeof(tok), "%.*s", (int)n, names);
		names += n;
		char **v = realloc(ct->names, (ct->nnames + 1) * sizeof(*v));
		if (v == NULL)
			return -1;
		ct->names = v;
		if ((v[ct->nnames] = strdup(tok)) == NULL)
			return -1;
		ct->nnames++;
	}
	return 0;
}

/* ---- server ---- */

struct tls_server {
	unsigned int refs;
	struct tls_params params;
	struct tls_cert *certs;
	unsigned int ncerts;
	unsigned int def;		/* index of the default certificate */
	br_ssl_session_cache_lru cache;
	unsigned char *cache_store;
};

static void
server_free(struct tls_server *s)
{
	for (unsigned int i = 0; i < s->ncerts; i++)
		cert_clear(&s->certs[i]);
	free(s->certs);
	free(s->cache_store);
	free(s);
}

struct tls_server *
tls_server_new(const struct tls_cert_conf *cf, unsigned int n, const struct tls_params *params,
    size_t cache_bytes, char *err, size_t errlen)
{
	struct tls_server *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->certs = calloc(n ? n : 1, sizeof(*s->certs))) == NULL) {
		free(s);
		str_fmt(err, errlen, "out of memory");
		return NULL;
	}
	s->refs = 1;
	s->params = *params;
	s->def = n;
	for (unsigned int i = 0; i < n; i++) {
		char e[200];
		s->ncerts++;
		if (cert_load(&s->certs[i], &cf[i], e, sizeof(e)) < 0 || cert_names(&s->certs[i], cf[i].names) < 0) {
			if (cf[i].names)
				str_fmt(err, errlen, "local_name %s: %s", cf[i].names, e);
			else
				str_fmt(err, errlen, "%s", e);
			server_free(s);
			return NULL;
		}
		if (cf[i].names == NULL)
			s->def = i;
	}
	if (s->def == n) {
		str_fmt(err, errlen, "ssl_cert and ssl_key must be set at the top level");
		server_free(s);
		return NULL;
	}
	if (cache_bytes > 0) {
		s->cache_store = malloc(cache_bytes);
		if (s->cache_store == NULL) {
			str_fmt(err, errlen, "out of memory");
			server_free(s);
			return NULL;
		}
		br_ssl_session_cache_lru_init(&s->cache, s->cache_store, cache_bytes);
	}
	return s;
}

void
tls_server_ref(struct tls_server *s)
{
	s->refs++;
}

void
tls_server_unref(struct tls_server *s)
{
	if (s != NULL && --s->refs == 0)
		server_free(s);
}

static int
name_matches(const char *pattern, const char *name)
{
	if (strcasecmp(pattern, name) == 0)
		return 1;
	if (pattern[0] == '*' && pattern[1] == '.') {
		const char *dot = strchr(name, '.');
		return dot != NULL && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
	}
	return 0;
}

static const struct tls_cert *
server_pick(const struct tls_server *s, const char *name)
{
	if (name != NULL && *name)
		for (unsigned int i = 0; i < s->ncerts; i++)
			for (unsigned int j = 0; j < s->certs[i].nnames; j++)
				if (name_matches(s->certs[i].names[j], name))
					return &s->certs[i];
	return &s->certs[s->def];
}

/* ---- client ---- */

struct tls_client {
	struct tls_params params;
	br_x509_trust_anchor *tas;
	size_t ntas;
	struct tls_cert cert;		/* client certificate, if nchain > 0 */
};

static int
ta_add(void *arg, const char *name, unsigned char *der, size_t len)
{
	struct tls_client *cl = arg;
	br_x509_decoder_context dc;
	struct dbuf dn = { 0 };
	int r = 0;

	if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0 &&
	    strcmp(name, "TRUSTED CERTIFICATE") != 0)
		goto out;
	br_x509_decoder_init(&dc, dbuf_append, &dn);
	br_x509_decoder_push(&dc, der, len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	if (pk == NULL || dn.oom)
		goto out;	/* a certificate BearSSL cannot use is skipped, as OpenSSL would */
	br_x509_trust_anchor *t = realloc(cl->tas, (cl->ntas + 1) * sizeof(*t));
	if (t == NULL) {
		r = -1;
		goto out;
	}
	cl->tas = t;
	t += cl->ntas;
	memset(t, 0, sizeof(*t));
	t->dn.data = dn.p;
	t->dn.len = dn.len;
	dn.p = NULL;
	t->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	t->pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		t->pkey.key.rsa.n = memdup(pk->key.rsa.n, pk->key.rsa.nlen);
		t->pkey.key.rsa.nlen = pk->key.rsa.nlen;
		t->pkey.key.rsa.e = memdup(pk->key.rsa.e, pk->key.rsa.elen);
		t->pkey.key.rsa.elen = pk->key.rsa.elen;
	} else {
		t->pkey.key.ec.curve = pk->key.ec.curve;
		t->pkey.key.ec.q = memdup(pk->key.ec.q, pk->key.ec.qlen);
		t->pkey.key.ec.qlen = pk->key.ec.qlen;
	}
	cl->ntas++;
out:
	free(dn.p);
	free(der);
	return r;
}

static char *
read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *p = NULL;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < 4 * 1024 * 1024 &&
	    (p = malloc((size_t)st.st_size + 1)) != NULL) {
		ssize_t n = read(fd, p, (size_t)st.st_size);
		if (n < 0) {
			free(p);
			p = NULL;
		} else {
			p[n] = '\0';
		}
	}
	close(fd);
	return p;
}

static int
anchors_from_file(struct tls_client *cl, const char *path)
{
	char *text = read_file(path);
	if (text == NULL)
		return -1;
	/* a file in a hashed directory may be anything: only its certificates count */
	int r = pem_each(text, ta_add, cl);
	free(text);
	return r;
}

static void
ta_free(br_x509_trust_anchor *t)
{
	free(t->dn.data);
	if (t->pkey.key_type == BR_KEYTYPE_RSA) {
		free(t->pkey.key.rsa.n);
		free(t->pkey.key.rsa.e);
	} else {
		free(t->pkey.key.ec.q);
	}
}

void
tls_client_free(struct tls_client *cl)
{
	if (cl == NULL)
		return;
	for (size_t i = 0; i < cl->ntas; i++)
		ta_free(&cl->tas[i]);
	free(cl->tas);
	cert_clear(&cl->cert);
	free(cl);
}

unsigned int
tls_client_anchors(const struct tls_client *cl)
{
	return (unsigned int)cl->ntas;
}

struct tls_client *
tls_client_new(const char *ca_pem, const char *ca_dir, const char *cert_pem, const char *key_pem,
    const struct tls_params *params, char *err, size_t errlen)
{
	static const char *const system_stores[] = {
		"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/cert.pem", NULL,
	};
	struct tls_client *cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		str_fmt(err, errlen, "out of memory");
		return NULL;
	}
	cl->params = *params;
	if (ca_pem != NULL && pem_each(ca_pem, ta_add, cl) < 0) {
		str_fmt(err, errlen, "ssl_client_ca_file: not valid PEM");
		goto fail;
	}
	if (ca_dir != NULL) {
		DIR *d = opendir(ca_dir);
		struct dirent *de;
		char path[1024];
		if (d == NULL) {
			str_fmt(err, errlen, "ssl_client_ca_dir: cannot open %s: %s", ca_dir, strerror(errno));
			goto fail;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (str_fmt(path, sizeof(path), "%s/%s", ca_dir, de->d_name) < sizeof(path))
				anchors_from_file(cl, path);
		}
		closedir(d);
	}
	if (ca_pem == NULL && ca_dir == NULL)
		for (int i = 0; system_stores[i] && cl->ntas == 0; i++)
			anchors_from_file(cl, system_stores[i]);
	if ((cert_pem == NULL) != (key_pem == NULL)) {
		str_fmt(err, errlen, "ssl_client_cert and ssl_client_key go together");
		goto fail;
	}
	if (cert_pem != NULL) {
		char e[200];
		struct tls_cert_conf cf = { NULL, cert_pem, key_pem };
		if (cert_load(&cl->cert, &cf, e, sizeof(e)) < 0) {
			str_fmt(err, errlen, "ssl_client_cert/ssl_client_key: %s", e);
			goto fail;
		}
	}
	return cl;
fail:
	tls_client_free(cl);
	return NULL;
}

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

/* ---- elliptic curves: generic code for all (see the notes on top) ---- */

static const br_ec_impl *
ec_for(int curve)
{
	return curve == BR_EC_curve25519 ? &br_ec_c25519_i31 : &br_ec_prime_i31;
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
	char errbuf[96];
	union {
		br_ssl_server_context s;
		struct {
			br_ssl_client_context cc;
			union {
				br_x509_minimal_context xc;
				struct anycert any;
			} x;
		} c;
	} u;
};

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
	br_ssl_engine_set_default_aes_gcm(eng);
	/* ChaCha20 with SSE2 where the CPU has it; Poly1305 with 32-bit multiplies only
	 * (the 64-bit one is 3 KiB more, for clients that have no AES hardware) */
	br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable);
	br_chacha20_run cc = br_chacha20_sse2_get();
	br_ssl_engine_set_chacha20(eng, cc ? cc : &br_chacha20_ct_run);
	br_ssl_engine_set_poly1305(eng, &br_poly1305_ctmul_run);
	br_ssl_engine_set_ec(eng, &tls_ec);
	br_ssl_engine_set_buffers_bidi(eng, ibuf, TLS_IBUF_SIZE, obuf, TLS_OBUF_SIZE);
	br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION | BR_OPT_ENFORCE_SERVER_PREFERENCES);
}

static struct tls *
tls_alloc(void)
{
	/* one block: the engine, then its two record buffers */
	struct tls *t = calloc(1, sizeof(*t) + TLS_IBUF_SIZE + TLS_OBUF_SIZE);
	return t;
}

static unsigned char *
tls_ibuf(struct tls *t)
{
	return (unsigned char *)(t + 1);
}

static int
sni_choose(const br_ssl_server_policy_class **pctx, const br_ssl_server_context *cc,
    br_ssl_server_choices *choices)
{
	struct tls *t = (struct tls *)((char *)pctx - offsetof(struct tls, sni_vtable));
	br_ssl_server_context *sc = &t->u.s;
	const struct tls_cert *ct = server_pick(t->srv, br_ssl_engine_get_server_name(&sc->eng));

	if (ct->key_type == BR_KEYTYPE_RSA)
		br_ssl_server_set_single_rsa(sc, ct->chain, ct->nchain, &ct->rsa, BR_KEYTYPE_SIGN,
		    &br_rsa_i31_private, &br_rsa_i31_pkcs1_sign);
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
	struct tls *t = tls_alloc();
	if (t == NULL)
		return NULL;
	t->srv = srv;
	tls_server_ref(srv);
	br_ssl_server_zero(&t->u.s);
	t->eng = &t->u.s.eng;
	engine_setup(t->eng, &srv->params, tls_ibuf(t), tls_ibuf(t) + TLS_IBUF_SIZE);
	t->sni_vtable = &sni_policy_class;
	t->u.s.policy_vtable = &t->sni_vtable;
	if (srv->cache_store)
		br_ssl_server_set_cache(&t->u.s, &srv->cache.vtable);
	if (!br_ssl_server_reset(&t->u.s)) {
		tls_free(t);
		return NULL;
	}
	return t;
}

struct tls *
tls_new_client(struct tls_client *cl, const char *server_name, int verify)
{
	struct tls *t = tls_alloc();
	struct ip_addr ip;
	if (t == NULL)
		return NULL;
	br_ssl_client_context *cc = &t->u.c.cc;
	br_ssl_client_zero(cc);
	t->eng = &cc->eng;
	engine_setup(t->eng, &cl->params, tls_ibuf(t), tls_ibuf(t) + TLS_IBUF_SIZE);
	br_ssl_engine_set_rsavrfy(t->eng, &br_rsa_i31_pkcs1_vrfy);
	br_ssl_engine_set_ecdsa(t->eng, &br_ecdsa_i31_vrfy_asn1);
	if (verify) {
		br_x509_minimal_context *xc = &t->u.c.x.xc;
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
		t->u.c.x.any.vtable = &anycert_class;
		br_ssl_engine_set_x509(t->eng, &t->u.c.x.any.vtable);
	}
	const struct tls_cert *ct = &cl->cert;
	if (ct->nchain > 0 && ct->key_type == BR_KEYTYPE_RSA)
		br_ssl_client_set_single_rsa(cc, ct->chain, ct->nchain, &ct->rsa, &br_rsa_i31_pkcs1_sign);
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
	tls_server_unref(t->srv);
	/* the buffers held plaintext and keys */
	memset(t, 0, sizeof(*t) + TLS_IBUF_SIZE + TLS_OBUF_SIZE);
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
	size_t len;
	if (!tls_want_read(t))
		return 0;
	unsigned char *p = br_ssl_engine_recvrec_buf(t->eng, &len);
	ssize_t n = read(fd, p, len);
	if (n > 0) {
		br_ssl_engine_recvrec_ack(t->eng, (size_t)n);
		(void)tls_handshake_done(t);
		return 1;
	}
	if (n == 0)
		return -2;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
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
	if (br_ssl_engine_current_state(t->eng) != BR_SSL_CLOSED)
		return 0;
	return br_ssl_engine_last_error(t->eng) == BR_ERR_OK ? 1 : -1;
}

int
tls_handshake_done(struct tls *t)
{
	/* the engine takes application data only once the handshake has finished */
	if (!t->handshaken)
		t->handshaken = (br_ssl_engine_current_state(t->eng) & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) != 0;
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
	const char *suite = "?";
	br_ssl_engine_get_session_parameters(t->eng, &sp);
	for (size_t i = 0; i < NSUITE_NAMES; i++)
		if (suite_names[i].id == sp.cipher_suite)
			suite = suite_names[i].openssl;
	str_fmt(buf, len, "TLSv1.%u %s", v >= BR_TLS10 ? v - BR_TLS10 : 0, suite);
	return buf;
}
