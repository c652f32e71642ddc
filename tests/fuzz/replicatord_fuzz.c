/* SPDX-License-Identifier: MIT */
/* tests/fuzz/replicatord_fuzz.c: see replicatord_fuzz.h. What replicatord_main() sets up,
 * without the config file, replicator.db, the listeners, the metrics endpoint and the
 * privilege drop: the connections are handed to radmin.c and notify.c as accepted fds. */
#include "tests/fuzz/replicatord_fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "applets/replicatord/replicatord.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "tests/fuzz/fuzz.h"

#define BACKENDS	4	/* pair 0 A, B; pair 1 A, B */
#define SERVED_MAX	16

/* a doveadm server connection the harness answers, or the one the fuzzer plays */
struct served {
	int fd;
	int fuzzed;
	unsigned int lines;	/* lines read: VERSION, PLAIN (with a password), the command */
	size_t len;
	char buf[4096];
};

struct harness {
	struct repl r;
	int password;
	int lfd[BACKENDS];
	char path[BACKENDS][108];
	struct served srv[SERVED_MAX];
	size_t nsrv;
	struct fuzz_side fuzzed;	/* the fuzzer as a doveadm server, once connected */
	int want_fuzzed;
};

static int
listen_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 64) < 0)
		abort();
	return fd;
}

