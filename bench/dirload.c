/* SPDX-License-Identifier: MIT */
/* bench/dirload.c: load generator for directord's proxy socket (bench/director.py).
 * CONNS connections stand in for that many proxyd processes; each keeps DEPTH requests in
 * flight until TOTAL lookups are answered. Mode "lookup": LOOKUP only; mode "login": what
 * one proxied login costs the director (LOOKUP, then START and END of the session).
 * Prints: lookups, seconds, lookups/s. Not part of mtool's build. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN	256

struct c {
	int fd;
	char in[65536];
	size_t inlen;
};

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
xwrite(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("write");
			exit(1);
		}
		b += w;
		n -= (size_t)w;
	}
}

int
main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: dirload SOCKET CONNS TOTAL USERS lookup|login [DEPTH]\n");
		return 2;
	}
	int nconn = atoi(argv[2]), depth = argc > 6 ? atoi(argv[6]) : 4;
	unsigned long total = strtoul(argv[3], NULL, 10), users = strtoul(argv[4], NULL, 10);
	int login = strcmp(argv[5], "login") == 0;
	static struct c cs[MAXCONN];
	struct pollfd pfd[MAXCONN];
	if (nconn < 1 || nconn > MAXCONN || depth < 1)
		return 2;
	for (int i = 0; i < nconn; i++) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
		cs[i].fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(cs[i].fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			perror("connect");
			return 1;
		}
		xwrite(cs[i].fd, "VERSION\tmtool-director\t1\t0\n", 27);
		pfd[i].fd = cs[i].fd;
		pfd[i].events = POLLIN;
	}
	unsigned long issued = 0, answered = 0, uid = 0;
	double t0 = now();
	char out[65536];
	/* prime each connection with DEPTH lookups */
	for (int i = 0; i < nconn; i++) {
		size_t o = 0;
		for (int d = 0; d < depth && issued < total; d++, issued++)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "LOOKUP\t%lu\tuser%lu@example.org\t\n",
			    uid + 1, uid % users), uid++;
		xwrite(cs[i].fd, out, o);
	}
	while (answered < total) {
		if (poll(pfd, (nfds_t)nconn, 10000) <= 0) {
			fprintf(stderr, "dirload: no answer for 10 s (%lu of %lu)\n", answered, total);
			return 1;
		}
		for (int i = 0; i < nconn; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			struct c *c = &cs[i];
			ssize_t r = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
			if (r <= 0) {
				fprintf(stderr, "dirload: connection %d closed\n", i);
				return 1;
			}
			c->inlen += (size_t)r;
			size_t o = 0, start = 0;
			char *nl;
			while ((nl = memchr(c->in + start, '\n', c->inlen - start)) != NULL) {
				char *line = c->in + start;
				start = (size_t)(nl - c->in) + 1;
				if (strncmp(line, "HOST\t", 5) != 0) {
					if (strncmp(line, "VERSION\t", 8) == 0)
						continue;
					if (strncmp(line, "KICK\t", 5) == 0)
						continue;
					fprintf(stderr, "dirload: unexpected reply %.*s\n", (int)(nl - line), line);
					return 1;
				}
				answered++;
				unsigned long id = strtoul(line + 5, NULL, 10);
				if (login) {
					/* the session on the host it got, ended at once */
					char *ip = strchr(line + 5, '\t');
					char *ipend = ip ? strchr(ip + 1, '\t') : NULL;
					if (ip && ipend) {
						o += (size_t)snprintf(out + o, sizeof(out) - o,
						    "START\ts%d-%lu\tuser%lu@example.org\t\t%.*s\nEND\ts%d-%lu\n",
						    i, id, (id - 1) % users, (int)(ipend - ip - 1), ip + 1, i, id);
					}
				}
				if (issued < total) {
					issued++;
					o += (size_t)snprintf(out + o, sizeof(out) - o,
					    "LOOKUP\t%lu\tuser%lu@example.org\t\n", uid + 1, uid % users);
					uid++;
				}
				if (o > sizeof(out) - 512) {
					xwrite(c->fd, out, o);
					o = 0;
				}
			}
			memmove(c->in, c->in + start, c->inlen - start);
			c->inlen -= start;
			if (o)
				xwrite(c->fd, out, o);
		}
	}
	double secs = now() - t0;
	printf("%lu %.3f %.0f\n", answered, secs, answered / secs);
	return 0;
}
