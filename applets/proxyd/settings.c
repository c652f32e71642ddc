/* SPDX-License-Identifier: MIT */
/* applets/proxyd/settings.c: every setting proxyd reads, its default (Dovecot's where
 * Dovecot has the setting) and its check, in one table-driven place. */
#include <ctype.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/settings.h"
#include "config.h"
#include "core/conf.h"
#include "core/conf_known.h"
#include "core/feature.h"
#include "core/hostres.h"
#include "core/str.h"
#include "core/sysdb.h"

/* Every setting and section proxyd knows; anything else is an error with file:line. */
static const struct conf_key proxyd_schema[] = {
	{ "", "base_dir" }, { "", "protocols" }, { "", "listen" }, { "", "hostname" },
	{ "", "login_trusted_networks" }, { "", "disable_plaintext_auth" },
	{ "", "auth_allow_cleartext" }, { "", "auth_failure_delay" }, { "", "auth_username_chars" }, { "", "auth_mechanisms" },
	CONF_FEATURE_BEGIN(MTOOL_WITH_AUTH_CACHE, "auth_cache"),
	{ "", "auth_cache_size" }, { "", "auth_cache_ttl" }, { "", "auth_cache_negative_ttl" },
	{ "", "auth_cache_verify_password_with_worker" },
	CONF_FEATURE_END,
	{ "", "login_greeting" }, { "", "login_timeout" },
	CONF_FEATURE_BEGIN(MTOOL_WITH_LOGIN_LOG_FORMAT, "login_log_format"),
	{ "", "login_log_format_elements" }, { "", "login_log_format" },
	CONF_FEATURE_END,
	{ "", "login_proxy_timeout" }, { "", "login_proxy_max_reconnects" },
	{ "", "login_proxy_max_disconnect_delay" }, { "", "login_source_ips" },
	{ "", "auth_proxy_self" }, { "", "auth_master_user_separator" },
	{ "", "auth_username_format" }, { "", "auth_username_translation" }, { "", "auth_default_realm" },
	{ "", "imap_id_retain" }, { "", "imap_capability" }, { "", "imap_id_send" },
	{ "", "imap_id_log" },
	{ "", "default_login_user" }, { "", "proxy_relay_splice" },
	{ "", "proxy_local_host" }, { "", "proxy_local_port" },
	CONF_FEATURE_BEGIN(MTOOL_WITH_DNS, "dns"),
	{ "", "proxy_resolv_conf" }, { "", "proxy_hosts_file" },
	CONF_FEATURE_END,
	{ "", "auth_verbose" }, { "", "auth_debug" }, { "", "log_path" },
	{ "", "log_timestamp" }, { "", "info_log_path" }, { "", "debug_log_path" },
	{ "", "instance_name" }, { "", "state_dir" },
	CONF_FEATURE_BEGIN(MTOOL_WITH_PROCTITLE, "proctitle"),
	{ "", "verbose_proctitle" },
	CONF_FEATURE_END,
	{ "", "default_internal_user" }, { "", "default_internal_group" },
	CONF_FEATURE_BEGIN(MTOOL_WITH_LMTP, "lmtp"),
	{ "", "lmtp_proxy" }, { "", "recipient_delimiter" }, { "", "mail_temp_dir" },
	{ "", "lmtp_proxy_max_mail_size" },
	CONF_FEATURE_END, CONF_FEATURE_BEGIN(MTOOL_WITH_DIRECTOR_CLIENT, "director_client"),
	{ "", "director_socket" },
	CONF_FEATURE_END, CONF_FEATURE_BEGIN(MTOOL_WITH_SUBMISSION, "submission"),
	{ "", "submission_backend_capabilities" }, { "", "submission_client_workarounds" },
	{ "", "submission_max_mail_size" },
	CONF_FEATURE_END, CONF_FEATURE_BEGIN(MTOOL_WITH_MANAGESIEVE, "managesieve"),
	{ "", "managesieve_implementation_string" },
	{ "", "managesieve_sieve_capability" }, { "", "managesieve_notify_capability" },
	CONF_FEATURE_END,
	/* what proxyd reads per protocol (conf_get_proto) */
	{ "protocol", "proxy_local_host" }, { "protocol", "proxy_local_port" },
	{ "protocol", "submission_backend_capabilities" },
	{ "protocol", "submission_client_workarounds" }, { "protocol", "submission_max_mail_size" },
	{ "protocol", "managesieve_implementation_string" },
	{ "protocol", "managesieve_sieve_capability" },
	{ "protocol", "managesieve_notify_capability" },
	{ "service", "client_limit" }, { "service", "process_limit" },
	{ "", "default_client_limit" }, { "", "default_process_limit" },
	{ "", "login_max_prelogin_per_ip" },
	{ "", "shutdown_clients" }, { "", "shutdown_clients_timeout" },
	{ "service/unix_listener", "mode" }, { "service/unix_listener", "user" },
	{ "service/unix_listener", "group" },
	{ "service/inet_listener", "address" }, { "service/inet_listener", "port" },
	{ "service/inet_listener", "ssl" },
	CONF_FEATURE_BEGIN(MTOOL_WITH_HAPROXY, "haproxy"),
	{ "service/inet_listener", "haproxy" },
	{ "", "haproxy_trusted_networks" }, { "", "haproxy_timeout" },
	CONF_FEATURE_END,
	{ "", "ssl" }, { "", "ssl_cert" }, { "", "ssl_key" }, { "", "ssl_min_protocol" },
	{ "", "ssl_cipher_list" }, { "", "ssl_prefer_server_ciphers" },
	CONF_FEATURE_BEGIN(MTOOL_WITH_TLS_SESSION_CACHE, "tls_session_cache"),
	{ "", "ssl_session_cache_size" },
	CONF_FEATURE_END,
	CONF_FEATURE_BEGIN(MTOOL_WITH_BACKEND_TLS, "backend_tls"),
	{ "", "ssl_client_ca_file" }, { "", "ssl_client_ca_dir" },
	{ "", "ssl_client_cert" }, { "", "ssl_client_key" },
	CONF_FEATURE_END,
	{ "local_name", "ssl_cert" }, { "local_name", "ssl_key" },
	{ "local", "ssl_cert" }, { "local", "ssl_key" },
	{ "passdb", "driver" }, { "passdb", "args" }, { "passdb", "result_success" },
	{ "passdb", "result_failure" }, { "passdb", "result_internalfail" },
	{ "passdb", "default_fields" }, { "passdb", "override_fields" },
	{ NULL, NULL },
};

