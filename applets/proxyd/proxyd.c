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
#include "applets/proxyd/haproxy_accept.h"
#include "applets/proxyd/limits.h"
#include "applets/proxyd/loginlog.h"
#include "applets/proxyd/penalty.h"
#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/relay.h"
#include "applets/proxyd/sessions.h"
#include "applets/proxyd/settings.h"
#include "applets/proxyd/title.h"
#include "applets/proxyd/stats.h"
#include "config.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/http.h"
#include "core/listen.h"
#include "core/dns.h"
#include "core/log.h"
#include "core/logconf.h"
#include "core/passdb.h"
#include "core/peercred.h"
#include "core/privdrop.h"
#include "core/proctitle.h"
#include "core/str.h"

#define ACCEPT_BATCH		32
#define EMFILE_PAUSE_MS		1000

static const struct opt_cmd proxyd_cmd = {
	"proxyd", "[-dDn] [-c FILE] [-o KEY=VALUE]...",
	MTOOL_PROXYD_SUMMARY, daemon_opts,
};

struct listener {
	struct proxyd *pd;
	const struct listener_set *set;
	struct loop_io io;
	struct loop_timer pause;
	int fd;
	uid_t owner;		/* a UNIX listener's file owner and group (docs/sockets.md) */
	gid_t group;
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
		struct peercred cred;
		if (l->set->path && !peercred_allowed(fd, l->set->mode, l->owner, l->group, &cred)) {
			log_set_prefix("proxyd");
			log_warnx("%s: refused a connection from uid %u (pid %d): the socket's mode does not allow it (docs/sockets.md)",
			    l->set->path, (unsigned int)cred.uid, (int)cred.pid);
			close(fd);
			continue;
		}
		if (l->set->haproxy)
			haproxy_accept_start(pd, l->set, fd, (struct sockaddr *)&peer, (struct sockaddr *)&local);
		else
			proxyd_admit(pd, l->set, fd, (struct sockaddr *)&peer, (struct sockaddr *)&local,
			    l->set->ssl ? CLIENT_TLS : 0);
	}
}

void
proxyd_admit(struct proxyd *pd, const struct listener_set *ls, int fd, const struct sockaddr *peer,
    const struct sockaddr *local, int how)
{
	if (!limits_admit(pd, ls->proto, fd, peer, ls->ssl))
		return;
	if (ls->proto->accept)
		ls->proto->accept(pd, fd, peer, local, ls->ssl);
	else
		client_create(pd, ls->proto, fd, peer, local, how);
}

/* A UNIX socket listener (LMTP for Postfix's lmtp:unix:) or a TCP one; TCP_NODELAY is
 * inherited by the accepted sockets (see relay_start()), and "listen = *, ::" binds both
 * families on the same port. */
static int
listener_bind(const struct listener_set *ls, char *err, size_t errlen)
{
	char why[160], ip[IP_ADDR_STRLEN];
	int fd;

	if (ls->path) {
		fd = listen_unix(ls->path, ls->mode, ls->uid, ls->gid, 1024, why, sizeof(why));
		if (fd < 0)
			str_fmt(err, errlen, "listen(%s) for %s failed: %s", ls->path, ls->name, why);
		return fd;
	}
	fd = listen_tcp(&ls->ip, ls->port, 1024, LISTEN_NODELAY | LISTEN_V6ONLY, why, sizeof(why));
	if (fd < 0)
		str_fmt(err, errlen, "listen(%s, %u) for %s failed: %s",
		    ip_format(&ls->ip, ip, sizeof(ip)), ls->port, ls->name, why);
	return fd;
}

/* The login name as Dovecot's auth makes it (auth_username_format defaults to %Lu, so a
 * mixed-case login finds the same passdb entry as under Dovecot). Returns the errors. */
