/* SPDX-License-Identifier: MIT */
/* applets/proxyd/client.c: one client connection before its relay starts: accept-time
 * facts (addresses, trust, session id), the passdb lookup and what its fields decide,
 * failure replies with Dovecot's delay, and the disconnect log line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/time.h>
#include <unistd.h>

#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/relay.h"
#include "applets/proxyd/settings.h"
#include "config.h"
#include "core/base64.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/passdb.h"
#include "core/str.h"
#include "core/tabescape.h"

#define LOGIN_PROXY_TTL		5	/* as Dovecot: hops a login may take */
#define DELAY_UNTIL_MAX_SECS	300	/* as Dovecot: delay_until further away fails */

static void client_conn_cb(struct conn *, enum conn_event, void *);
static void client_login_timeout(struct loop_timer *, void *);

/* Dovecot's session id: 48 bits of the microsecond clock, the client port and the raw
 * client address, base64: 16 characters for IPv4, 32 for IPv6. */
static void
session_id_make(struct client *c)
{
	unsigned char raw[6 + 2 + 16];
	struct timeval tv;
	size_t n = 0;

	gettimeofday(&tv, NULL);
	uint64_t usec = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
	for (int i = 0; i < 6; i++)
		raw[n++] = (unsigned char)(usec >> (8 * i));
	raw[n++] = (unsigned char)(c->rport & 0xff);
	raw[n++] = (unsigned char)(c->rport >> 8);
	if (c->rip.family == AF_INET6) {
		memcpy(raw + n, &c->rip.u.v6, 16);
		n += 16;
	} else {
		memcpy(raw + n, &c->rip.u.v4, 4);
		n += 4;
	}
	base64_encode(raw, n, c->session_id, sizeof(c->session_id));
}

struct client *
client_create(struct proxyd *pd, const struct login_proto *proto, int fd,
    const struct sockaddr *peer, const struct sockaddr *local)
{
	struct client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->pd = pd;
	c->proto = proto;
	ip_from_sockaddr(peer, &c->rip, &c->rport);
	ip_from_sockaddr(local, &c->lip, &c->lport);
	c->ttl = LOGIN_PROXY_TTL;
	c->created = loop_wall(pd->loop);
	c->created_ms = loop_now(pd->loop);
	const char *bad;
	c->trusted = ip_net_list_match(pd->set->login_trusted_networks, &c->rip, &bad) == 1;
	/* as Dovecot: a client on the proxy's own address is as safe as one over TLS */
	c->secured = c->trusted || ip_equal(&c->rip, &c->lip);
	session_id_make(c);
	/* unique without a random number per connection: a per-process random half and a
	 * counter */
	str_fmt(c->conn_guid, sizeof(c->conn_guid), "%016llx%016llx",
	    (unsigned long long)pd->guid_prefix, (unsigned long long)++pd->guid_next);
	c->conn = conn_new(pd->loop, fd, LOGIN_MAX_CMD, client_conn_cb, c);
	if (c->conn == NULL) {
		free(c);
		return NULL;
	}
	/* as Dovecot: the whole login must be done this long after accept, however
	 * busy the client keeps the connection */
	if (loop_timer_set(pd->loop, &c->login_timer, pd->set->login_timeout_ms, client_login_timeout, c) < 0) {
		conn_free(c->conn);
		free(c);
		return NULL;
	}
	c->next = pd->clients;
	if (c->next)
		c->next->prev = c;
	pd->clients = c;
	pd->nclients++;
	proto->greet(c);
	return c;
}

static void
dest_free(struct proxy_dest *d)
{
	free(d->host);
	free(d->destuser);
	if (d->pass) {
		memset(d->pass, 0, strlen(d->pass));
		free(d->pass);
	}
	free(d->master);
	free(d->mech);
	free(d->sasl_forward);
	memset(d, 0, sizeof(*d));
}

static void
client_free_login(struct client *c)
{
	if (c->sasl) {
		sasl_server_clear(c->sasl);
		free(c->sasl);
		c->sasl = NULL;
	}
	if (c->password) {
		memset(c->password, 0, strlen(c->password));
		free(c->password);
		c->password = NULL;
	}
	if (c->passdb) {
		passdb_result_free(c->passdb);
		free(c->passdb);
		c->passdb = NULL;
	}
	dest_free(&c->dest);
}

