/* SPDX-License-Identifier: MIT */
/* applets/proxyd/ssl.c: proxyd's TLS contexts from its settings (certificates, SNI; the
 * backends' trust anchors through ssl_backend.c), their reload on SIGHUP, and "start TLS
 * now" on the client side of a login, the same for every protocol. The TLS itself is
 * core/tls.c; conn.c runs it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/settings.h"
#include "config.h"
#include "core/feature.h"
#include "core/log.h"
#include "core/passdb.h"
#include "core/str.h"
#include "core/tls.h"

static void
free_local(struct proxyd_tls_local *l, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		free(l[i].net);
		tls_server_unref(l[i].srv);
	}
	free(l);
}

/* One server context per local NET { } block: its certificate as the default, the
 * local_name ones for SNI as at the top level. */
static struct proxyd_tls_local *
load_local(const struct proxyd_settings *set, char *err, size_t errlen)
{
	struct proxyd_tls_local *l = calloc(set->nlocal_certs + 1, sizeof(*l));
	struct tls_cert_conf *certs = calloc(set->ncerts, sizeof(*certs));

	if (l == NULL || certs == NULL) {
		str_fmt(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(certs, set->certs, set->ncerts * sizeof(*certs));
	for (unsigned int i = 0; i < set->nlocal_certs; i++) {
		char e[256];
		certs[0].cert_pem = set->local_certs[i].cert_pem;
		certs[0].key_pem = set->local_certs[i].key_pem;
		l[i].srv = tls_server_new(certs, set->ncerts, &set->tls_params,
		    TLS_SESSION_CACHE_BYTES, e, sizeof(e));
		if (l[i].srv == NULL || (l[i].net = strdup(set->local_certs[i].net)) == NULL) {
			str_fmt(err, errlen, "local %s: %s", set->local_certs[i].net,
			    l[i].srv == NULL ? e : "out of memory");
			free_local(l, i + 1);
			l = NULL;
			break;
		}
	}
	free(certs);
	return l;
fail:
	free(certs);
	free(l);
	return NULL;
}

struct tls_server *
proxyd_tls_server(struct proxyd *pd, const struct ip_addr *lip)
{
	const char *bad;
	for (unsigned int i = 0; i < pd->ntls_local; i++)
		if (ip_net_list_match(pd->tls_local[i].net, lip, &bad) == 1)
			return pd->tls_local[i].srv;
	return pd->tls_server;
}

int
proxyd_tls_load(struct proxyd *pd, const struct proxyd_settings *set, char *err, size_t errlen)
{
	struct tls_server *srv = NULL;
	struct tls_client *cli;
	struct proxyd_tls_local *local = NULL;

	/* implicit-TLS listeners stay bound across a reload: they need certificates */
	if (set->ssl == SSL_NO && pd->tls_server != NULL) {
		str_fmt(err, errlen, "ssl = no (or no ssl_cert) takes effect only at a restart");
		return -1;
	}
	if (set->ssl != SSL_NO) {
		/* feature TLS_SESSION_CACHE: resumption of client sessions (BearSSL's LRU) */
		srv = tls_server_new(set->certs, set->ncerts, &set->tls_params,
		    FEATURE_ON(MTOOL_WITH_TLS_SESSION_CACHE) ? set->ssl_session_cache : 0, err, errlen);
		if (srv == NULL)
			return -1;
		if ((local = load_local(set, err, errlen)) == NULL) {
			tls_server_unref(srv);
			return -1;
		}
	}
	/* trust anchors are read now, as the key files are: after the privilege drop the
	 * store may be out of reach */
	if (backend_tls_load(set, &cli, err, errlen) < 0) {
		tls_server_unref(srv);
		free_local(local, set->nlocal_certs);
		return -1;
	}
	/* engines already running keep the server context they started with */
	tls_server_unref(pd->tls_server);
	backend_tls_free(pd->tls_client);
	free_local(pd->tls_local, pd->ntls_local);
	pd->tls_server = srv;
	pd->tls_client = cli;
	pd->tls_local = local;
	pd->ntls_local = local != NULL ? set->nlocal_certs : 0;
	return 0;
}

void
proxyd_tls_free(struct proxyd *pd)
{
	tls_server_unref(pd->tls_server);
	backend_tls_free(pd->tls_client);
	free_local(pd->tls_local, pd->ntls_local);
	pd->tls_server = NULL;
	pd->tls_client = NULL;
	pd->tls_local = NULL;
	pd->ntls_local = 0;
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
	if ((t = tls_new_server(proxyd_tls_server(c->pd, &c->lip))) == NULL ||
	    conn_start_tls(c->conn, t) < 0) {
		client_log_info(c, "STARTTLS failed: out of memory");
		return -1;
	}
	c->tls = 1;
	c->secured = 1;
	return 0;
}
