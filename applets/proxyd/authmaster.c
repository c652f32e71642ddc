/* SPDX-License-Identifier: MIT */
/* applets/proxyd/authmaster.c: the auth-master socket (base_dir/auth-master), for the one
 * command of Dovecot's auth-master protocol a proxy's auth cache needs:
 *   S: VERSION 1 1, SPID <pid>              (on accept)
 *   C: VERSION 1 0
 *   C: CACHE-FLUSH <id> [<user> ...]        S: OK <id> <entries flushed>
 * so that the real `doveadm auth cache flush` and `mtool doveadm auth cache flush` work
 * here. USER, PASS and LIST (userdb lookups) are answered FAIL: proxyd has no userdb.
 * Only root and the socket's owner may connect (mode 0600 says so; the peer's
 * credentials are checked again). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "applets/proxyd/admin_int.h"
#include "applets/proxyd/proxyd.h"
#include "config.h"
#include "core/dline.h"
#include "core/log.h"
#include "core/passdb.h"
#include "core/str.h"

static const struct dline_set authm_set = { "VERSION\t1\t1", NULL, 0, DLINE_MAX };

static void
authm_line(struct dline_conn *d, char **f, size_t n, void *arg)
{
	struct admin_conn *ac = arg;
	char reply[64];

	log_set_prefix("proxyd");
	if (ac->anvil_version == 0) {
		if (n >= 2 && strcmp(f[0], "VERSION") == 0 && strcmp(f[1], "1") == 0) {
			ac->anvil_version = 1;
			return;
		}
		log_warnx("auth-master: Master not compatible with this server (mixed old and new binaries?)");
		admin_conn_close(ac);
		return;
	}
	if (strcmp(f[0], "CACHE-FLUSH") == 0 && n >= 2) {
		unsigned int count = passdb_chain_cache_flush(ac->pd->passdb,
		    n > 2 ? (const char *const *)f + 2 : NULL, n - 2);
		log_info("auth-master: cache flush%s: %u entries flushed", n > 2 ? " (users)" : "",
		    count);
		str_fmt(reply, sizeof(reply), "OK\t%s\t%u", f[1], count);
		dline_send_raw(d, reply);
		return;
	}
	if ((strcmp(f[0], "USER") == 0 || strcmp(f[0], "PASS") == 0 || strcmp(f[0], "LIST") == 0) &&
	    n >= 2) {
		const char *fail[] = { "FAIL", f[1], "reason=proxyd has no userdb" };
		dline_send(d, fail, 3);
		return;
	}
	log_warnx("auth-master: BUG: Unknown command: %s", f[0]);
	admin_conn_close(ac);
}

void
authmaster_accept(struct proxyd *pd, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char spid[32];

	/* root, or the user the socket belongs to (doveadm's) */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != pd->admin->authm.uid)) {
		log_set_prefix("proxyd");
		log_warnx("auth-master: refused a connection from uid %d (only root and the "
		    "socket's owner)", len == sizeof(cred) ? (int)cred.uid : -1);
		close(fd);
		return;
	}
	struct admin_conn *ac = admin_conn_new(pd, fd, &authm_set, authm_line);
	if (ac == NULL)
		return;
	str_fmt(spid, sizeof(spid), "SPID\t%d", (int)getpid());
	dline_send_raw(ac->d, spid);
}
