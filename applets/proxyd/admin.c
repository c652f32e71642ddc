/* SPDX-License-Identifier: MIT */
/* applets/proxyd/admin.c: the admin sockets' listeners and Dovecot's ipc protocol
 * (protocols.md §1): "proxy\t*\tLIST-FULL", KICK, KICK-ALT, KICK-HOST. Dovecot runs a
 * separate ipc process that fans a request out to every login process and stitches the
 * answers; proxyd answers for itself, so there is one header row and the kick count is
 * the whole count (Dovecot's per-process header rows and last-process counts are bugs we
 * do not copy: docs/proxyd.8.md, ADMIN SOCKETS). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "applets/proxyd/admin.h"
#include "applets/proxyd/admin_int.h"
#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/sessions.h"
#include "config.h"
#include "core/dline.h"
#include "core/listen.h"
#include "core/log.h"
#include "core/peercred.h"
#include "core/str.h"
#include "core/tab.h"

static const struct dline_set ipc_set = { NULL, NULL, 0, DLINE_MAX };

/* ---- ipc ---- */

struct ipc_list_ctx {
	struct dline_conn *d;
	const char *const *keys;
	unsigned int nkeys;
};

static void
ipc_list_row(const struct sessions_view *s, void *arg)
{
	struct ipc_list_ctx *l = arg;
	struct strbuf sb;
	strbuf_init(&sb, DLINE_MAX * 4);
	strbuf_putc(&sb, ':');
	tab_escape(&sb, s->user);
	for (unsigned int i = 0; i < l->nkeys; i++) {
		const char *v = sessions_alt(s, l->keys[i]);
		strbuf_putc(&sb, '\t');
		tab_escape(&sb, v ? v : "");
	}
	strbuf_printf(&sb, "\t%s\t%s\t%s\t%u", s->proto, s->rip, s->dest_ip, s->dest_port);
	if (!sb.error)
		dline_send_raw(l->d, sb.s);
	strbuf_free(&sb);
}

static void
ipc_list(struct dline_conn *d, struct proxyd *pd)
{
	struct ipc_list_ctx l = { d, NULL, 0 };
	struct strbuf sb;

	l.keys = sessions_alt_keys(pd, &l.nkeys);
	strbuf_init(&sb, DLINE_MAX);
	strbuf_puts(&sb, ":username");
	for (unsigned int i = 0; i < l.nkeys; i++) {
		strbuf_putc(&sb, '\t');
		tab_escape(&sb, l.keys[i]);
	}
	strbuf_puts(&sb, "\tservice\tsrc-ip\tdest-ip\tdest-port");
	dline_send_raw(d, sb.s);
	strbuf_free(&sb);
	sessions_each(pd, ipc_list_row, &l);
	dline_send_raw(d, "+");
}

static void
ipc_kick(struct dline_conn *d, struct proxyd *pd, char **f, size_t n)
{
	struct sessions_match m = { SESSIONS_BY_USER, NULL, (const char *const *)f + 1, n - 1, NULL };
	char reply[32];

	if (strcmp(f[0], "KICK-ALT") == 0) {
		if (n < 2) {
			dline_send_raw(d, "-Missing parameter");
			return;
		}
		m.by = SESSIONS_BY_ALT;
		m.field = f[1];
		m.values = (const char *const *)f + 2;
		m.nvalues = n - 2;
		if (!sessions_alt_key_known(pd, m.field)) {
			dline_send_raw(d, "+0");
			return;
		}
	} else if (strcmp(f[0], "KICK-HOST") == 0) {
		m.by = SESSIONS_BY_HOST;
	}
	if (m.nvalues == 0) {
		dline_send_raw(d, "-Missing parameter");
		return;
	}
	unsigned int kicked = sessions_kick(pd, &m, "Kicked by admin");
	log_set_prefix("proxyd");
	log_info("ipc: %s: %u connections kicked", f[0], kicked);
	str_fmt(reply, sizeof(reply), "+%u", kicked);
	dline_send_raw(d, reply);
}

/* "GROUP\tTARGET\tCOMMAND\t..." from doveadm, answered as Dovecot's ipc service does. */
static void
ipc_line(struct dline_conn *d, char **f, size_t n, void *arg)
{
	struct proxyd *pd = ((struct admin_conn *)arg)->pd;
	long long id;
	const char *err;

	if (n < 3 || f[2][0] == '\0') {
		dline_send_raw(d, "-Invalid input");
		return;
	}
	int all = strcmp(f[1], "*") == 0;
	if (!all && str_to_num(f[1], 1, 0x7fffffff, &id, &err) < 0) {
		char reply[DLINE_MAX];
		str_fmt(reply, sizeof(reply), "-Invalid IPC connection id: %s", f[1]);
		dline_send_raw(d, reply);
		return;
	}
	if (strcmp(f[0], "proxy") != 0) {
		char reply[DLINE_MAX];
		if (all)
			dline_send_raw(d, "+");
		else {
			str_fmt(reply, sizeof(reply), "-Unknown IPC group: %s", f[0]);
			dline_send_raw(d, reply);
		}
		return;
	}
	/* this process is connection 1 of the group */
	if (!all && id != 1) {
		char reply[64];
		str_fmt(reply, sizeof(reply), "-Unknown IPC connection id: %lld", id);
		dline_send_raw(d, reply);
		return;
	}
	f += 2;
	n -= 2;
	if (strcmp(f[0], "LIST-FULL") == 0)
		ipc_list(d, pd);
	else if (strcmp(f[0], "KICK") == 0 || strcmp(f[0], "KICK-ALT") == 0 || strcmp(f[0], "KICK-HOST") == 0)
		ipc_kick(d, pd, f, n);
	else
		dline_send_raw(d, "-Unknown command");
}

