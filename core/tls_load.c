/* SPDX-License-Identifier: MIT */
/* core/tls_load.c: see tls.h. What the engines are made from: protocol versions and
 * suites from Dovecot's settings, certificate chains and keys (RSA, EC) from PEM, the
 * server context with its session cache, trust anchors for the client side.
 *
 * Implementation notes:
 * - PEM is decoded with core/base64 rather than BearSSL's decoder (2 KiB less).
 * - Trust anchors are made from X.509 certificates with BearSSL's decoder: subject DN,
 *   public key, CA flag; every byte copied into memory owned by the tls_client. */
#include "core/tls.h"

#include <bearssl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base64.h"
#include "core/str.h"
#include "core/tls_int.h"

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

const char *
tls_suite_name(uint16_t id)
{
	for (size_t i = 0; i < NSUITE_NAMES; i++)
		if (suite_names[i].id == id)
			return suite_names[i].openssl;
	return "?";
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

const struct tls_cert *
tls_server_pick(const struct tls_server *s, const char *name)
{
	if (name != NULL && *name)
		for (unsigned int i = 0; i < s->ncerts; i++)
			for (unsigned int j = 0; j < s->certs[i].nnames; j++)
				if (name_matches(s->certs[i].names[j], name))
					return &s->certs[i];
	return &s->certs[s->def];
}

/* ---- client ---- */


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
