/* SPDX-License-Identifier: MIT */
/* applets/doveadm/ipc.c: one command over Dovecot's ipc client socket, with the error
 * texts of lib-master/ipc-client.c. There is no handshake on this socket. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "applets/doveadm/doveadm.h"
#include "applets/doveadm/ipc.h"
#include "core/str.h"

void
ipc_run(const char *path, const char *cmd, ipc_cb *cb, void *arg)
{
	struct dline_reader r;
	struct strbuf line;
	char *l;

	int fd = dv_connect_unix(path);
	if (fd < 0) {
		dv_error("connect(%s) failed: %s", path, dv_strerror(errno));
		cb(IPC_ERROR, "ipc connect failed", arg);
		return;
	}
	dline_reader_init(&r, fd);
	strbuf_init(&line, SIZE_MAX);
	strbuf_puts(&line, cmd);
	strbuf_putc(&line, '\n');
	/* a failed write shows as the lost connection when reading, as in doveadm */
	if (line.error)
		dv_fatal("Out of memory");
	(void)dv_write_all(fd, line.s, line.len);
	strbuf_free(&line);

	for (;;) {
		if (dline_reader_line(&r, &l, -1) <= 0) {
			cb(IPC_ERROR, "Disconnected", arg);
			break;
		}
		if (l[0] == ':') {
			cb(IPC_REPLY, l + 1, arg);
			continue;
		}
		if (l[0] == '+' || l[0] == '-') {
			cb(l[0] == '+' ? IPC_OK : IPC_ERROR, l + 1, arg);
			/* the rest of what came in the same read is not for any command */
			while (dline_reader_buffered(&r) && dline_reader_line(&r, &l, -1) > 0)
				dv_error("IPC proxy sent unexpected input: %s", l);
			break;
		}
		dv_error("IPC proxy sent invalid input: %s", l[0] == '\0' ? l : l + 1);
		cb(IPC_ERROR, "Invalid input", arg);
		break;
	}
	dline_reader_free(&r);
}
