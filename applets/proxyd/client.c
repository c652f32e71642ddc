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
#include <time.h>
#include <unistd.h>

#include "applets/proxyd/director.h"
#include "applets/proxyd/limits.h"
#include "applets/proxyd/login.h"
#include "applets/proxyd/loginlog.h"
#include "applets/proxyd/penalty.h"
#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/relay.h"
#include "applets/proxyd/settings.h"
#include "applets/proxyd/stats.h"
#include "config.h"
#include "core/base64.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/passdb.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "core/tab.h"

#define LOGIN_PROXY_TTL		5	/* as Dovecot: hops a login may take */

static void client_conn_cb(struct conn *, enum conn_event, void *);
static void client_login_timeout(struct loop_timer *, void *);
static void client_passdb_done(struct passdb_result *, void *);

/* see proxyd.h */
void
client_session_id(char *out, size_t outlen, const struct ip_addr *rip, unsigned int rport)
{
	unsigned char raw[6 + 2 + 16];
	struct timeval tv;
	size_t n = 0;

	gettimeofday(&tv, NULL);
	uint64_t usec = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
	for (int i = 0; i < 6; i++)
		raw[n++] = (unsigned char)(usec >> (8 * i));
	raw[n++] = (unsigned char)(rport & 0xff);
	raw[n++] = (unsigned char)(rport >> 8);
	if (rip->family == AF_INET6) {
		memcpy(raw + n, &rip->u.v6, 16);
		n += 16;
	} else {
		memcpy(raw + n, &rip->u.v4, 4);	/* 0.0.0.0 for a UNIX socket peer */
		n += 4;
	}
	base64_encode(raw, n, out, outlen);
}

struct client *
client_create(struct proxyd *pd, const struct proxyd_proto *proto, int fd,
    const struct sockaddr *peer, const struct sockaddr *local, int how)
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
	/* as Dovecot: a client on the proxy's own address is as safe as one over TLS; behind
	 * a PROXY header only the sender's word that it spoke TLS counts */
	if (how & CLIENT_PROXIED)
		c->secured = c->trusted || (how & CLIENT_PROXIED_TLS);
	else
		c->secured = c->trusted || ip_equal(&c->rip, &c->lip);
	client_session_id(c->session_id, sizeof(c->session_id), &c->rip, c->rport);
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
	limits_client_added(c);
	/* implicit TLS: the greeting waits in the queue for the handshake */
	if ((how & CLIENT_TLS) && client_start_tls(c) < 0) {
		client_destroy(c, "TLS initialization failed");
		return NULL;
	}
	proto->login->greet(c);
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
	c->proto->login->free(c);
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
	if (loginlog_tail(c, buf, len) != NULL)
		return buf;
	size_t n = str_fmt(buf, len, "user=<%s>", c->virtual_user ? c->virtual_user : c->user ? c->user : "");
	if (c->mech_name && n < len)
		n += str_fmt(buf + n, len - n, ", method=%s", c->mech_name);
	if (n < len)
		str_fmt(buf + n, len - n, ", rip=%s, lip=%s%s, session=<%s>",
		    ip_format(&c->rip, rip, sizeof(rip)), ip_format(&c->lip, lip, sizeof(lip)),
		    c->tls ? ", TLS" : c->secured ? ", secured" : "", c->session_id);
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

void
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
	if ((c->authenticating || c->proxying) && !c->logged_in)
		METRICS_INC(stats_logins, c->proto->name, "aborted");
	director_client_gone(c);
	passdb_chain_cancel(c->pd->passdb, c->passdb_lookup_id);
	route_client_gone(c);
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
	limits_client_gone(c);
	loop_defer_free(c->pd->loop, client_free, c);
}

