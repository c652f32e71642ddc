/* SPDX-License-Identifier: MIT */
/* applets/directord/health.c: built-in backend health checks (the job poolmon does for
 * Dovecot directors). Every director_health_check_interval each host's ports are probed
 * one after the other: connect, read the greeting (IMAP "* OK", POP3 "+OK", LMTP/SMTP
 * "220", ManageSieve "OK" after its capability lines), LMTP also LHLO; with a test user,
 * an IMAP LOGIN and an LMTP MAIL FROM:<> + RCPT TO:<user>. A port may be implicit TLS
 * (imaps, pop3s, submissions) or take STARTTLS first ("imap:143/starttls"): the TLS is
 * core/tls.c run by core/conn.c, the backend's chain verified against
 * director_health_check_ssl_ca_file, and the test login goes over it.
 * director_health_check_fails failed rounds in a row take the host down and
 * (director_health_check_flush) move its users away at most
 * director_health_check_flush_max_parallel at a time; director_health_check_rises good
 * rounds in a row bring it back up. Only a host the checks took down is brought up by
 * them: an operator's "director down" stays. In a ring every director probes, but only
 * the ring's lowest director (ring_health_originator) changes hosts; the others count
 * their rounds all the same, so that one of them takes over at once when it goes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "applets/directord/directord.h"
#include "applets/directord/dirstats.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/str.h"
#include "core/tls.h"

#define HC_PORTS_MAX	8
#define HC_LINE_MAX	4096

enum hc_proto { HC_TCP, HC_IMAP, HC_POP3, HC_SMTP, HC_LMTP, HC_SIEVE };

struct hc_port {
	enum hc_proto proto;
	unsigned int port;
	int tls, starttls;		/* implicit TLS; STARTTLS after the greeting */
	char name[16];
};

struct health_ctx {
	struct hc_port ports[HC_PORTS_MAX];
	unsigned int nports;
	struct tls_client *tls;		/* when a port uses TLS */
	int originator;			/* last ring_health_originator(), for the log */
};

struct health {
	struct directord *dd;
	struct dir_host *host;
	struct loop_timer timer;	/* next round, or the probe's deadline */
	struct conn *conn;
	unsigned int port_idx;
	int step;			/* 0 greeting, then per protocol (probe_line) */
	int tls_on;
	unsigned int fails, oks;
	int took_down;			/* down by the checks' verdict: theirs to bring up */
	int was_down;			/* the host's state at the end of the last round */
	char last_error[160];
};

static void health_round(struct loop_timer *, void *);
static void probe_next(struct health *);

static const struct {
	const char *name;
	enum hc_proto proto;
	int tls;
} proto_names[] = {
	{ "tcp", HC_TCP, 0 }, { "imap", HC_IMAP, 0 }, { "pop3", HC_POP3, 0 }, { "smtp", HC_SMTP, 0 },
	{ "submission", HC_SMTP, 0 }, { "lmtp", HC_LMTP, 0 }, { "sieve", HC_SIEVE, 0 },
	{ "managesieve", HC_SIEVE, 0 }, { "imaps", HC_IMAP, 1 }, { "pop3s", HC_POP3, 1 },
	{ "submissions", HC_SMTP, 1 }, { "smtps", HC_SMTP, 1 },
};

