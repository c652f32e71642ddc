/* SPDX-License-Identifier: MIT */
/* applets/proxyd/lmtp_rcpt.c: one RCPT TO: the user name from the address (the detail
 * after recipient_delimiter taken off), the passdb lookup without a password (as
 * Dovecot's lmtp_proxy does with auth's PASS), the fields that route it (proxy,
 * proxy_maybe, host, hostip, port, protocol, proxy_timeout, source_ip,
 * proxy_not_trusted, user/destuser, forward_*), the loop checks, then its backend. */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/director.h"
#include "applets/proxyd/lmtp.h"
#include "applets/proxyd/settings.h"
#include "core/dns.h"
#include "core/log.h"
#include "core/passdb.h"
#include "core/str.h"

#define LMTP_PROXY_TIMEOUT_MS	(125 * 1000)	/* as Dovecot's LMTP_PROXY_DEFAULT_TIMEOUT_MSECS */

/* The address split as Dovecot's smtp_address_detail_parse(): user is
 * "local@domain" with the detail (from the first delimiter on) removed. */
struct rcpt_name {
	char user[512];
	char detail[256];
	char delim;
};

static int
rcpt_name_parse(const char *address, const char *delims, struct rcpt_name *n)
{
	const char *at = strrchr(address, '@');
	size_t llen = at ? (size_t)(at - address) : strlen(address);
	size_t cut = llen;
	memset(n, 0, sizeof(*n));
	for (size_t i = 0; i < llen && *delims; i++) {
		if (strchr(delims, address[i]) != NULL) {
			cut = i;
			break;
		}
	}
	if (cut == 0)
		cut = llen;	/* "+foo@x": the whole local part is the name */
	if (cut < llen) {
		n->delim = address[cut];
		if (str_fmt(n->detail, sizeof(n->detail), "%.*s", (int)(llen - cut - 1), address + cut + 1) >= sizeof(n->detail))
			return -1;
	}
	if (str_fmt(n->user, sizeof(n->user), "%.*s%s", (int)cut, address, at ? at : "") >= sizeof(n->user))
		return -1;
	return 0;
}

/* destuser with the detail put back: "user+detail@domain" */
static char *
address_with_detail(const char *user, const struct rcpt_name *n)
{
	char buf[1024];
	if (n->detail[0] == '\0')
		return strdup(user);
	const char *at = strrchr(user, '@');
	size_t llen = at ? (size_t)(at - user) : strlen(user);
	if (str_fmt(buf, sizeof(buf), "%.*s%c%s%s", (int)llen, user, n->delim, n->detail, at ? at : "") >= sizeof(buf))
		return NULL;
	return strdup(buf);
}

static void rcpt_finish(struct lmtp_session *, struct lmtp_rcpt *, struct lmtp_route *);
static void rcpt_director_reply(void *, const char *, const char *, const char *);
static void rcpt_passdb_done(struct passdb_result *, void *);

static void
rcpt_fail(struct lmtp_session *s, struct lmtp_rcpt *r, const char *fmt, const char *arg)
{
	char text[1024];
	str_fmt(text, sizeof(text), fmt, arg);
	lmtp_rcpt_done(s, r, 0, text);
}

static void rcpt_dns_reply(const struct ip_addr *, const char *, void *);

/* Reads the route from the passdb fields. Returns 1 to proxy, 2 to proxy where directord
 * says (no host; rt->host stays NULL), 3 to proxy once DNS has answered for rt->host
 * (s->dns_q is out), -1 after logging a bad field or a user that cannot be proxied. */
static int
route_from_fields(struct lmtp_session *s, const struct passdb_result *res, const char *user,
    struct lmtp_route *rt)
{
	const char *v, *host = passdb_field(res, "host");
	int proxy = passdb_field(res, "proxy") != NULL || passdb_field(res, "proxy_always") != NULL;
	int port_set = 0;
	const struct proto_set *ps = &s->pd->set->lmtp;

