/* SPDX-License-Identifier: MIT */
/* applets/proxyd/ssl.c: proxyd's TLS contexts from its settings (certificates, SNI; the
 * backends' trust anchors through ssl_backend.c), their reload on SIGHUP, and "start TLS
 * now" on the client side of a login, the same for every protocol. The TLS itself is
 * core/tls.c; conn.c runs it. */
#include <errno.h>
#include <string.h>

#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/settings.h"
#include "config.h"
#include "core/feature.h"
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
		/* feature TLS_SESSION_CACHE: resumption of client sessions (BearSSL's LRU) */
		srv = tls_server_new(set->certs, set->ncerts, &set->tls_params,
		    FEATURE_ON(MTOOL_WITH_TLS_SESSION_CACHE) ? TLS_SESSION_CACHE_BYTES : 0, err, errlen);
		if (srv == NULL)
			return -1;
	}
	/* trust anchors are read now, as the key files are: after the privilege drop the
	 * store may be out of reach */
	if (backend_tls_load(set, &cli, err, errlen) < 0) {
		tls_server_unref(srv);
		return -1;
	}
	/* engines already running keep the server context they started with */
	tls_server_unref(pd->tls_server);
	backend_tls_free(pd->tls_client);
	pd->tls_server = srv;
	pd->tls_client = cli;
	return 0;
}

void
proxyd_tls_free(struct proxyd *pd)
{
	tls_server_unref(pd->tls_server);
	backend_tls_free(pd->tls_client);
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
