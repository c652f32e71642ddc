/* SPDX-License-Identifier: MIT */
/* core/log.h: the line format on stderr, levels, the errno suffix, truncation. stderr
 * is captured around each call (unit_stderr_begin). */
#include "tests/unit/unit.h"
#include "core/log.h"
#include "config.h"
#include "core/str.h"
#include "core/timefmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct capture {
	time_t before, after;
};

static void
cap_start(struct capture *c)
{
	c->before = time(NULL);
	unit_stderr_begin();
}

/* Ends the capture; returns what was written (the harness's buffer). */
static const char *
cap_end(struct capture *c)
{
	const char *text = unit_stderr_end();
	c->after = time(NULL);
	return text;
}

static size_t
stamp(time_t t, char *buf, size_t len)
{
	struct tm tm;
	return strftime(buf, len, "%b %d %H:%M:%S ", localtime_r(&t, &tm));
}

/* Checks one captured line: a timestamp of the capture's time, then rest exactly. */
static void
check_line(const char *file, int line, const struct capture *c, const char *got, const char *rest)
{
	char a[64], b[64];
	size_t la = stamp(c->before, a, sizeof(a));
	size_t lb = stamp(c->after, b, sizeof(b));
	size_t skip;
	if (strncmp(got, a, la) == 0)
		skip = la;
	else if (strncmp(got, b, lb) == 0)
		skip = lb;
	else {
		unit_fail(file, line, "line \"%s\" does not start with the time \"%s\"", got, a);
		return;
	}
	if (strcmp(got + skip, rest) != 0)
		unit_fail(file, line, "line \"%s\", expected \"<time> %s\"", got, rest);
}

#define CHECK_LINE(c, got, rest) check_line(__FILE__, __LINE__, c, got, rest)

static void
log_restore(void)
{
	log_init("mtool", 0, 0);
}

TEST(line_format)
{
	struct capture c;
	log_init("imap-login", 0, 0);
	cap_start(&c);
	log_info("proxy(%s): started proxying to %s", "alice", "192.0.2.1:143");
	const char *got = cap_end(&c);
	CHECK_LINE(&c, got, "imap-login: Info: proxy(alice): started proxying to 192.0.2.1:143\n");
	/* the timestamp is "Mon DD HH:MM:SS" */
	CHECK(got[3] == ' ' && got[6] == ' ' && got[9] == ':' && got[12] == ':' && got[15] == ' ');
	CHECK(strchr("JFMASOND", got[0]) != NULL);

	/* the prefix is copied, and can be changed */
	char prefix[] = "director";
	log_set_prefix(prefix);
	prefix[0] = 'X';
	cap_start(&c);
	log_info("a");
	log_info("b");
	got = cap_end(&c);
	const char *nl = strchr(got, '\n');
	CHECK(nl != NULL);
	if (nl) {
		char first[256];
		snprintf(first, sizeof(first), "%.*s", (int)(nl - got + 1), got);
		CHECK_LINE(&c, first, "director: Info: a\n");
		CHECK_LINE(&c, nl + 1, "director: Info: b\n");
	}
	log_restore();
}

static void
vmsg(enum log_level level, int with_errno, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, with_errno, fmt, ap);
	va_end(ap);
}

TEST(levels)
{
	struct capture c;
	log_init("auth", 0, 0);
	cap_start(&c);
	log_warnx("w %d", 1);
	CHECK_LINE(&c, cap_end(&c), "auth: Warning: w 1\n");
	cap_start(&c);
	log_errorx("e %s", "x");
	CHECK_LINE(&c, cap_end(&c), "auth: Error: e x\n");
	cap_start(&c);
	vmsg(LOG_LEVEL_FATAL, 0, "f");
	CHECK_LINE(&c, cap_end(&c), "auth: Fatal: f\n");
	cap_start(&c);
	vmsg(LOG_LEVEL_INFO, 0, "i%c", '!');
	CHECK_LINE(&c, cap_end(&c), "auth: Info: i!\n");

	/* debug lines only when enabled */
	CHECK_INT(log_debug_enabled(), 0);
	cap_start(&c);
	log_debug("hidden");
	vmsg(LOG_LEVEL_DEBUG, 0, "hidden too");
	CHECK_STR(cap_end(&c), "");
	log_set_debug(1);
	CHECK(log_debug_enabled());
	cap_start(&c);
	log_debug("shown %d", 2);
	CHECK_LINE(&c, cap_end(&c), "auth: Debug: shown 2\n");
	log_set_debug(0);
	CHECK_INT(log_debug_enabled(), 0);
	log_init("auth", 1, 0);
	CHECK(log_debug_enabled());
	log_restore();
	CHECK_INT(log_debug_enabled(), 0);
}

