/* SPDX-License-Identifier: MIT */
/* applets/proxyd/ssl_backend.c: TLS toward the backends (passdb ssl=yes, starttls,
 * any-cert): the trust anchors of ssl_client_* and the client handshake. Feature
 * BACKEND_TLS (mk/features.mk); without it proxyd.h's stand-ins fail such a login. */
#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/settings.h"
#include "core/passdb.h"
#include "core/tls.h"

int
backend_tls_load(const struct proxyd_settings *set, struct tls_client **out, char *err,
    size_t errlen)
{
	*out = tls_client_new(set->ssl_client_ca_file, set->ssl_client_ca_dir,
	    set->ssl_client_cert, set->ssl_client_key, &set->tls_params, err, errlen);
	return *out != NULL ? 0 : -1;
}

void
backend_tls_free(struct tls_client *cli)
{
	tls_client_free(cli);
}

const char *
backend_tls_name(const struct client *c)
{
	/* the passdb's host, also when hostip says where to connect */
	const char *name = c->passdb ? passdb_field(c->passdb, "host") : NULL;
	return name && *name ? name : c->dest.host;
}

int
backend_start_tls(struct client *c)
{
	struct tls *t = tls_new_client(c->pd->tls_client, backend_tls_name(c), !c->dest.any_cert);
	if (t == NULL || conn_start_tls(c->backend, t) < 0) {
		client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, "TLS: out of memory");
		return -1;
	}
	c->backend_state = c->dest.starttls ? "starttls handshake" : "tls handshake";
	return 0;
}