int
health_init(struct directord *dd, FILE *errf)
{
	if (dd->set.hc_ports == NULL)
		return 0;
	struct health_ctx *hc = calloc(1, sizeof(*hc));
	if (hc == NULL)
		return -1;
	const char *s = dd->set.hc_ports;
	while (*s) {
		s += strspn(s, " ,");
		size_t n = strcspn(s, " ,");
		if (n == 0)
			break;
		char item[64], *colon, *slash;
		str_fmt(item, sizeof(item), "%.*s", (int)n, s);
		s += n;
		if (hc->nports == HC_PORTS_MAX) {
			fprintf(errf, "director_health_check_ports: at most %d ports\n", HC_PORTS_MAX);
			goto fail;
		}
		struct hc_port *p = &hc->ports[hc->nports];
		const char *num = item;
		if ((slash = strchr(item, '/')) != NULL) {
			*slash++ = '\0';
			p->starttls = 1;
		}
		p->proto = HC_TCP;
		str_copy(p->name, "tcp", sizeof(p->name));
		if ((colon = strchr(item, ':')) != NULL) {
			*colon = '\0';
			num = colon + 1;
			size_t i;
			for (i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
				if (strcmp(proto_names[i].name, item) == 0)
					break;
			if (i == sizeof(proto_names) / sizeof(proto_names[0])) {
				fprintf(errf, "director_health_check_ports: unknown protocol '%s' (imap, pop3, lmtp, submission, smtp, sieve, tcp; imaps, pop3s, submissions, smtps)\n", item);
				goto fail;
			}
			p->proto = proto_names[i].proto;
			p->tls = proto_names[i].tls;
			str_copy(p->name, item, sizeof(p->name));
		}
		long long v;
		const char *err;
		if (str_to_num(num, 1, 65535, &v, &err) < 0) {
			fprintf(errf, "director_health_check_ports: bad port '%s'\n", num);
			goto fail;
		}
		p->port = (unsigned int)v;
		if (p->starttls && (strcmp(slash, "starttls") != 0 || p->tls || p->proto == HC_TCP)) {
			fprintf(errf, "director_health_check_ports: '%s:%u/%s': only /starttls, and only after imap, pop3, lmtp, submission, smtp or sieve\n",
			    p->name, p->port, slash);
			goto fail;
		}
		hc->nports++;
		if ((p->tls || p->starttls) && hc->tls == NULL) {
			char terr[256];
			struct tls_params params;
			tls_params_default(&params);
			hc->tls = tls_client_new(dd->set.hc_ssl_ca, NULL, NULL, NULL, &params, terr, sizeof(terr));
			if (hc->tls == NULL) {
				fprintf(errf, "director_health_check_ssl_ca_file (TLS client): %s\n", terr);
				goto fail;
			}
			/* with no anchor every verification would fail: say so now */
			if (tls_client_anchors(hc->tls) == 0 && !dd->set.hc_ssl_any_cert) {
				fprintf(errf, "director_health_check_ssl_ca_file: no CA certificate found (a '<file' of PEM certificates)\n");
				goto fail;
			}
		}
	}
	if (hc->nports == 0) {
		fprintf(errf, "director_health_check_ports: no ports\n");
		goto fail;
	}
	hc->originator = -1;
	dd->health = hc;
	size_t n;
	struct dir_host **hosts = hosts_sorted(&dd->hosts, &n);
	for (size_t i = 0; i < n; i++)
		health_host_added(dd, hosts[i]);
	return 0;
fail:
	tls_client_free(hc->tls);
	free(hc);
	return -1;
}

void
health_host_added(struct directord *dd, struct dir_host *h)
{
	if (dd->health == NULL || h->health != NULL)
		return;
	struct health *he = calloc(1, sizeof(*he));
	if (he == NULL)
		return;
	he->dd = dd;
	he->host = h;
	h->health = he;
	/* spread the first round a little so that a big fleet is not probed at once */
	loop_timer_set(dd->loop, &he->timer, 100 + (dd->nhealth++ % 50) * 20, health_round, he);
}

void
health_host_removed(struct directord *dd, struct dir_host *h)
{
	struct health *he = h->health;
	if (he == NULL)
		return;
	loop_timer_cancel(dd->loop, &he->timer);
	if (he->conn)
		conn_free(he->conn);
	free(he);
	h->health = NULL;
}

void
health_free(struct directord *dd)
{
	size_t n;
	struct dir_host **hosts = hosts_sorted(&dd->hosts, &n);
	for (size_t i = 0; i < n; i++)
		health_host_removed(dd, hosts[i]);
	if (dd->health)
		tls_client_free(dd->health->tls);
	free(dd->health);
	dd->health = NULL;
}

static void
round_done(struct health *he, int ok)
{
	struct directord *dd = he->dd;
	struct dir_host *h = he->host;
	if (he->conn) {
		conn_free(he->conn);
		he->conn = NULL;
	}
	if (!ring_synced(dd) || ring_cut_off(dd)) {
		/* a ring: a director that is not in step with it changes no host (the others
		 * would not agree); the round is counted again when the ring is back */
		log_warnx("health check: host %s %s; not acted on while the director ring is not synced",
		    h->ip_str, ok ? "answers" : "failed");
		loop_timer_set(dd->loop, &he->timer, dd->set.hc_interval_ms, health_round, he);
		return;
	}
	int acts = ring_health_originator(dd);
	if (acts != dd->health->originator && dd->ring != NULL)
		log_info(acts ? "health check: this director now originates the ring's host up/down changes" :
		    "health check: another director of the ring originates host up/down changes; probing for metrics");
	dd->health->originator = acts;
	/* a host seen going down while this director's checks fail it (this round, or the
	 * last one before the change arrived: the backend may be back by now) went down by
	 * their verdict (here or on the ring's originator): the checks bring it back up,
	 * whoever originates then. One that went down while it answered is an operator's. */
	if (!h->down)
		he->took_down = 0;
	else if (!he->was_down && (!ok || he->fails > 0))
		he->took_down = 1;
	if (ok) {
		he->fails = 0;
		he->oks++;
		if (acts && he->took_down && h->down && he->oks >= dd->set.hc_rises) {
			log_info("health check: host %s answers again (%u good rounds in a row)", h->ip_str, he->oks);
			he->took_down = 0;
			directord_host_set_down(dd, h, 0, "health check: ");
		}
	} else {
		he->oks = 0;
		he->fails++;
		log_warnx("health check: host %s failed (%u/%u): %s", h->ip_str, he->fails,
		    dd->set.hc_fails, he->last_error);
		if (acts && !h->down && he->fails >= dd->set.hc_fails) {
			he->took_down = 1;
			directord_host_set_down(dd, h, 1, "health check: ");
			if (dd->set.hc_flush && h->user_count > 0) {
				log_info("health check: moving the %u users of %s away, at most %u at a time",
				    h->user_count, h->ip_str, dd->set.hc_flush_parallel);
				moves_reset_start(dd, h, dd->set.hc_flush_parallel, NULL, NULL);
			}
		}
	}
	he->was_down = h->down;
	loop_timer_set(dd->loop, &he->timer, dd->set.hc_interval_ms, health_round, he);
}

static void
probe_fail(struct health *he, const char *fmt, const char *arg)
{
	const struct hc_port *p = &he->dd->health->ports[he->port_idx];
	char msg[128];
	str_fmt(msg, sizeof(msg), fmt, arg);
	str_fmt(he->last_error, sizeof(he->last_error), "%s port %u: %s", p->name, p->port, msg);
	dirstats_health_probe(he->host->ip_str, p->name, p->port, "failed");
	loop_timer_cancel(he->dd->loop, &he->timer);
	round_done(he, 0);
}

static void
probe_ok(struct health *he)
{
	const struct hc_port *p = &he->dd->health->ports[he->port_idx];
	dirstats_health_probe(he->host->ip_str, p->name, p->port, "ok");
	loop_timer_cancel(he->dd->loop, &he->timer);
	conn_free(he->conn);
	he->conn = NULL;
	he->port_idx++;
	probe_next(he);
}

static void
probe_timeout(struct loop_timer *t, void *arg)
{
	(void)t;
	probe_fail(arg, "%s", "timed out");
}

/* TLS from here on: the chain is verified against director_health_check_ssl_ca_file
 * (or the system store), not a name (a host is known by its address only). Output
 * queued now goes out after the handshake. */
static int
probe_tls(struct health *he)
{
	struct tls *t = tls_new_client(he->dd->health->tls, NULL, !he->dd->set.hc_ssl_any_cert);
	if (t == NULL || conn_start_tls(he->conn, t) < 0)
		return -1;
	he->tls_on = 1;
	return 0;
}

/* 1 done (ok), 0 more lines wanted, -1 failed, -2 TLS could not start. Steps: IMAP 0
 * greeting, 1 LOGIN/NOOP sent, 2 STARTTLS sent; POP3 0 greeting, 1 STLS sent, 2 QUIT
 * sent over TLS; LMTP/SMTP 0 greeting, 1 LHLO/EHLO sent, 2 MAIL, 3 RCPT, 4 STARTTLS;
 * ManageSieve 0 capabilities, 1 STARTTLS sent, 2 capabilities over TLS. */
static int
probe_line(struct health *he, const struct hc_port *p, const char *line)
{
	const struct dir_settings *s = &he->dd->set;
	int want_tls = p->starttls && !he->tls_on;
	switch (p->proto) {
	case HC_TCP:
		return 1;
	case HC_IMAP:
		if (he->step == 0) {
			if (strncmp(line, "* OK", 4) != 0)
				return -1;
			if (want_tls) {
				conn_puts(he->conn, "h STARTTLS\r\n");
				he->step = 2;
				return 0;
			}
			if (*s->hc_user == '\0') {
				conn_puts(he->conn, "h LOGOUT\r\n");
				return 1;
			}
		} else if (line[0] == '*') {
			return 0;
		} else if (strncmp(line, "h OK", 4) != 0) {
			return -1;
		} else if (he->step == 1) {
			conn_puts(he->conn, "h LOGOUT\r\n");
			return 1;
		} else if (probe_tls(he) < 0) {
			return -2;
		}
		/* after STARTTLS a NOOP without a test user: its answer proves the handshake */
		if (*s->hc_user == '\0')
			conn_puts(he->conn, "h NOOP\r\n");
		else
			conn_printf(he->conn, "h LOGIN \"%s\" \"%s\"\r\n", s->hc_user, s->hc_password);
		he->step = 1;
		return 0;
	case HC_POP3:
		if (strncmp(line, "+OK", 3) != 0)
			return -1;
		if (he->step == 0 && want_tls) {
			conn_puts(he->conn, "STLS\r\n");
			he->step = 1;
			return 0;
		}
		if (he->step == 1) {
			if (probe_tls(he) < 0)
				return -2;
			conn_puts(he->conn, "QUIT\r\n");
			he->step = 2;
			return 0;
		}
		if (he->step == 0)
			conn_puts(he->conn, "QUIT\r\n");
		return 1;
	case HC_SMTP:
	case HC_LMTP:
		if (strncmp(line, he->step == 0 || he->step == 4 ? "220" : "250", 3) != 0)
			return -1;
		if (line[3] == '-')
			return 0;
		if (he->step == 4 && probe_tls(he) < 0)
			return -2;
		if (he->step == 4 || (he->step == 0 && (p->proto == HC_LMTP || want_tls))) {
			conn_printf(he->conn, "%s mtool-health-check\r\n", p->proto == HC_LMTP ? "LHLO" : "EHLO");
			he->step = 1;
			return 0;
		}
		/* after LHLO: STARTTLS, then with a test user MAIL FROM:<> and RCPT TO:<user> */
		if (he->step == 1 && want_tls) {
			conn_puts(he->conn, "STARTTLS\r\n");
			he->step = 4;
			return 0;
		}
		if (p->proto == HC_LMTP && he->step == 1 && *s->hc_user != '\0') {
			conn_puts(he->conn, "MAIL FROM:<>\r\n");
			he->step = 2;
			return 0;
		}
		if (he->step == 2) {
			conn_printf(he->conn, "RCPT TO:<%s>\r\n", s->hc_user);
			he->step = 3;
			return 0;
		}
		conn_puts(he->conn, "QUIT\r\n");
		return 1;
	case HC_SIEVE:
		if (line[0] == '"')
			return 0;
		if (strncmp(line, "OK", 2) != 0)
			return -1;
		if (he->step == 1) {
			/* the capabilities come again over TLS */
			if (probe_tls(he) < 0)
				return -2;
			he->step = 2;
			return 0;
		}
		if (he->step == 0 && want_tls) {
			conn_puts(he->conn, "STARTTLS\r\n");
			he->step = 1;
			return 0;
		}
		return 1;
	}
	return -1;
}

static void
probe_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct health *he = arg;
	const struct hc_port *p = &he->dd->health->ports[he->port_idx];
	char *line;
	size_t len;
	switch (ev) {
	case CONN_EV_CONNECTED:
		if (p->proto == HC_TCP)
			probe_ok(he);
		else if (p->tls && probe_tls(he) < 0)	/* the greeting comes over TLS */
			probe_fail(he, "%s", "TLS: out of memory");
		return;
	case CONN_EV_DATA:
		for (;;) {
			int r = conn_getline(c, &line, &len);
			if (r == 0)
				return;
			if (r < 0) {
				probe_fail(he, "%s", "reply line too long");
				return;
			}
			r = probe_line(he, p, line);
			if (r > 0) {
				probe_ok(he);
				return;
			}
			if (r == -2) {
				probe_fail(he, "%s", "TLS: out of memory");
				return;
			}
			if (r < 0) {
				char copy[80];
				str_copy(copy, line, sizeof(copy));
				probe_fail(he, "unexpected reply: %s", copy);
				return;
			}
		}
	case CONN_EV_EOF:
		probe_fail(he, "%s", he->tls_on && !conn_tls_ready(c) ?
		    "connection closed during the TLS handshake" : "connection closed");
		return;
	case CONN_EV_ERROR:
		if (he->tls_on && !conn_tls_ready(c))
			probe_fail(he, p->starttls ? "STARTTLS handshake failed: %s" :
			    "TLS handshake failed: %s", conn_error_str(c));
		else
			probe_fail(he, "%s", conn_error_str(c));
		return;
	case CONN_EV_TIMEOUT:
		probe_fail(he, "%s", "timed out");
		return;
	case CONN_EV_DRAINED:
		return;
	}
}

static void
probe_next(struct health *he)
{
	struct directord *dd = he->dd;
	if (he->port_idx >= dd->health->nports) {
		round_done(he, 1);
		return;
	}
	const struct hc_port *p = &dd->health->ports[he->port_idx];
	struct sockaddr_storage ss;
	socklen_t len;
	he->step = 0;
	he->tls_on = 0;
	ip_to_sockaddr(&he->host->ip, p->port, &ss, &len);
	he->conn = conn_connect(dd->loop, (struct sockaddr *)&ss, len, NULL, 0, HC_LINE_MAX, probe_cb, he);
	if (he->conn == NULL) {
		probe_fail(he, "%s", strerror(errno));
		return;
	}
	loop_timer_set(dd->loop, &he->timer, dd->set.hc_timeout_ms, probe_timeout, he);
}

static void
health_round(struct loop_timer *t, void *arg)
{
	struct health *he = arg;
	(void)t;
	he->port_idx = 0;
	probe_next(he);
}

void
health_check_now(struct directord *dd, struct dir_host *h)
{
	struct health *he = h->health;
	if (he == NULL || he->conn != NULL)
		return;
	loop_timer_cancel(dd->loop, &he->timer);
	health_round(&he->timer, he);
}
