/* SPDX-License-Identifier: MIT */
/* applets/proxyd/anvil.c: the anvil socket, so that `doveadm who` and `doveadm kick`
 * see proxied sessions (Dovecot 2.4's model, protocol version 2; docs/anvil-protocol.md):
 *   S: VERSION anvil-server 2 0            (on accept)
 *   C: VERSION anvil-client 2 0            (then empty lines are ignored)
 *   C: CONNECT-DUMP  S: header (the user_* field names), one line per session
 *                       "pid user service ip conn-guid dest-ip alt...", an empty line
 *   C: KICK-USER user [conn-guid]          S: the number of sessions kicked
 *   C: KICK-ALT-USER field value           S: the number of sessions kicked
 * (fields TAB-separated and escaped). Version 1 (Dovecot 2.3's doveadm) is refused on
 * purpose: 2.3's kick sends SIGTERM to every pid anvil lists, and the only pid here is
 * the proxy serving everybody. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/proxyd/admin_int.h"
#include "applets/proxyd/proxyd.h"
#include "core/dline.h"
#include "core/log.h"
#include "core/str.h"
#include "applets/proxyd/relay.h"

static const struct dline_set anvil_set = { "VERSION\tanvil-server\t2\t0", NULL, 0, 1024 };

static void
dump_row(struct dline_conn *d, struct admin *a, const struct admin_session *s)
{
	char pid[16], port[8];
	const char *f[6 + 32];
	size_t n = 0;

	str_fmt(pid, sizeof(pid), "%d", (int)getpid());
	(void)port;
	f[n++] = pid;
	f[n++] = s->user;
	f[n++] = s->proto;
	f[n++] = s->rip;
	f[n++] = s->conn_guid;
	f[n++] = s->dest_ip;
	for (unsigned int i = 0; i < a->nalt_keys && n < sizeof(f) / sizeof(f[0]); i++) {
		const char *v = admin_session_alt(s, a->alt_keys[i]);
		f[n++] = v ? v : "";
	}
	dline_send(d, f, n);
}

static void
anvil_dump(struct dline_conn *d, struct proxyd *pd)
{
	struct admin *a = pd->admin;
	struct admin_session s;
	char rip[IP_ADDR_STRLEN], dip[IP_ADDR_STRLEN];

	dline_send(d, (const char *const *)a->alt_keys, a->nalt_keys);
	for (const struct relay *r = pd->relays; r; r = r->next) {
		if (r->closed)
			continue;
		admin_session_of_relay(r, &s);
		dump_row(d, a, &s);
	}
	for (const struct client *c = pd->clients; c; c = c->next) {
		if (!admin_client_pending(c))
			continue;
		admin_session_of_client(c, &s, rip, dip);
		dump_row(d, a, &s);
	}
	dline_send_raw(d, "");
}

struct kick_match {
	const char *field;	/* NULL: the user name */
	const char *value;
	const char *guid;	/* NULL: any */
};

static int
kick_match(const struct admin_session *s, void *ctx)
{
	const struct kick_match *k = ctx;
	const char *v = k->field ? admin_session_alt(s, k->field) : s->user;
	return v != NULL && strcmp(v, k->value) == 0 &&
	    (k->guid == NULL || strcmp(k->guid, s->conn_guid) == 0);
}

static void
anvil_command(struct admin_conn *ac, struct dline_conn *d, char **f, size_t n)
{
	struct kick_match k = { NULL, NULL, NULL };
	char reply[16];

	if (n == 1 && f[0][0] == '\0')
		return;		/* the empty line of the handshake */
	if (strcmp(f[0], "CONNECT-DUMP") == 0) {
		anvil_dump(d, ac->pd);
		return;
	}
	if (strcmp(f[0], "KICK-USER") == 0 && (n == 2 || n == 3)) {
		k.value = f[1];
		k.guid = n == 3 && f[2][0] ? f[2] : NULL;
	} else if (strcmp(f[0], "KICK-ALT-USER") == 0 && n == 3) {
		k.field = f[1];
		k.value = f[2];
	} else {
		/* an admin's mistake: say so, keep the connection */
		log_set_prefix("proxyd");
		log_warnx("anvil: invalid command '%s' (%zu fields)", f[0], n);
		dline_send_raw(d, "-Invalid command");
		return;
	}
	unsigned int kicked = admin_kick(ac->pd, kick_match, &k, "Kicked by admin");
	log_set_prefix("proxyd");
	log_info("anvil: %s %s: %u connections kicked", f[0], k.value, kicked);
	str_fmt(reply, sizeof(reply), "%u", kicked);
	dline_send_raw(d, reply);
}

static void
anvil_line(struct dline_conn *d, char **f, size_t n, void *arg)
{
	struct admin_conn *ac = arg;

	if (ac->anvil_version == 0) {
		if (n >= 3 && strcmp(f[0], "VERSION") == 0 && strcmp(f[1], "anvil") == 0 && strcmp(f[2], "1") == 0) {
			log_set_prefix("proxyd");
			log_warnx("anvil: refusing a version 1 client (Dovecot 2.3 doveadm who/kick): its kick would "
			    "signal the proxy's own pid; use 'doveadm proxy list/kick' or 'mtool doveadm who/kick'");
			admin_conn_close(ac);
			return;
		}
		if (n >= 3 && strcmp(f[0], "VERSION") == 0 && strcmp(f[1], "anvil-client") == 0 && strcmp(f[2], "2") == 0) {
			ac->anvil_version = 2;
			return;
		}
		log_set_prefix("proxyd");
		log_warnx("anvil: client sent no valid VERSION line; disconnecting");
		admin_conn_close(ac);
		return;
	}
	anvil_command(ac, d, f, n);
}

void
anvil_accept(struct proxyd *pd, int fd)
{
	admin_conn_new(pd, fd, &anvil_set, anvil_line);
}