	memset(rt, 0, sizeof(*rt));
	/* as Dovecot: the default port is the one the client came in on */
	rt->port = s->lport ? s->lport : lmtp_proto.port;
	rt->timeout_ms = LMTP_PROXY_TIMEOUT_MS;
	if ((v = passdb_field(res, "hostip")) != NULL && *v) {
		if (ip_parse(v, &rt->ip) < 0) {
			lmtp_log(s, 1, "proxy(%s): Invalid hostip %s", user, v);
			return -1;
		}
	}
	if ((v = passdb_field(res, "port")) != NULL) {
		if (route_port_field(v, &rt->port) < 0) {
			lmtp_log(s, 1, "proxy(%s): Invalid port number %s", user, v);
			return -1;
		}
		port_set = 1;
	}
	if ((v = passdb_field(res, "protocol")) != NULL) {
		if (strcmp(v, "smtp") == 0)
			rt->smtp = 1;
		else if (strcmp(v, "lmtp") != 0) {
			lmtp_log(s, 1, "proxy(%s): Unknown protocol %s", user, v);
			return -1;
		}
		if (!port_set)
			rt->port = rt->smtp ? 25 : 24;
	}
	if ((v = passdb_field(res, "source_ip")) != NULL && ip_parse(v, &rt->source_ip) < 0) {
		lmtp_log(s, 1, "proxy(%s): Invalid source_ip %s", user, v);
		return -1;
	}
	if ((v = passdb_field(res, "proxy_timeout")) != NULL && route_timeout_field(v, &rt->timeout_ms) < 0) {
		lmtp_log(s, 1, "proxy(%s): Invalid proxy_timeout value %s", user, v);
		return -1;
	}
	rt->not_trusted = passdb_field(res, "proxy_not_trusted") != NULL;
	/* as Dovecot: ssl=yes|any-cert, starttls=yes|any-cert (starttls implies ssl) */
	if ((v = passdb_field(res, "ssl")) != NULL) {
		rt->ssl = 1;
		rt->any_cert |= strcmp(v, "any-cert") == 0;
	}
	if ((v = passdb_field(res, "starttls")) != NULL) {
		rt->ssl = rt->starttls = 1;
		rt->any_cert |= strcmp(v, "any-cert") == 0;
	}
	if (passdb_field(res, "proxy_maybe") != NULL && host != NULL) {
		struct ip_addr ip;
		struct dns_query *q;
		const char *err;
		/* a name not known yet counts as another host (the loop check below still
		 * holds); its lookup goes on and fills the cache */
		int r = rt->ip.family == 0 ? dns_lookup(s->pd->dns, host, &ip, &err, rcpt_dns_reply, s, &q) : 0;
		if (r == 1)
			rt->ip = ip;
		else if (r == 0)
			dns_cancel(q);
		if (rt->ip.family != 0 &&
		    route_is_self(s->pd, &s->lip, s->lport, &rt->ip, rt->port, port_set))
			proxy = passdb_field(res, "proxy_always") != NULL;
		else
			proxy = 1;
	}
	if (!proxy) {
		/* Dovecot delivers locally; proxyd stores no mail, so "locally" is the
		 * server named by proxy_local_host (protocol lmtp { } or the top level) */
		if (ps->local_host == NULL) {
			lmtp_log(s, 1, "proxy(%s): the passdb gave no proxy field and proxy_local_host is not set", user);
			return -1;
		}
		host = ps->local_host;
		rt->ip.family = 0;
		if (ps->local_port)
			rt->port = ps->local_port;
	} else if (host == NULL || *host == '\0') {
		/* as Dovecot's director fills in host= for the LMTP's passdb lookup */
		if (director_enabled(s->pd))
			return 2;
		lmtp_log(s, 1, "proxy(%s): proxy: host not given (set director_socket to ask directord)", user);
		return -1;
	}
	const char *err;
	int r = rt->ip.family != 0 ? 1 : dns_lookup(s->pd->dns, host, &rt->ip, &err, rcpt_dns_reply, s, &s->dns_q);
	if (r < 0) {
		lmtp_log(s, 1, "proxy(%s): Couldn't resolve host %s: %s", user, host, err);
		return -1;
	}
	if ((rt->host = strdup(host)) == NULL) {
		dns_cancel(s->dns_q);
		s->dns_q = NULL;
		return -1;
	}
	return r == 0 ? 3 : 1;
}

