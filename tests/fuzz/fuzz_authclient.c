/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_authclient.c: what a Dovecot auth server sends to passdb auth's client
 * (core/authclient.c): the input is the server's side of the conversation, its greeting
 * (VERSION, MECH, SPID, CUID, COOKIE, DONE) then answers (OK/FAIL/CONT with ids 1 to 3
 * and fields), sent in pieces of 1 + data[0] % 64 bytes to a client with three AUTH
 * requests waiting. Then each line of the input once more through authclient_reply_parse()
 * alone, whose answer must hold together. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/authclient.h"
#include "core/dline.h"
#include "core/listen.h"
#include "core/loop.h"
#include "core/passdb.h"
#include "tests/fuzz/fuzz.h"

static unsigned int answers;

static void
on_answer(const struct authclient_reply *r, void *arg)
{
	(void)arg;
	answers++;
	if (r->nfields > AUTHCLIENT_FIELDS_MAX || (r->status == AUTHCLIENT_ERROR) != (r->error != NULL))
		abort();
	for (size_t i = 0; i < r->nfields; i++)
		if (r->keys[i] == NULL || r->keys[i][0] == '\0' || strchr(r->keys[i], '='))
			abort();
}

static void
parse_lines(const uint8_t *data, size_t size)
{
	char *all = fuzz_strndup(data, size), *line = all;

	while (line != NULL) {
		char *nl = strchr(line, '\n');
		struct authclient_reply r;
		unsigned int id;
		if (nl != NULL)
			*nl = '\0';
		int k = authclient_reply_parse(line, strlen(line), &id, &r);
		if (k > 0 && (id == 0 || r.status == AUTHCLIENT_ERROR))
			abort();
		line = nl != NULL ? nl + 1 : NULL;
	}
	free(all);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int lfd = -1;
	static char path[256];
	char err[160];

	if (lfd < 0) {
		snprintf(path, sizeof(path), "%s/auth-client", fuzz_dir());
		if ((lfd = listen_unix(path, 0600, (uid_t)-1, (gid_t)-1, 16, err, sizeof(err))) < 0 ||
		    fcntl(lfd, F_SETFL, O_NONBLOCK) < 0)
			abort();
	}
	if (size == 0)
		return 0;
	struct loop *loop = loop_new();
	struct authclient *c = authclient_new(path, 30000, err, sizeof(err));
	if (c == NULL)
		abort();
	authclient_set_loop(c, loop);
	struct passdb_request req = { .user = "user@example.org", .password = "pass",
	    .service = "imap", .rip = "127.0.0.2", .lip = "127.0.0.1", .rport = 40000,
	    .lport = 143, .session = "sess" };
	for (int i = 0; i < 3; i++)
		if (authclient_plain(c, &req, on_answer, NULL) == NULL)
			abort();
	answers = 0;
	fuzz_loop_turn(loop);	/* connects */
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		struct fuzz_side s = { fd, data + 1, size - 1, 1 + data[0] % 64 };
		for (int turns = 0; turns < 4096; turns++) {
			int moved = fuzz_side_move(&s);
			fuzz_loop_turn(loop);
			if (!moved && s.size == 0)
				break;
		}
		close(fd);
		for (int i = 0; i < 4; i++)
			fuzz_loop_turn(loop);
	}
	authclient_free(c);
	/* a reconnection the input caused waits in the backlog: not for the next input */
	for (int x; (x = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
		close(x);
	if (answers != 3)
		abort();	/* each request is answered once, by the server or the free */
	loop_free(loop);
	parse_lines(data, size);
	return 0;
}
