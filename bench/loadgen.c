/* SPDX-License-Identifier: MIT */
/* bench/loadgen.c: the IMAP load generator of bench/run.py (not part of mtool, not a test).
 *
 *   loadgen login -p PORT [-h IP] [-c CLIENTS] [-n COUNT] [-t SECS] [-u USERS]
 *       CLIENTS connections at a time, each: connect, greeting, "a LOGIN userK pass", wait
 *       for the tagged OK, "b LOGOUT", wait for its tagged OK, close; until COUNT logins
 *       are done (or SECS seconds have passed). Users user1..userUSERS@example.org, round
 *       robin. Prints one line of key=value pairs: logins, errors, secs, rate, latency
 *       percentiles of connect..tagged OK, and the generator's own CPU time.
 *   loadgen hold -p PORT [-h IP] [-c CLIENTS] [-n N] [-u USERS]
 *       opens N logged-in sessions (CLIENTS logins in flight at a time), prints
 *       "ready ...", keeps them idle until stdin reaches EOF or gets a line, closes them and
 *       prints "closed dropped=D" (D = sessions the server closed while idle).
 *   loadgen fetch -p PORT [-p PORT2 ...] [-h IP] [-r REPEAT] [-w WARMUP] [-U USER]
 *       one session per port: LOGIN, SELECT INBOX; then WARMUP + REPEAT rounds of
 *       "FETCH 1 BODY.PEEK[]" on each session in turn (interleaved, so every port sees the
 *       same state of the machine), each timed from sending the command to the tagged OK.
 *       Prints one line per port: size, every time and the median.
 *
 * The password is "pass" (-P to change). Exit status 0, or 1 when anything failed. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN	8192
#define MAX_ERR_SHOWN	5

enum mode { MODE_LOGIN, MODE_HOLD, MODE_FETCH };
enum state { ST_FREE, ST_GREET, ST_LOGIN, ST_LOGOUT, ST_IDLE };

struct conn {
	int fd;
	enum state st;
	unsigned int user;
	double t0;
	size_t len;
	char buf[LINE_MAX_LEN];
};

static struct {
	enum mode mode;
	const char *ip;
	unsigned int port;
	unsigned int clients;
	unsigned long count;
	double secs;
	unsigned int users;
	const char *user;
	const char *pass;
	unsigned int repeat, warmup;
} opt = { MODE_LOGIN, "127.0.0.1", 0, 50, 1000, 0, 200, "user1@example.org", "pass", 9, 2 };

static struct sockaddr_in dest;
#define MAX_PORTS	8
static unsigned int ports[MAX_PORTS], nports;	/* fetch: -p may be repeated */
static int epfd = -1;
static unsigned long started, done, errors, errshown, next_user;
static unsigned long logged_in, dropped;
static double *lat;
static size_t nlat, latcap;

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void
err_note(const char *fmt, ...)
{
	errors++;
	if (errshown >= MAX_ERR_SHOWN)
		return;
	errshown++;
	va_list ap;
	va_start(ap, fmt);
	fputs("loadgen: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double
cpu_secs(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
percentile(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

static int
send_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, s, len, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EPIPE;
			return -1;
		}
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

/* ---- login and hold: many non-blocking connections on one epoll ---- */

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);	/* close removes it from the epoll set */
	c->fd = -1;
	c->st = ST_FREE;
	c->len = 0;
}

static int
conn_start(struct conn *c)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err_note("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&dest, sizeof(dest)) < 0 && errno != EINPROGRESS) {
		err_note("connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	c->fd = fd;
	c->st = ST_GREET;
	c->len = 0;
	c->user = (unsigned int)(next_user++ % opt.users) + 1;
	c->t0 = now();
	started++;
	return 0;
}

/* One complete line (without CRLF). Returns 0, or -1 when the connection is finished
 * (closed here: success or error). */
static int
conn_line(struct conn *c, const char *line)
{
	char cmd[512];
	switch (c->st) {
	case ST_GREET:
		if (strncmp(line, "* OK", 4) != 0) {
			err_note("greeting: %.200s", line);
			goto fail;
		}
		snprintf(cmd, sizeof(cmd), "a LOGIN user%u@example.org %s\r\n", c->user, opt.pass);
		if (send_all(c->fd, cmd, strlen(cmd)) < 0) {
			err_note("send LOGIN: %s", strerror(errno));
			goto fail;
		}
		c->st = ST_LOGIN;
		return 0;
	case ST_LOGIN:
		if (strncmp(line, "a ", 2) != 0)
			return 0;	/* untagged */
		if (strncmp(line, "a OK", 4) != 0) {
			err_note("LOGIN user%u: %.200s", c->user, line);
			goto fail;
		}
		if (nlat == latcap) {
			latcap = latcap ? latcap * 2 : 4096;
			lat = realloc(lat, latcap * sizeof(*lat));
			if (lat == NULL)
				die("out of memory");
		}
		lat[nlat++] = now() - c->t0;
		if (opt.mode == MODE_HOLD) {
			c->st = ST_IDLE;
			logged_in++;
			return 0;
		}
		if (send_all(c->fd, "b LOGOUT\r\n", 10) < 0) {
			err_note("send LOGOUT: %s", strerror(errno));
			goto fail;
		}
		c->st = ST_LOGOUT;
		return 0;
	case ST_LOGOUT:
		if (strncmp(line, "b ", 2) != 0)
			return 0;
		if (strncmp(line, "b OK", 4) != 0) {
			err_note("LOGOUT: %.200s", line);
			goto fail;
		}
		done++;
		conn_close(c);
		return -1;
	case ST_IDLE:
		return 0;
	case ST_FREE:
		break;
	}
	return 0;
fail:
	conn_close(c);
	return -1;
}

static void
conn_input(struct conn *c)
{
	for (;;) {
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			err_note("recv (state %d): %s", (int)c->st, strerror(errno));
			if (c->st == ST_IDLE) {
				dropped++;
				logged_in--;
			}
			conn_close(c);
			return;
		}
		if (r == 0) {
			if (c->st == ST_IDLE) {
				dropped++;
				logged_in--;
			} else {
				err_note("server closed the connection (state %d)", (int)c->st);
			}
			conn_close(c);
			return;
		}
		c->len += (size_t)r;
		size_t off = 0;
		for (;;) {
			char *nl = memchr(c->buf + off, '\n', c->len - off);
			if (nl == NULL)
				break;
			char *line = c->buf + off;
			size_t ll = (size_t)(nl - line);
			off += ll + 1;
			if (ll > 0 && line[ll - 1] == '\r')
				ll--;
			line[ll] = '\0';
			if (conn_line(c, line) < 0)
				return;
		}
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
		if (c->len == sizeof(c->buf)) {
			err_note("line too long");
			conn_close(c);
			return;
		}
		if ((size_t)r < sizeof(c->buf))
			return;	/* drained: level-triggered epoll calls again if more came */
	}
}

static int
run_many(void)
{
	unsigned long target = opt.count;
	unsigned long max_errors = target / 10 + 10;
	struct conn *cs;
	unsigned int nconns = opt.mode == MODE_HOLD ? (unsigned int)target : opt.clients;
	cs = calloc(nconns, sizeof(*cs));
	if (cs == NULL)
		die("out of memory");
	for (unsigned int i = 0; i < nconns; i++)
		cs[i].fd = -1;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));

	double t_start = now(), cpu0 = cpu_secs();
	double deadline = opt.secs > 0 ? t_start + opt.secs : 0;
	unsigned int next_free = 0;	/* hold: connections are used in order */
	int stop_starting = 0;
	struct epoll_event evs[256];

	for (;;) {
		if (errors > max_errors)
			die("too many errors (%lu)", errors);
		if (deadline > 0 && now() >= deadline)
			stop_starting = 1;
		/* start connections while there is room */
		unsigned int inflight = 0;
		if (opt.mode == MODE_LOGIN) {
			/* exactly `target` successful logins: start only what is still missing */
			unsigned long active = 0;
			for (unsigned int i = 0; i < nconns; i++)
				if (cs[i].st != ST_FREE)
					active++;
			for (unsigned int i = 0; i < nconns && !stop_starting; i++) {
				if (cs[i].st != ST_FREE)
					continue;
				if (done + active >= target)
					break;
				if (conn_start(&cs[i]) == 0)
					active++;
			}
			if (active == 0 && (stop_starting || done >= target))
				break;
		} else {
			for (unsigned int i = 0; i < nconns; i++)
				if (cs[i].st != ST_FREE && cs[i].st != ST_IDLE)
					inflight++;
			while (inflight < opt.clients && logged_in + inflight < target) {
				/* find a free slot (failed ones are reused) */
				unsigned int tries = 0;
				while (cs[next_free].st != ST_FREE && tries++ < nconns)
					next_free = (next_free + 1) % nconns;
				if (cs[next_free].st != ST_FREE)
					break;
				if (conn_start(&cs[next_free]) == 0)
					inflight++;
				else
					break;
			}
			if (logged_in >= target && inflight == 0)
				break;
		}
		int n = epoll_wait(epfd, evs, 256, 100);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->fd >= 0)
				conn_input(c);
		}
	}
	double secs = now() - t_start, cpu = cpu_secs() - cpu0;
	qsort(lat, nlat, sizeof(*lat), cmp_double);

	if (opt.mode == MODE_LOGIN) {
		printf("mode=login logins=%lu errors=%lu secs=%.3f rate=%.1f lat_p50_ms=%.2f "
		    "lat_p99_ms=%.2f loadgen_cpu_s=%.3f\n", done, errors, secs,
		    secs > 0 ? (double)done / secs : 0, percentile(lat, nlat, 0.5) * 1000,
		    percentile(lat, nlat, 0.99) * 1000, cpu);
		return errors ? 1 : 0;
	}

	printf("ready sessions=%lu errors=%lu secs=%.3f lat_p50_ms=%.2f lat_p99_ms=%.2f\n",
	    logged_in, errors, secs, percentile(lat, nlat, 0.5) * 1000,
	    percentile(lat, nlat, 0.99) * 1000);
	fflush(stdout);
	/* idle until stdin says so; watch for sessions the server drops */
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev) < 0)
		die("epoll_ctl(stdin): %s", strerror(errno));
	for (int quit = 0; !quit;) {
		int n = epoll_wait(epfd, evs, 256, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c == NULL) {
				quit = 1;
				continue;
			}
			if (c->fd >= 0)
				conn_input(c);
		}
	}
	for (unsigned int i = 0; i < nconns; i++)
		conn_close(&cs[i]);
	printf("closed dropped=%lu\n", dropped);
	return errors || dropped ? 1 : 0;
}