static void
client_login_timeout(struct loop_timer *t, void *arg)
{
	struct client *c = arg;
	(void)t;
	if (c->tls && !conn_tls_ready(c->conn)) {
		client_destroy(c, "Inactivity during TLS handshake");
	} else if (c->sasl_waiting) {
		c->proto->login->bye(c, "Disconnected for inactivity during authentication.");
		client_destroy(c, "Inactivity during authentication");
	} else {
		c->proto->login->bye(c, "Disconnected for inactivity.");
		client_destroy(c, "Inactivity");
	}
}

/* Dovecot's login processes at shutdown: "Shutting down" to the client and in the log */
void
client_destroy_all(struct proxyd *pd)
{
	while (pd->clients)
		limits_client_bye(pd->clients, "4.3.2", "Shutting down", "Shutting down");
}

static void
client_conn_cb(struct conn *conn, enum conn_event ev, void *arg)
{
	struct client *c = arg;
	(void)conn;
	switch (ev) {
	case CONN_EV_DATA:
		c->proto->login->input(c);
		return;
	case CONN_EV_EOF:
		client_destroy(c, c->tls && !conn_tls_ready(conn) ? "Connection closed during TLS handshake" :
		    "Connection closed");
		return;
	case CONN_EV_TIMEOUT:
		return;
	case CONN_EV_ERROR: {
		char why[128];
		str_fmt(why, sizeof(why), "Connection closed: %s%s",
		    c->tls && !conn_tls_ready(conn) ? "TLS handshake failed: " : "", conn_error_str(conn));
		client_destroy(c, why);
		return;
	}
	case CONN_EV_CONNECTED:
	case CONN_EV_DRAINED:
		return;
	}
}

const char *
client_auth_temp_text(struct client *c, char *buf, size_t len)
{
	char when[64];
	timefmt_iso(when, sizeof(when), time(NULL));
	str_fmt(buf, len, "Temporary authentication failure. [%s:%s]", c->pd->set->hostname, when);
	return buf;
}

int
client_xclient_attr(struct client *c, const char *name, const char *v)
{
	long long n;
	const char *err;
	if (str_eq_nocase(name, "ADDR")) {
		if (str_has_prefix_nocase(v, "IPV6:"))
			v += 5;
		return ip_parse(v, &c->rip) < 0 ? -1 : 1;
	}
	if (str_eq_nocase(name, "PORT")) {
		if (str_to_num(v, 1, 65535, &n, &err) < 0)
			return -1;
		c->rport = (unsigned int)n;
		return 1;
	}
	if (str_eq_nocase(name, "SESSION")) {
		if (strlen(v) > 64)
			return -1;
		str_copy(c->session_id, v, sizeof(c->session_id));
		return 1;
	}
	if (str_eq_nocase(name, "TTL")) {
		if (str_to_num(v, 0, 1000, &n, &err) < 0)
			return -1;
		c->ttl = (unsigned int)n;
		return 1;
	}
	if (str_eq_nocase(name, "FORWARD")) {
		char raw[2048];
		size_t rn;
		if (base64_decode(v, strlen(v), raw, sizeof(raw) - 1, &rn) < 0)
			return -1;
		raw[rn] = '\0';
		free(c->forward);
		c->forward = strdup(raw);
		return 1;
	}
	return 0;
}

