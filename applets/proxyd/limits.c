/* SPDX-License-Identifier: MIT */
/* applets/proxyd/limits.c: how many connections proxyd takes, so that one host cannot
 * take every descriptor and lock everyone else out until login_timeout:
 * - per login service, client_limit * process_limit connections (pre-login and proxied),
 *   as Dovecot's login processes of that service hold together;
 * - a reserve of LIMITS_FD_RESERVE descriptors that clients never get, so that admin
 *   sockets, the director, passdb files and backend connects still work;
 * - per client address (IPv6: per /64), login_max_prelogin_per_ip connections before
 *   login; login_trusted_networks are not counted (a front proxy carries many clients).
 * When a service or the descriptors are full, the oldest pre-login client is dropped to
 * make room ("Connection queue full", as Dovecot's login processes do when their master
 * says the service is full), with Dovecot's warning at most once a second. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "applets/proxyd/limits.h"
#include "applets/proxyd/login.h"
#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/settings.h"
#include "core/log.h"
#include "core/str.h"

#define IP_BUCKETS	1024
#define IP_V6_BITS	64
#define SERVICES_MAX	8

struct ip_count {
	struct ip_count *next;
	struct ip_addr ip;		/* ip_prefix()ed */
	unsigned int n;
};

struct service_count {
	const struct proxyd_proto *proto;
	unsigned int count, limit;
	int64_t last_warn;
};

struct limits {
	unsigned int nofile;		/* RLIMIT_NOFILE as proxyd runs with it */
	struct service_count svc[SERVICES_MAX];
	struct ip_count *ips[IP_BUCKETS];
	int64_t last_fd_warn, last_ip_warn;
};

static struct service_count *
service_of(struct proxyd *pd, const struct proxyd_proto *proto)
{
	struct limits *l = pd->limits;
	for (int i = 0; i < SERVICES_MAX; i++) {
		struct service_count *s = &l->svc[i];
		if (s->proto == proto)
			return s;
		if (s->proto == NULL) {
			const struct proto_set *ps = settings_proto(pd->set, proto->name);
			unsigned long long lim = (unsigned long long)ps->client_limit * ps->process_limit;
			s->proto = proto;
			s->limit = lim > 0xffffffffu ? 0xffffffffu : (unsigned int)lim;
			return s;
		}
	}
	return NULL;		/* more protocols than SERVICES_MAX: not limited per service */
}

int
limits_init(struct proxyd *pd)
{
	struct rlimit rl;
	pd->limits = calloc(1, sizeof(*pd->limits));
	if (pd->limits == NULL)
		return -1;
	pd->limits->nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 0x7fffffff ?
	    (unsigned int)rl.rlim_cur : 0x7fffffff;
	return 0;
}

void
limits_free(struct proxyd *pd)
{
	struct limits *l = pd->limits;
	if (l == NULL)
		return;
	for (int i = 0; i < IP_BUCKETS; i++)
		while (l->ips[i]) {
			struct ip_count *c = l->ips[i];
			l->ips[i] = c->next;
			free(c);
		}
	free(l);
	pd->limits = NULL;
}

static struct ip_count **
ip_slot(struct limits *l, const struct ip_addr *rip, struct ip_addr *key)
{
	ip_prefix(rip, IP_V6_BITS, key);
	struct ip_count **pp = &l->ips[ip_table_hash(key) % IP_BUCKETS];
	while (*pp && memcmp(&(*pp)->ip, key, sizeof(*key)) != 0)
		pp = &(*pp)->next;
	return pp;
}

void
limits_client_added(struct client *c)
{
	struct proxyd *pd = c->pd;
	struct service_count *s = service_of(pd, c->proto);
	struct ip_addr key;
	if (s)
		s->count++;
	if (c->trusted || c->rip.family == 0)
		return;
	struct ip_count **pp = ip_slot(pd->limits, &c->rip, &key);
	if (*pp == NULL && (*pp = calloc(1, sizeof(**pp))) != NULL)
		(*pp)->ip = key;
	if (*pp)
		(*pp)->n++;
}

void
limits_client_gone(struct client *c)
{
	struct proxyd *pd = c->pd;
	struct ip_addr key;
	if (!c->logged_in) {
		struct service_count *s = service_of(pd, c->proto);
		if (s && s->count)
			s->count--;
	}
	/* c->rip changes only for trusted clients (XCLIENT, ID from a front proxy) */
	if (c->trusted || c->rip.family == 0)
		return;
	struct ip_count **pp = ip_slot(pd->limits, &c->rip, &key), *ic = *pp;
	if (ic && --ic->n == 0) {
		*pp = ic->next;
		free(ic);
	}
}

