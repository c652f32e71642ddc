/* SPDX-License-Identifier: MIT */
/* applets/proxyd/proxyd.c: start-up of the login proxy: settings, passdb, listeners,
 * privilege drop, signals, then the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "applets/applets.h"
#include "applets/proxyd/admin.h"
#include "applets/proxyd/director.h"
#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/relay.h"
#include "applets/proxyd/settings.h"
#include "config.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/passdb.h"
#include "core/privdrop.h"
#include "core/str.h"

#define ACCEPT_BATCH		32
#define EMFILE_PAUSE_MS		1000

static const struct opt_cmd proxyd_cmd = {
	"proxyd", "[-dD] [-c FILE] [-o KEY=VALUE]...",
	MTOOL_PROXYD_SUMMARY, daemon_opts,
};

struct listener {
	struct proxyd *pd;
	const struct listener_set *set;
	struct loop_io io;
	struct loop_timer pause;
	int fd;
};

static void listener_accept(struct loop_io *, uint32_t, void *);

static void
listener_resume(struct loop_timer *t, void *arg)
{
	struct listener *l = arg;
	(void)t;
	loop_io_set(l->pd->loop, &l->io, EPOLLIN);
}

static void
listener_accept(struct loop_io *io, uint32_t events, void *arg)
{
	struct listener *l = arg;
	struct proxyd *pd = l->pd;
	(void)events;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer, local;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		int fd = accept4(io->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: stop accepting for a while instead of spinning */
				log_set_prefix("proxyd");
				log_warn("accept() on %s:%u", l->set->name, l->set->port);
				loop_io_set(pd->loop, io, 0);
				loop_timer_set(pd->loop, &l->pause, EMFILE_PAUSE_MS, listener_resume, l);
			}
			return;
		}
		if (pd->shutting_down || (pd->set->max_clients && pd->nclients >= pd->set->max_clients)) {
			close(fd);
			continue;
		}
		if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0) {
			close(fd);
			continue;
		}
		if (l->set->proto->accept)
			l->set->proto->accept(pd, fd, (struct sockaddr *)&peer, (struct sockaddr *)&local, l->set->ssl);
		else
			client_create(pd, l->set->proto, fd, (struct sockaddr *)&peer, (struct sockaddr *)&local, l->set->ssl);
	}
}

/* A UNIX socket listener (LMTP for Postfix's lmtp:unix:): a stale socket is replaced,
 * mode/user/group are applied before anyone can connect. */
