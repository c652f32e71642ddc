/* SPDX-License-Identifier: MIT */
/* The Dovecot line protocol over a real UNIX socket: server on the loop, blocking client
 * in a child process. */
#include "tests/unit/unit.h"
#include "core/dline.h"
#include "core/loop.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct srv {
	struct loop *loop;
	int lines;
	char last[256];
	char reason[128];
};

static void
on_line(struct dline_conn *d, char **f, size_t n, void *arg)
{
	struct srv *s = arg;
	s->lines++;
	snprintf(s->last, sizeof(s->last), "%zu:%s|%s", n, f[0], n > 1 ? f[1] : "");
	const char *reply[] = { "OK", f[0], "tab\there" };
	dline_send(d, reply, 3);
}

static void
on_close(struct dline_conn *d, const char *reason, void *arg)
{
	struct srv *s = arg;
	(void)d;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	loop_stop(s->loop);
}

static void
run_server(int fd, const struct dline_set *set, struct srv *s)
{
	s->loop = loop_new();
	dline_conn_new(s->loop, fd, set, on_line, on_close, s);
	loop_run(s->loop);
	loop_free(s->loop);
}

TEST(version_handshake_and_escaping)
{
	int sv[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		static const char out[] = "VERSION\ttest\t1\t7\nHELLO\tw\001torld\n";
		struct dline_reader c;
		char *line;
		dline_reader_init(&c, sv[1]);
		int ok = dline_reader_line(&c, &line, 5000) == 1 && strcmp(line, "VERSION\ttest-server\t1\t0") == 0;
		ok = ok && write(sv[1], out, sizeof(out) - 1) == (ssize_t)sizeof(out) - 1;
		ok = ok && dline_reader_line(&c, &line, 5000) == 1 && strcmp(line, "OK\tHELLO\ttab\001there") == 0;
		dline_reader_free(&c);
		_exit(ok ? 0 : 1);
	}
	close(sv[1]);
	struct dline_set set = { "VERSION\ttest-server\t1\t0", "test", 1, 0 };
	struct srv s = { 0 };
	run_server(sv[0], &set, &s);
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_INT(s.lines, 1);
	CHECK_STR(s.last, "2:HELLO|w\torld");
	CHECK_STR(s.reason, "Disconnected");
}

TEST(wrong_version_is_refused)
{
	int sv[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	const char msg[] = "VERSION\ttest\t2\t0\nHELLO\n";
	CHECK_INT(write(sv[1], msg, sizeof(msg) - 1), (long long)sizeof(msg) - 1);
	struct dline_set set = { NULL, "test", 1, 0 };
	struct srv s = { 0 };
	run_server(sv[0], &set, &s);
	close(sv[1]);
	CHECK_INT(s.lines, 0);
	CHECK_STR(s.reason, "Protocol version mismatch or missing VERSION line");
}

TEST(too_long_line_ends_the_connection)
{
	int sv[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	static char big[3000];
	memset(big, 'x', sizeof(big));
	CHECK_INT(write(sv[1], big, sizeof(big)), (long long)sizeof(big));
	struct dline_set set = { NULL, NULL, 0, 1024 };
	struct srv s = { 0 };
	run_server(sv[0], &set, &s);
	close(sv[1]);
	CHECK_STR(s.reason, "Input line too long");
}


/* The blocking reader of doveadm: a timeout without a whole line, lines that came in one
 * read are buffered, a last line without LF is dropped at EOF (as Dovecot's istream). */
TEST(reader_timeout_buffered_eof)
{
	struct dline_reader r;
	char *line;
	int sv[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	dline_reader_init(&r, sv[0]);
	CHECK_INT(write(sv[1], "part", 4), 4);
	CHECK_INT(dline_reader_line(&r, &line, 50), -2);
	CHECK_INT(write(sv[1], "ial\nsecond\nno-lf", 16), 16);
	CHECK_INT(dline_reader_line(&r, &line, 1000), 1);
	CHECK_STR(line, "partial");
	CHECK(dline_reader_buffered(&r));
	CHECK_INT(dline_reader_line(&r, &line, -1), 1);
	CHECK_STR(line, "second");
	CHECK(!dline_reader_buffered(&r));
	close(sv[1]);
	CHECK_INT(dline_reader_line(&r, &line, -1), 0);
	dline_reader_free(&r);
	CHECK_INT(r.fd, -1);
}
