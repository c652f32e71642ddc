/* SPDX-License-Identifier: MIT */
/* applets/proxyd/stats.c: proxyd's metric families and the gauges read from the session
 * lists at scrape time (walking them costs a scrape, never a login). */
#include <string.h>

#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/relay.h"
#include "applets/proxyd/stats.h"
#include "core/feature.h"
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

/* the protocols of this build (mk/features.mk); LMTP, when in, is last */
static const struct proxyd_proto *const protos[] = {
	&imap_proto,
	FEATURE_IF(MTOOL_WITH_POP3, &pop3_proto,)
	FEATURE_IF(MTOOL_WITH_SUBMISSION, &submission_proto,)
	FEATURE_IF(MTOOL_WITH_MANAGESIEVE, &managesieve_proto,)
	FEATURE_IF(MTOOL_WITH_LMTP, &lmtp_proto,)
};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))
#define HAS_LMTP FEATURE_ON(MTOOL_WITH_LMTP)

static unsigned int
proto_index(const struct proxyd_proto *p)
{
	for (unsigned int i = 0; i < NPROTOS; i++)
		if (protos[i] == p)
			return i;
	return 0;
}

static void
collect_sessions(struct metrics_family *f, void *arg)
{
	struct proxyd *pd = arg;
	unsigned int pre[NPROTOS] = { 0 }, relaying[NPROTOS] = { 0 };
	for (const struct client *c = pd->clients; c; c = c->next)
		pre[proto_index(c->proto)]++;
	for (const struct relay *r = pd->relays; r; r = r->next)
		relaying[proto_index(r->proto)]++;
	if (HAS_LMTP)
		relaying[NPROTOS - 1] = pd->nlmtp;	/* an LMTP session proxies from its first RCPT */
	for (unsigned int i = 0; i < NPROTOS; i++) {
		if (!HAS_LMTP || i != NPROTOS - 1)
			metrics_set(f, pre[i], METRICS_VALUES(protos[i]->name, "pre_login"));
		metrics_set(f, relaying[i], METRICS_VALUES(protos[i]->name, "proxying"));
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
	for (unsigned int i = 0; i < NPROTOS - HAS_LMTP; i++)
		for (unsigned int j = 0; j < sizeof(results) / sizeof(results[0]); j++)
			metrics_add(&stats_logins, 0, METRICS_VALUES(protos[i]->name, results[j]));
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