static int
listener_bind_unix(const struct listener_set *ls, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	str_copy(sun.sun_path, ls->path, sizeof(sun.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	unlink(ls->path);
	mode_t old = umask(0777);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || chmod(ls->path, ls->mode) < 0)
		goto fail;
	if ((ls->uid != (uid_t)-1 || ls->gid != (gid_t)-1) && chown(ls->path, ls->uid, ls->gid) < 0)
		goto fail;
	if (listen(fd, 1024) < 0)
		goto fail;
	return fd;
fail:
	str_fmt(err, errlen, "listen(%s) for %s failed: %s", ls->path, ls->name, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
listener_bind(const struct listener_set *ls, char *err, size_t errlen)
{
	if (ls->path)
		return listener_bind_unix(ls, err, errlen);
	struct sockaddr_storage ss;
	socklen_t len;
	char ip[IP_ADDR_STRLEN];
	int one = 1;

	ip_to_sockaddr(&ls->ip, ls->port, &ss, &len);
	int fd = socket(ls->ip.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* accepted sockets inherit it: see relay_start() */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* "listen = *, ::" binds both families on the same port */
	if (ls->ip.family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0)
		goto fail;
	return fd;
fail:
	str_fmt(err, errlen, "listen(%s, %u) for %s failed: %s",
	    ip_format(&ls->ip, ip, sizeof(ip)), ls->port, ls->name, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static struct passdb_chain *
passdb_from_conf(const struct conf *conf, FILE *errf)
{
	struct passdb_chain *chain = passdb_chain_new();
	const struct conf_node *sec = NULL;
	int n = 0, errors = 0;

	if (chain == NULL)
		return NULL;
	while ((sec = conf_next_section(conf_root(conf), sec, "passdb")) != NULL) {
		const char *error = NULL;
		n++;
		if (passdb_chain_add(chain, conf_get(sec, "driver", ""), conf_get(sec, "args", ""),
		    conf_get(sec, "result_success", NULL), conf_get(sec, "result_failure", NULL),
		    conf_get(sec, "result_internalfail", NULL), &error) < 0) {
			fprintf(errf, "%s:%u: passdb: %s\n", sec->file, sec->line, error);
			errors++;
		}
	}
	if (n == 0) {
		fprintf(errf, "%s: no passdb { } section: proxyd needs one to know where users live\n",
		    conf_root(conf)->file);
		errors++;
	}
	if (errors) {
		passdb_chain_free(chain);
		return NULL;
	}
	return chain;
}

static void
on_term(int signo, void *arg)
{
	struct proxyd *pd = arg;
	log_set_prefix("proxyd");
	log_info("received signal %d, shutting down", signo);
	daemon_notify("STOPPING=1");
	pd->shutting_down = 1;
	client_destroy_all(pd);
	lmtp_destroy_all(pd);
	relay_shutdown_all(pd);
	loop_stop(pd->loop);
}

struct hup_ctx {
	struct proxyd *pd;
	const char *conf_path;
	char *const *overrides;
	size_t noverrides;
};

/* Certificates, keys and trust anchors are read again from the same files (they must be
 * readable by the user proxyd runs as now); new handshakes use them, established
 * sessions keep theirs. Anything wrong keeps the old ones. */
static void
on_hup(int signo, void *arg)
{
	struct hup_ctx *h = arg;
	struct proxyd_settings set;
	char err[512];
	(void)signo;
	memset(&set, 0, sizeof(set));
	log_set_prefix("proxyd");
	daemon_notify("RELOADING=1");
	/* the errors, "file:line: message" each, go to the log as they do at start-up */
	if (settings_load(&set, h->conf_path, h->overrides, h->noverrides, stderr) < 0) {
		log_errorx("SIGHUP: the configuration has errors (above); certificates not reloaded");
	} else if (proxyd_tls_load(h->pd, &set, err, sizeof(err)) < 0) {
		log_errorx("SIGHUP: certificates not reloaded: %s", err);
	} else {
		log_info("SIGHUP: certificates reloaded; passwd-file passdbs reload by themselves when their file changes; other settings need a restart");
	}
	settings_free(&set);
	daemon_notify("READY=1");
}

int
proxyd_main(int argc, char **argv)
{
	struct daemon_args args;
	struct proxyd_settings set;
	struct proxyd pd = { 0 };
	char err[512];

	daemon_parse_args(argc, argv, &proxyd_cmd, &args);
	log_init("proxyd", args.debug, 0);
	/* every configuration error is reported before giving up, the passdb's too */
	int bad = settings_load(&set, args.conf_path, args.overrides, args.noverrides, stderr) < 0;
	pd.set = &set;
	if (set.conf != NULL)
		pd.passdb = passdb_from_conf(set.conf, stderr);
	if (bad || pd.passdb == NULL) {
		fprintf(stderr, "proxyd: not started: fix the configuration above\n");
		passdb_chain_free(pd.passdb);
		settings_free(&set);
		free(args.overrides);
		return 1;
	}
	if (log_open("proxyd", conf_get(conf_root(set.conf), "log_path", ""), args.debug) < 0) {
		fprintf(stderr, "proxyd: cannot open log_path: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* every session takes two descriptors: use all the hard limit allows */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	pd.loop = loop_new();
	if (getrandom(&pd.guid_prefix, sizeof(pd.guid_prefix), 0) != sizeof(pd.guid_prefix))
		pd.guid_prefix = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);

	struct listener *ls = calloc(set.nlisteners, sizeof(*ls));
	if (ls == NULL)
		fatalx("out of memory");
	for (unsigned int i = 0; i < set.nlisteners; i++) {
		ls[i].pd = &pd;
		ls[i].set = &set.listeners[i];
		ls[i].fd = listener_bind(&set.listeners[i], err, sizeof(err));
		if (ls[i].fd < 0)
			fatalx("%s", err);
	}
	/* admin sockets, before privileges go: base_dir may belong to root; the LMTP spool
	 * belongs to the user the sessions run as */
	daemon_mkdir(set.base_dir, 0755, NULL);
	daemon_mkdir(set.mail_temp_dir, 0700, set.default_login_user);
	struct admin_socket_set ipc = { set.ipc.path, set.ipc.mode, set.ipc.uid, set.ipc.gid };
	struct admin_socket_set anvil = { set.anvil.path, set.anvil.mode, set.anvil.uid, set.anvil.gid };
	if (admin_open(&pd, &ipc, &anvil, stderr) < 0)
		fatalx("cannot create the admin sockets in base_dir %s", set.base_dir);
	if (proxyd_tls_load(&pd, &set, err, sizeof(err)) < 0) {
		fprintf(stderr, "proxyd: %s\nproxyd: not started: fix the configuration above\n", err);
		return 1;
	}
	char pidfile[PATH_MAX];
	if (str_fmt(pidfile, sizeof(pidfile), "%s/proxyd.pid", set.base_dir) >= sizeof(pidfile))
		fatalx("base_dir too long");
	if (args.background && daemon_background(pidfile) < 0)
		fatal("fork");
	if (privdrop(set.default_login_user, err, sizeof(err)) < 0)
		fatalx("default_login_user: %s", err);
	for (unsigned int i = 0; i < set.nlisteners; i++)
		if (loop_io_add(pd.loop, &ls[i].io, ls[i].fd, EPOLLIN, listener_accept, &ls[i]) < 0)
			fatal("epoll_ctl");
	if (admin_start(&pd) < 0)
		fatal("epoll_ctl");
	if (director_init(&pd) < 0)
		fatalx("out of memory");
	loop_signal(pd.loop, SIGTERM, on_term, &pd);
	loop_signal(pd.loop, SIGINT, on_term, &pd);
	struct hup_ctx hup = { &pd, args.conf_path, args.overrides, args.noverrides };
	loop_signal(pd.loop, SIGHUP, on_hup, &hup);

	for (unsigned int i = 0; i < set.nlisteners; i++) {
		char ip[IP_ADDR_STRLEN];
		if (set.listeners[i].path)
			log_info("%s: listening on %s", set.listeners[i].proto->name, set.listeners[i].path);
		else
			log_info("%s: listening on %s port %u", set.listeners[i].proto->name,
			    ip_format(&set.listeners[i].ip, ip, sizeof(ip)), set.listeners[i].port);
	}
	log_info("mtool %s proxyd started (pid %d)", MTOOL_VERSION, (int)getpid());
	daemon_started(pd.loop);
	int r = loop_run(pd.loop);

	for (unsigned int i = 0; i < set.nlisteners; i++) {
		loop_io_del(pd.loop, &ls[i].io);
		close(ls[i].fd);
		if (set.listeners[i].path)
			unlink(set.listeners[i].path);
	}
	free(ls);
	admin_close(&pd);
	director_close(&pd);
	loop_free(pd.loop);
	passdb_chain_free(pd.passdb);
	proxyd_tls_free(&pd);
	settings_free(&set);
	free(args.overrides);
	buf_pool_drain();
	return r < 0 ? 1 : 0;
}
