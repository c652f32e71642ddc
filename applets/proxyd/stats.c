/* SPDX-License-Identifier: MIT */
/* applets/proxyd/stats.c: proxyd's metric families and the gauges read from the session
 * lists at scrape time (walking them costs a scrape, never a login). */
#include <string.h>

#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/relay.h"
#include "applets/proxyd/settings.h"
#include "applets/proxyd/stats.h"
#include "core/passdb.h"
#include "core/str.h"
#include "core/tls.h"

struct metrics_family stats_logins = {
	.name = "mtool_proxyd_logins", .help = "Finished login attempts by protocol and result",
	.type = METRICS_COUNTER, .labels = { "protocol", "result" },
};
struct metrics_family stats_login_seconds = {
	.name = "mtool_proxyd_login_duration_seconds",
	.help = "Time from the client's connect to the backend's login OK, by protocol",
	.type = METRICS_HISTOGRAM, .labels = { "protocol" }, .bounds = metrics_bounds_latency,
};
struct metrics_family stats_backend_failures = {
	.name = "mtool_proxyd_backend_connect_failures",
	.help = "Backend connections that failed before the backend answered, by backend and reason",
	.type = METRICS_COUNTER, .labels = { "backend", "reason" },
};
struct metrics_family stats_relayed_bytes = {
	.name = "mtool_proxyd_relayed_bytes", .help = "Bytes relayed by protocol and direction",
	.type = METRICS_COUNTER, .labels = { "protocol", "direction" },
};
struct metrics_family stats_lmtp_rcpts = {
	.name = "mtool_proxyd_lmtp_recipients", .help = "LMTP RCPT TO answers by result",
	.type = METRICS_COUNTER, .labels = { "result" },
};
struct metrics_family stats_kicks = {
	.name = "mtool_proxyd_kicks", .help = "Proxied sessions kicked (doveadm proxy kick, director), by protocol",
	.type = METRICS_COUNTER, .labels = { "protocol" },
};
static struct metrics_family stats_sessions = {
	.name = "mtool_proxyd_sessions", .help = "Current sessions by protocol and state",
	.type = METRICS_GAUGE, .labels = { "protocol", "state" },
};
static struct metrics_family stats_backend_sessions = {
	.name = "mtool_proxyd_backend_sessions", .help = "Current proxied sessions per backend",
	.type = METRICS_GAUGE, .labels = { "backend" },
};

#define STATS_PROTOS_MAX	8	/* rows of settings.c's protocol list */

static unsigned int
stats_proto_index(const struct proxyd_proto *p)
{
	for (unsigned int i = 0; i < STATS_PROTOS_MAX && settings_protos(i); i++)
		if (settings_protos(i) == p)
			return i;
	return 0;
}

static void
collect_sessions(struct metrics_family *f, void *arg)
{
	struct proxyd *pd = arg;
	unsigned int pre[STATS_PROTOS_MAX] = { 0 }, relaying[STATS_PROTOS_MAX] = { 0 };
	const struct proxyd_proto *p;
	for (const struct client *c = pd->clients; c; c = c->next)
		pre[stats_proto_index(c->proto)]++;
	for (const struct relay *r = pd->relays; r; r = r->next)
		relaying[stats_proto_index(r->proto)]++;
	for (unsigned int i = 0; i < STATS_PROTOS_MAX && (p = settings_protos(i)) != NULL; i++) {
		if (p->login == NULL) {
			/* LMTP: no login dialogue; a session proxies from its first RCPT */
			metrics_set(f, pd->nlmtp, METRICS_VALUES(p->name, "proxying"));
			continue;
		}
		metrics_set(f, pre[i], METRICS_VALUES(p->name, "pre_login"));
		metrics_set(f, relaying[i], METRICS_VALUES(p->name, "proxying"));
	}
}

static void
backend_label(char *out, size_t len, const struct ip_addr *ip, unsigned int port)
{
	char ipbuf[IP_ADDR_STRLEN];
	ip_format(ip, ipbuf, sizeof(ipbuf));
	str_fmt(out, len, ip->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ipbuf, port);
}

static void
collect_backends(struct metrics_family *f, void *arg)
{
	struct proxyd *pd = arg;
	char name[IP_ADDR_STRLEN + 8];
	for (const struct backend_rec *b = pd->backends; b; b = b->next) {
		backend_label(name, sizeof(name), &b->ip, b->port);
		metrics_add(f, b->proxying, METRICS_VALUES(name));
	}
}

void
stats_init(struct proxyd *pd)
{
	static const char *const results[] = {
		"success", "auth_failed", "auth_tempfail", "auth_refused", "proxy_failed",
		"proxy_misconfigured", "backend_refused", "backend_tempfail", "aborted",
	};
	metrics_build_info("proxyd");
	metrics_register(&stats_logins);
	/* every login series from the start, so that rate() sees the first failure */
	const struct proxyd_proto *p;
	for (unsigned int i = 0; (p = settings_protos(i)) != NULL; i++)
		for (unsigned int j = 0; p->login && j < sizeof(results) / sizeof(results[0]); j++)
			metrics_add(&stats_logins, 0, METRICS_VALUES(p->name, results[j]));
	metrics_register(&stats_login_seconds);
	metrics_register(&passdb_lookup_seconds);
	metrics_register(&stats_backend_failures);
	metrics_register_collect(&stats_sessions, collect_sessions, pd);
	metrics_register_collect(&stats_backend_sessions, collect_backends, pd);
	metrics_register(&stats_relayed_bytes);
	metrics_register(&tls_handshakes);
	metrics_register(&stats_lmtp_rcpts);
	metrics_register(&stats_kicks);
}

const char *
stats_fail_result(enum client_fail why)
{
	switch (why) {
	case FAIL_AUTH: return "auth_failed";
	case FAIL_AUTH_TEMP: return "auth_tempfail";
	case FAIL_AUTH_REASON: return "auth_refused";
	case FAIL_PROXY_TEMP: return "proxy_failed";
	case FAIL_PROXY_CONFIG: return "proxy_misconfigured";
	case FAIL_BACKEND: return "backend_refused";
	case FAIL_BACKEND_TEMP: return "backend_tempfail";
	case FAIL_NONE: break;
	}
	return "other";
}

void
stats_backend_failure(struct client *c, const char *reason)
{
	char name[IP_ADDR_STRLEN + 8];
	backend_label(name, sizeof(name), &c->dest.ip, c->dest.port);
	METRICS_INC(stats_backend_failures, name, reason);
}

void
stats_relayed(const struct relay *r, const struct relay_dir *d, uint64_t n)
{
	METRICS_ADD(stats_relayed_bytes, n, r->proto->name,
	    d == &r->up ? "client_to_backend" : "backend_to_client");
}

void
stats_login_ok(struct client *c)
{
	METRICS_INC(stats_logins, c->proto->name, "success");
	metrics_observe(&stats_login_seconds, (loop_now(c->pd->loop) - c->created_ms) * 1000,
	    METRICS_VALUES(c->proto->name));
}
