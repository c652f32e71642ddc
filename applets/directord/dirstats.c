/* SPDX-License-Identifier: MIT */
/* applets/directord/dirstats.c: directord's metric families; the per-host gauges are read
 * from the host list at scrape time. */
#include "applets/directord/directord.h"
#include "applets/directord/dirstats.h"
#include "core/str.h"
#include "core/tls.h"

struct metrics_family dirstats_lookups = {
	.name = "mtool_director_lookups", .help = "User host lookups from proxies by result",
	.type = METRICS_COUNTER, .labels = { "result" },
};
struct metrics_family dirstats_moves = {
	.name = "mtool_director_moves", .help = "Users moved to another host, by reason",
	.type = METRICS_COUNTER, .labels = { "reason" },
};
struct metrics_family dirstats_kicks = {
	.name = "mtool_director_kicks", .help = "Kicks sent to proxies, by reason",
	.type = METRICS_COUNTER, .labels = { "reason" },
};
struct metrics_family dirstats_health = {
	.name = "mtool_director_health_checks", .help = "Health check probes by host, port and result",
	.type = METRICS_COUNTER, .labels = { "host", "port", "result" },
};
static struct metrics_family host_up = {
	.name = "mtool_director_host_up", .help = "1 if the mail host is up, 0 if it is down",
	.type = METRICS_GAUGE, .labels = { "host", "tag" },
};
static struct metrics_family host_vhosts = {
	.name = "mtool_director_host_vhosts", .help = "The mail host's vhost count",
	.type = METRICS_GAUGE, .labels = { "host", "tag" },
};
static struct metrics_family host_users = {
	.name = "mtool_director_host_users", .help = "Users assigned to the mail host",
	.type = METRICS_GAUGE, .labels = { "host", "tag" },
};

static void
collect_hosts(struct metrics_family *f, void *arg)
{
	struct directord *dd = arg;
	for (size_t i = 0; i < dd->hosts.n; i++) {
		const struct dir_host *h = dd->hosts.hosts[i];
		int64_t v = f == &host_up ? !h->down : f == &host_vhosts ? h->vhost_count : h->user_count;
		metrics_set(f, v, METRICS_VALUES(h->ip_str, h->tag ? h->tag->name : ""));
	}
}

void
dirstats_init(struct directord *dd)
{
	metrics_build_info("directord");
	metrics_register_collect(&host_up, collect_hosts, dd);
	metrics_register_collect(&host_vhosts, collect_hosts, dd);
	metrics_register_collect(&host_users, collect_hosts, dd);
	metrics_register(&dirstats_lookups);
	metrics_register(&dirstats_moves);
	metrics_register(&dirstats_kicks);
	metrics_register(&dirstats_health);
	metrics_register(&tls_handshakes);
}

void
dirstats_health_probe(const char *host, const char *port_name, unsigned int port, const char *result)
{
	char name[32];
	str_fmt(name, sizeof(name), "%s:%u", port_name, port);
	METRICS_INC(dirstats_health, host, name, result);
}
