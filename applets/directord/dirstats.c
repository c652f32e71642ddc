/* SPDX-License-Identifier: MIT */
/* applets/directord/dirstats.c: directord's metric families; the per-host gauges are read
 * from the host list, the ring's from its directors and links, at scrape time. */
#include <string.h>

#include "applets/directord/directord.h"
#include "applets/directord/dirstats.h"
#include "applets/directord/ring.h"
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

static struct metrics_family ring_sync_state = {
	.name = "mtool_director_ring_synced", .help = "1 if the director ring is synced, else 0",
	.type = METRICS_GAUGE,
};
static struct metrics_family ring_peer_connected = {
	.name = "mtool_director_ring_peer_connected",
	.help = "1 if a link to the director finished its handshake, else 0",
	.type = METRICS_GAUGE, .labels = { "peer" },
};
static struct metrics_family ring_links = {
	.name = "mtool_director_ring_links", .help = "Ring links by peer director, side and state",
	.type = METRICS_GAUGE, .labels = { "peer", "side", "state" },
};
static struct metrics_family ring_messages = {
	.name = "mtool_director_ring_messages",
	.help = "Ring commands received and sent, by direction and command",
	.type = METRICS_COUNTER, .labels = { "direction", "command" },
};

/* Dovecot 2.3's director-to-director commands; anything else counts as "other", so a
 * peer cannot make up label values */
static const char *const ring_commands[] = {
	"VERSION", "ME", "OPTIONS", "DONE", "HOST-HAND-START", "HOST-HAND-END", "HOST",
	"HOST-REMOVE", "HOST-FLUSH", "HOST-RESET-USERS", "U", "USER", "USER-WEAK", "USER-MOVE",
	"USER-KILLED", "USER-KILLED-EVERYWHERE", "USER-KICK", "USER-KICK-ALT", "USER-KICK-HASH",
	"DIRECTOR", "DIRECTOR-REMOVE", "SYNC", "CONNECT", "PING", "PONG", "QUIT",
};

static void
collect_ring(struct metrics_family *f, void *arg)
{
	const struct ring *r = arg;
	char peer[IP_ADDR_STRLEN + 16];
	if (f == &ring_sync_state) {
		metrics_set(f, r->handshaked && r->synced, NULL);
		return;
	}
	for (size_t i = 0; i < r->ndirs; i++) {
		const struct ring_dir *d = r->dirs[i];
		if (d->self || d->removed)
			continue;
		str_fmt(peer, sizeof(peer), d->ip.family == AF_INET6 ? "[%s]:%u" : "%s:%u", d->ip_str,
		    d->port);
		int up = 0;
		for (const struct ring_link *l = r->links; l; l = l->next) {
			if (l->dir != d)
				continue;
			up |= l->done;
			if (f == &ring_links)
				metrics_add(f, 1, METRICS_VALUES(peer,
				    l == r->left ? "left" : l == r->right ? "right" : l->in ? "in" : "out",
				    !l->done ? "handshaking" : l->synced ? "synced" : "syncing"));
		}
		if (f == &ring_peer_connected)
			metrics_set(f, up, METRICS_VALUES(peer));
	}
}

void
dirstats_ring_msgs(int sent, const char *data, size_t len)
{
	while (len > 0) {
		size_t n = 0;
		while (n < len && data[n] != '\t' && data[n] != '\n')
			n++;
		const char *cmd = "other";
		for (size_t i = 0; i < sizeof(ring_commands) / sizeof(ring_commands[0]); i++)
			if (strlen(ring_commands[i]) == n && memcmp(ring_commands[i], data, n) == 0)
				cmd = ring_commands[i];
		METRICS_INC(ring_messages, sent ? "sent" : "received", cmd);
		const char *nl = memchr(data, '\n', len);
		if (nl == NULL)
			break;
		len -= (size_t)(nl + 1 - data);
		data = nl + 1;
	}
}

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
	if (dd->ring != NULL) {
		metrics_register_collect(&ring_sync_state, collect_ring, dd->ring);
		metrics_register_collect(&ring_peer_connected, collect_ring, dd->ring);
		metrics_register_collect(&ring_links, collect_ring, dd->ring);
		metrics_register(&ring_messages);
	}
}

void
dirstats_health_probe(const char *host, const char *port_name, unsigned int port, const char *result)
{
	char name[32];
	str_fmt(name, sizeof(name), "%s:%u", port_name, port);
	METRICS_INC(dirstats_health, host, name, result);
}
