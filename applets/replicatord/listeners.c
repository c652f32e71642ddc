/* SPDX-License-Identifier: MIT */
/* applets/replicatord/listeners.c: the sockets of `service replicator` (and of `service
 * aggregator`'s replication-notify, when configured), routed as Dovecot routes them: a
 * listener named exactly replicator-doveadm speaks the doveadm protocol, every other
 * listener of service replicator the aggregator's notify protocol. Bound before the
 * privilege drop; UNIX sockets get the configured mode and owner. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "applets/replicatord/replicatord.h"
#include "core/conf.h"
#include "core/dline.h"
#include "core/listen.h"
#include "core/log.h"
#include "core/privdrop.h"
#include "core/str.h"

enum listener_kind { L_ADMIN, L_NOTIFY, L_PLUGIN };

struct listener {
	struct listener *next;
	struct repl *r;
	struct loop_io io;
	enum listener_kind kind;
	int pair, side;			/* notify: the backend it serves (backend =), or -1 */
	char path[256];			/* UNIX: unlinked at exit */
};

static void
on_accept(struct loop_io *io, uint32_t events, void *arg)
{
	struct listener *l = arg;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct ip_addr peer = { 0 };
	(void)events;
	int fd = accept4(io->fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	ip_from_sockaddr((struct sockaddr *)&ss, &peer, NULL);
	switch (l->kind) {
	case L_ADMIN: radmin_accept_fd(l->r, fd); break;
	case L_NOTIFY: notify_accept_fd(l->r, fd, &peer, l->pair, l->side); break;
	case L_PLUGIN: notify_plugin_accept_fd(l->r, fd, 0); break;
	}
}

static int
add(struct repl *r, int fd, enum listener_kind kind, const char *path, FILE *errf)
{
	struct listener *l = calloc(1, sizeof(*l));
	if (l == NULL || loop_io_add(r->loop, &l->io, fd, EPOLLIN, on_accept, l) < 0) {
		fprintf(errf, "replicatord: cannot watch a listener: %s\n", strerror(errno));
		free(l);
		close(fd);
		return -1;
	}
	l->r = r;
	l->kind = kind;
	l->pair = l->side = -1;
	if (path)
		str_copy(l->path, path, sizeof(l->path));
	l->next = r->listeners;
	r->listeners = l;
	return 0;
}

static int
owner(const struct conf_node *n, uid_t *uid, gid_t *gid, int group, FILE *errf)
{
	char err[200];
	uid_t u;
	gid_t g;
	if (n == NULL || n->value[0] == '\0')
		return 0;
	if (privdrop_lookup(n->value, &u, &g, err, sizeof(err)) < 0) {
		fprintf(errf, "%s:%u: %s: %s\n", n->file, n->line, n->key, err);
		return -1;
	}
	if (group)
		*gid = g;
	else {
		*uid = u;
		*gid = g;
	}
	return 0;
}

/* mode = octal of a unix_listener or fifo_listener block, into *mode when set */
static int
parse_mode(const struct conf_node *l, mode_t *mode, FILE *errf)
{
	const struct conf_node *n = l != NULL ? conf_find(l, "mode") : NULL;
	char *end;
	if (n == NULL)
		return 0;
	unsigned long m = strtoul(n->value, &end, 8);
	if (n->value[0] == '\0' || *end != '\0' || m > 0777) {
		fprintf(errf, "%s:%u: mode: '%s' is not an octal mode (e.g. 0600)\n", n->file,
		    n->line, n->value);
		return -1;
	}
	*mode = (mode_t)m;
	return 0;
}

static int
open_unix(struct repl *r, const struct conf_node *l, const char *name, mode_t mode,
    const char *def_user, enum listener_kind kind, FILE *errf)
{
	char path[256];
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (name[0] == '/')
		str_copy(path, name, sizeof(path));
	else if (str_fmt(path, sizeof(path), "%s/%s", r->set.base_dir, name) >= sizeof(path)) {
		fprintf(errf, "replicatord: unix_listener %s: path too long\n", name);
		return -1;
	}
	if (parse_mode(l, &mode, errf) < 0)
		return -1;
	/* mode 0: no socket, as Dovecot's master makes none */
	if (mode == 0)
		return 0;
	if (def_user != NULL && geteuid() == 0) {
		struct conf_node d = { .key = "default_internal_user", .value = def_user,
			.file = "default" };
		if (owner(&d, &uid, &gid, 0, errf) < 0)
			return -1;
	}
	if (l != NULL && (owner(conf_find(l, "user"), &uid, &gid, 0, errf) < 0 ||
	    owner(conf_find(l, "group"), &uid, &gid, 1, errf) < 0))
		return -1;
	char err[128];
	int fd = listen_unix(path, mode, uid, gid, 128, err, sizeof(err));
	if (fd < 0) {
		fprintf(errf, "replicatord: cannot listen on %s: %s\n", path, err);
		return -1;
	}
	return add(r, fd, kind, path, errf);
}

static int
open_inet(struct repl *r, const struct conf_node *l, enum listener_kind kind, FILE *errf)
{
	const struct conf_node *pn = conf_find(l, "port");
	unsigned long long port;
	struct ip_addr ip;
	const char *addr = conf_get(l, "address", "127.0.0.1");

	if (pn == NULL) {
		fprintf(errf, "%s:%u: inet_listener %s: port is not set\n", l->file, l->line,
		    l->name ? l->name : "");
		return -1;
	}
	if (conf_parse_uint(pn, 65535, &port, errf) < 0)
		return -1;
	if (port == 0)
		return 0;
	if (ip_parse(addr, &ip) < 0) {
		fprintf(errf, "%s:%u: inet_listener %s: address '%s' is not an IP address "
		    "(one address; no host names)\n", l->file, l->line, l->name ? l->name : "", addr);
		return -1;
	}
	/* backend = the doveadm server (as in replicator_pairs) whose aggregator is pointed at
	 * this listener: its notifications are known to come from that side even when the
	 * source address says nothing (NAT, one host) */
	const struct conf_node *bn = conf_find(l, "backend");
	int pair = -1, side = -1;
	for (size_t i = 0; bn != NULL && i < r->npairs && pair < 0; i++)
		for (int k = 0; k < 2; k++)
			if (strcmp(r->pairs[i].b[k].spec, bn->value) == 0) {
				pair = (int)i;
				side = k;
			}
	if (bn != NULL && (pair < 0 || kind != L_NOTIFY)) {
		fprintf(errf, "%s:%u: backend: '%s' is not a backend of replicator_pairs (or the "
		    "listener is not a notify listener)\n", bn->file, bn->line, bn->value);
		return -1;
	}
	char err[128];
	int fd = listen_tcp(&ip, (unsigned int)port, 128, 0, err, sizeof(err));
	if (fd < 0) {
		fprintf(errf, "replicatord: cannot listen on %s:%llu: %s\n", addr, port, err);
		return -1;
	}
	if (add(r, fd, kind, NULL, errf) < 0)
		return -1;
	r->listeners->pair = pair;
	r->listeners->side = side;
	return 0;
}

/* fifo_listener replication-notify-fifo: the plugin writes "<user>\t<prio>" lines to it */
static int
open_fifo(struct repl *r, const struct conf_node *l, FILE *errf)
{
	char path[256];
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	mode_t mode = 0600;

	if (str_fmt(path, sizeof(path), "%s/%s", r->set.base_dir, l->name) >= sizeof(path)) {
		fprintf(errf, "replicatord: fifo_listener %s: path too long\n", l->name);
		return -1;
	}
	if (parse_mode(l, &mode, errf) < 0)
		return -1;
	if (mode == 0)
		return 0;
	if (owner(conf_find(l, "user"), &uid, &gid, 0, errf) < 0 ||
	    owner(conf_find(l, "group"), &uid, &gid, 1, errf) < 0)
		return -1;
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISFIFO(st.st_mode)) {
		fprintf(errf, "replicatord: %s exists and is not a FIFO\n", path);
		return -1;
	}
	if ((mkfifo(path, mode) < 0 && errno != EEXIST) || chmod(path, mode) < 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) < 0)) {
		fprintf(errf, "replicatord: cannot make the FIFO %s: %s\n", path, strerror(errno));
		return -1;
	}
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || (r->fifo_wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		fprintf(errf, "replicatord: cannot open the FIFO %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	notify_plugin_accept_fd(r, fd, 1);
	return 0;
}

static const struct conf_node *
service(const struct conf *c, const char *name)
{
	const struct conf_node *s = NULL, *found = NULL;
	while ((s = conf_next_section(conf_root(c), s, "service")) != NULL)
		if (s->name != NULL && strcmp(s->name, name) == 0)
			found = s;
	return found;
}

static const struct conf_node *
unix_listener(const struct conf_node *svc, const char *name)
{
	const struct conf_node *l = NULL, *found = NULL;
	while (svc != NULL && (l = conf_next_section(svc, l, "unix_listener")) != NULL)
		if (l->name != NULL && strcmp(l->name, name) == 0)
			found = l;
	return found;
}

int
listeners_open(struct repl *r, FILE *errf)
{
	const struct conf_node *svc = service(r->conf, "replicator"), *l = NULL;
	int bad = 0;

	/* replicator-doveadm: root's (whoever starts replicatord); replicator: the
	 * aggregator's, which runs as default_internal_user */
	bad |= open_unix(r, unix_listener(svc, "replicator-doveadm"), "replicator-doveadm",
	    0600, NULL, L_ADMIN, errf) < 0;
	bad |= open_unix(r, unix_listener(svc, "replicator"), "replicator", 0600, r->set.user,
	    L_NOTIFY, errf) < 0;
	while (svc != NULL && (l = conf_next_section(svc, l, "unix_listener")) != NULL) {
		if (l->name == NULL || strcmp(l->name, "replicator-doveadm") == 0 ||
		    strcmp(l->name, "replicator") == 0)
			continue;
		bad |= open_unix(r, l, l->name, 0600, r->set.user, L_NOTIFY, errf) < 0;
	}
	l = NULL;
	while (svc != NULL && (l = conf_next_section(svc, l, "inet_listener")) != NULL)
		bad |= open_inet(r, l, l->name && strcmp(l->name, "replicator-doveadm") == 0 ?
		    L_ADMIN : L_NOTIFY, errf) < 0;
	/* the plugin's own socket, only when asked for: on a backend it is its aggregator's */
	const struct conf_node *agg = unix_listener(service(r->conf, "aggregator"),
	    "replication-notify");
	if (agg != NULL)
		bad |= open_unix(r, agg, "replication-notify", 0600, NULL, L_PLUGIN, errf) < 0;
	const struct conf_node *fifo = NULL, *asvc = service(r->conf, "aggregator");
	while (asvc != NULL && (fifo = conf_next_section(asvc, fifo, "fifo_listener")) != NULL)
		if (fifo->name != NULL && strcmp(fifo->name, "replication-notify-fifo") == 0)
			bad |= open_fifo(r, fifo, errf) < 0;
	return bad ? -1 : 0;
}

void
listeners_close(struct repl *r)
{
	if (r->fifo_wfd >= 0)
		close(r->fifo_wfd);
	r->fifo_wfd = -1;
	while (r->listeners) {
		struct listener *l = r->listeners;
		r->listeners = l->next;
		int fd = l->io.fd;
		loop_io_del(r->loop, &l->io);
		close(fd);
		if (l->path[0])
			unlink(l->path);
		free(l);
	}
}
