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
#include "applets/proxyd/sessions.h"
#include "core/dline.h"
#include "core/log.h"
#include "core/str.h"

static const struct dline_set anvil_set = { "VERSION\tanvil-server\t2\t0", NULL, 0, 1024 };

struct anvil_dump_ctx {
	struct dline_conn *d;
	const char *const *keys;
	unsigned int nkeys;
};

static void
anvil_dump_row(const struct sessions_view *s, void *arg)
{
	struct anvil_dump_ctx *a = arg;
	char pid[16];
	const char *f[6 + 32];
	size_t n = 0;

	str_fmt(pid, sizeof(pid), "%d", (int)getpid());
	f[n++] = pid;
	f[n++] = s->user;
	f[n++] = s->proto;
	f[n++] = s->rip;
	f[n++] = s->conn_guid;
	f[n++] = s->dest_ip;
	for (unsigned int i = 0; i < a->nkeys && n < sizeof(f) / sizeof(f[0]); i++) {
		const char *v = sessions_alt(s, a->keys[i]);
		f[n++] = v ? v : "";
	}
	dline_send(a->d, f, n);
}

static void
anvil_dump(struct dline_conn *d, struct proxyd *pd)
{
	struct anvil_dump_ctx a = { d, NULL, 0 };
	a.keys = sessions_alt_keys(pd, &a.nkeys);
	dline_send(d, a.keys, a.nkeys);
	sessions_each(pd, anvil_dump_row, &a);
	dline_send_raw(d, "");
}

static void
anvil_command(struct admin_conn *ac, struct dline_conn *d, char **f, size_t n)
{
	struct sessions_match m = { SESSIONS_BY_USER, NULL, NULL, 1, NULL };
	char reply[16];

	if (n == 1 && f[0][0] == '\0')
		return;		/* the empty line of the handshake */
	if (strcmp(f[0], "CONNECT-DUMP") == 0) {
		anvil_dump(d, ac->pd);
		return;
	}
	if (strcmp(f[0], "KICK-USER") == 0 && (n == 2 || n == 3)) {
		m.values = (const char *const *)f + 1;
		m.guid = n == 3 && f[2][0] ? f[2] : NULL;
	} else if (strcmp(f[0], "KICK-ALT-USER") == 0 && n == 3) {
		m.by = SESSIONS_BY_ALT;
		m.field = f[1];
		m.values = (const char *const *)f + 2;
	} else {
		/* an admin's mistake: say so, keep the connection */
		log_set_prefix("proxyd");
		log_warnx("anvil: invalid command '%s' (%zu fields)", f[0], n);
		dline_send_raw(d, "-Invalid command");
		return;
	}
	unsigned int kicked = sessions_kick(ac->pd, &m, "Kicked by admin");
	log_set_prefix("proxyd");
	log_info("anvil: %s %s: %u connections kicked", f[0], m.values[0], kicked);
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