/* ---- fetch: one blocking session ---- */

struct reader {
	int fd;
	size_t off, len;
	char buf[1 << 20];
};

static int
reader_fill(struct reader *r)
{
	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len == sizeof(r->buf))
		die("line too long");
	ssize_t n;
	do
		n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("recv: %s", strerror(errno));
	if (n == 0)
		die("server closed the connection");
	r->len += (size_t)n;
	return 0;
}

/* The next line without CRLF (valid until the next call). */
static char *
reader_line(struct reader *r)
{
	for (;;) {
		char *nl = memchr(r->buf + r->off, '\n', r->len - r->off);
		if (nl != NULL) {
			char *line = r->buf + r->off;
			size_t ll = (size_t)(nl - line);
			r->off += ll + 1;
			if (ll > 0 && line[ll - 1] == '\r')
				ll--;
			line[ll] = '\0';
			return line;
		}
		reader_fill(r);
	}
}

static void
reader_skip(struct reader *r, unsigned long long n)
{
	for (;;) {
		size_t have = r->len - r->off;
		if (have >= n) {
			r->off += (size_t)n;
			return;
		}
		n -= have;
		r->off = r->len = 0;
		reader_fill(r);
	}
}

/* Sends cmd (tag + text), reads to the tagged reply; dies unless it is OK. */
static void
command(struct reader *r, const char *tag, const char *cmd)
{
	if (send_all(r->fd, cmd, strlen(cmd)) < 0)
		die("send: %s", strerror(errno));
	size_t tl = strlen(tag);
	for (;;) {
		char *line = reader_line(r);
		if (strncmp(line, tag, tl) == 0 && line[tl] == ' ') {
			if (strncmp(line + tl + 1, "OK", 2) != 0)
				die("%s: %.300s", cmd, line);
			return;
		}
	}
}