static void
client_free(void *p)
{
	struct client *c = p;
	client_free_login(c);
	c->proto->free(c);
	free(c->user);
	free(c->virtual_user);
	free(c->client_id);
	free(c->forward);
	free(c);
}

const char *
client_log_tail(struct client *c, char *buf, size_t len)
{
	char rip[IP_ADDR_STRLEN], lip[IP_ADDR_STRLEN];
	size_t n = str_fmt(buf, len, "user=<%s>", c->virtual_user ? c->virtual_user : c->user ? c->user : "");
	if (c->mech_name && n < len)
		n += str_fmt(buf + n, len - n, ", method=%s", c->mech_name);
	if (n < len)
		str_fmt(buf + n, len - n, ", rip=%s, lip=%s%s, session=<%s>",
		    ip_format(&c->rip, rip, sizeof(rip)), ip_format(&c->lip, lip, sizeof(lip)),
		    c->secured ? ", secured" : "", c->session_id);
	return buf;
}

static void
client_vlog(struct client *c, enum log_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	str_vfmt(msg, sizeof(msg), fmt, ap);
	log_set_prefix(c->proto->log_prefix);
	if (level == LOG_LEVEL_DEBUG)
		log_debug("%s", msg);
	else if (level == LOG_LEVEL_INFO)
		log_info("%s", msg);
	else
		log_errorx("%s", msg);
}

void
client_log_info(struct client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	client_vlog(c, LOG_LEVEL_INFO, fmt, ap);
	va_end(ap);
}