static int
passdb_username_from_conf(struct passdb_chain *chain, const struct conf *conf, FILE *errf)
{
	const struct conf_node *root = conf_root(conf), *fmt = conf_find(root, "auth_username_format");
	const char *error;

	passdb_chain_set_username_chars(chain, conf_get(root, "auth_username_chars",
	    PASSDB_USERNAME_CHARS));
	if (passdb_chain_set_username(chain, conf_get(root, "auth_username_translation", ""),
	    fmt != NULL ? fmt->value : "%Lu", conf_get(root, "auth_default_realm", ""),
	    conf_get(root, "auth_master_user_separator", ""), &error) == 0)
		return 0;
	fprintf(errf, "%s:%u: auth_username_format: %s\n", fmt != NULL ? fmt->file : root->file,
	    fmt != NULL ? fmt->line : 0, error);
	return 1;
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
		    conf_get(sec, "result_internalfail", NULL), &error) < 0 ||
		    passdb_chain_set_fields(chain, conf_get(sec, "default_fields", NULL),
		    conf_get(sec, "override_fields", NULL), &error) < 0) {
			fprintf(errf, "%s:%u: passdb: %s\n", sec->file, sec->line, error);
			errors++;
		}
	}
	errors += passdb_username_from_conf(chain, conf, errf);
	/* Dovecot's auth cache: off unless auth_cache_size is set */
	static const char *const cache_keys[] = {
		"auth_cache_size", "auth_cache_ttl", "auth_cache_negative_ttl",
	};
	unsigned long long cache_val[3] = { 0, 3600000, 3600000 };
	for (int i = 0; i < 3; i++) {
		const struct conf_node *cn = conf_find(conf_root(conf), cache_keys[i]);
		if (cn != NULL && (i == 0 ? conf_parse_size_string(cn->value, &cache_val[i]) :
		    conf_parse_time_string_ms(cn->value, &cache_val[i])) < 0) {
			fprintf(errf, "%s:%u: %s: invalid value %s\n", cn->file, cn->line,
			    cache_keys[i], cn->value);
			errors++;
		}
	}
	if (passdb_chain_set_cache(chain, (size_t)cache_val[0], (unsigned int)(cache_val[1] / 1000),
	    (unsigned int)(cache_val[2] / 1000)) < 0) {
		fprintf(errf, "proxyd: out of memory for auth_cache_size\n");
		errors++;
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

/* SIGTERM: listeners close first, so that a new proxyd can take the ports and sockets at
 * once; pre-login clients get Dovecot's "Shutting down" in their protocol. Proxied
 * sessions end with a log line each (shutdown_clients = yes), or are left to finish
 * (no): the process exits when the last one ends, or after shutdown_clients_timeout. A
 * second SIGTERM ends them at once. */
struct term_ctx {
	struct proxyd *pd;
	struct listener *ls;
	unsigned int nls;
	struct loop_timer drain;
	uint64_t deadline;
};

#define DRAIN_CHECK_MS	200

static void
listeners_close(struct proxyd *pd, struct listener *ls, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (ls[i].fd < 0)
			continue;
		loop_timer_cancel(pd->loop, &ls[i].pause);
		loop_io_del(pd->loop, &ls[i].io);
		close(ls[i].fd);
		ls[i].fd = -1;
		if (ls[i].set->path)
			unlink(ls[i].set->path);
	}
}

static void
drain_check(struct loop_timer *t, void *arg)
{
	struct term_ctx *tc = arg;
	struct proxyd *pd = tc->pd;
	(void)t;
	if (pd->nrelays > 0 && loop_now(pd->loop) < tc->deadline) {
		loop_timer_set(pd->loop, &tc->drain, DRAIN_CHECK_MS, drain_check, tc);
		return;
	}
	if (pd->nrelays > 0) {
		log_set_prefix("proxyd");
		log_info("shutdown_clients_timeout reached: ending the %u proxied sessions left", pd->nrelays);
	}
	relay_shutdown_all(pd);
	loop_stop(pd->loop);
}