TEST(errno_suffix)
{
	struct capture c;
	char want[256];
	log_init("mtool", 0, 0);

	errno = ENOENT;
	cap_start(&c);
	log_warn("open(%s) failed", "/x");
	const char *got = cap_end(&c);
	CHECK_INT(errno, ENOENT);
	snprintf(want, sizeof(want), "mtool: Warning: open(/x) failed: %s\n", strerror(ENOENT));
	CHECK_LINE(&c, got, want);

	errno = EACCES;
	cap_start(&c);
	log_error("bind");
	got = cap_end(&c);
	CHECK_INT(errno, EACCES);
	snprintf(want, sizeof(want), "mtool: Error: bind: %s\n", strerror(EACCES));
	CHECK_LINE(&c, got, want);

	/* the errno of the caller, not one changed by formatting; the x forms add nothing */
	errno = EPIPE;
	cap_start(&c);
	log_warnx("no suffix");
	log_errorx("none here");
	log_info("nor here");
	got = cap_end(&c);
	CHECK_INT(errno, EPIPE);
	CHECK(strstr(got, strerror(EPIPE)) == NULL);
	CHECK(strstr(got, "Warning: no suffix\n") != NULL);
	CHECK(strstr(got, "Error: none here\n") != NULL);
	CHECK(strstr(got, "Info: nor here\n") != NULL);
	log_restore();
}

TEST(truncation)
{
	struct capture c;
	static char big[3 * LOG_LINE_MAX];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_init("mtool", 0, 0);

	cap_start(&c);
	log_info("%s", big);
	const char *got = cap_end(&c);
	size_t len = strlen(got);
	/* one line, within LOG_LINE_MAX with its newline, ending in "..." */
	CHECK_INT(len, LOG_LINE_MAX);
	CHECK(len >= 4 && strcmp(got + len - 4, "...\n") == 0);
	CHECK(strchr(got, '\n') == got + len - 1);
	CHECK(strstr(got, "mtool: Info: aaaa") != NULL);

	/* the errno suffix does not push it over either */
	errno = ENOENT;
	cap_start(&c);
	log_warn("%s", big);
	got = cap_end(&c);
	len = strlen(got);
	CHECK_INT(len, LOG_LINE_MAX);
	CHECK(len >= 4 && strcmp(got + len - 4, "...\n") == 0);
	CHECK_INT(errno, ENOENT);

	/* a message with room to spare is left whole */
	big[LOG_LINE_MAX / 2] = '\0';
	cap_start(&c);
	log_warn("%s", big);
	got = cap_end(&c);
	char want[32];
	snprintf(want, sizeof(want), "a: %s\n", strerror(ENOENT));
	len = strlen(got);
	CHECK(len > strlen(want) && strcmp(got + len - strlen(want), want) == 0);
	CHECK(strstr(got, "...") == NULL);
	log_restore();
}

