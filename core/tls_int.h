/* SPDX-License-Identifier: MIT */
/* core/tls_int.h: what core/tls.c (engines) and core/tls_load.c (contexts) share. Not
 * for other modules: core/tls.h is the interface. */
#ifndef CORE_TLS_INT_H
#define CORE_TLS_INT_H

#include <bearssl.h>

#include "core/tls.h"

/* One certificate chain with its key and the SNI names it serves. */
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

struct tls_server {
	unsigned int refs;
	struct tls_params params;
	struct tls_cert *certs;
	unsigned int ncerts;
	unsigned int def;		/* index of the default certificate */
	br_ssl_session_cache_lru cache;
	unsigned char *cache_store;
};

struct tls_client {
	struct tls_params params;
	br_x509_trust_anchor *tas;
	size_t ntas;
	struct tls_cert cert;		/* client certificate, if nchain > 0 */
};

/* The certificate for an SNI name (NULL or unknown: the default one). */
const struct tls_cert *tls_server_pick(const struct tls_server *, const char *name);
/* OpenSSL's name of a suite, or "?". */
const char *tls_suite_name(uint16_t id);

#endif
