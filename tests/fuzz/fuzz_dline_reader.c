/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_dline_reader.c: the blocking line reader of the command-line clients
 * (doveadm reading the replies of Dovecot's or mtool's ipc, anvil and director sockets),
 * fed a server's bytes, each line split into TAB-escaped fields as the clients do. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/dline.h"
#include "core/tab.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	struct dline_reader r;
	dline_reader_init(&r, sv[0]);
	size_t off = 0;
	int rc;
	do {
		/* what fits in the socket now, the rest when the reader has made room */
		while (off < size) {
			ssize_t n = send(sv[1], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		if (off == size)
			shutdown(sv[1], SHUT_WR);
		char *line, *fields[DLINE_MAX_FIELDS];
		rc = dline_reader_line(&r, &line, 0);
		if (rc == 1) {
			if (strchr(line, '\n') != NULL)
				abort();
			(void)dline_reader_buffered(&r);
			(void)tab_split(line, fields, DLINE_MAX_FIELDS);
		}
	} while (rc == 1 || (rc == -2 && off < size));
	dline_reader_free(&r);
	close(sv[1]);
	return 0;
}