void
lmtp_rcpt_route(struct lmtp_session *s, const char *address, const char *params, int has_orcpt)
{
	struct proxyd *pd = s->pd;
	struct rcpt_name name;
	char rip[IP_ADDR_STRLEN], lip[IP_ADDR_STRLEN];

	if (rcpt_name_parse(address, pd->set->recipient_delimiter, &name) < 0 || name.user[0] == '\0') {
		lmtp_rcpt_done(s, NULL, 0, "501 5.5.4 Invalid TO: Address too long");
		return;
	}
	struct lmtp_rcpt *r = calloc(1, sizeof(*r));
	if (r == NULL || (r->address = strdup(address)) == NULL || (r->params = strdup(params)) == NULL) {
		if (r) {
			free(r->address);
			free(r);
		}
		lmtp_rcpt_done(s, NULL, 0, "451 4.3.0 Out of memory");
		return;
	}
	r->index = s->nrcpt_cmds;
	/* as Dovecot: the first recipient's session is the transaction's */
	if (r->index == 1)
		str_copy(r->session_id, s->trans_id, sizeof(r->session_id));
	else
		str_fmt(r->session_id, sizeof(r->session_id), "%s:R%u", s->trans_id, r->index);

	struct passdb_request req = {
		.user = name.user, .password = NULL, .service = "lmtp",
		.rip = ip_format(&s->rip, rip, sizeof(rip)), .lip = ip_format(&s->lip, lip, sizeof(lip)),
		.rport = s->rport, .lport = s->lport, .session = r->session_id,
	};
	/* the recipient waits in dir_rcpt, the session's input paused, until the passdb
	 * answers (at once for passwd-file and static) */
	s->dir_rcpt = r;
	s->rcpt_has_orcpt = has_orcpt != 0;
	unsigned int id = passdb_chain_lookup_start(pd->passdb, &req, rcpt_passdb_done, s);
	if (id != 0) {
		s->passdb_lookup_id = id;
		lmtp_session_busy(s);
	}
}

static void
rcpt_passdb_done(struct passdb_result *resp, void *arg)
{
	struct lmtp_session *s = arg;
	struct proxyd *pd = s->pd;
	struct lmtp_rcpt *r = s->dir_rcpt;
	struct passdb_result res = *resp;
	struct rcpt_name name;
	struct lmtp_route rt;
	const char *address = r->address;
	int has_orcpt = s->rcpt_has_orcpt;

	s->dir_rcpt = NULL;
	s->passdb_lookup_id = 0;
	(void)rcpt_name_parse(r->address, pd->set->recipient_delimiter, &name);
	if (res.status == PASSDB_INTERNAL_FAILURE) {
		passdb_result_free(&res);
		lmtp_rcpt_done(s, r, 0, "451 4.3.0 Temporary user lookup failure");
		return;
	}
	if (res.status != PASSDB_OK) {
		/* Dovecot would try local delivery, whose userdb lookup fails the same way */
		char text[1200];
		passdb_result_free(&res);
		str_fmt(text, sizeof(text), "550 5.1.1 <%s> User doesn't exist: %s", address, name.user);
		lmtp_rcpt_done(s, r, 0, text);
		return;
	}
	r->user = strdup(res.user ? res.user : name.user);
	int rv = route_from_fields(s, &res, name.user, &rt);
	/* the director hashes the name the backend knows, and the passdb's director_tag */
	char duser[512], dtag[128];
	const char *v = passdb_field(&res, "destuser");
	str_copy(duser, v && *v ? v : res.user ? res.user : name.user, sizeof(duser));
	v = passdb_field(&res, "director_tag");
	str_copy(dtag, v ? v : "", sizeof(dtag));
	if (rv <= 0 || r->user == NULL) {
		dns_cancel(s->dns_q);
		s->dns_q = NULL;
		passdb_result_free(&res);
		free(rt.host);
		rcpt_fail(s, r, "451 4.4.0 Proxy failed (session=%s)", r->session_id);
		return;
	}
	/* user/destuser rename the recipient; the backend then also gets ORCPT */
	const char *dest = passdb_field(&res, "destuser");
	int renamed = 0;
	if (dest == NULL && res.user && strcmp(res.user, name.user) != 0)
		dest = res.user;
	if (dest && *dest && strcmp(dest, name.user) != 0) {
		renamed = 1;
		r->backend_address = address_with_detail(dest, &name);
		r->add_orcpt = !has_orcpt;
	} else {
		r->backend_address = strdup(address);
	}
	struct strbuf fw;
	strbuf_init(&fw, 16384);
	route_forward_fields(&res, &fw);
	if (fw.len > 0 && !fw.error)
		r->forward = strdup(fw.s);
	strbuf_free(&fw);
	passdb_result_free(&res);
	if (r->backend_address == NULL) {
		dns_cancel(s->dns_q);
		s->dns_q = NULL;
		free(rt.host);
		rcpt_fail(s, r, "451 4.3.0 %s", "Out of memory");
		return;
	}
	r->renamed = renamed;
	if (rv == 2) {
		/* the session waits (its input paused) until directord answers */
		s->dir_rcpt = r;
		s->dir_route = rt;
		lmtp_session_busy(s);
		director_lookup_fn(duser, dtag, rcpt_director_reply, s, &s->dir_lookup_id);
		return;
	}
	if (rv == 3) {
		/* the session waits (its input paused) until the name is resolved; other
		 * sessions and logins go on */
		s->dir_rcpt = r;
		s->dir_route = rt;
		lmtp_session_busy(s);
		return;
	}
	rcpt_finish(s, r, &rt);
}

