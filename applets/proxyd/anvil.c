/* SPDX-License-Identifier: MIT */
/* applets/proxyd/anvil.c: the anvil socket, so that `doveadm who` and `doveadm kick`
 * see proxied sessions (Dovecot 2.4's model, protocol version 2; docs/anvil-protocol.md).
 * Version 1 (Dovecot 2.3's doveadm) is refused on purpose: 2.3's kick sends SIGTERM to
 * every pid anvil lists, and the only pid here is the proxy serving everybody. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/proxyd/admin_int.h"
#include "applets/proxyd/proxyd.h"
#include "core/dline.h"
#include "core/log.h"

static const struct dline_set anvil_set = { NULL, NULL, 0, 1024 };

static void
anvil_command(struct admin_conn *ac, struct dline_conn *d, char **f, size_t n)
{
	(void)ac;
	(void)f;
	(void)n;
	dline_send_raw(d, "-Unknown command");
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
			dline_send_raw(d, "VERSION\tanvil-server\t2\t0");
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