/* One session per port, opened up front; the timed FETCHes go round robin over them, so
 * every target sees the same moments of the machine. */
static unsigned long long
fetch_once(struct reader *r, unsigned int i, double *secs)
{
	char tag[16], cmd[64];
	snprintf(tag, sizeof(tag), "f%u", i);
	snprintf(cmd, sizeof(cmd), "%s FETCH 1 BODY.PEEK[]\r\n", tag);
	size_t tl = strlen(tag);
	unsigned long long got = 0;
	double t0 = now();
	if (send_all(r->fd, cmd, strlen(cmd)) < 0)
		die("send: %s", strerror(errno));
	for (;;) {
		char *line = reader_line(r);
		if (strncmp(line, tag, tl) == 0 && line[tl] == ' ') {
			if (strncmp(line + tl + 1, "OK", 2) != 0)
				die("FETCH: %.300s", line);
			break;
		}
		size_t ll = strlen(line);
		if (ll > 2 && line[ll - 1] == '}') {
			char *open = strrchr(line, '{');
			if (open == NULL)
				die("bad literal: %.200s", line);
			got = strtoull(open + 1, NULL, 10);
			reader_skip(r, got);
		}
	}
	*secs = now() - t0;
	if (got == 0)
		die("FETCH returned no literal");
	return got;
}

