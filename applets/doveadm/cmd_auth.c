/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmd_auth.c: `doveadm auth cache flush [-a SOCKET] [<user> ...]`, as
 * doveadm-auth.c and lib-auth's auth_master_cache_flush(): VERSION 1 0, then
 * "CACHE-FLUSH <id> [<user>...]" on base_dir/auth-master, "OK <id> <count>" back, printed
 * as "<count> cache entries flushed". Works against Dovecot's auth process and proxyd.
 * A failure exits 75 with "Cache flush failed" (Dovecot 2.3.19 says "0 cache entries
 * flushed" and exits 0 when it cannot connect: fixed on purpose). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/doveadm/cmd.h"
#include "applets/doveadm/cmdopt.h"
#include "applets/doveadm/doveadm.h"
#include "config.h"
#include "core/dline.h"
#include "core/str.h"
#include "core/tab.h"

#define AUTH_MASTER_TIMEOUT_MS	(30 * 1000)	/* Dovecot's MASTER_AUTH_LOOKUP_TIMEOUT_SECS */

static const struct cmdopt flush_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 0, "user", CMDOPT_ARRAY, 1 },
};

int
cmd_auth_cache_flush(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	struct cmdopt_val v[2];
	struct dline_reader r;
	struct strbuf req;
	char *line;
	int ret = DOVEADM_EX_TEMPFAIL;

	(void)cmd;
	if (cmdopt_parse(argc, argv, flush_opts, 2, v) < 0)
		return DOVEADM_EX_USAGE;
	char *path = v[0].set ? strdup(v[0].str) : dv_socket_path(ctx, "auth-master");
	if (path == NULL)
		dv_fatal("Out of memory");
	int fd = dv_connect_unix(path);
	if (fd < 0) {
		/* Dovecot's words; it then prints "0 cache entries flushed" and exits 0,
		 * which hides the failure from scripts: mtool exits 75 */
		dv_error("auth-master: auth cache flush: connect(%s) failed: %s", path,
		    dv_strerror(errno));
		dv_error("Cache flush failed");
		goto out;
	}
	strbuf_init(&req, DLINE_MAX);
	strbuf_puts(&req, "VERSION\t1\t0\nCACHE-FLUSH\t1");
	for (size_t i = 0; i < v[1].narr; i++) {
		strbuf_putc(&req, '\t');
		tab_escape(&req, v[1].arr[i]);
	}
	strbuf_putc(&req, '\n');
	if (req.error || dv_write_all(fd, req.s, req.len) < 0) {
		strbuf_free(&req);
		close(fd);
		dv_error("write(%s) failed: %s", path, dv_strerror(errno));
		dv_error("Cache flush failed");
		goto out;
	}
	strbuf_free(&req);
	dline_reader_init(&r, fd);
	for (;;) {
		int n = dline_reader_line(&r, &line, AUTH_MASTER_TIMEOUT_MS);
		if (n <= 0) {
			dv_error(n == -2 ? "Auth server request timed out" :
			    "Disconnected unexpectedly");
			break;
		}
		char **f = dv_split_tabescaped(line, NULL);
		if (f[0] != NULL && strcmp(f[0], "OK") == 0 && f[1] != NULL &&
		    strcmp(f[1], "1") == 0 && f[2] != NULL) {
			printf("%s cache entries flushed\n", f[2]);
			ret = 0;
		} else if (f[0] != NULL && strcmp(f[0], "VERSION") == 0 &&
		    (f[1] == NULL || strcmp(f[1], "1") != 0)) {
			dv_error("Authentication server not compatible with this client "
			    "(mixed old and new binaries?)");
			free(f);
			break;
		} else if (f[0] != NULL && (strcmp(f[0], "VERSION") == 0 ||
		    strcmp(f[0], "SPID") == 0)) {
			free(f);
			continue;
		} else
			dv_error("Cache flush failed");
		free(f);
		break;
	}
	dline_reader_free(&r);
out:
	free(path);
	cmdopt_free(v, 2);
	return ret;
}
