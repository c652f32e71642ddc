/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_tls_load.c: PEM certificates, chains, RSA/EC keys (PKCS#1, SEC1,
 * PKCS#8) and trust anchors as ssl_cert, ssl_key and ssl_client_ca_file give them, and
 * the ssl_min_protocol and ssl_cipher_list settings. Input: cert PEM, NUL, key PEM, NUL,
 * CA PEM, NUL, SNI names, NUL, cipher list. */
#include <stdlib.h>
#include <string.h>

#include "core/tls.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cert = fuzz_take(&data, &size, '\0');
	char *key = fuzz_take(&data, &size, '\0');
	char *ca = fuzz_take(&data, &size, '\0');
	char *names = fuzz_take(&data, &size, '\0');
	char *ciphers = fuzz_strndup(data, size);
	char err[256], ign[128];
	struct tls_params p;
	unsigned int v;

	tls_params_default(&p);
	if (tls_parse_cipher_list(ciphers, &p, ign, sizeof(ign)) == 0 && (p.nsuites == 0 || p.nsuites > 16))
		abort();
	(void)tls_parse_min_protocol(ciphers, &v, err, sizeof(err));
	tls_params_default(&p);

	/* the input as the default certificate, and as an SNI one next to a good default */
	struct tls_cert_conf cf[2] = { { NULL, cert, key }, { NULL, fuzz_cert_pem, fuzz_key_pem } };
	struct tls_server *s = tls_server_new(cf, 1, &p, 0, err, sizeof(err));
	if (s != NULL)
		tls_server_unref(s);
	else if (err[0] == '\0')
		abort();
	cf[0].names = *names ? names : "x.test";
	s = tls_server_new(cf, 2, &p, 4096, err, sizeof(err));
	if (s != NULL)
		tls_server_unref(s);

	struct tls_client *c = tls_client_new(ca, NULL, NULL, NULL, &p, err, sizeof(err));
	if (c != NULL)
		tls_client_free(c);
	c = tls_client_new(fuzz_cert_pem, NULL, cert, key, &p, err, sizeof(err));
	if (c != NULL)
		tls_client_free(c);
	free(ciphers);
	free(names);
	free(ca);
	free(key);
	free(cert);
	return 0;
}
