/* SPDX-License-Identifier: MIT */
/* applets/proxyd/route.c: where a login goes, from the passdb's fields: proxy,
 * proxy_maybe (and "self"), host, port, destuser, master, delay_until, the loop checks;
 * and the forward_* fields carried to the backend. Dovecot's auth and login processes
 * split this work between them; here it is one step after the passdb lookup. */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/director.h"
#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/settings.h"
#include "core/base64.h"
#include "core/conf.h"
#include "core/dns.h"
#include "core/log.h"
#include "core/passdb.h"
#include "core/str.h"
#include "core/tab.h"

#define DELAY_UNTIL_MAX_SECS	300	/* as Dovecot: delay_until further away fails */

static char *
xstrdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void
route_dns_done(const struct ip_addr *ip, const char *error, void *arg)
{
	struct client *c = arg;
	(void)ip;
	(void)error;
	c->dns_q = NULL;
	/* again from the start: this time the name is answered from the cache */
	client_proxy_begin(c);
}

/* host may be an IP address or a DNS name (core/dns.h). Returns 1 with *ip set; 0 when
 * the client waits (its input stays paused) and client_proxy_begin() runs again once
 * the answer is in; -1 with *error set. */
static int
route_resolve(struct client *c, const char *host, struct ip_addr *ip, const char **error)
{
	return dns_lookup(c->pd->dns, host, ip, error, route_dns_done, c, &c->dns_q);
}

void
route_client_gone(struct client *c)
{
	dns_cancel(c->dns_q);
	c->dns_q = NULL;
}

int
route_port_field(const char *v, unsigned int *port)
{
	long long n;
	const char *err;
	if (str_to_num(v, 1, 65535, &n, &err) < 0)
		return -1;
	*port = (unsigned int)n;
	return 0;
}

/* proxy_timeout: a plain number is seconds, else a Dovecot time string. */
int
route_timeout_field(const char *v, unsigned int *ms)
{
	long long n;
	const char *err;
	if (str_to_num(v, 1, 86400, &n, &err) == 0) {
		*ms = (unsigned int)n * 1000;
		return 0;
	}
	unsigned long long t;
	if (conf_parse_time_string_ms(v, &t) < 0 || t == 0 || t > 86400000ULL)
		return -1;
	*ms = (unsigned int)t;
	return 0;
}

int
route_is_self(struct proxyd *pd, const struct ip_addr *lip, unsigned int lport,
    const struct ip_addr *ip, unsigned int port, int port_given)
{
	if (port_given && port != lport)
		return 0;
	if (ip_equal(ip, lip))
		return 1;
	/* auth_proxy_self lists more addresses that are this proxy */
	const char *list = pd->set->auth_proxy_self, *bad;
	return list && *list && ip_net_list_match(list, ip, &bad) == 1;
}

/* Fills c->dest from the passdb fields; returns 0, 1 when waiting for DNS, or -1 after
 * replying to the client. */