void
limits_session_gone(struct proxyd *pd, const struct proxyd_proto *proto)
{
	struct service_count *s = pd->limits ? service_of(pd, proto) : NULL;
	if (s && s->count)
		s->count--;
}

void
limits_client_bye(struct client *c, const char *enh, const char *text, const char *reason)
{
	if (c->proto->login->bye_enh)
		c->proto->login->bye_enh(c, enh, text);
	else
		c->proto->login->bye(c, text);
	client_destroy(c, reason);
}

/* The client to drop for a new one: the oldest before login (of proto, unless NULL),
 * preferring one that is not half-way through a login or a backend connect. */
static struct client *
oldest_prelogin(struct proxyd *pd, const struct proxyd_proto *proto)
{
	struct client *oldest = NULL, *idle = NULL;
	for (struct client *c = pd->clients; c; c = c->next) {
		if (c->destroyed || (proto && c->proto != proto))
			continue;
		oldest = c;		/* the list is newest first */
		if (!c->authenticating && !c->proxying && c->director_lookup_id == 0)
			idle = c;
	}
	return idle ? idle : oldest;
}

/* Refusing without a client: the protocol's last words where the socket is not TLS (the
 * client would not understand them otherwise), best effort, then close. */
static void
refuse(const struct proxyd_proto *proto, int fd, int ssl, const char *text)
{
	char line[256];
	if (!ssl && proto->bye_fmt) {
		size_t n = str_fmt(line, sizeof(line), proto->bye_fmt, text);
		if (n < sizeof(line))
			(void)send(fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	close(fd);
}

static int
warn_due(struct proxyd *pd, int64_t *last)
{
	int64_t now = loop_wall(pd->loop);
	if (*last + 1 > now)
		return 0;
	*last = now;
	return 1;
}

int
limits_admit(struct proxyd *pd, const struct proxyd_proto *proto, int fd, const struct sockaddr *peer,
    int ssl)
{
	struct limits *l = pd->limits;
	struct ip_addr rip, key;
	char ip[IP_ADDR_STRLEN];
	int login = proto->login != NULL;

	ip_from_sockaddr(peer, &rip, NULL);
	/* fd is the lowest free descriptor, so all below it are taken; every pre-login
	 * client may still need one more for its backend */
	int fd_full = (unsigned int)fd + (login ? pd->nclients + 1 : 0) + LIMITS_FD_RESERVE >= l->nofile;
	if (!login) {
		if (!fd_full)
			return 1;
		if (warn_due(pd, &l->last_fd_warn)) {
			log_set_prefix("proxyd");
			log_warnx("%u descriptors are in use (limit %u, %u kept in reserve): %s connections are being refused",
			    (unsigned int)fd, l->nofile, LIMITS_FD_RESERVE, proto->name);
		}
		close(fd);
		return 0;
	}
	const char *bad;
	int trusted = ip_net_list_match(pd->set->login_trusted_networks, &rip, &bad) == 1;
	unsigned int max_ip = pd->set->login_max_prelogin_per_ip;
	if (max_ip && !trusted && rip.family != 0) {
		struct ip_count *ic = *ip_slot(l, &rip, &key);
		if (ic && ic->n >= max_ip) {
			if (warn_due(pd, &l->last_ip_warn)) {
				log_set_prefix(proto->log_prefix);
				log_warnx("login_max_prelogin_per_ip (%u) reached for %s: its new connections are being refused",
				    max_ip, ip_format(&rip, ip, sizeof(ip)));
			}
			refuse(proto, fd, ssl, "Too many connections from your IP address.");
			return 0;
		}
	}
	struct service_count *s = service_of(pd, proto);
	int svc_full = s && s->count >= s->limit;
	if (!svc_full && !fd_full)
		return 1;
	if (svc_full && warn_due(pd, &s->last_warn)) {
		const struct proto_set *ps = settings_proto(pd->set, proto->name);
		/* Dovecot's warning, naming the limit the way its master does */
		log_set_prefix("proxyd");
		log_warnx("service(%s): %s (%u) reached, client connections are being dropped", proto->log_prefix,
		    ps->process_limit > 1 ? "process_limit" : "client_limit",
		    ps->process_limit > 1 ? ps->process_limit : ps->client_limit);
	} else if (!svc_full && warn_due(pd, &l->last_fd_warn)) {
		log_set_prefix("proxyd");
		log_warnx("descriptor limit %u reached (%u kept in reserve), client connections are being dropped",
		    l->nofile, LIMITS_FD_RESERVE);
	}
	struct client *victim = oldest_prelogin(pd, svc_full ? proto : NULL);
	if (victim == NULL) {
		/* every place is a proxied session: nothing to drop */
		refuse(proto, fd, ssl, "Connection queue full");
		return 0;
	}
	limits_client_bye(victim, "4.0.0", "Connection queue full", "Connection queue full");
	return 1;
}
