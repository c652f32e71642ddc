/* SPDX-License-Identifier: MIT */
/* applets/proxyd/backend.c: the connection to the backend until its login is done:
 * source address, connect, the proxy_timeout deadline and reconnects, as Dovecot's
 * login-proxy does (protocols.md §9.1). The dialogue itself is the protocol's. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "applets/proxyd/login.h"
#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/settings.h"
#include "applets/proxyd/stats.h"
#include "core/base64.h"
#include "core/log.h"
#include "core/str.h"

#define RECONNECT_DELAY_MS	1000
#define RECONNECT_MIN_LEFT_MS	1100	/* as Dovecot: reconnect only with this much time left */

static void backend_cb(struct conn *, enum conn_event, void *);
static void backend_try(struct client *);

static const struct ip_addr *
backend_source(struct client *c)
{
	struct proxyd *pd = c->pd;
	if (c->dest.source_ip.family != 0)
		return &c->dest.source_ip;
	if (pd->set->nsource_ips == 0)
		return NULL;
	/* round-robin over login_source_ips, in the address family of the backend */
	for (unsigned int i = 0; i < pd->set->nsource_ips; i++) {
		const struct ip_addr *ip = &pd->set->source_ips[pd->source_rr++ % pd->set->nsource_ips];
		if (ip->family == c->dest.ip.family)
			return ip;
	}
	return NULL;
}

/* " (after N secs, N reconnects, local=IP:PORT)", as Dovecot ends its failure lines. */
static void
backend_failure_suffix(struct client *c, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ip_addr ip = { 0 };
	unsigned int port = 0;
	char ipbuf[IP_ADDR_STRLEN];
	unsigned int secs = (unsigned int)((loop_now(c->pd->loop) + c->dest.timeout_ms -
	    c->proxy_deadline) / 1000);

	if (c->backend && getsockname(conn_fd(c->backend), (struct sockaddr *)&ss, &sl) == 0)
		ip_from_sockaddr((struct sockaddr *)&ss, &ip, &port);
	size_t n = str_fmt(buf, len, " (after %u secs", secs);
	if (c->reconnects && n < len)
		n += str_fmt(buf + n, len - n, ", %u reconnects", c->reconnects);
	if (ip.family && n < len)
		n += str_fmt(buf + n, len - n, ", local=%s:%u", ip_format(&ip, ipbuf, sizeof(ipbuf)), port);
	if (n < len)
		str_fmt(buf + n, len - n, ")");
}

static void
backend_timeout(struct loop_timer *t, void *arg)
{
	struct client *c = arg;
	char why[256], suffix[128];
	(void)t;
	backend_failure_suffix(c, suffix, sizeof(suffix));
	stats_backend_failure(c, "timeout");
	str_fmt(why, sizeof(why), "Login timed out in state=%s%s",
	    c->backend == NULL ? "connect" : c->backend_state ? c->backend_state : "banner", suffix);
	client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, why);
}

static void
backend_retry(struct loop_timer *t, void *arg)
{
	(void)t;
	backend_try(arg);
}

void
backend_retry_or_fail(struct client *c, enum client_fail why, const char *text, const char *log_reason)
{
	struct proxyd *pd = c->pd;
	uint64_t now = loop_now(pd->loop);
	char msg[512], suffix[128];

	/* as Dovecot: retry after 1 s while more than 1.1 s of the timeout is left */
	if (c->reconnects < pd->set->login_proxy_max_reconnects &&
	    c->proxy_deadline > now + RECONNECT_MIN_LEFT_MS) {
		if (c->backend) {
			conn_free(c->backend);
			c->backend = NULL;
		}
		c->reconnects++;
		client_log_debug(c, "proxy(%s): %s - reconnecting (attempt #%u)", c->virtual_user, log_reason, c->reconnects);
		if (loop_timer_set(pd->loop, &c->timer, RECONNECT_DELAY_MS, backend_retry, c) == 0)
			return;
	}
	backend_failure_suffix(c, suffix, sizeof(suffix));
	str_fmt(msg, sizeof(msg), "%s%s", log_reason, suffix);
	client_proxy_failed(c, why, text, msg);
}

static void
backend_failed(struct client *c, const char *why)
{
	backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, why);
}

static void
backend_try(struct client *c)
{
	struct proxyd *pd = c->pd;
	struct sockaddr_storage dst, src;
	socklen_t dstlen, srclen = 0;
	const struct ip_addr *sip = backend_source(c);
	char why[300], ip[IP_ADDR_STRLEN];

	c->backend_state = NULL;
	ip_to_sockaddr(&c->dest.ip, c->dest.port, &dst, &dstlen);
	if (sip)
		ip_to_sockaddr(sip, 0, &src, &srclen);
	c->backend = conn_connect(pd->loop, (struct sockaddr *)&dst, dstlen,
	    sip ? (struct sockaddr *)&src : NULL, srclen, 65536, backend_cb, c);
	if (c->backend == NULL) {
		str_fmt(why, sizeof(why), "connect(%s, %u) failed: %s%s",
		    ip_format(&c->dest.ip, ip, sizeof(ip)), c->dest.port, strerror(errno),
		    sip ? " (binding the source address)" : "");
		stats_backend_failure(c, "error");
		backend_failed(c, why);
		return;
	}
	uint64_t now = loop_now(pd->loop);
	if (loop_timer_set(pd->loop, &c->timer, c->proxy_deadline > now ? c->proxy_deadline - now : 0,
	    backend_timeout, c) < 0)
		client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, "out of memory");
}