static int
client_dest_from_fields(struct client *c, const struct passdb_result *r, const char *host)
{
	struct proxy_dest *d = &c->dest;
	const char *v, *error;

	switch (route_resolve(c, host, &d->ip, &error)) {
	case 0:
		return 1;
	case -1:
		/* as Dovecot: a temporary failure, logged */
		client_log_user_error(c, "Couldn't resolve host %s: %s", host, error);
		client_fail_now(c, FAIL_PROXY_TEMP, NULL);
		return -1;
	}
	d->host = strdup(host);
	/* as Dovecot: ssl=yes|any-cert, starttls=yes|any-cert; anything else is a
	 * configuration error, never a silent plaintext connection */
	v = passdb_field(r, "ssl");
	if (v != NULL && strcmp(v, "no") != 0) {
		d->ssl = 1;
		d->any_cert = strcmp(v, "any-cert") == 0;
		if (!d->any_cert && strcmp(v, "yes") != 0 && *v != '\0') {
			client_log_user_error(c, "Invalid ssl value %s (yes, any-cert)", v);
			client_fail_now(c, FAIL_PROXY_CONFIG, NULL);
			return -1;
		}
	}
	v = passdb_field(r, "starttls");
	if (v != NULL && strcmp(v, "no") != 0) {
		d->ssl = d->starttls = 1;
		d->any_cert = strcmp(v, "any-cert") == 0;
		if (!d->any_cert && strcmp(v, "yes") != 0 && *v != '\0') {
			client_log_user_error(c, "Invalid starttls value %s (yes, any-cert)", v);
			client_fail_now(c, FAIL_PROXY_CONFIG, NULL);
			return -1;
		}
	}
	d->port = d->ssl && !d->starttls ? c->proto->ssl_port : c->proto->port;
	if ((v = passdb_field(r, "port")) != NULL && route_port_field(v, &d->port) < 0) {
		client_log_user_error(c, "Invalid port number %s", v);
		client_fail_now(c, FAIL_PROXY_TEMP, NULL);
		return -1;
	}
	if ((v = passdb_field(r, "source_ip")) != NULL && ip_parse(v, &d->source_ip) < 0) {
		client_log_user_error(c, "Invalid source_ip %s", v);
		client_fail_now(c, FAIL_PROXY_TEMP, NULL);
		return -1;
	}
	d->timeout_ms = c->pd->set->login_proxy_timeout_ms;
	if ((v = passdb_field(r, "proxy_timeout")) != NULL && route_timeout_field(v, &d->timeout_ms) < 0) {
		client_log_user_error(c, "Invalid proxy_timeout value %s", v);
		client_fail_now(c, FAIL_PROXY_TEMP, NULL);
		return -1;
	}
	v = passdb_field(r, "destuser");
	d->destuser = strdup(v ? v : c->virtual_user);
	v = passdb_field(r, "pass");
	d->pass = xstrdup_or_null(v ? v : c->password);
	d->master = xstrdup_or_null(passdb_field(r, "master"));
	d->mech = xstrdup_or_null(passdb_field(r, "proxy_mech"));
	if (c->sasl && c->sasl->forward)
		d->sasl_forward = strdup(c->sasl->forward);
	d->nopipelining = passdb_field(r, "proxy_nopipelining") != NULL;
	d->not_trusted = passdb_field(r, "proxy_not_trusted") != NULL;
	if (d->host == NULL || d->destuser == NULL || (d->pass == NULL && d->master == NULL && d->mech == NULL)) {
		client_log_user_error(c, "no password to log in to the backend with (passdb gave none and the client sent none)");
		client_fail_now(c, FAIL_PROXY_TEMP, NULL);
		return -1;
	}
	return 0;
}

static void client_proxy_to(struct client *, const char *host, const char *hostname, int proxy);

void
client_proxy_begin(struct client *c)
{
	const struct passdb_result *r = c->passdb;
	const char *host = passdb_field(r, "host");
	const char *hostip = passdb_field(r, "hostip");
	int maybe = passdb_field(r, "proxy_maybe") != NULL;
	int always = passdb_field(r, "proxy_always") != NULL;
	int proxy = passdb_field(r, "proxy") != NULL || always;
	const struct proto_set *ps = settings_proto(c->pd->set, c->proto->name);

	if (hostip && *hostip)
		host = hostip;
	if (maybe && host != NULL) {
		struct ip_addr ip;
		unsigned int port = 0;
		const char *pv = passdb_field(r, "port");
		int port_given = pv != NULL && route_port_field(pv, &port) == 0;
		const char *error;
		int r = route_resolve(c, host, &ip, &error);
		if (r == 0)
			return;	/* route_dns_done() comes back here */
		if (r == 1 && route_is_self(c->pd, &c->lip, c->lport, &ip, port, port_given)) {
			/* proxy_maybe pointing at this proxy: "log in locally", which for a
			 * proxy that stores no mail means the configured local mail server;
			 * with proxy_always, still proxy, but to where a director says */
			host = NULL;
			proxy = always;
		} else {
			proxy = 1;
		}
	}
	if (!proxy) {
		/* Dovecot would log the user in locally; mtool stores no mail, so "locally"
		 * is the mail server named by proxy_local_host */
		if (ps->local_host == NULL) {
			client_log_user_error(c, "Proxying loops - %s and proxy_local_host is not set",
			    maybe ? "proxy_maybe points to this proxy" : "the passdb gave no proxy field");
			client_fail_now(c, FAIL_PROXY_TEMP, NULL);
			return;
		}
		host = ps->local_host;
	}
	if ((host == NULL || *host == '\0') && director_enabled(c->pd)) {
		/* the director decides, as Dovecot's director adds host= to the auth reply:
		 * for destuser if the passdb renamed the user */
		const char *du = passdb_field(r, "destuser");
		const char *tag = passdb_field(r, "director_tag");
		director_lookup(c, du ? du : c->virtual_user, tag ? tag : "");
		return;
	}
	if (host == NULL || *host == '\0') {
		client_log_user_error(c, "host not given (set director_socket to ask directord)");
		client_fail_now(c, FAIL_PROXY_TEMP, NULL);
		return;
	}
	client_proxy_to(c, host, NULL, proxy);
}