/* What Dovecot's doveadm server says to one complete line of replicatord's. */
static void
answer(struct harness *h, struct served *s, const char *line)
{
	const char *reply;
	s->lines++;
	if (s->lines == 1)
		reply = h->password ? "-\n" : "+\n";
	else if (h->password && s->lines == 2)
		reply = strncmp(line, "PLAIN\t", 6) == 0 ? "+\n" : "-\n";
	else if (strstr(line, "\tsync\t") != NULL)
		reply = "AQAAAMkDhP6xs1Jm2V0AAJhkxJ8AAAAA\t\n+\n";
	else if (strstr(line, "\tuser\t") != NULL)
		reply = "{\"userList\":[\"user1\",\"new@example.org\",\"caf\\u00e9\"]}\n+\n";
	else
		reply = "-UNKNOWN\n";
	if (send(s->fd, reply, strlen(reply), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* replicatord went away: nothing more to say */
	}
}

/* Accepts the backends' new connections and answers the harness's. 1 if anything moved. */
static int
serve(struct harness *h)
{
	int moved = 0;
	for (int b = 0; b < BACKENDS; b++) {
		int fd;
		while ((fd = accept4(h->lfd[b], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			moved = 1;
			if (h->want_fuzzed && b == 0) {
				h->want_fuzzed = 0;
				h->fuzzed.fd = fd;
				continue;
			}
			if (h->nsrv == SERVED_MAX) {
				close(fd);
				continue;
			}
			h->srv[h->nsrv++] = (struct served){ .fd = fd };
		}
	}
	if (h->fuzzed.fd >= 0 && fuzz_side_move(&h->fuzzed))
		moved = 1;
	for (size_t i = 0; i < h->nsrv; i++) {
		struct served *s = &h->srv[i];
		ssize_t n;
		if (s->fd < 0)
			continue;
		while (s->fd >= 0 && (n = recv(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len,
		    MSG_DONTWAIT)) > 0) {
			moved = 1;
			s->len += (size_t)n;
			char *nl;
			while ((nl = memchr(s->buf, '\n', s->len)) != NULL) {
				*nl = '\0';
				answer(h, s, s->buf);
				s->len -= (size_t)(nl + 1 - s->buf);
				memmove(s->buf, nl + 1, s->len);
			}
			if (s->len == sizeof(s->buf) - 1) {
				close(s->fd);
				s->fd = -1;
			}
		}
		if (s->fd >= 0 && n == 0) {
			close(s->fd);
			s->fd = -1;
			moved = 1;
		}
	}
	return moved;
}

static void
converse(struct harness *h, struct fuzz_side *c)
{
	for (int i = 0, idle = 0; i < 2000 && idle < 3; i++) {
		int moved = serve(h);
		if (c != NULL && c->fd >= 0 && fuzz_side_move(c))
			moved = 1;
		fuzz_loop_turn(h->r.loop);
		idle = moved ? 0 : idle + 1;
	}
}

static struct repl_user *
user(struct repl *r, const char *name, unsigned int pair, const char *state, int64_t ago)
{
	struct repl_user *u = queue_get(r, name, pair);
	int64_t now = loop_wall(r->loop);
	if (u == NULL)
		abort();
	if (state != NULL) {
		free(u->state[0]);
		if ((u->state[0] = strdup(state)) == NULL)
			abort();
	}
	u->last_update = u->last_fast = u->last_success = now - ago;
	u->last_full = now - ago - 3600;
	return u;
}

static void
setup(struct harness *h)
{
	static const char *const ips[BACKENDS] = { NULL, NULL, "127.0.0.2", "127.0.0.3" };
	struct repl *r = &h->r;
	struct repl_settings *s = &r->set;

	r->fifo_wfd = -1;
	s->base_dir = fuzz_dir();
	s->user = "";
	s->max_conns = 4;
	s->full_interval = 86400;
	s->dsync_params = "-d -N -l 30 -U";
	s->password = h->password ? "secret" : "";
	s->sync_timeout_ms = 30000;
	s->connect_timeout_ms = 5000;
	s->retry_min = 30;
	s->retry_max = 300;
	s->startup_rate = 10;
	s->startup_sync = 1;
	if ((r->loop = loop_new()) == NULL || (r->slots = calloc(s->max_conns, sizeof(*r->slots))) == NULL ||
	    (r->pairs = calloc(2, sizeof(*r->pairs))) == NULL)
		abort();
	r->npairs = 2;
	for (int b = 0; b < BACKENDS; b++) {
		struct repl_backend *be = &r->pairs[b / 2].b[b % 2];
		snprintf(h->path[b], sizeof(h->path[b]), "%s/doveadm-%d", fuzz_dir(), b);
		h->lfd[b] = listen_unix(h->path[b]);
		if (dvclient_backend_parse(be, h->path[b]) < 0)
			abort();
		/* the address a notification from this backend comes from (a UNIX backend has
		 * none in replicatord; set here so that matching a peer is exercised) */
		if (ips[b] != NULL && ip_parse(ips[b], &be->ip) < 0)
			abort();
	}
	h->fuzzed.fd = -1;
	user(r, "user1", 0, "AQAAAMkDhP6xs1Jm2V0AAJhkxJ8AAAAA", 60);
	user(r, "user2@example.org", 1, NULL, 600)->prio = PRIO_LOW;
	struct repl_user *u = user(r, "user3", 1, "AQAAAAEAAAA", 120);
	u->failed = 1;
	u->fails = 2;
	u->retry_at = loop_wall(r->loop) + 60;
}

static void
teardown(struct harness *h)
{
	struct repl *r = &h->r;
	/* repl_free() */
	loop_timer_cancel(r->loop, &r->kick);
	radmin_close_all(r);
	notify_close_all(r);
	dsync_abort_all(r);
	listing_abort_all(r);
	queue_free_all(r);
	for (size_t i = 0; i < r->npairs; i++) {
		dvclient_backend_free(&r->pairs[i].b[0]);
		dvclient_backend_free(&r->pairs[i].b[1]);
	}
	free(r->pairs);
	free(r->slots);
	loop_free(r->loop);
	for (size_t i = 0; i < h->nsrv; i++)
		if (h->srv[i].fd >= 0)
			close(h->srv[i].fd);
	if (h->fuzzed.fd >= 0)
		close(h->fuzzed.fd);
	for (int b = 0; b < BACKENDS; b++) {
		close(h->lfd[b]);
		unlink(h->path[b]);
	}
	buf_pool_drain();
}

void
fuzz_replicatord(enum fuzz_repl_role role, int password, size_t step, const uint8_t *data,
    size_t size)
{
	static struct harness h;
	static int logged;
	struct fuzz_side c = { .fd = -1 };
	int sv[2];

	if (!logged++)
		log_init("replicator", getenv("FUZZ_DEBUG") != NULL, 0);
	memset(&h, 0, sizeof(h));
	h.password = password;
	setup(&h);
	struct repl *r = &h.r;
	if (step == 0)
		step = 4096;

	if (role <= FUZZ_REPL_FIFO) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
			abort();
		c = (struct fuzz_side){ sv[1], data, size, step };
		struct ip_addr peer;
		switch (role) {
		case FUZZ_REPL_ADMIN:
			radmin_accept_fd(r, sv[0]);
			break;
		case FUZZ_REPL_NOTIFY:
			notify_accept_fd(r, sv[0], NULL, -1, -1);
			break;
		case FUZZ_REPL_NOTIFY_PEER:
			if (ip_parse("127.0.0.3", &peer) < 0)
				abort();
			notify_accept_fd(r, sv[0], &peer, -1, -1);
			break;
		case FUZZ_REPL_PLUGIN:
		case FUZZ_REPL_FIFO:
			notify_plugin_accept_fd(r, sv[0], role == FUZZ_REPL_FIFO);
			break;
		default:
			abort();
		}
	} else {
		/* the fuzzer is the first pair's initiator: the first connection to it */
		h.want_fuzzed = 1;
		h.fuzzed = (struct fuzz_side){ -1, data, size, step };
		if (role == FUZZ_REPL_LIST) {
			listing_start(r, "*", 1);
		} else {
			r->nslots = 1;
			if (dsync_start(r, 0, queue_find(r, "user1"), role == FUZZ_REPL_SYNC_FULL) < 0)
				abort();
		}
	}
	converse(&h, &c);
	if (c.fd >= 0) {
		shutdown(c.fd, SHUT_WR);
		converse(&h, &c);
		close(c.fd);
	}
	if (h.fuzzed.fd >= 0) {
		shutdown(h.fuzzed.fd, SHUT_WR);
		converse(&h, NULL);
	}
	teardown(&h);
}