static void
on_term(int signo, void *arg)
{
	struct term_ctx *tc = arg;
	struct proxyd *pd = tc->pd;
	log_set_prefix("proxyd");
	log_info("received signal %d, shutting down", signo);
	if (pd->shutting_down) {
		loop_timer_cancel(pd->loop, &tc->drain);
		relay_shutdown_all(pd);
		loop_stop(pd->loop);
		return;
	}
	daemon_notify("STOPPING=1");
	pd->shutting_down = 1;
	listeners_close(pd, tc->ls, tc->nls);
	haproxy_accept_close_all(pd);
	admin_close(pd);
	client_destroy_all(pd);
	lmtp_destroy_all(pd);
	if (pd->set->shutdown_clients || pd->nrelays == 0) {
		relay_shutdown_all(pd);
		loop_stop(pd->loop);
		return;
	}
	log_set_prefix("proxyd");
	log_info("shutdown_clients = no: %u proxied sessions are left to finish (for at most %u secs, shutdown_clients_timeout)",
	    pd->nrelays, pd->set->shutdown_clients_timeout_ms / 1000);
	tc->deadline = loop_now(pd->loop) + pd->set->shutdown_clients_timeout_ms;
	loop_timer_set(pd->loop, &tc->drain, DRAIN_CHECK_MS, drain_check, tc);
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
	struct http_listen_set stats_set;
	char err[512];

	/* before anything keeps a pointer into argv: verbose_proctitle writes over it */
	(void)proctitle_init(argc, argv);
	daemon_parse_args(argc, argv, &proxyd_cmd, &args);
	log_init("proxyd", args.debug, 0);
	/* every configuration error is reported before giving up, the passdb's too */
	int bad = settings_load(&set, args.conf_path, args.overrides, args.noverrides, stderr) < 0;
	pd.set = &set;
	if (set.conf != NULL) {
		pd.passdb = passdb_from_conf(set.conf, stderr);
		bad |= http_conf(set.conf, conf_get(conf_root(set.conf), "listen", "*, ::"), &stats_set, stderr) < 0;
	}
	if (!bad && pd.passdb != NULL && args.check) {
		conf_known_dump(set.conf, &set.unused, "proxyd", stdout);
		passdb_chain_free(pd.passdb);
		settings_free(&set);
		free(args.overrides);
		return 0;
	}
	if (bad || pd.passdb == NULL) {
		fprintf(stderr, "proxyd: %s: fix the configuration above\n", args.check ?
		    "configuration errors" : "not started");
		passdb_chain_free(pd.passdb);
		settings_free(&set);
		free(args.overrides);
		return 1;
	}
	if (logconf_open("proxyd", set.conf, args.debug, stderr) < 0 ||
	    loginlog_configure(set.conf, stderr) < 0)
		return 1;
	conf_known_log_unused(&set.unused, "proxyd");
	signal(SIGPIPE, SIG_IGN);
	/* every session takes two descriptors: use all the hard limit allows */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	pd.loop = loop_new();
	/* read now, with the privileges the files may need; a file that cannot be read is
	 * one without entries */
	if ((pd.dns = dns_new(pd.loop, set.resolv_conf, set.hosts_file)) == NULL)
		log_fatalx("out of memory");
	if (limits_init(&pd) < 0)
		log_fatalx("out of memory");
	if (getrandom(&pd.guid_prefix, sizeof(pd.guid_prefix), 0) != sizeof(pd.guid_prefix))
		pd.guid_prefix = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);

	struct listener *ls = calloc(set.nlisteners, sizeof(*ls));
	if (ls == NULL)
		log_fatalx("out of memory");
	for (unsigned int i = 0; i < set.nlisteners; i++) {
		ls[i].pd = &pd;
		ls[i].set = &set.listeners[i];
		ls[i].fd = listener_bind(&set.listeners[i], err, sizeof(err));
		if (ls[i].fd < 0)
			log_fatalx("%s", err);
		ls[i].owner = set.listeners[i].uid == (uid_t)-1 ? geteuid() : set.listeners[i].uid;
		ls[i].group = set.listeners[i].gid == (gid_t)-1 ? getegid() : set.listeners[i].gid;
	}
	/* admin sockets, before privileges go: base_dir may belong to root; the LMTP spool
	 * belongs to the user the sessions run as */
	daemon_mkdir(set.base_dir, 0755, NULL);
	daemon_mkdir(set.mail_temp_dir, 0700, set.default_login_user);
	struct admin_socket_set ipc = { set.ipc.path, set.ipc.mode, set.ipc.uid, set.ipc.gid };
	struct admin_socket_set anvil = { set.anvil.path, set.anvil.mode, set.anvil.uid, set.anvil.gid };
	/* auth-master: doveadm auth cache flush; root's (or whoever starts proxyd) only */
	char authm_path[512];
	str_fmt(authm_path, sizeof(authm_path), "%s/auth-master", set.base_dir);
	struct admin_socket_set authm = { authm_path, 0600, (uid_t)-1, (gid_t)-1 };
	if (admin_open(&pd, &ipc, &anvil, &authm, stderr) < 0)
		log_fatalx("cannot create the admin sockets in base_dir %s", set.base_dir);
	struct http_server *stats = http_server_bind(&stats_set, err, sizeof(err));
	if (stats == NULL)
		log_fatalx("%s", err);
	if (proxyd_tls_load(&pd, &set, err, sizeof(err)) < 0) {
		fprintf(stderr, "proxyd: %s\nproxyd: not started: fix the configuration above\n", err);
		return 1;
	}
	char pidfile[PATH_MAX];
	if (str_fmt(pidfile, sizeof(pidfile), "%s/proxyd.pid", set.base_dir) >= sizeof(pidfile))
		log_fatalx("base_dir too long");
	if (args.background && daemon_background(pidfile) < 0)
		log_fatal("fork");
	if (privdrop(set.default_login_user, err, sizeof(err)) < 0)
		log_fatalx("default_login_user: %s", err);
	for (unsigned int i = 0; i < set.nlisteners; i++)
		if (loop_io_add(pd.loop, &ls[i].io, ls[i].fd, EPOLLIN, listener_accept, &ls[i]) < 0)
			log_fatal("epoll_ctl");
	if (admin_start(&pd) < 0)
		log_fatal("epoll_ctl");
	if (director_init(&pd) < 0)
		log_fatalx("out of memory");
	stats_init(&pd);
	if (http_server_start(stats, pd.loop) < 0)
		log_fatal("epoll_ctl");
	struct term_ctx term = { &pd, ls, set.nlisteners, { 0 }, 0 };
	loop_signal(pd.loop, SIGTERM, on_term, &term);
	loop_signal(pd.loop, SIGINT, on_term, &term);
	/* sql passdbs connect now; a lookup gets Dovecot's SQL query timeout */
	passdb_chain_set_loop(pd.passdb, pd.loop, PASSDB_TIMEOUT_MS);
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
	http_server_log(stats);
	if (title_start(&pd, set.conf, stderr) < 0)
		return 1;
	log_info("mtool %s proxyd started (pid %d)", MTOOL_VERSION, (int)getpid());
	daemon_started(pd.loop);
	int r = loop_run(pd.loop);

	loop_timer_cancel(pd.loop, &term.drain);
	title_stop(&pd);
	listeners_close(&pd, ls, set.nlisteners);
	haproxy_accept_close_all(&pd);
	relay_shutdown_all(&pd);
	free(ls);
	http_server_free(stats);
	admin_close(&pd);
	sessions_free(&pd);
	director_close(&pd);
	limits_free(&pd);
	penalty_free(&pd);
	dns_free(pd.dns);
	passdb_chain_free(pd.passdb);
	loop_free(pd.loop);
	proxyd_tls_free(&pd);
	settings_free(&set);
	loginlog_free();
	free(args.overrides);
	buf_pool_drain();
	return r < 0 ? 1 : 0;
}