void
client_director_reply(struct client *c, const char *ip, const char *hostname, const char *error)
{
	if (ip == NULL) {
		/* Dovecot's director answers the auth request with temp_fail */
		client_log_user_error(c, "director: User %s host lookup failed: %s", c->virtual_user, error);
		client_fail_now(c, FAIL_AUTH_TEMP, NULL);
		return;
	}
	const char *du = passdb_field(c->passdb, "destuser");
	const char *tag = passdb_field(c->passdb, "director_tag");
	director_session_start(c, du ? du : c->virtual_user, tag ? tag : "", ip);
	client_proxy_to(c, ip, hostname && *hostname ? hostname : NULL, 1);
}

/* host: where to connect; hostname: the name the director knows it by, for logs */
static void
client_proxy_to(struct client *c, const char *host, const char *hostname, int proxy)
{
	const struct passdb_result *r = c->passdb;
	const struct proto_set *ps = settings_proto(c->pd->set, c->proto->name);
	if (client_dest_from_fields(c, r, host) != 0)
		return;
	if (hostname != NULL) {
		char *h = strdup(hostname);
		if (h != NULL) {
			free(c->dest.host);
			c->dest.host = h;
		}
	}
	if (!proxy && ps->local_port)
		c->dest.port = ps->local_port;
	if (c->ttl <= 1) {
		client_log_user_error(c, "TTL reached zero - proxies appear to be looping?");
		client_fail_now(c, FAIL_PROXY_CONFIG, NULL);
		return;
	}
	if (ip_equal(&c->dest.ip, &c->lip) && c->dest.port == c->lport &&
	    strcmp(c->dest.destuser, c->virtual_user) == 0) {
		client_log_user_error(c, "Proxying loops to itself");
		client_fail_now(c, FAIL_PROXY_TEMP, NULL);
		return;
	}
	c->proxying = 1;
	backend_connect(c);
}

/* Fields a login acts on (here, in the passdb, or later for admin commands); the rest
 * are logged at debug level and ignored, as Dovecot does. */
void
client_log_unknown_fields(struct client *c, const struct passdb_result *r)
{
	static const char *const known[] = {
		"proxy", "proxy_maybe", "proxy_always", "host", "hostip", "port", "source_ip",
		"destuser", "pass", "master", "proxy_mech", "proxy_timeout", "proxy_nopipelining",
		"proxy_not_trusted", "proxy_noauth", "proxy_refresh", "proxy_host_immediate_failure_after",
		"ssl", "starttls", "delay_until", "nologin", "reason", "nodelay", "nopassword",
		"allow_nets", "fail", "user", "protocol", "code", "director_tag", NULL,
	};
	if (!log_debug_enabled())
		return;
	for (size_t i = 0; i < r->nfields; i++) {
		const char *k = r->fields[i].key;
		int ok = strncmp(k, "forward_", 8) == 0 || strncmp(k, "user_", 5) == 0 ||
		    strncmp(k, "userdb_", 7) == 0;
		for (size_t j = 0; !ok && known[j]; j++)
			ok = strcmp(k, known[j]) == 0;
		if (!ok)
			client_log_debug(c, "proxy(%s): ignoring unknown passdb field '%s'", c->virtual_user, k);
	}
}

static void
client_delay_until_done(struct loop_timer *t, void *arg)
{
	(void)t;
	client_proxy_begin(arg);
}

