/* SPDX-License-Identifier: MIT */
/* applets/proxyd/ssl.c: proxyd's TLS contexts from its settings (certificates, SNI,
 * trust anchors), their reload on SIGHUP, and "start TLS now" on either side of a login,
 * the same for every protocol. The TLS itself is core/tls.c; conn.c runs it. */
#include <errno.h>
#include <string.h>

#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/settings.h"
#include "config.h"
#include "core/log.h"
#include "core/passdb.h"
#include "core/str.h"
#include "core/tls.h"

int
proxyd_tls_load(struct proxyd *pd, const struct proxyd_settings *set, char *err, size_t errlen)
{
	struct tls_server *srv = NULL;
	struct tls_client *cli;

	/* implicit-TLS listeners stay bound across a reload: they need certificates */
	if (set->ssl == SSL_NO && pd->tls_server != NULL) {
		str_fmt(err, errlen, "ssl = no (or no ssl_cert) takes effect only at a restart");
		return -1;
	}
	if (set->ssl != SSL_NO) {
		srv = tls_server_new(set->certs, set->ncerts, &set->tls_params, set->ssl_session_cache,
		    err, errlen);
		if (srv == NULL)
			return -1;
	}
	/* trust anchors are read now, as the key files are: after the privilege drop the
	 * store may be out of reach */
	cli = tls_client_new(set->ssl_client_ca_file, set->ssl_client_ca_dir, set->ssl_client_cert,
	    set->ssl_client_key, &set->tls_params, err, errlen);
	if (cli == NULL) {
		tls_server_unref(srv);
		return -1;
	}
	/* engines already running keep the server context they started with */
	tls_server_unref(pd->tls_server);
	tls_client_free(pd->tls_client);
	pd->tls_server = srv;
	pd->tls_client = cli;
	return 0;
}

void
proxyd_tls_free(struct proxyd *pd)
{
	tls_server_unref(pd->tls_server);
	tls_client_free(pd->tls_client);
	pd->tls_server = NULL;
	pd->tls_client = NULL;
}

int
client_starttls_allowed(const struct client *c)
{
	return c->pd->tls_server != NULL && !c->tls;
}

int
client_start_tls(struct client *c)
{
	struct tls *t;
	if (!client_starttls_allowed(c))
		return -1;
	if ((t = tls_new_server(c->pd->tls_server)) == NULL || conn_start_tls(c->conn, t) < 0) {
		client_log_info(c, "STARTTLS failed: out of memory");
		return -1;
	}
	c->tls = 1;
	c->secured = 1;
	return 0;
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