/* The services proxyd reads; every other one Dovecot has is accepted and reported. */
static const char *const proxyd_services[] = {
	"imap-login", "pop3-login", "submission-login", "managesieve-login", "lmtp", "anvil",
	"ipc", "stats inet_listener", NULL,
};

const struct conf_applet settings_conf = { "proxyd", proxyd_schema, proxyd_services, 'p' };

/* Every protocol name proxyd knows; NULL: its feature (mk/features.mk) is not in this build. */
static const struct {
	const char *name;
	const struct proxyd_proto *proto;
} protos[] = {
	{ "imap", &imap_proto },
	{ "pop3", FEATURE_IF(MTOOL_WITH_POP3, &pop3_proto) FEATURE_IF_NOT(MTOOL_WITH_POP3, NULL) },
	{ "lmtp", FEATURE_IF(MTOOL_WITH_LMTP, &lmtp_proto) FEATURE_IF_NOT(MTOOL_WITH_LMTP, NULL) },
	{ "submission", FEATURE_IF(MTOOL_WITH_SUBMISSION, &submission_proto)
	    FEATURE_IF_NOT(MTOOL_WITH_SUBMISSION, NULL) },
	{ "sieve", FEATURE_IF(MTOOL_WITH_MANAGESIEVE, &managesieve_proto)
	    FEATURE_IF_NOT(MTOOL_WITH_MANAGESIEVE, NULL) },
};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

struct errctx {
	FILE *f;
	int n;
};

static void
err_at(struct errctx *e, const struct conf_node *node, const char *fmt, const char *arg)
{
	if (node)
		fprintf(e->f, "%s:%u: ", node->file, node->line);
	fprintf(e->f, fmt, arg);
	fputc('\n', e->f);
	e->n++;
}

static const char *
get_str(const struct conf *conf, const char *key, const char *def)
{
	return conf_get(conf_root(conf), key, def);
}

static void
get_bool(const struct conf *conf, const char *key, int def, int *out, struct errctx *e)
{
	const struct conf_node *n = conf_find(conf_root(conf), key);
	*out = def;
	if (n && conf_parse_bool(n, out, e->f) < 0)
		e->n++;
}