/* delay_until=<unix time>[+<max random secs>]: hold the login until then. Returns 1 if
 * the login waits, 0 to go on now, -1 after a failure reply. */
int
client_delay_until(struct client *c, const char *v)
{
	long long until, rnd = 0;
	const char *err;
	char buf[64];
	str_copy(buf, v, sizeof(buf));
	char *plus = strchr(buf, '+');
	if (plus) {
		*plus++ = '\0';
		if (str_to_num(plus, 0, DELAY_UNTIL_MAX_SECS, &rnd, &err) < 0)
			goto invalid;
	}
	if (str_to_num(buf, 0, INT64_MAX / 2, &until, &err) < 0)
		goto invalid;
	if (rnd > 0)
		until += random() % rnd;
	int64_t now = loop_wall(c->pd->loop);
	if (until <= now)
		return 0;
	if (until - now > DELAY_UNTIL_MAX_SECS) {
		client_log_user_error(c, "delay_until timestamp %s is too much in the future, failing", v);
		client_fail_now(c, FAIL_AUTH_TEMP, NULL);
		return -1;
	}
	client_log_debug(c, "proxy(%s): delaying the login by %lld secs (delay_until)", c->virtual_user, (long long)(until - now));
	conn_pause_read(c->conn, 1);
	if (loop_timer_set(c->pd->loop, &c->timer, (uint64_t)(until - now) * 1000, client_delay_until_done, c) < 0)
		return 0;
	return 1;
invalid:
	client_log_user_error(c, "Invalid delay_until value: %s", v);
	client_fail_now(c, FAIL_AUTH_TEMP, NULL);
	return -1;
}

/* ---- passdb fields carried past the login ---- */

void
client_forward_imap(struct client *c, struct strbuf *sb,
    int (*astring)(struct client *, struct strbuf *, const char *))
{
	const struct passdb_result *r = c->passdb;
	for (size_t i = 0; r && i < r->nfields; i++) {
		const struct passdb_field *f = &r->fields[i];
		if (strncmp(f->key, "forward_", 8) != 0 || f->key[8] == '\0')
			continue;
		strbuf_printf(sb, " \"x-forward-%s\" ", f->key + 8);
		if (f->value == NULL || astring(c, sb, f->value) < 0)
			strbuf_puts(sb, "NIL");
	}
}

char *
client_forward_base64(struct client *c)
{
	struct strbuf raw;
	char *b64 = NULL;
	strbuf_init(&raw, 8192);
	route_forward_fields(c->passdb, &raw);
	/* the TAB-joined list goes as base64 */
	if (raw.len > 0 && !raw.error) {
		size_t n = base64_encoded_len(raw.len);
		b64 = malloc(n + 1);
		if (b64 && base64_encode(raw.s, raw.len, b64, n + 1) == 0) {
			free(b64);
			b64 = NULL;
		}
	}
	strbuf_free(&raw);
	return b64;
}

void
client_xclient_compose(struct client *c, struct strbuf *sb)
{
	char rip[IP_ADDR_STRLEN];
	strbuf_printf(sb, "XCLIENT ADDR=%s PORT=%u SESSION=%s TTL=%u",
	    ip_format(&c->rip, rip, sizeof(rip)), c->rport, c->session_id, c->ttl - 1);
	client_forward_xclient(c, sb);
	strbuf_puts(sb, "\r\n");
}

void
client_forward_xclient(struct client *c, struct strbuf *sb)
{
	char *b64 = client_forward_base64(c);
	if (b64)
		strbuf_printf(sb, " FORWARD=%s", b64);
	free(b64);
}

void
route_forward_fields(const struct passdb_result *r, struct strbuf *raw)
{
	for (size_t i = 0; r && i < r->nfields; i++) {
		const struct passdb_field *f = &r->fields[i];
		if (strncmp(f->key, "forward_", 8) != 0 || f->key[8] == '\0')
			continue;
		if (raw->len)
			strbuf_putc(raw, '\t');
		/* each "key=value" is TAB-escaped */
		strbuf_puts(raw, f->key + 8);
		if (f->value) {
			strbuf_putc(raw, '=');
			tab_escape(raw, f->value);
		}
	}
}