/* DNS's answer for the recipient in s->dir_rcpt */
static void
rcpt_dns_reply(const struct ip_addr *ip, const char *error, void *arg)
{
	struct lmtp_session *s = arg;
	struct lmtp_rcpt *r = s->dir_rcpt;
	struct lmtp_route rt = s->dir_route;
	s->dns_q = NULL;
	s->dir_rcpt = NULL;
	if (ip == NULL) {
		lmtp_log(s, 1, "proxy(%s): Couldn't resolve host %s: %s", r->user, rt.host, error);
		free(rt.host);
		rcpt_fail(s, r, "451 4.4.0 Proxy failed (session=%s)", r->session_id);
		return;
	}
	rt.ip = *ip;
	rcpt_finish(s, r, &rt);
}

/* directord's answer for the recipient in s->dir_rcpt */
static void
rcpt_director_reply(void *arg, const char *ip, const char *hostname, const char *error)
{
	struct lmtp_session *s = arg;
	struct lmtp_rcpt *r = s->dir_rcpt;
	struct lmtp_route rt = s->dir_route;
	s->dir_rcpt = NULL;
	if (error == NULL && (ip_parse(ip, &rt.ip) < 0 ||
	    (rt.host = strdup(hostname && *hostname ? hostname : ip)) == NULL))
		error = "invalid address from directord";
	if (error) {
		/* Dovecot's director makes the lookup fail the same way: temporarily */
		lmtp_log(s, 1, "proxy(%s): director: User %s host lookup failed: %s", r->user, r->user, error);
		rcpt_fail(s, r, "451 4.4.0 Proxy failed (session=%s)", r->session_id);
		return;
	}
	rcpt_finish(s, r, &rt);
}

void
lmtp_rcpt_abort(struct lmtp_session *s)
{
	if (s->dir_rcpt == NULL)
		return;
	passdb_chain_cancel(s->pd->passdb, s->passdb_lookup_id);
	s->passdb_lookup_id = 0;
	director_lookup_cancel(&s->dir_lookup_id);
	dns_cancel(s->dns_q);
	s->dns_q = NULL;
	free(s->dir_route.host);
	s->dir_route.host = NULL;
	lmtp_rcpt_free(s->dir_rcpt);
	s->dir_rcpt = NULL;
}

/* The loop checks, then the backend for rt (rt->host is taken over). */
static void
rcpt_finish(struct lmtp_session *s, struct lmtp_rcpt *r, struct lmtp_route *rt)
{
	if (!r->renamed && ip_equal(&rt->ip, &s->lip) && rt->port == s->lport) {
		lmtp_log(s, 1, "proxy(%s): Proxying to <%s> loops to itself", r->user, r->user);
		free(rt->host);
		rcpt_fail(s, r, "%s", "554 5.4.6 Proxying loops to itself");
		return;
	}
	if (s->ttl_received && s->ttl == 0) {
		lmtp_log(s, 1, "proxy(%s): Proxying to <%s> appears to be looping (TTL=0)", r->user, r->user);
		free(rt->host);
		rcpt_fail(s, r, "%s", "554 5.4.6 Proxying appears to be looping (TTL=0)");
		return;
	}
	struct lmtp_backend *b = lmtp_backend_get(s, rt);
	free(rt->host);
	if (b == NULL) {
		rcpt_fail(s, r, "451 4.4.0 Proxy failed (session=%s)", r->session_id);
		return;
	}
	lmtp_backend_rcpt(b, r);
}