static void
admin_conn_unlink(struct admin_conn *ac)
{
	struct admin *a = ac->pd->admin;
	if (ac->prev)
		ac->prev->next = ac->next;
	else
		a->conns = ac->next;
	if (ac->next)
		ac->next->prev = ac->prev;
	free(ac);
}

static void
admin_conn_closed(struct dline_conn *d, const char *reason, void *arg)
{
	(void)d;
	if (strcmp(reason, "Disconnected") != 0) {
		log_set_prefix("proxyd");
		log_warnx("admin connection: %s", reason);
	}
	admin_conn_unlink(arg);
}

struct admin_conn *
admin_conn_new(struct proxyd *pd, int fd, const struct dline_set *set,
    void (*line)(struct dline_conn *, char **, size_t, void *))
{
	struct admin *a = pd->admin;
	struct admin_conn *ac = calloc(1, sizeof(*ac));
	if (ac == NULL) {
		close(fd);
		return NULL;
	}
	ac->pd = pd;
	ac->d = dline_conn_new(pd->loop, fd, set, line, admin_conn_closed, ac);
	if (ac->d == NULL) {
		free(ac);
		return NULL;
	}
	ac->next = a->conns;
	if (ac->next)
		ac->next->prev = ac;
	a->conns = ac;
	return ac;
}

void
admin_conn_close(struct admin_conn *ac)
{
	dline_conn_free(ac->d);
	admin_conn_unlink(ac);
}

static void
admin_accept(struct loop_io *io, uint32_t events, void *arg)
{
	struct admin_listener *l = arg;
	(void)events;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct peercred pc;
		if (!peercred_allowed(fd, l->mode, l->uid, l->gid, &pc)) {
			log_set_prefix("proxyd");
			log_warnx("%s: refused a connection from uid %u (pid %d): the socket's mode does not allow it (docs/sockets.md)",
			    l->path, (unsigned int)pc.uid, (int)pc.pid);
			close(fd);
			continue;
		}
		l->accept(l->pd, fd);
	}
}

static void
ipc_accept(struct proxyd *pd, int fd)
{
	admin_conn_new(pd, fd, &ipc_set, ipc_line);
}

static int
listener_open(struct admin_listener *l, struct proxyd *pd, const struct admin_socket_set *set,
    void (*accept)(struct proxyd *, int), FILE *errf)
{
	l->pd = pd;
	l->path = set->path;
	l->mode = set->mode;
	l->uid = set->uid == (uid_t)-1 ? geteuid() : set->uid;
	l->gid = set->gid == (gid_t)-1 ? getegid() : set->gid;
	l->accept = accept;
	l->io.fd = -1;
	char err[128];
	l->fd = listen_unix(set->path, set->mode, set->uid, set->gid, 128, err, sizeof(err));
	if (l->fd < 0) {
		fprintf(errf, "proxyd: cannot listen on %s: %s\n", set->path, err);
		return -1;
	}
	return 0;
}

int
admin_open(struct proxyd *pd, const struct admin_socket_set *ipc, const struct admin_socket_set *anvil,
    const struct admin_socket_set *authm, FILE *errf)
{
	struct admin *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -1;
	pd->admin = a;
	a->ipc.fd = a->anvil.fd = a->authm.fd = -1;
	if (ipc && listener_open(&a->ipc, pd, ipc, ipc_accept, errf) < 0)
		return -1;
	if (anvil && listener_open(&a->anvil, pd, anvil, anvil_accept, errf) < 0)
		return -1;
	if (authm && listener_open(&a->authm, pd, authm, authmaster_accept, errf) < 0)
		return -1;
	return 0;
}

int
admin_start(struct proxyd *pd)
{
	struct admin *a = pd->admin;
	struct admin_listener *ls[] = { &a->ipc, &a->anvil, &a->authm };
	for (size_t i = 0; i < 3; i++)
		if (ls[i]->fd >= 0 && loop_io_add(pd->loop, &ls[i]->io, ls[i]->fd, EPOLLIN, admin_accept, ls[i]) < 0)
			return -1;
	return 0;
}

void
admin_close(struct proxyd *pd)
{
	struct admin *a = pd->admin;
	if (a == NULL)
		return;
	struct admin_listener *ls[] = { &a->ipc, &a->anvil, &a->authm };
	for (size_t i = 0; i < 3; i++) {
		if (ls[i]->fd < 0)
			continue;
		loop_io_del(pd->loop, &ls[i]->io);
		close(ls[i]->fd);
		unlink(ls[i]->path);
	}
	while (a->conns)
		admin_conn_close(a->conns);
	free(a);
	pd->admin = NULL;
}