int
client_cleartext_allowed(const struct client *c)
{
	/* ssl = required: only TLS (or a connection Dovecot counts as secured) may send a
	 * password */
	return c->secured || (c->pd->set->allow_cleartext && c->pd->set->ssl != SSL_REQUIRED);
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

void
client_fail_now(struct client *c, enum client_fail why, const char *text)
{
	c->authenticating = 0;
	c->last_fail = why;
	METRICS_INC(stats_logins, c->proto->name, stats_fail_result(why));
	director_session_end(c->pd, c->conn_guid);
	/* text may point into the passdb result: reply first, then free */
	login_fail(c, why, text);
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

static void client_auth_lookup(struct client *);

static void
client_penalty_done(struct loop_timer *t, void *arg)
{
	struct client *c = arg;
	(void)t;
	conn_pause_read(c->conn, 0);
	client_auth_lookup(c);
}

void
client_auth(struct client *c, const char *mech, const char *authzid, const char *user, const char *pass)
{
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
	/* Dovecot's auth penalty: a login from an address that failed lately waits before
	 * its lookup (penalty.c); connections from login_trusted_networks never wait */
	c->last_penalty = c->trusted || !c->pd->set->auth_penalty ? PENALTY_EXEMPT : penalty_get(c->pd, &c->rip);
	if (c->last_penalty != 0 && c->last_penalty != PENALTY_EXEMPT) {
		unsigned int secs = penalty_secs(c->last_penalty);
		client_log_debug(c, "Authentication waits %u secs: auth penalty %u of this address", secs, c->last_penalty);
		conn_pause_read(c->conn, 1);
		if (loop_timer_set(c->pd->loop, &c->timer, secs * 1000ULL, client_penalty_done, c) == 0)
			return;
		conn_pause_read(c->conn, 0);
	}
	client_auth_lookup(c);
}

static void
client_auth_lookup(struct client *c)
{
	struct passdb_request req = { 0 };
	char rip[IP_ADDR_STRLEN], lip[IP_ADDR_STRLEN];
	const char *user = c->user, *pass = c->password;

	req.user = user;
	req.password = pass;
	req.service = c->proto->name;
	req.rip = ip_format(&c->rip, rip, sizeof(rip));
	req.lip = ip_format(&c->lip, lip, sizeof(lip));
	req.rport = c->rport;
	req.lport = c->lport;
	req.session = c->session_id;
	/* the client's input stays paused until the passdb answers */
	c->passdb_lookup_id = passdb_chain_lookup_start(c->pd->passdb, &req, client_passdb_done, c);
}

static void
client_passdb_done(struct passdb_result *res, void *arg)
{
	struct client *c = arg;
	const char *user = c->user, *mech = c->mech_name;
	int has_pass = c->password != NULL;

	c->passdb_lookup_id = 0;
	c->passdb = calloc(1, sizeof(*c->passdb));
	if (c->passdb == NULL) {
		passdb_result_free(res);
		client_fail_now(c, FAIL_AUTH_TEMP, NULL);
		return;
	}
	*c->passdb = *res;
	const struct passdb_result *r = c->passdb;
	/* Dovecot's auth names the user in its FAIL reply too: the failure logs the name
	 * after auth_username_format */
	if (r->status != PASSDB_OK && r->user != NULL && *r->user != '\0')
		c->virtual_user = strdup(r->user);
	switch (r->status) {
	case PASSDB_OK:
		break;
	case PASSDB_INTERNAL_FAILURE:
		client_fail_now(c, FAIL_AUTH_TEMP, NULL);
		return;
	default: {
		const char *reason = passdb_field(r, "reason");
		int nodelay = passdb_field(r, "nodelay") != NULL;
		if (!nodelay && c->last_penalty != PENALTY_EXEMPT)
			penalty_failed(c->pd, &c->rip, c->last_penalty, user, c->password);
		if (reason != NULL && *reason) {
			client_fail_now(c, FAIL_AUTH_REASON, reason);
			return;
		}
		client_auth_failed(c, nodelay);
		return;
	}
	}
	if (c->last_penalty != 0 && c->last_penalty != PENALTY_EXEMPT)
		penalty_reset(c->pd, &c->rip);
	c->auth_successes++;
	c->virtual_user = strdup(r->user ? r->user : user);
	if (c->virtual_user == NULL) {
		client_fail_now(c, FAIL_AUTH_TEMP, NULL);
		return;
	}
	if (!has_pass) {
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
	stats_login_ok(c);
	/* the relay owns both connections now */
	c->conn = c->backend = NULL;
	client_destroy(c, NULL);
}

struct relay_info *
client_relay_info(struct client *c)
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