void
client_log_proxy(struct client *c, int error, const char *fmt, ...)
{
	char msg[1024], tail[512], ip[IP_ADDR_STRLEN];
	va_list ap;
	va_start(ap, fmt);
	str_vfmt(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_set_prefix(c->proto->log_prefix);
	(error ? log_errorx : log_info)("proxy(%s,%s:%u): %s: %s",
	    c->virtual_user ? c->virtual_user : c->user ? c->user : "",
	    ip_format(&c->dest.ip, ip, sizeof(ip)), c->dest.port, msg,
	    client_log_tail(c, tail, sizeof(tail)));
}

/* "proxy(USER): MESSAGE: TAIL" at error level: a login that fails before a backend is
 * chosen, for a reason the operator must see. */
static void
client_log_user_error(struct client *c, const char *fmt, ...)
{
	char msg[1024], tail[512];
	va_list ap;
	va_start(ap, fmt);
	str_vfmt(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_set_prefix(c->proto->log_prefix);
	log_errorx("proxy(%s): %s: %s", c->virtual_user ? c->virtual_user : c->user ? c->user : "",
	    msg, client_log_tail(c, tail, sizeof(tail)));
}

void
client_log_debug(struct client *c, const char *fmt, ...)
{
	va_list ap;
	if (!log_debug_enabled())
		return;
	va_start(ap, fmt);
	client_vlog(c, LOG_LEVEL_DEBUG, fmt, ap);
	va_end(ap);
}

/* Dovecot's detail in parentheses: what the client got done before it left. */
static void
client_disconnect_detail(struct client *c, char *buf, size_t len)
{
	unsigned int secs = (unsigned int)((loop_now(c->pd->loop) - c->created_ms) / 1000);
	if (c->sasl != NULL && c->sasl->step >= 0 && c->authenticating == 0 && c->sasl_waiting)
		str_fmt(buf, len, "client didn't finish SASL auth, waited %u secs", secs);
	else if (c->last_fail == FAIL_BACKEND || c->last_fail_backend_auth)
		str_fmt(buf, len, "proxy dest auth failed");
	else if (c->last_fail == FAIL_PROXY_TEMP || c->last_fail == FAIL_PROXY_CONFIG)
		str_fmt(buf, len, "internal failure, %u successful auths", c->auth_successes);
	else if (c->auth_attempts == 0)
		str_fmt(buf, len, "no auth attempts in %u secs", secs);
	else
		str_fmt(buf, len, "auth failed, %u attempts in %u secs", c->auth_attempts, secs);
}

void
client_destroy(struct client *c, const char *reason)
{
	char tail[512], detail[128];
	if (c->destroyed)
		return;
	c->destroyed = 1;
	if (reason != NULL) {
		client_disconnect_detail(c, detail, sizeof(detail));
		client_log_info(c, "Disconnected: %s (%s): %s", reason, detail,
		    client_log_tail(c, tail, sizeof(tail)));
	}
	loop_timer_cancel(c->pd->loop, &c->timer);
	loop_timer_cancel(c->pd->loop, &c->login_timer);
	if (c->conn)
		conn_free(c->conn);
	if (c->backend)
		conn_free(c->backend);
	c->conn = c->backend = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->pd->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->pd->nclients--;
	loop_defer_free(c->pd->loop, client_free, c);
}

static void
client_login_timeout(struct loop_timer *t, void *arg)
{
	struct client *c = arg;
	(void)t;
	if (c->sasl_waiting) {
		c->proto->bye(c, "Disconnected for inactivity during authentication.");
		client_destroy(c, "Inactivity during authentication");
	} else {
		c->proto->bye(c, "Disconnected for inactivity.");
		client_destroy(c, "Inactivity");
	}
}

void
client_destroy_all(struct proxyd *pd)
{
	while (pd->clients)
		client_destroy(pd->clients, "Shutting down");
}

static void
client_conn_cb(struct conn *conn, enum conn_event ev, void *arg)
{
	struct client *c = arg;
	(void)conn;
	switch (ev) {
	case CONN_EV_DATA:
		c->proto->input(c);
		return;
	case CONN_EV_EOF:
		client_destroy(c, "Connection closed");
		return;
	case CONN_EV_TIMEOUT:
		return;
	case CONN_EV_ERROR: {
		char why[128];
		str_fmt(why, sizeof(why), "Connection closed: %s", strerror(conn_error(conn)));
		client_destroy(c, why);
		return;
	}
	case CONN_EV_CONNECTED:
	case CONN_EV_DRAINED:
		return;
	}
}

int
client_cleartext_allowed(const struct client *c)
{
	return c->pd->set->allow_cleartext || c->secured;
}

const char *
client_mechanisms(const struct client *c)
{
	return c->pd->set->auth_mechanisms;
}

int
client_mechanism_offered(const struct client *c, enum sasl_mech mech)
{
	const char *name = sasl_mech_name(mech), *m = c->pd->set->auth_mechanisms;
	size_t n = strlen(name);
	while (*m) {
		size_t len = strcspn(m, " ");
		if (len == n && strncmp(m, name, n) == 0)
			return 1;
		m += len;
		m += *m == ' ';
	}
	return 0;
}

/* ---- after the passdb ---- */

static void
client_fail_now(struct client *c, enum client_fail why, const char *text)
{
	c->authenticating = 0;
	c->last_fail = why;
	/* text may point into the passdb result: reply first, then free */
	c->proto->fail(c, why, text);
	client_free_login(c);
	/* commands pipelined behind the failed login are answered next */
	if (!c->destroyed)
		conn_resume(c->conn);
}

static void
client_delayed_fail(struct loop_timer *t, void *arg)
{
	(void)t;
	client_fail_now(arg, FAIL_AUTH, NULL);
}

/* Failures wait auth_failure_delay (unless the passdb said nodelay), as Dovecot's auth
 * does, so that guessing passwords is slow; the client's input waits meanwhile. */
static void
client_auth_failed(struct client *c, int nodelay)
{
	if (nodelay || c->pd->set->auth_failure_delay_ms == 0) {
		client_fail_now(c, FAIL_AUTH, NULL);
		return;
	}
	conn_pause_read(c->conn, 1);
	if (loop_timer_set(c->pd->loop, &c->timer, c->pd->set->auth_failure_delay_ms,
	    client_delayed_fail, c) < 0)
		client_fail_now(c, FAIL_AUTH, NULL);
}

static char *
xstrdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* host may be an IP address or a DNS name; a name is resolved now (blocking: see
 * docs/proxyd.8.md, LIMITS). Returns 0 or -1. */
static int
resolve_host(const char *host, struct ip_addr *ip)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	if (ip_parse(host, ip) == 0)
		return 0;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -1;
	int r = ip_from_sockaddr(res->ai_addr, ip, NULL);
	freeaddrinfo(res);
	return r;
}

static int
port_field(const char *v, unsigned int *port)
{
	long long n;
	const char *err;
	if (str_to_num(v, 1, 65535, &n, &err) < 0)
		return -1;
	*port = (unsigned int)n;
	return 0;
}

/* proxy_timeout: a plain number is seconds, else a Dovecot time string. */
static int
timeout_field(const char *v, unsigned int *ms)
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

static int
is_self(struct client *c, const struct ip_addr *ip, unsigned int port, int port_given)
{
	if (port_given && port != c->lport)
		return 0;
	if (ip_equal(ip, &c->lip))
		return 1;
	/* auth_proxy_self lists more addresses that are this proxy */
	const char *list = c->pd->set->auth_proxy_self, *bad;
	return list && *list && ip_net_list_match(list, ip, &bad) == 1;
}

/* Fills c->dest from the passdb fields; returns 0, or -1 after replying to the client. */
static int
client_dest_from_fields(struct client *c, const struct passdb_result *r, const char *host)
{
	struct proxy_dest *d = &c->dest;
	const char *v;

	d->host = strdup(host);
	if (resolve_host(host, &d->ip) < 0) {
		client_log_user_error(c, "Couldn't resolve host %s", host);
		client_fail_now(c, FAIL_PROXY_TEMP, NULL);
		return -1;
	}
	v = passdb_field(r, "ssl");
	if (v != NULL) {
		d->ssl = strcmp(v, "no") != 0;
		d->any_cert = strcmp(v, "any-cert") == 0;
	}
	v = passdb_field(r, "starttls");
	if (v != NULL) {
		d->starttls = 1;
		d->any_cert = strcmp(v, "any-cert") == 0;
	}
	d->port = d->ssl && !d->starttls ? c->proto->ssl_port : c->proto->port;
	if ((v = passdb_field(r, "port")) != NULL && port_field(v, &d->port) < 0) {
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
	if ((v = passdb_field(r, "proxy_timeout")) != NULL && timeout_field(v, &d->timeout_ms) < 0) {
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

static void
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
		int port_given = pv != NULL && port_field(pv, &port) == 0;
		if (resolve_host(host, &ip) == 0 && is_self(c, &ip, port, port_given)) {
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
	if (host == NULL || *host == '\0') {
		client_log_user_error(c, "host not given (a director lookup is not available yet)");
		client_fail_now(c, FAIL_PROXY_TEMP, NULL);
		return;
	}
	if (client_dest_from_fields(c, r, host) < 0)
		return;
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
static void
client_log_unknown_fields(struct client *c, const struct passdb_result *r)
{
	static const char *const known[] = {
		"proxy", "proxy_maybe", "proxy_always", "host", "hostip", "port", "source_ip",
		"destuser", "pass", "master", "proxy_mech", "proxy_timeout", "proxy_nopipelining",
		"proxy_not_trusted", "proxy_noauth", "proxy_refresh", "proxy_host_immediate_failure_after",
		"ssl", "starttls", "delay_until", "nologin", "reason", "nodelay", "nopassword",
		"allow_nets", "fail", "user", "protocol", "code", NULL,
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
static int
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

void
client_auth(struct client *c, const char *mech, const char *authzid, const char *user, const char *pass)
{
	struct passdb_request req = { 0 };
	char rip[IP_ADDR_STRLEN], lip[IP_ADDR_STRLEN];

	c->auth_attempts++;
	c->authenticating = 1;
	c->mech_name = mech;
	free(c->user);
	free(c->virtual_user);
	c->virtual_user = NULL;
	c->user = strdup(user);
	/* bearer-token mechanisms bring no password: only the backend can judge them */
	c->password = pass ? strdup(pass) : NULL;
	if (c->user == NULL || (pass != NULL && c->password == NULL)) {
		client_fail_now(c, FAIL_AUTH_TEMP, NULL);
		return;
	}
	if (authzid != NULL && *authzid != '\0' && strcmp(authzid, user) != 0) {
		/* a client-side master login needs a master passdb, which mtool has not */
		client_log_info(c, "Authenticate failed: authorization as another user is not supported (authzid=%s)", authzid);
		client_auth_failed(c, 0);
		return;
	}
	req.user = user;
	req.password = pass;
	req.service = c->proto->name;
	req.rip = ip_format(&c->rip, rip, sizeof(rip));
	req.lip = ip_format(&c->lip, lip, sizeof(lip));
	req.rport = c->rport;
	req.lport = c->lport;
	req.session = c->session_id;

	c->passdb = calloc(1, sizeof(*c->passdb));
	if (c->passdb == NULL) {
		client_fail_now(c, FAIL_AUTH_TEMP, NULL);
		return;
	}
	passdb_chain_lookup(c->pd->passdb, &req, c->passdb);
	const struct passdb_result *r = c->passdb;
	switch (r->status) {
	case PASSDB_OK:
		break;
	case PASSDB_INTERNAL_FAILURE:
		client_fail_now(c, FAIL_AUTH_TEMP, NULL);
		return;
	default: {
		const char *reason = passdb_field(r, "reason");
		int nodelay = passdb_field(r, "nodelay") != NULL;
		if (reason != NULL && *reason) {
			client_fail_now(c, FAIL_AUTH_REASON, reason);
			return;
		}
		client_auth_failed(c, nodelay);
		return;
	}
	}
	c->auth_successes++;
	c->virtual_user = strdup(r->user ? r->user : user);
	if (c->virtual_user == NULL) {
		client_fail_now(c, FAIL_AUTH_TEMP, NULL);
		return;
	}
	if (pass == NULL) {
		/* a passthrough mechanism: the passdb must route it to a backend that speaks it */
		const char *pm = passdb_field(r, "proxy_mech");
		if (pm == NULL || !str_eq_nocase(pm, mech)) {
			client_log_user_error(c, "%s can only be passed through to the backend: the passdb "
			    "must return proxy and proxy_mech=%s", mech, mech);
			client_fail_now(c, FAIL_AUTH, NULL);
			return;
		}
	}
	if (passdb_field(r, "nologin") != NULL && passdb_field(r, "proxy") == NULL &&
	    passdb_field(r, "proxy_maybe") == NULL) {
		const char *reason = passdb_field(r, "reason");
		client_fail_now(c, reason ? FAIL_AUTH_REASON : FAIL_AUTH, reason);
		return;
	}
	client_log_unknown_fields(c, r);
	const char *du = passdb_field(r, "delay_until");
	if (du != NULL) {
		int w = client_delay_until(c, du);
		if (w != 0)
			return;
	}
	client_proxy_begin(c);
}

void
client_proxy_failed(struct client *c, enum client_fail why, const char *text, const char *log_reason)
{
	if (log_reason)
		client_log_proxy(c, why != FAIL_AUTH && why != FAIL_BACKEND, "%s", log_reason);
	c->last_fail_backend_auth = why == FAIL_AUTH || why == FAIL_BACKEND;
	if (c->backend) {
		conn_free(c->backend);
		c->backend = NULL;
	}
	c->proxying = 0;
	loop_timer_cancel(c->pd->loop, &c->timer);
	client_fail_now(c, why, text);
}

void
client_proxy_established(struct client *c)
{
	char ip[IP_ADDR_STRLEN], extra[256];
	uint64_t ms = loop_now(c->pd->loop) + c->dest.timeout_ms - c->proxy_deadline;
	size_t n = 0;

	/* Dovecot's wording: "Started proxying to <IP> (master M) (0.059 secs, 1 reconnects)" */
	extra[0] = '\0';
	if (c->dest.master)
		n += str_fmt(extra + n, sizeof(extra) - n, " (master %s)", c->dest.master);
	if (n < sizeof(extra))
		n += str_fmt(extra + n, sizeof(extra) - n, " (%u.%03u secs", (unsigned int)(ms / 1000), (unsigned int)(ms % 1000));
	if (c->reconnects && n < sizeof(extra))
		n += str_fmt(extra + n, sizeof(extra) - n, ", %u reconnects", c->reconnects);
	if (n < sizeof(extra))
		str_fmt(extra + n, sizeof(extra) - n, ")");
	client_log_proxy(c, 0, "Started proxying to <%s>%s", ip_format(&c->dest.ip, ip, sizeof(ip)), extra);
	loop_timer_cancel(c->pd->loop, &c->timer);
	loop_timer_cancel(c->pd->loop, &c->login_timer);
	if (relay_start(c) < 0) {
		client_destroy(c, "Out of memory");
		return;
	}
	c->logged_in = 1;
	/* the relay owns both connections now */
	c->conn = c->backend = NULL;
	client_destroy(c, NULL);
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

void
client_forward_xclient(struct client *c, struct strbuf *sb)
{
	const struct passdb_result *r = c->passdb;
	struct strbuf raw;
	strbuf_init(&raw, 8192);
	for (size_t i = 0; r && i < r->nfields; i++) {
		const struct passdb_field *f = &r->fields[i];
		if (strncmp(f->key, "forward_", 8) != 0 || f->key[8] == '\0')
			continue;
		if (raw.len)
			strbuf_putc(&raw, '\t');
		/* each "key=value" is TAB-escaped, then the TAB-joined list is base64 */
		strbuf_puts(&raw, f->key + 8);
		if (f->value) {
			strbuf_putc(&raw, '=');
			tab_escape(&raw, f->value);
		}
	}
	if (raw.len > 0 && !raw.error) {
		size_t n = base64_encoded_len(raw.len);
		char *b64 = malloc(n + 1);
		if (b64 && base64_encode(raw.s, raw.len, b64, n + 1) > 0)
			strbuf_printf(sb, " FORWARD=%s", b64);
		free(b64);
	}
	strbuf_free(&raw);
}

struct relay_info *
relay_info_new(struct client *c)
{
	const struct passdb_result *r = c->passdb;
	char rip[IP_ADDR_STRLEN], dest_ip[IP_ADDR_STRLEN], log_name[512], tail[512];
	const char *user = c->virtual_user, *session = c->session_id;
	ip_format(&c->rip, rip, sizeof(rip));
	ip_format(&c->dest.ip, dest_ip, sizeof(dest_ip));
	str_fmt(log_name, sizeof(log_name), "%s,%s:%u", user, dest_ip, c->dest.port);
	client_log_tail(c, tail, sizeof(tail));
	size_t nalt = 0, strings = strlen(user) + strlen(rip) + strlen(dest_ip) + strlen(session) +
	    strlen(log_name) + strlen(tail) + strlen(c->dest.host) + strlen(c->conn_guid) + 8;
	for (size_t i = 0; r && i < r->nfields; i++) {
		if (strncmp(r->fields[i].key, "user_", 5) != 0)
			continue;
		nalt++;
		strings += strlen(r->fields[i].key) + 1 + (r->fields[i].value ? strlen(r->fields[i].value) : 0) + 1;
	}
	/* one block: the struct, the two pointer arrays, then the strings */
	size_t size = sizeof(struct relay_info) + 2 * nalt * sizeof(char *) + strings;
	struct relay_info *info = malloc(size);
	if (info == NULL)
		return NULL;
	char **ptrs = (char **)(info + 1);
	char *p = (char *)(ptrs + 2 * nalt);
#define COPY(dst, s) do { size_t l_ = strlen(s) + 1; memcpy(p, (s), l_); (dst) = p; p += l_; } while (0)
	COPY(info->user, user);
	COPY(info->host, c->dest.host);
	COPY(info->rip, rip);
	COPY(info->dest_ip, dest_ip);
	COPY(info->session, session);
	COPY(info->conn_guid, c->conn_guid);
	COPY(info->log_name, log_name);
	COPY(info->tail, tail);
	info->dest_port = c->dest.port;
	info->nalt = nalt;
	info->alt_keys = (const char **)ptrs;
	info->alt_values = (const char **)(ptrs + nalt);
	for (size_t i = 0, j = 0; r && i < r->nfields; i++) {
		if (strncmp(r->fields[i].key, "user_", 5) != 0)
			continue;
		COPY(info->alt_keys[j], r->fields[i].key);
		COPY(info->alt_values[j], r->fields[i].value ? r->fields[i].value : "");
		j++;
	}
#undef COPY
	return info;
}