/* The index of a protocol proxyd knows (in this build or not), or -1. */
static int
proto_index(const char *name, size_t len)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (strlen(protos[i].name) == len && strncmp(protos[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static const struct proxyd_proto *
proto_by_name(const char *name, size_t len)
{
	int i = proto_index(name, len);
	return i < 0 ? NULL : protos[i].proto;
}

const struct proxyd_proto *
settings_protos(unsigned int i)
{
	for (size_t k = 0; k < NPROTOS; k++)
		if (protos[k].proto != NULL && i-- == 0)
			return protos[k].proto;
	return NULL;
}

const struct proxyd_proto *
settings_protos_named(const char *name)
{
	return proto_by_name(name, strlen(name));
}

static int
proto_enabled(const char *protocols, const struct proxyd_proto *p)
{
	for (const char *s = protocols; *s;) {
		size_t n = strcspn(s, " ,");
		if (n == strlen(p->name) && strncmp(s, p->name, n) == 0)
			return 1;
		s += n;
		s += strspn(s, " ,");
	}
	return 0;
}

static int
add_listener(struct proxyd_settings *set, const struct proxyd_proto *p, const char *name,
    const struct ip_addr *ip, unsigned int port, int ssl)
{
	struct listener_set *l = realloc(set->listeners, (set->nlisteners + 1) * sizeof(*l));
	if (l == NULL)
		return -1;
	set->listeners = l;
	l += set->nlisteners++;
	memset(l, 0, sizeof(*l));
	l->proto = p;
	l->name = name;
	l->ip = *ip;
	l->port = port;
	l->ssl = ssl;
	return 0;
}

/* "*" is every IPv4 address, "::" every IPv6 one (Dovecot's listen syntax). */
static int
parse_listen_addr(const char *tok, struct ip_addr *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (strcmp(tok, "*") == 0) {
		ip->family = AF_INET;
		return 0;
	}
	if (strcmp(tok, "::") == 0 || strcmp(tok, "[::]") == 0) {
		ip->family = AF_INET6;
		return 0;
	}
	return ip_parse(tok, ip);
}

/* Calls fn for each address in a "listen"-style list. */
static void
listen_each(const char *list, const struct conf_node *node, struct errctx *e,
    void (*fn)(const struct ip_addr *, void *), void *arg)
{
	char tok[128];
	for (const char *s = list; *s;) {
		s += strspn(s, " ,");
		size_t n = strcspn(s, " ,");
		if (n == 0)
			break;
		if (n >= sizeof(tok)) {
			err_at(e, node, "listen: address too long: %s", s);
			return;
		}
		memcpy(tok, s, n);
		tok[n] = '\0';
		struct ip_addr ip;
		if (parse_listen_addr(tok, &ip) < 0)
			err_at(e, node, "invalid listen address '%s' (IP addresses, * or ::)", tok);
		else
			fn(&ip, arg);
		s += n;
	}
}

struct listen_ctx {
	struct proxyd_settings *set;
	const struct proxyd_proto *proto;
	const char *name;
	unsigned int port;
	int ssl;
	struct errctx *e;
	int haproxy;
};

static void
listen_add_cb(const struct ip_addr *ip, void *arg)
{
	struct listen_ctx *lc = arg;
	if (add_listener(lc->set, lc->proto, lc->name, ip, lc->port, lc->ssl) < 0)
		err_at(lc->e, NULL, "%s", "out of memory");
	else
		lc->set->listeners[lc->set->nlisteners - 1].haproxy = lc->haproxy;
}

/* The port (and 1 if ssl) of an inet_listener Dovecot's default config has, so that
 * "inet_listener imaps { }" listens where and as it does in Dovecot (Debian's conf.d
 * leaves "#port = 993" and "#ssl = yes" commented out); -1 for another one. */
static int
default_listener(const char *service, const char *name, unsigned long long *port)
{
	static const struct {
		const char *service, *name;
		unsigned short port;
		unsigned char ssl;
	} defs[] = {
		{ "imap-login", "imap", 143, 0 }, { "imap-login", "imaps", 993, 1 },
		{ "pop3-login", "pop3", 110, 0 }, { "pop3-login", "pop3s", 995, 1 },
		{ "submission-login", "submission", 587, 0 },
		{ "managesieve-login", "sieve", 4190, 0 },
	};
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		if (strcmp(defs[i].service, service) == 0 && strcmp(defs[i].name, name) == 0) {
			*port = defs[i].port;
			return defs[i].ssl;
		}
	}
	return -1;
}

/* service X-login { executable = X-login director }: Dovecot's login processes then ask
 * the director, at base_dir/login/director, which is where mtool's directord listens for
 * that config. */
static int
login_director(const struct conf *conf)
{
	const struct conf_node *sec = NULL;
	while ((sec = conf_next_section(conf_root(conf), sec, "service")) != NULL) {
		const char *v = conf_get(sec, "executable", "");
		size_t len = strlen(v);
		if (len > 9 && strcmp(v + len - 9, " director") == 0)
			return 1;
	}
	return 0;
}

static void add_unix_listener(struct proxyd_settings *, const struct proxyd_proto *, const char *,
    const struct conf_node *, struct errctx *);

static void
load_listeners(struct proxyd_settings *set, struct errctx *e)
{
	const struct conf *conf = set->conf;
	const struct conf_node *root = conf_root(conf);
	const char *protocols = get_str(conf, "protocols", "imap pop3");
	const struct conf_node *listen_node = conf_find(root, "listen");
	const char *listen = listen_node ? listen_node->value : "*, ::";

	for (const char *s = protocols; *s;) {
		size_t n = strcspn(s, " ,");
		if (n > 0 && proto_by_name(s, n) == NULL) {
			char name[64];
			str_fmt(name, sizeof(name), "%.*s", (int)n, s);
			err_at(e, conf_find(root, "protocols"), proto_index(s, n) >= 0 ?
			    "protocols: '%s': not in this build" : "protocols: '%s' is not proxied by this version of proxyd (imap, pop3, lmtp, submission, sieve)", name);
		}
		s += n;
		s += strspn(s, " ,");
	}
	for (size_t i = 0; i < NPROTOS; i++) {
		const struct proxyd_proto *p = protos[i].proto;
		if (p == NULL || !proto_enabled(protocols, p))
			continue;
		/* Dovecot's service names: imap-login ... submission-login, managesieve-login;
		 * LMTP is not a login service: Dovecot's is "service lmtp" */
		const char *svc = p->log_prefix;
		const struct conf_node *service = NULL, *sec = NULL;
		while ((sec = conf_next_section(root, sec, "service")) != NULL)
			if (sec->name && strcmp(sec->name, svc) == 0)
				service = sec;
		const struct conf_node *il = NULL;
		int any = 0;
		while (service && (il = conf_next_section(service, il, "inet_listener")) != NULL) {
			struct listen_ctx lc = { set, p, il->name ? il->name : p->name, 0, 0, e, 0 };
			const struct conf_node *pn = conf_find(il, "port");
			const struct conf_node *sn = conf_find(il, "ssl");
			unsigned long long port = 0;
			unsigned long long def_port = 0;
			int def_ssl = default_listener(svc, lc.name, &def_port);
			any = 1;
			if (pn == NULL && def_ssl < 0) {
				err_at(e, il, "inet_listener %s: port is not set", lc.name);
				continue;
			}
			port = def_port;
			if (pn != NULL && conf_parse_uint(pn, 65535, &port, e->f) < 0) {
				e->n++;
				continue;
			}
			if (sn && conf_parse_bool(sn, &lc.ssl, e->f) < 0) {
				e->n++;
				continue;
			}
			if (sn == NULL && def_ssl == 1) {
				/* as Dovecot: its imaps and pop3s listeners are off with ssl = no */
				if (set->ssl == SSL_NO)
					continue;
				lc.ssl = 1;
			}
			const struct conf_node *hn = conf_find(il, "haproxy");
			if (hn && conf_parse_bool(hn, &lc.haproxy, e->f) < 0) {
				e->n++;
				continue;
			}
			if (lc.ssl && set->ssl == SSL_NO) {
				err_at(e, sn, "inet_listener %s: ssl = yes, but ssl = no at the top level", lc.name);
				continue;
			}
			if (port == 0)
				continue;	/* Dovecot: port 0 disables the listener */
			lc.port = (unsigned int)port;
			const struct conf_node *an = conf_find(il, "address");
			listen_each(an ? an->value : listen, an ? an : listen_node, e, listen_add_cb, &lc);
		}
		while (p->accept && service && (il = conf_next_section(service, il, "unix_listener")) != NULL) {
			any = 1;
			add_unix_listener(set, p, il->name ? il->name : p->name, il, e);
		}
		if (!any && p->accept) {
			/* as Dovecot: LMTP listens on base_dir/lmtp, mode 0666, by default */
			add_unix_listener(set, p, p->name, NULL, e);
		} else if (!any) {
			struct listen_ctx lc = { set, p, p->name, p->port, 0, e, 0 };
			listen_each(listen, listen_node, e, listen_add_cb, &lc);
		}
	}
}

static void
source_ip_add(const struct ip_addr *ip, void *arg)
{
	struct proxyd_settings *set = arg;
	struct ip_addr *n = realloc(set->source_ips, (set->nsource_ips + 1) * sizeof(*n));
	if (n == NULL)
		return;
	set->source_ips = n;
	n[set->nsource_ips++] = *ip;
}

/* Can this address be bound (is it one of ours)? For login_source_ips = ?... */
static int
ip_bindable(const struct ip_addr *ip)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(ip->family, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	ip_to_sockaddr(ip, 0, &ss, &len);
	int ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
	close(fd);
	return ok;
}

/* login_source_ips: addresses or host names (all their addresses), resolved now;
 * a leading '?' keeps only the addresses this host can bind. */
static void
load_source_ips(struct proxyd_settings *set, struct errctx *e)
{
	const struct conf_node *node = conf_find(conf_root(set->conf), "login_source_ips");
	if (node == NULL)
		return;
	const char *s = node->value;
	int only_ours = *s == '?';
	s += only_ours;
	char tok[256];
	while (*s) {
		s += strspn(s, " ,");
		size_t n = strcspn(s, " ,");
		if (n == 0)
			break;
		if (n >= sizeof(tok)) {
			err_at(e, node, "login_source_ips: name too long: %s", s);
			return;
		}
		memcpy(tok, s, n);
		tok[n] = '\0';
		s += n;
		struct ip_addr ip;
		if (ip_parse(tok, &ip) == 0) {
			if (!only_ours || ip_bindable(&ip))
				source_ip_add(&ip, set);
			continue;
		}
		struct ip_addr ips[16];
		const char *why;
		int nips = hostres_lookup(tok, ips, 16, &why);
		if (nips < 0) {
			err_at(e, node, strcmp(why, HOSTRES_NO_DNS) == 0 ?
			    "login_source_ips: '%s': " HOSTRES_NO_DNS :
			    "login_source_ips: cannot resolve '%s'", tok);
			continue;
		}
		for (int i = 0; i < nips; i++)
			if (!only_ours || ip_bindable(&ips[i]))
				source_ip_add(&ips[i], set);
	}
}

/* user and group of a unix_listener: names, or numbers where there is no passwd file */
static int
parse_owner(const struct conf_node *n, int group, unsigned int *out, struct errctx *e)
{
	long long v;
	const char *err;
	if (str_to_num(n->value, 0, 0x7fffffff, &v, &err) == 0) {
		*out = (unsigned int)v;
		return 0;
	}
	uid_t uid;
	gid_t gid;
	if (group ? sysdb_group(n->value, &gid) == 0 : sysdb_user(n->value, &uid, &gid) == 0) {
		*out = group ? (unsigned int)gid : (unsigned int)uid;
		return 0;
	}
	err_at(e, n, group ? "group: no such group '%s'" : "user: no such user '%s'", n->value);
	return -1;
}

/* mode, user and group of a unix_listener block (l may be NULL: defaults stay) */
static void
parse_unix_owner(const struct conf_node *l, mode_t *mode, uid_t *uid, gid_t *gid, struct errctx *e)
{
	const struct conf_node *n;
	unsigned int v;
	if (l == NULL)
		return;
	if ((n = conf_find(l, "mode")) != NULL) {
		char *end;
		unsigned long m = strtoul(n->value, &end, 8);
		if (*n->value == '\0' || *end != '\0' || m > 0777)
			err_at(e, n, "mode: '%s' is not an octal mode (e.g. 0600)", n->value);
		else
			*mode = (mode_t)m;
	}
	if ((n = conf_find(l, "user")) != NULL && *n->value && parse_owner(n, 0, &v, e) == 0)
		*uid = (uid_t)v;
	if ((n = conf_find(l, "group")) != NULL && *n->value && parse_owner(n, 1, &v, e) == 0)
		*gid = (gid_t)v;
}

/* unix_listener NAME { mode user group } of a protocol service: NAME is a path, relative
 * to base_dir unless it starts with '/', as in Dovecot */
static void
add_unix_listener(struct proxyd_settings *set, const struct proxyd_proto *p, const char *name,
    const struct conf_node *l, struct errctx *e)
{
	char path[512];
	if (str_fmt(path, sizeof(path), "%s%s%s", *name == '/' ? "" : set->base_dir,
	    *name == '/' ? "" : "/", name) >= sizeof(path) || strlen(path) >= 108) {
		err_at(e, l, "unix_listener %s: path too long", name);
		return;
	}
	if (add_listener(set, p, name, &(struct ip_addr){ 0 }, 0, 0) < 0 ||
	    (set->listeners[set->nlisteners - 1].path = strdup(path)) == NULL) {
		err_at(e, l, "%s", "out of memory");
		return;
	}
	struct listener_set *ls = &set->listeners[set->nlisteners - 1];
	ls->mode = 0666;
	ls->uid = (uid_t)-1;
	ls->gid = (gid_t)-1;
	parse_unix_owner(l, &ls->mode, &ls->uid, &ls->gid, e);
}

/* service NAME { unix_listener NAME { mode user group } } for the admin sockets */
static void
load_unix_listener(struct proxyd_settings *set, const char *name, const char *lname,
    struct unix_listener_set *ul, struct errctx *e)
{
	const struct conf_node *root = conf_root(set->conf), *sec = NULL, *l = NULL;
	str_fmt(ul->path, sizeof(ul->path), "%s/%s", set->base_dir, lname);
	ul->mode = 0600;
	ul->uid = (uid_t)-1;
	ul->gid = (gid_t)-1;
	while ((sec = conf_next_section(root, sec, "service")) != NULL) {
		if (sec->name == NULL || strcmp(sec->name, name) != 0)
			continue;
		const struct conf_node *it = NULL;
		while ((it = conf_next_section(sec, it, "unix_listener")) != NULL)
			if (it->name && strcmp(it->name, lname) == 0)
				l = it;
	}
	parse_unix_owner(l, &ul->mode, &ul->uid, &ul->gid, e);
}

static void
load_mechanisms(struct proxyd_settings *set, struct errctx *e)
{
	const struct conf_node *node = conf_find(conf_root(set->conf), "auth_mechanisms");
	const char *s = node ? node->value : "plain";
	size_t out = 0;
	set->auth_mechanisms[0] = '\0';
	while (*s) {
		s += strspn(s, " ,");
		size_t n = strcspn(s, " ,");
		if (n == 0)
			break;
		char mech[32];
		str_fmt(mech, sizeof(mech), "%.*s", (int)n, s);
		s += n;
		if (sasl_mech_parse(mech) == SASL_MECH_NONE) {
			err_at(e, node, "auth_mechanisms: '%s' is not supported (plain, login, xoauth2, oauthbearer)", mech);
			continue;
		}
		for (char *p = mech; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		out += str_fmt(set->auth_mechanisms + out, sizeof(set->auth_mechanisms) - out,
		    "%s%s", out ? " " : "", mech);
	}
	if (set->auth_mechanisms[0] == '\0')
		err_at(e, node, "%s", "auth_mechanisms: no mechanism left");
}

/* local NET { ssl_cert ssl_key }: as Dovecot's filter, a different certificate for
 * connections to those local addresses (both settings, or the top level's for the one
 * not set) */
static void
load_local_certs(struct proxyd_settings *set, struct errctx *e)
{
	const struct conf_node *root = conf_root(set->conf), *sec = NULL;
	struct ip_addr probe = { .family = AF_INET };
	const char *bad;

	while ((sec = conf_next_section(root, sec, "local")) != NULL) {
		const char *c = conf_get(sec, "ssl_cert", NULL), *k = conf_get(sec, "ssl_key", NULL);
		if (c == NULL && k == NULL)
			continue;
		if (sec->name == NULL || ip_net_list_match(sec->name, &probe, &bad) < 0) {
			err_at(e, sec, "local %s { }: not an IP address or network", sec->name ? sec->name : "");
			continue;
		}
		struct local_cert_set *l = realloc(set->local_certs, (set->nlocal_certs + 1) * sizeof(*l));
		if (l == NULL) {
			err_at(e, NULL, "%s", "out of memory");
			return;
		}
		set->local_certs = l;
		l[set->nlocal_certs].net = sec->name;
		l[set->nlocal_certs].cert_pem = c != NULL ? c : set->certs[0].cert_pem;
		l[set->nlocal_certs].key_pem = k != NULL ? k : set->certs[0].key_pem;
		set->nlocal_certs++;
	}
}

/* ssl, ssl_cert/ssl_key, local_name sections, protocol versions and suites; the client
 * side's CA and certificate. The PEM text is checked when proxyd builds its contexts. */
static void
load_ssl(struct proxyd_settings *set, struct errctx *e)
{
	const struct conf_node *root = conf_root(set->conf), *n, *sec = NULL;
	const char *v = get_str(set->conf, "ssl", "yes");
	char err[256], ignored[256];

	if (strcmp(v, "no") == 0)
		set->ssl = SSL_NO;
	else if (strcmp(v, "yes") == 0)
		set->ssl = SSL_YES;
	else if (strcmp(v, "required") == 0)
		set->ssl = SSL_REQUIRED;
	else
		err_at(e, conf_find(root, "ssl"), "ssl: '%s' is not one of no, yes, required", v);
	tls_params_default(&set->tls_params);
	if ((n = conf_find(root, "ssl_min_protocol")) != NULL &&
	    tls_parse_min_protocol(n->value, &set->tls_params.min_version, err, sizeof(err)) < 0)
		err_at(e, n, "%s", err);
	if ((n = conf_find(root, "ssl_cipher_list")) != NULL) {
		if (tls_parse_cipher_list(n->value, &set->tls_params, ignored, sizeof(ignored)) < 0)
			err_at(e, n, "ssl_cipher_list: cannot parse '%s'", n->value);
		else if (ignored[0])
			fprintf(e->f, "%s:%u: warning: ssl_cipher_list: not available with BearSSL, ignored: %s\n",
			    n->file, n->line, ignored);
	}
	const char *cert = get_str(set->conf, "ssl_cert", NULL), *key = get_str(set->conf, "ssl_key", NULL);
	if (set->ssl != SSL_NO && (cert == NULL || key == NULL || !*cert || !*key)) {
		/* Dovecot's default is ssl = yes with its own certificate; mtool ships none */
		if (conf_find(root, "ssl") != NULL)
			err_at(e, conf_find(root, "ssl"), "ssl = %s needs ssl_cert and ssl_key (ssl_cert = </path/cert.pem)", v);
		set->ssl = SSL_NO;
	}
	if (set->ssl != SSL_NO) {
		set->certs = calloc(1, sizeof(*set->certs));
		if (set->certs == NULL) {
			err_at(e, NULL, "%s", "out of memory");
			return;
		}
		set->certs[0].cert_pem = cert;
		set->certs[0].key_pem = key;
		set->ncerts = 1;
		while ((sec = conf_next_section(root, sec, "local_name")) != NULL) {
			const char *c2 = conf_get(sec, "ssl_cert", NULL), *k2 = conf_get(sec, "ssl_key", NULL);
			if (sec->name == NULL || c2 == NULL || k2 == NULL) {
				err_at(e, sec, "%s", "local_name NAME { } needs a name, ssl_cert and ssl_key");
				continue;
			}
			struct tls_cert_conf *cc = realloc(set->certs, (set->ncerts + 1) * sizeof(*cc));
			if (cc == NULL)
				break;
			set->certs = cc;
			cc[set->ncerts].names = sec->name;
			cc[set->ncerts].cert_pem = c2;
			cc[set->ncerts].key_pem = k2;
			set->ncerts++;
		}
		load_local_certs(set, e);
	}
	/* mtool's own: BearSSL's LRU cache of sessions to resume, 100 bytes each */
	unsigned long long cache = TLS_SESSION_CACHE_BYTES;
	const struct conf_node *cn = conf_find(root, "ssl_session_cache_size");
	if (cn != NULL && conf_parse_size(cn, &cache, e->f) < 0)
		e->n++;
	else if (cache > (1ULL << 30))
		err_at(e, cn, "ssl_session_cache_size: %s is more than 1G", cn->value);
	set->ssl_session_cache = (size_t)cache;
	set->ssl_client_ca_file = get_str(set->conf, "ssl_client_ca_file", NULL);
	set->ssl_client_ca_dir = get_str(set->conf, "ssl_client_ca_dir", NULL);
	set->ssl_client_cert = get_str(set->conf, "ssl_client_cert", NULL);
	set->ssl_client_key = get_str(set->conf, "ssl_client_key", NULL);
	if (set->ssl_client_ca_file && !*set->ssl_client_ca_file)
		set->ssl_client_ca_file = NULL;
	if (set->ssl_client_ca_dir && !*set->ssl_client_ca_dir)
		set->ssl_client_ca_dir = NULL;
	if (set->ssl_client_cert && !*set->ssl_client_cert)
		set->ssl_client_cert = NULL;
	if (set->ssl_client_key && !*set->ssl_client_key)
		set->ssl_client_key = NULL;
}

static void
load_proto(struct proxyd_settings *set, const char *proto, struct proto_set *ps, struct errctx *e)
{
	const struct conf_node *n;
	ps->local_host = conf_get_proto(set->conf, proto, "proxy_local_host", NULL);
	if ((n = conf_find_proto(set->conf, proto, "proxy_local_port")) != NULL) {
		unsigned long long v;
		if (conf_parse_uint(n, 65535, &v, e->f) < 0)
			e->n++;
		else
			ps->local_port = (unsigned int)v;
	}
	if (ps->local_host && *ps->local_host == '\0')
		ps->local_host = NULL;
}

static void
load_lmtp(struct proxyd_settings *set, struct errctx *e)
{
	const struct conf_node *n;
	int proxy;
	get_bool(set->conf, "lmtp_proxy", 1, &proxy, e);
	if (!proxy)
		err_at(e, conf_find(conf_root(set->conf), "lmtp_proxy"), "%s",
		    "lmtp_proxy = no: proxyd stores no mail, so it can only proxy (use proxy_local_host for users without a proxy field)");
	set->recipient_delimiter = get_str(set->conf, "recipient_delimiter", "+");
	set->mail_temp_dir = get_str(set->conf, "mail_temp_dir", "/tmp");
	set->lmtp_max_mail_size = 256ULL << 20;
	if ((n = conf_find(conf_root(set->conf), "lmtp_proxy_max_mail_size")) != NULL &&
	    conf_parse_size(n, &set->lmtp_max_mail_size, e->f) < 0)
		e->n++;
	load_proto(set, "lmtp", &set->lmtp, e);
}

static const struct {
	const char *name;
	unsigned int bit;
} subm_caps[] = {
	{ "8BITMIME", SUBM_CAP_8BITMIME }, { "BINARYMIME", SUBM_CAP_BINARYMIME },
	{ "BURL", SUBM_CAP_BURL }, { "CHUNKING", SUBM_CAP_CHUNKING }, { "DSN", SUBM_CAP_DSN },
	{ "ENHANCEDSTATUSCODES", SUBM_CAP_ENHANCEDSTATUSCODES }, { "SIZE", SUBM_CAP_SIZE },
	{ "PIPELINING", SUBM_CAP_PIPELINING }, { "VRFY", SUBM_CAP_VRFY },
	/* known to Dovecot, nothing to show before login */
	{ "AUTH", 0 }, { "STARTTLS", 0 }, { "XCLIENT", 0 }, { "ETRN", 0 }, { "SMTPUTF8", 0 },
};

/* Names in a space/comma separated list, upper-cased into tok; calls fn for each. */
static void
words_each(const char *list, void (*fn)(const char *, void *), void *arg)
{
	char tok[64];
	for (const char *s = list; *s;) {
		s += strspn(s, " ,");
		size_t n = strcspn(s, " ,");
		if (n == 0)
			break;
		str_fmt(tok, sizeof(tok), "%.*s", (int)n, s);
		s += n;
		fn(tok, arg);
	}
}

struct word_ctx {
	struct proxyd_settings *set;
	const struct conf_node *node;
	struct errctx *e;
};

static void
subm_cap_word(const char *w, void *arg)
{
	struct word_ctx *wc = arg;
	for (size_t i = 0; i < sizeof(subm_caps) / sizeof(subm_caps[0]); i++) {
		if (strcasecmp(w, subm_caps[i].name) == 0) {
			wc->set->subm_backend_caps |= subm_caps[i].bit;
			return;
		}
	}
	err_at(wc->e, wc->node, "submission_backend_capabilities: unknown SMTP capability '%s'", w);
}

static void
subm_workaround_word(const char *w, void *arg)
{
	struct word_ctx *wc = arg;
	if (strcasecmp(w, "exotic-backend") == 0)
		wc->set->subm_exotic_backend = 1;
	else if (strcasecmp(w, "whitespace-before-path") != 0 && strcasecmp(w, "mailbox-for-path") != 0 &&
	    strcasecmp(w, "implicit-auth-external") != 0)
		err_at(wc->e, wc->node, "submission_client_workarounds: Unknown workaround: %s", w);
}

/* submission-login's settings, at the top level or in protocol submission { } */
static void
load_submission(struct proxyd_settings *set, struct errctx *e)
{
	const struct conf_node *n;
	struct word_ctx wc = { set, NULL, e };

	set->subm_backend_caps = SUBM_CAP_8BITMIME;	/* Dovecot's default: unset */
	if ((n = conf_find_proto(set->conf, "submission", "submission_backend_capabilities")) != NULL) {
		set->subm_backend_caps = 0;
		wc.node = n;
		words_each(n->value, subm_cap_word, &wc);
		/* as Dovecot: BINARYMIME needs CHUNKING */
		if (set->subm_backend_caps & SUBM_CAP_BINARYMIME)
			set->subm_backend_caps |= SUBM_CAP_CHUNKING;
	}
	if ((n = conf_find_proto(set->conf, "submission", "submission_client_workarounds")) != NULL) {
		wc.node = n;
		words_each(n->value, subm_workaround_word, &wc);
	}
	if ((n = conf_find_proto(set->conf, "submission", "submission_max_mail_size")) != NULL) {
		unsigned long long v;
		if (conf_parse_size(n, &v, e->f) < 0)
			e->n++;
		else
			set->subm_max_mail_size = v;
	}
}

/* What managesieve-login advertises before login; Pigeonhole 0.5.19's defaults with the
 * Sieve extensions a default Dovecot backend has (the proxy cannot ask the backend). */
static void
load_managesieve(struct proxyd_settings *set)
{
	set->sieve_implementation = conf_get_proto(set->conf, "sieve", "managesieve_implementation_string",
	    "Dovecot Pigeonhole");
	set->sieve_capability = conf_get_proto(set->conf, "sieve", "managesieve_sieve_capability",
	    "fileinto reject envelope encoded-character vacation subaddress comparator-i;ascii-numeric "
	    "relational regex imap4flags copy include variables body enotify environment mailbox date "
	    "index ihave duplicate mime foreverypart extracttext");
	set->sieve_notify = conf_get_proto(set->conf, "sieve", "managesieve_notify_capability", "mailto");
	if (*set->sieve_notify == '\0')
		set->sieve_notify = NULL;
}

/* service X-login { client_limit process_limit } with Dovecot's defaults: proxyd is one
 * process, so a service holds client_limit * process_limit connections (pre-login and
 * proxied), as Dovecot's login processes do together in high-performance mode. */
static void
load_limits(struct proxyd_settings *set, struct errctx *e)
{
	const struct conf_node *root = conf_root(set->conf);
	unsigned int def_client, def_process;
	e->n += conf_get_uint(set->conf, "default_client_limit", 1000, 0, 10000000, &def_client, e->f) < 0;
	e->n += conf_get_uint(set->conf, "default_process_limit", 100, 0, 100000, &def_process, e->f) < 0;
	e->n += conf_get_uint(set->conf, "login_max_prelogin_per_ip", 100, 0, 10000000, &set->login_max_prelogin_per_ip, e->f) < 0;
	get_bool(set->conf, "shutdown_clients", 1, &set->shutdown_clients, e);
	e->n += conf_get_ms_uint(set->conf, "shutdown_clients_timeout", 3600 * 1000, 0, 7 * 86400000U, &set->shutdown_clients_timeout_ms, e->f) < 0;
	/* Dovecot's way to turn the auth penalty off: service anvil { unix_listener
	 * anvil-auth-penalty { mode = 0 } } */
	struct unix_listener_set pen;
	load_unix_listener(set, "anvil", "anvil-auth-penalty", &pen, e);
	set->auth_penalty = pen.mode != 0;
	for (size_t i = 0; i < NPROTOS; i++) {
		const struct proxyd_proto *p = protos[i].proto;
		if (p == NULL)
			continue;	/* not in this build */
		struct proto_set *ps = (struct proto_set *)settings_proto(set, p->name);
		const struct conf_node *sec = NULL, *n;
		ps->client_limit = def_client;
		ps->process_limit = def_process;
		while ((sec = conf_next_section(root, sec, "service")) != NULL) {
			if (sec->name == NULL || strcmp(sec->name, p->log_prefix) != 0)
				continue;
			unsigned long long v;
			const char *keys[] = { "client_limit", "process_limit" };
			unsigned int *outs[] = { &ps->client_limit, &ps->process_limit };
			for (int k = 0; k < 2; k++) {
				if ((n = conf_find(sec, keys[k])) == NULL)
					continue;
				if (conf_parse_uint(n, 10000000, &v, e->f) < 0)
					e->n++;
				else if (v == 0)
					err_at(e, n, "%s: must be at least 1", keys[k]);
				else
					*outs[k] = (unsigned int)v;
			}
		}
	}
}

int
settings_load(struct proxyd_settings *set, const char *path, char *const *overrides,
    size_t noverrides, FILE *errf)
{
	struct errctx e = { errf, 0 };
	char host[256];

	memset(set, 0, sizeof(*set));
	set->conf = conf_load(path, overrides, noverrides, errf);
	if (set->conf == NULL)
		return -1;
	/* unknown settings make the rest meaningless: stop here (the config stays loaded
	 * only when it is worth checking further) */
	if (conf_known_check(set->conf, &settings_conf, &set->unused, errf) > 0) {
		conf_free(set->conf);
		conf_unused_free(&set->unused);
		set->conf = NULL;
		return -1;
	}
	const struct conf *conf = set->conf;

	set->base_dir = get_str(conf, "base_dir", MTOOL_BASE_DIR);
	set->login_trusted_networks = get_str(conf, "login_trusted_networks", "");
	const char *bad;
	struct ip_addr probe = { .family = AF_INET };
	if (ip_net_list_match(set->login_trusted_networks, &probe, &bad) < 0)
		err_at(&e, conf_find(conf_root(conf), "login_trusted_networks"),
		    "login_trusted_networks: invalid network '%s'", bad);
	set->haproxy_trusted_networks = get_str(conf, "haproxy_trusted_networks", "");
	if (ip_net_list_match(set->haproxy_trusted_networks, &probe, &bad) < 0)
		err_at(&e, conf_find(conf_root(conf), "haproxy_trusted_networks"),
		    "haproxy_trusted_networks: invalid network '%s'", bad);
	e.n += conf_get_ms_uint(conf, "haproxy_timeout", 3000, 0, 7 * 86400000U, &set->haproxy_timeout_ms, e.f) < 0;
	set->auth_proxy_self = get_str(conf, "auth_proxy_self", "");
	if (ip_net_list_match(set->auth_proxy_self, &probe, &bad) < 0)
		err_at(&e, conf_find(conf_root(conf), "auth_proxy_self"), "auth_proxy_self: invalid address '%s'", bad);

	int disable_plaintext;
	get_bool(conf, "disable_plaintext_auth", 1, &disable_plaintext, &e);
	set->allow_cleartext = !disable_plaintext;
	if (conf_find(conf_root(conf), "auth_allow_cleartext"))
		get_bool(conf, "auth_allow_cleartext", 0, &set->allow_cleartext, &e);
	e.n += conf_get_ms_uint(conf, "auth_failure_delay", 2000, 0, 7 * 86400000U, &set->auth_failure_delay_ms, e.f) < 0;
	e.n += conf_get_ms_uint(conf, "login_timeout", 180000, 0, 7 * 86400000U, &set->login_timeout_ms, e.f) < 0;
	e.n += conf_get_ms_uint(conf, "login_proxy_timeout", 30000, 0, 7 * 86400000U, &set->login_proxy_timeout_ms, e.f) < 0;
	e.n += conf_get_uint(conf, "login_proxy_max_reconnects", 3, 0, 100, &set->login_proxy_max_reconnects, e.f) < 0;
	e.n += conf_get_ms_uint(conf, "login_proxy_max_disconnect_delay", 0, 0, 7 * 86400000U, &set->login_proxy_max_disconnect_delay_ms, e.f) < 0;
	get_bool(conf, "imap_id_retain", 0, &set->imap_id_retain, &e);
	set->imap_id_send = get_str(conf, "imap_id_send", "name *");
	set->resolv_conf = get_str(conf, "proxy_resolv_conf", "/etc/resolv.conf");
	set->hosts_file = get_str(conf, "proxy_hosts_file", "/etc/hosts");
	set->imap_id_log = get_str(conf, "imap_id_log", "");
	get_bool(conf, "proxy_relay_splice", 1, &set->relay_splice, &e);
	get_bool(conf, "auth_verbose", 0, &set->verbose_auth, &e);
	set->imap_capability = get_str(conf, "imap_capability", NULL);
	if (set->imap_capability && *set->imap_capability == '\0')
		set->imap_capability = NULL;
	set->login_greeting = get_str(conf, "login_greeting", "Dovecot ready.");
	set->auth_master_user_separator = get_str(conf, "auth_master_user_separator", "");
	set->default_login_user = get_str(conf, "default_login_user", "dovenull");
	set->director_socket = get_str(conf, "director_socket", login_director(conf) ?
	    "login/director" : "");
	set->hostname = get_str(conf, "hostname", NULL);
	if (set->hostname == NULL) {
		if (gethostname(host, sizeof(host)) < 0)
			str_copy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		set->hostname = strdup(host);
		set->hostname_owned = 1;
	}
	load_mechanisms(set, &e);
	load_ssl(set, &e);
	load_listeners(set, &e);
	if (set->nlisteners == 0 && e.n == 0) {
		fprintf(errf, "%s: ", conf_root(conf)->file);
		err_at(&e, NULL, "%s", "no listeners: enable a protocol (protocols = imap pop3) with a port");
	}
	load_source_ips(set, &e);
	load_unix_listener(set, "ipc", "ipc", &set->ipc, &e);
	load_unix_listener(set, "anvil", "anvil", &set->anvil, &e);
	load_proto(set, "imap", &set->imap, &e);
	load_proto(set, "pop3", &set->pop3, &e);
	load_lmtp(set, &e);
	load_proto(set, "submission", &set->submission, &e);
	load_proto(set, "sieve", &set->sieve, &e);
	load_submission(set, &e);
	load_managesieve(set);
	load_limits(set, &e);
	return e.n ? -1 : 0;
}

const struct proto_set *
settings_proto(const struct proxyd_settings *set, const char *proto)
{
	if (strcmp(proto, "lmtp") == 0)
		return &set->lmtp;
	if (strcmp(proto, "pop3") == 0)
		return &set->pop3;
	if (strcmp(proto, "submission") == 0)
		return &set->submission;
	if (strcmp(proto, "sieve") == 0)
		return &set->sieve;
	return &set->imap;
}

void
settings_free(struct proxyd_settings *set)
{
	if (set->hostname_owned)
		free((char *)set->hostname);
	for (unsigned int i = 0; i < set->nlisteners; i++)
		free(set->listeners[i].path);
	free(set->listeners);
	free(set->source_ips);
	free(set->certs);
	free(set->local_certs);
	conf_free(set->conf);
	conf_unused_free(&set->unused);
	memset(set, 0, sizeof(*set));
}