static int
run_fetch(void)
{
	unsigned int n = nports, total = opt.warmup + opt.repeat;
	struct reader *rs = calloc(n, sizeof(*rs));
	double *t = calloc((size_t)n * total, sizeof(*t));
	unsigned long long *size = calloc(n, sizeof(*size));
	if (rs == NULL || t == NULL || size == NULL)
		die("out of memory");
	for (unsigned int k = 0; k < n; k++) {
		struct reader *r = &rs[k];
		struct sockaddr_in sa = dest;
		sa.sin_port = htons((uint16_t)ports[k]);
		r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("connect to port %u: %s", ports[k], strerror(errno));
		char *line = reader_line(r);
		if (strncmp(line, "* OK", 4) != 0)
			die("greeting: %.200s", line);
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "a LOGIN %s %s\r\n", opt.user, opt.pass);
		command(r, "a", cmd);
		command(r, "s", "s SELECT INBOX\r\n");
	}
	for (unsigned int i = 0; i < total; i++)
		for (unsigned int k = 0; k < n; k++)
			size[k] = fetch_once(&rs[k], i, &t[(size_t)k * total + i]);
	for (unsigned int k = 0; k < n; k++) {
		command(&rs[k], "z", "z LOGOUT\r\n");
		close(rs[k].fd);
		double *m = t + (size_t)k * total + opt.warmup;
		printf("mode=fetch port=%u size=%llu times_ms=", ports[k], size[k]);
		for (unsigned int i = 0; i < opt.repeat; i++)
			printf("%s%.2f", i ? "," : "", m[i] * 1000);
		qsort(m, opt.repeat, sizeof(*m), cmp_double);
		double med = percentile(m, opt.repeat, 0.5);
		printf(" median_ms=%.2f mbps=%.1f\n", med * 1000, (double)size[k] / med / 1e6);
	}
	return 0;
}

static void
usage(void)
{
	fputs("usage: loadgen login|hold|fetch -p PORT [-h IP] [-c CLIENTS] [-n COUNT] [-t SECS]\n"
	    "       [-u USERS] [-U USER] [-P PASS] [-r REPEAT] [-w WARMUP]\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "login") == 0)
		opt.mode = MODE_LOGIN;
	else if (strcmp(argv[1], "hold") == 0)
		opt.mode = MODE_HOLD;
	else if (strcmp(argv[1], "fetch") == 0)
		opt.mode = MODE_FETCH;
	else
		usage();
	int ch;
	optind = 2;
	while ((ch = getopt(argc, argv, "h:p:c:n:t:u:U:P:r:w:")) != -1) {
		switch (ch) {
		case 'h': opt.ip = optarg; break;
		case 'p':
			opt.port = (unsigned int)strtoul(optarg, NULL, 10);
			if (nports == MAX_PORTS || opt.port == 0 || opt.port > 65535)
				usage();
			ports[nports++] = opt.port;
			break;
		case 'c': opt.clients = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'n': opt.count = strtoul(optarg, NULL, 10); break;
		case 't': opt.secs = strtod(optarg, NULL); break;
		case 'u': opt.users = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'U': opt.user = optarg; break;
		case 'P': opt.pass = optarg; break;
		case 'r': opt.repeat = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'w': opt.warmup = (unsigned int)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (opt.port == 0 || opt.port > 65535 || opt.clients == 0 || opt.users == 0 ||
	    opt.count == 0 || opt.repeat == 0 || strlen(opt.user) > 256 || strlen(opt.pass) > 256)
		usage();
	memset(&dest, 0, sizeof(dest));
	dest.sin_family = AF_INET;
	dest.sin_port = htons((uint16_t)opt.port);
	if (inet_pton(AF_INET, opt.ip, &dest.sin_addr) != 1)
		die("bad IPv4 address: %s", opt.ip);
	if (opt.mode == MODE_FETCH)
		return run_fetch();
	return run_many();
}
