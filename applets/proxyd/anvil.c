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

struct anvil_client {
	struct proxyd *pd;
	int version;	/* 0 until the VERSION line */
};

static void
anvil_command(struct anvil_client *ac, struct dline_conn *d, char **f, size_t n)
{
	(void)ac;
	(void)f;
	(void)n;
	dline_send_raw(d, "-Unknown command");
}

static void
anvil_closed(struct dline_conn *d, const char *reason, void *arg)
{
	(void)d;
	(void)reason;
	free(arg);
}

static void
anvil_line(struct dline_conn *d, char **f, size_t n, void *arg)
{
	struct anvil_client *ac = arg;

	if (ac->version == 0) {
		if (n >= 3 && strcmp(f[0], "VERSION") == 0 && strcmp(f[1], "anvil") == 0 && strcmp(f[2], "1") == 0) {
			log_set_prefix("proxyd");
			log_warnx("anvil: refusing a version 1 client (Dovecot 2.3 doveadm who/kick): its kick would "
			    "signal the proxy's own pid; use 'doveadm proxy list/kick' or 'mtool doveadm who/kick'");
			dline_conn_free(d);
			free(ac);
			return;
		}
		if (n >= 3 && strcmp(f[0], "VERSION") == 0 && strcmp(f[1], "anvil-client") == 0 && strcmp(f[2], "2") == 0) {
			ac->version = 2;
			dline_send_raw(d, "VERSION\tanvil-server\t2\t0");
			return;
		}
		log_set_prefix("proxyd");
		log_warnx("anvil: client sent no valid VERSION line; disconnecting");
		dline_conn_free(d);
		free(ac);
		return;
	}
	anvil_command(ac, d, f, n);
}

void
anvil_accept(struct proxyd *pd, int fd)
{
	struct anvil_client *ac = calloc(1, sizeof(*ac));
	if (ac == NULL) {
		close(fd);
		return;
	}
	ac->pd = pd;
	dline_conn_new(pd->loop, fd, &anvil_set, anvil_line, anvil_closed, ac);
}