/* log_fatal and log_fatalx log and exit(1): in a child, stderr to a pipe. */
static void
run_fatal(int with_errno, char *out, size_t outlen, int *status)
{
	int p[2];
	*status = -1;
	out[0] = '\0';
	if (pipe(p) < 0)
		return;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		unit_in_child = 1;
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		log_init("replicator", 0, 0);
		errno = ECONNREFUSED;
		if (with_errno)
			log_fatal("connect(%s)", "/run/x");
		log_fatalx("bad config: %d", 7);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n < outlen - 1 && (r = read(p[0], out + n, outlen - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	int st;
	if (waitpid(pid, &st, 0) == pid && WIFEXITED(st))
		*status = WEXITSTATUS(st);
}

TEST(fatal_exits_1)
{
	char out[512], want[256];
	int status;
	struct capture c;
	c.before = time(NULL);
	run_fatal(1, out, sizeof(out), &status);
	c.after = time(NULL);
	CHECK_INT(status, 1);
	snprintf(want, sizeof(want), "replicator: Fatal: connect(/run/x): %s\n", strerror(ECONNREFUSED));
	CHECK_LINE(&c, out, want);
	c.before = time(NULL);
	run_fatal(0, out, sizeof(out), &status);
	c.after = time(NULL);
	CHECK_INT(status, 1);
	CHECK_LINE(&c, out, "replicator: Fatal: bad config: 7\n");
}

/* log_path = syslog:PATH: one datagram per line in RFC 3164's form, facility mail, the
 * prefix as tag with the pid; a syslog socket that comes back later is reconnected. */
TEST(syslog_datagram)
{
	char dir[] = "/tmp/mtool-syslog-XXXXXX", path[64], want[256], got[512], stamp[64];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	ssize_t n;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/log", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_INT(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);

	snprintf(want, sizeof(want), "syslog:%s", path);
	CHECK_INT(log_open("proxyd", want, 0), 0);
	time_t before = time(NULL);
	log_info("hello %d", 1);
	log_errorx("bad");
	n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	got[n > 0 ? n : 0] = '\0';
	/* "<22>Nov 02 09:05:01 proxyd[PID]: Info: hello 1": mail.info = 2 * 8 + 6 */
	timefmt_log(stamp, sizeof(stamp), before);
	snprintf(want, sizeof(want), "<22>%s proxyd[%d]: Info: hello 1", stamp, (int)getpid());
	CHECK_STR(got, want);
	n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	got[n > 0 ? n : 0] = '\0';
	CHECK(n > 4 && strncmp(got, "<19>", 4) == 0 && strstr(got, "]: Error: bad") != NULL);

	/* syslogd restarts: the next message reaches the new socket */
	close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_INT(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	log_warnx("again");
	n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	got[n > 0 ? n : 0] = '\0';
	CHECK(n > 0 && strstr(got, "]: Warning: again") != NULL);

	CHECK_INT(log_open("proxyd", "syslog:/nonexistent/a/very/long/path/that/does/not/fit/"
	    "in/sun_path/at/all/because/it/is/longer/than/one/hundred/and/eight/bytes/xxxxxxxx", 0), -1);
	close(fd);
	unlink(path);
	rmdir(dir);
	log_restore();
}

/* core/timefmt against strftime(3) itself, across months and both ends of a day */
TEST(timefmt_matches_strftime)
{
	static const time_t when[] = { 0, 86399, 1700000000, 1704067199, 1709251200, 1790000000 };
	for (size_t i = 0; i < sizeof(when) / sizeof(when[0]); i++) {
		char a[64], b[64];
		struct tm tm;
		localtime_r(&when[i], &tm);
		strftime(b, sizeof(b), "%b %d %H:%M:%S", &tm);
		CHECK_INT(timefmt_log(a, sizeof(a), when[i]), strlen(b));
		CHECK_STR(a, b);
		strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S", &tm);
		CHECK_INT(timefmt_iso(a, sizeof(a), when[i]), strlen(b));
		CHECK_STR(a, b);
	}
}

TEST(log_timestamp_subset_matches_strftime)
{
	static const time_t when[] = { 0, 86399, 1700000000, 1704067199, 1709251200 };
	static const char *const fmts[] = { "%b %d %H:%M:%S ", "%Y-%m-%d %H:%M:%S ",
	    "[%y%m%d %T %z] ", "%a %e %h %j %F %%" };
	char bad;

	for (size_t i = 0; i < sizeof(when) / sizeof(when[0]); i++)
		for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
			char a[64], b[64];
			struct tm tm;
			localtime_r(&when[i], &tm);
			strftime(b, sizeof(b), fmts[f], &tm);
			CHECK_INT(timefmt_strf(a, sizeof(a), fmts[f], when[i], 0), strlen(b));
			CHECK_STR(a, b);
			CHECK_INT(timefmt_strf_check(fmts[f], &bad), 0);
		}
	char a[64];
	struct tm tm;
	localtime_r(&when[2], &tm);
	timefmt_strf(a, sizeof(a), "%S.%{usecs}|", when[2], 4321);
	char b[64];
	str_fmt(b, sizeof(b), "%02d.004321|", tm.tm_sec);
	CHECK_STR(a, b);
	CHECK_INT(timefmt_strf(a, 5, "%Y-%m-%d", when[2], 0), 4);	/* cut, terminated */
	CHECK_INT(timefmt_strf_check("%Y %Q", &bad), -1);
	CHECK_INT(bad, 'Q');
	CHECK_INT(timefmt_strf_check("%u", &bad), -1);
}

TEST(info_and_debug_log_paths)
{
	char dir[] = "/tmp/mtool-logpath-XXXXXX", info[64], dbg[64], buf[512];
	char bad;

	CHECK(mkdtemp(dir) != NULL);
	str_fmt(info, sizeof(info), "%s/info.log", dir);
	str_fmt(dbg, sizeof(dbg), "%s/debug.log", dir);
	unit_stderr_begin();
	log_init("t", 1, 0);
	CHECK_INT(log_open_levels(info, dbg), 0);
	CHECK_INT(log_set_timestamp("<%Y> ", &bad), 0);
	log_debug("d1");
	log_info("i1");
	log_errorx("e1");
	CHECK_INT(log_open_levels(info, NULL), 0);	/* debug follows info */
	log_debug("d2");
	CHECK_INT(log_open_levels("syslog", NULL), -1);
	CHECK_INT(log_open_levels(NULL, NULL), 0);
	CHECK_INT(log_set_timestamp(NULL, &bad), 0);
	log_set_debug(0);
	const char *err = unit_stderr_end();
	CHECK(strstr(err, "t: Error: e1\n") != NULL && err[0] == '<');
	CHECK(strstr(err, "i1") == NULL && strstr(err, "d1") == NULL);
	FILE *f = fopen(info, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	CHECK(strstr(buf, "> t: Info: i1\n") != NULL && strstr(buf, "t: Debug: d2\n") != NULL);
	CHECK(strstr(buf, "d1") == NULL && strstr(buf, "e1") == NULL);
	f = fopen(dbg, "r");
	n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	CHECK(strncmp(buf, "<", 1) == 0 && strstr(buf, "> t: Debug: d1\n") != NULL);
	CHECK(strstr(buf, "i1") == NULL);
	unlink(info);
	unlink(dbg);
	rmdir(dir);
}