void
backend_connect(struct client *c)
{
	c->reconnects = 0;
	c->proxy_deadline = loop_now(c->pd->loop) + c->dest.timeout_ms;
	backend_try(c);
}

const char *
backend_sasl_start(struct client *c, char *ir, size_t irlen)
{
	const struct proxy_dest *d = &c->dest;
	const char *mech = d->master ? "PLAIN" : d->mech ? d->mech : "PLAIN";
	enum sasl_mech m = sasl_mech_parse(mech);
	ir[0] = '\0';
	if (m == SASL_MECH_PLAIN) {
		if (sasl_plain_encode(d->destuser, d->master ? d->master : d->destuser,
		    d->pass ? d->pass : "", ir, irlen) == 0) {
			client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, "credentials too long");
			return NULL;
		}
	} else if (m == SASL_MECH_LOGIN) {
		/* user and password follow the challenges */
	} else if (d->sasl_forward && sasl_mech_passthrough(m)) {
		if (str_copy(ir, d->sasl_forward, irlen) >= irlen) {
			client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, "SASL response too long to forward");
			return NULL;
		}
	} else {
		client_proxy_failed(c, FAIL_PROXY_CONFIG, NULL, "proxy_mech is neither PLAIN nor LOGIN; other mechanisms cannot be answered by the proxy");
		return NULL;
	}
	return sasl_mech_name(m);
}

int
backend_sasl_answer(struct client *c, unsigned int *step, char *out, size_t outlen)
{
	const struct proxy_dest *d = &c->dest;
	if (d->sasl_forward) {
		/* the backend refused the token and explains itself in a challenge: end the
		 * exchange (RFC 7628: OAUTHBEARER answers %x01; XOAUTH2 an empty response) */
		str_copy(out, str_eq_nocase(d->mech, "OAUTHBEARER") ? "AQ==" : "", outlen);
		return 0;
	}
	if (d->master != NULL || d->mech == NULL || !str_eq_nocase(d->mech, "LOGIN") || *step > 1)
		return -1;
	/* the first challenge asks for the user, the second for the password */
	const char *v = (*step)++ ? d->pass : d->destuser;
	if (v == NULL || (base64_encode(v, strlen(v), out, outlen) == 0 && *v != '\0'))
		return -1;
	return 0;
}

void
backend_send(struct client *c, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	size_t n = str_vfmt(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n >= sizeof(line) - 2) {
		client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, "command to the backend too long");
		return;
	}
	memcpy(line + n, "\r\n", 2);
	conn_write(c->backend, line, n + 2);
}

static void
backend_cb(struct conn *conn, enum conn_event ev, void *arg)
{
	struct client *c = arg;
	char why[300], ip[IP_ADDR_STRLEN];

	switch (ev) {
	case CONN_EV_CONNECTED:
		c->backend_state = "banner";
		c->proto->login->backend_start(c);
		/* implicit TLS: the banner comes over it */
		if (c->dest.ssl && !c->dest.starttls)
			backend_start_tls(c);
		return;
	case CONN_EV_DATA:
		c->proto->login->backend_input(c);
		return;
	case CONN_EV_EOF:
		stats_backend_failure(c, "closed");
		str_fmt(why, sizeof(why), "Disconnected by server: Connection closed (state=%s)",
		    c->backend_state ? c->backend_state : "banner");
		backend_failed(c, why);
		return;
	case CONN_EV_ERROR:
		if (conn_tls_active(conn) && !conn_tls_ready(conn)) {
			/* a certificate that does not verify will not verify on a retry either:
			 * fail now, never fall back to plaintext */
			str_fmt(why, sizeof(why), "%s: %s (host=%s%s)",
			    c->dest.starttls ? "STARTTLS handshake failed" : "TLS handshake failed",
			    conn_error_str(conn), backend_tls_name(c), c->dest.any_cert ? ", any-cert" : "");
			stats_backend_failure(c, "tls");
			client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, why);
			return;
		}
		stats_backend_failure(c, c->backend_state ? "closed" : conn_error(conn) == ECONNREFUSED ? "refused" : "error");
		if (c->backend_state == NULL)
			str_fmt(why, sizeof(why), "connect(%s, %u) failed: %s",
			    ip_format(&c->dest.ip, ip, sizeof(ip)), c->dest.port, strerror(conn_error(conn)));
		else
			str_fmt(why, sizeof(why), "Disconnected by server: %s (state=%s)",
			    conn_error_str(conn), c->backend_state);
		backend_failed(c, why);
		return;
	case CONN_EV_TIMEOUT:
	case CONN_EV_DRAINED:
		return;
	}
}
