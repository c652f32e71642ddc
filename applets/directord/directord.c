/* SPDX-License-Identifier: MIT */
/* applets/directord/directord.c: start-up of the director: settings, hosts from
 * director_mail_servers (or the state file), the admin and proxy sockets, health checks,
 * the one periodic tick, signals. */
#include <errno.h>
#include <limits.h>
#include <sys/epoll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "applets/applets.h"
#include "applets/directord/directord.h"
#include "applets/directord/dirstats.h"
#include "config.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/dline.h"
#include "core/http.h"
#include "core/listen.h"
#include "core/conf_known.h"
#include "core/log.h"
#include "core/logconf.h"
#include "core/privdrop.h"
#include "core/str.h"

#define TICK_MS			250
#define SWEEP_EVERY_MS		10000
#define STATE_SAVE_EVERY_MS	1000

static const struct opt_cmd directord_cmd = {
	"directord", "[-dDn] [-c FILE] [-o KEY=VALUE]...",
	"user-to-backend director, ring peer", daemon_opts,
};

static const struct conf_key directord_schema[] = {
	{ "", "base_dir" }, { "", "state_dir" }, { "", "log_path" },
	{ "", "log_timestamp" }, { "", "info_log_path" }, { "", "debug_log_path" }, { "", "instance_name" },
	{ "", "default_internal_user" },
	{ "", "director_servers" }, { "", "director_mail_servers" },
	{ "", "director_username_hash" }, { "", "director_user_expire" },
	{ "", "director_user_kick_delay" }, { "", "director_max_parallel_moves" },
	{ "", "director_max_parallel_kicks" }, { "", "director_state_file" },
	{ "", "director_proxy_socket" }, { "", "director_admin_socket" },
	{ "", "director_lookup_timeout" }, { "", "default_login_user" },
	{ "", "director_proxy_max_connections" }, { "", "director_max_sessions" },
	{ "", "director_health_check" }, { "", "director_health_check_ports" },
	{ "", "director_health_check_interval" }, { "", "director_health_check_timeout" },
	{ "", "director_health_check_fails" }, { "", "director_health_check_rises" },
	{ "", "director_health_check_flush" }, { "", "director_health_check_flush_max_parallel" },
	{ "", "director_health_check_user" }, { "", "director_health_check_password" },
	{ "", "director_health_check_ssl_ca_file" }, { "", "director_health_check_ssl_any_cert" },
	{ "", "director_ring_alone" }, { "", "director_ping_idle_timeout" },
	{ "", "director_ping_max_timeout" }, { "", "director_output_buffer_size" },
	/* service stats { inet_listener http { } }: the metrics endpoint */
	{ "service/inet_listener", "address" }, { "service/inet_listener", "port" },
	{ NULL, NULL },
};

/* director: the ring listener, and Dovecot's login/director and login/proxy-notify, which
 * are mtool's proxy socket (proxyd's "executable = imap-login director"); stats: the
 * metrics endpoint */
static const char *const directord_services[] = {
	"director inet_listener", "director unix_listener login/director",
	"director fifo_listener login/proxy-notify", "director unix_listener director-admin",
	"stats inet_listener", NULL,
};

static const struct conf_applet directord_conf = {
	"directord", directord_schema, directord_services, 'd',
};

/* every director time setting: at most a week */
#define DIR_MS_MAX	(7 * 86400000ULL)

/* A Dovecot director's config: service director { unix_listener login/director { } },
 * where its login processes ask; mtool's proxy socket takes that name then. */
static int
login_director(const struct conf_node *root)
{
	const struct conf_node *svc = NULL, *l;
	while ((svc = conf_next_section(root, svc, "service")) != NULL) {
		if (svc->name == NULL || strcmp(svc->name, "director") != 0)
			continue;
		for (l = NULL; (l = conf_next_section(svc, l, "unix_listener")) != NULL;)
			if (l->name != NULL && strcmp(l->name, "login/director") == 0)
				return 1;
	}
	return 0;
}

static void
sock_path(char *out, size_t len, const char *base, const char *v)
{
	if (v[0] == '/')
		str_copy(out, v, len);
	else
		str_fmt(out, len, "%s/%s", base, v);
}

/* service director { inet_listener { address port } }: with a port, directord is a ring
 * peer and director_servers lists the ring; without, a ring of one as before, where
 * director_servers may name this director only (shown by ring status). */
static int
ring_settings(const struct conf *c, struct dir_settings *s, FILE *errf)
{
	const struct conf_node *root = conf_root(c), *svc = NULL, *il = NULL, *sec = NULL;
	int bad = 0;
	while ((sec = conf_next_section(root, sec, "service")) != NULL)
		if (sec->name && strcmp(sec->name, "director") == 0)
			svc = sec;
	while (svc && (sec = conf_next_section(svc, sec, "inet_listener")) != NULL)
		il = sec;
	ip_parse("127.0.0.1", &s->self_ip);
	s->director_servers = conf_get(root, "director_servers", "");
	s->ring_alone = conf_get(root, "director_ring_alone", "grace");
	if (strcmp(s->ring_alone, "grace") != 0 && strcmp(s->ring_alone, "never") != 0) {
		const struct conf_node *n = conf_find(root, "director_ring_alone");
		fprintf(errf, "%s:%u: director_ring_alone: must be grace or never\n", n->file, n->line);
		bad = 1;
	}
	bad |= conf_get_ms_uint(c, "director_ping_idle_timeout", 30000, 1000, DIR_MS_MAX, &s->ping_idle_ms, errf);
	bad |= conf_get_ms_uint(c, "director_ping_max_timeout", 60000, 1000, DIR_MS_MAX, &s->ping_max_ms, errf);
	bad |= conf_get_size(c, "director_output_buffer_size", 10ULL << 20, 1024, 1ULL << 30,
	    &s->outbuf_max, errf);
	if (il != NULL) {
		const struct conf_node *pn = conf_find(il, "port"), *an = conf_find(il, "address");
		unsigned long long port = 0;
		if (pn == NULL) {
			fprintf(errf, "%s:%u: inet_listener: port is not set\n", il->file, il->line);
			bad = 1;
		} else if (conf_parse_uint(pn, 65535, &port, errf) < 0)
			bad = 1;
		s->ring_port = (unsigned int)port;
		if (an && an->value[0] && strcmp(an->value, "*") != 0 && strcmp(an->value, "::") != 0 &&
		    ip_parse(an->value, &s->ring_listen_ip) < 0) {
			fprintf(errf, "%s:%u: inet_listener: address '%s' is not an IP address\n", an->file, an->line, an->value);
			bad = 1;
		}
	}
	const struct conf_node *ds = conf_find(root, "director_servers");
	if (s->ring_port != 0 || ds == NULL)
		return bad;
	static const char space[] = " \t";
	const char *v = ds->value + strspn(ds->value, space), *host;
	size_t len = strcspn(v, space);
	char buf[256];
	unsigned int port;
	int ntok = len == 0 ? 0 : v[len + strspn(v + len, space)] != '\0' ? 2 : 1;
	str_fmt(buf, sizeof(buf), "%.*s", (int)len, v);
	if (ntok == 1 && len >= sizeof(buf)) {
		fprintf(errf, "%s:%u: director_servers: '%s' is too long\n", ds->file, ds->line, v);
		bad = 1;
	} else if (ntok == 2) {
		fprintf(errf, "%s:%u: director_servers: a ring needs the ring listener (service director { inet_listener director { port } })\n",
		    ds->file, ds->line);
		bad = 1;
	} else if (ntok == 1 && (ip_hostport_parse(buf, &host, &port, 0) < 0 ||
	    ip_parse(host, &s->self_ip) < 0)) {
		fprintf(errf, "%s:%u: director_servers: '%s' is not ip[:port]\n", ds->file, ds->line, ds->value);
		bad = 1;
	} else if (ntok == 1)
		s->self_port = port;
	return bad;
}

static int
settings_load(struct directord *dd, const struct daemon_args *args, FILE *errf)
{
	struct dir_settings *s = &dd->set;
	int bad = 0;
	dd->conf = conf_load(args->conf_path, args->overrides, args->noverrides, errf);
	if (dd->conf == NULL)
		return -1;
	if (conf_known_check(dd->conf, &directord_conf, &dd->unused, errf) > 0)
		return -1;
	const struct conf_node *root = conf_root(dd->conf);
	s->base_dir = conf_get(root, "base_dir", MTOOL_BASE_DIR);
	s->mail_servers = conf_get(root, "director_mail_servers", "");
	s->username_hash = conf_get(root, "director_username_hash", "%Lu");
	unsigned int expire_ms;
	bad |= conf_get_ms_uint(dd->conf, "director_user_expire", 15 * 60 * 1000, 10000, DIR_MS_MAX, &expire_ms, errf);
	s->user_expire = expire_ms / 1000;
	bad |= conf_get_ms_uint(dd->conf, "director_user_kick_delay", 2000, 0, DIR_MS_MAX, &s->user_kick_delay_ms, errf);
	bad |= conf_get_uint(dd->conf, "director_max_parallel_moves", 100, 1, 1000000, &s->max_parallel_moves, errf);
	bad |= conf_get_uint(dd->conf, "director_max_parallel_kicks", 100, 1, 1000000, &s->max_parallel_kicks, errf);
	bad |= conf_get_ms_uint(dd->conf, "director_lookup_timeout", 30000, 100, DIR_MS_MAX, &s->lookup_timeout_ms, errf);
	sock_path(s->admin_path, sizeof(s->admin_path), s->base_dir,
	    conf_get(root, "director_admin_socket", "director-admin"));
	sock_path(s->proxy_path, sizeof(s->proxy_path), s->base_dir,
	    conf_get(root, "director_proxy_socket", login_director(root) ? "login/director" :
	    "mtool-director"));
	s->user = conf_get(root, "default_internal_user", "dovecot");
	s->login_user = conf_get(root, "default_login_user", "dovenull");
	bad |= conf_get_uint(dd->conf, "director_proxy_max_connections", 64, 1, 100000, &s->proxy_max_conns, errf);
	bad |= conf_get_uint(dd->conf, "director_max_sessions", DIRECTOR_SESSIONS_MAX, 1, 100000000, &s->max_sessions, errf);
	const char *state = conf_get(root, "director_state_file", "directord/director.state");
	if (*state)
		sock_path(s->state_path, sizeof(s->state_path),
		    conf_get(root, "state_dir", MTOOL_STATE_DIR), state);

	bad |= ring_settings(dd->conf, s, errf);
	ip_format(&s->self_ip, s->self_ip_str, sizeof(s->self_ip_str));

	int hc;
	const struct conf_node *n = conf_find(root, "director_health_check");
	hc = 0;
	if (n && conf_parse_bool(n, &hc, errf) < 0)
		bad = 1;
	s->hc_ports = hc ? conf_get(root, "director_health_check_ports", "imap:143") : NULL;
	bad |= conf_get_ms_uint(dd->conf, "director_health_check_interval", 10000, 100, DIR_MS_MAX, &s->hc_interval_ms, errf);
	bad |= conf_get_ms_uint(dd->conf, "director_health_check_timeout", 5000, 100, DIR_MS_MAX, &s->hc_timeout_ms, errf);
	bad |= conf_get_uint(dd->conf, "director_health_check_fails", 3, 1, 100, &s->hc_fails, errf);
	bad |= conf_get_uint(dd->conf, "director_health_check_rises", 3, 1, 100, &s->hc_rises, errf);
	bad |= conf_get_uint(dd->conf, "director_health_check_flush_max_parallel", 10, 1, 1000000, &s->hc_flush_parallel, errf);
	s->hc_flush = 1;
	n = conf_find(root, "director_health_check_flush");
	if (n && conf_parse_bool(n, &s->hc_flush, errf) < 0)
		bad = 1;
	s->hc_user = conf_get(root, "director_health_check_user", "");
	s->hc_password = conf_get(root, "director_health_check_password", "");
	s->hc_ssl_ca = conf_get(root, "director_health_check_ssl_ca_file", "");
	if (*s->hc_ssl_ca == '\0')
		s->hc_ssl_ca = NULL;
	n = conf_find(root, "director_health_check_ssl_any_cert");
	if (n && conf_parse_bool(n, &s->hc_ssl_any_cert, errf) < 0)
		bad = 1;

	if (http_conf(dd->conf, "*, ::", &dd->stats_set, errf) < 0)
		bad = 1;
	hosts_init(&dd->hosts);
	hosts_init(&dd->orig);
	if (hosts_parse(&dd->hosts, s->mail_servers, errf, "director_mail_servers") < 0 ||
	    hosts_parse(&dd->orig, s->mail_servers, errf, "director_mail_servers") < 0)
		bad = 1;
	return bad ? -1 : 0;
}

int
directord_listen(struct directord *dd, const char *path, unsigned int mode, struct loop_io *io,
    loop_io_cb *cb, FILE *errf)
{
	char err[128];
	int fd = listen_unix(path, (mode_t)mode, (uid_t)-1, (gid_t)-1, 128, err, sizeof(err));
	if (fd < 0) {
		fprintf(errf, "directord: cannot listen on %s: %s\n", path, err);
		return -1;
	}
	if (loop_io_add(dd->loop, io, fd, EPOLLIN, cb, dd) < 0) {
		fprintf(errf, "directord: epoll_ctl: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
directord_host_set_down(struct directord *dd, struct dir_host *h, int down, const char *who)
{
	if (h->down == down)
		return;
	log_info("%sHost %s changed %s (vhost_count=%u last_updown_change=%lld)", who, h->ip_str,
	    down ? "down" : "up", h->vhost_count, (long long)h->last_updown);
	h->down = down;
	h->last_updown = loop_wall(dd->loop);
	hosts_changed(&dd->hosts);
	state_touch(dd);
	ring_host_changed(dd, h);
	if (!down)
		proxy_pending_run(dd);
}

static void
tick(struct loop_timer *t, void *arg)
{
	struct directord *dd = arg;
	uint64_t now = loop_now(dd->loop);
	static uint64_t last_sweep;
	moves_tick(dd);
	moves_resets_run(dd);
	proxy_pending_tick(dd);
	if (now - last_sweep >= SWEEP_EVERY_MS) {
		last_sweep = now;
		users_sweep(dd);
	}
	if (dd->state_dirty && now - dd->state_saved_ms >= dd->state_save_every_ms) {
		/* a big table (a ring hands over millions of users) is not rewritten every
		 * second: saving takes at most a tenth of the time */
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		state_save(dd);
		clock_gettime(CLOCK_MONOTONIC, &b);
		uint64_t took = (uint64_t)(b.tv_sec - a.tv_sec) * 1000 + (uint64_t)(b.tv_nsec - a.tv_nsec) / 1000000;
		dd->state_save_every_ms = took * 10 > STATE_SAVE_EVERY_MS ? took * 10 : STATE_SAVE_EVERY_MS;
		dd->state_saved_ms = loop_now(dd->loop);
	}
	loop_timer_set(dd->loop, t, TICK_MS, tick, dd);
}

static void
on_term(int signo, void *arg)
{
	struct directord *dd = arg;
	log_info("received signal %d, shutting down", signo);
	daemon_notify("STOPPING=1");
	loop_stop(dd->loop);
}

static void
on_hup(int signo, void *arg)
{
	(void)signo;
	(void)arg;
	daemon_notify("RELOADING=1");
	log_info("SIGHUP: settings need a restart in this version (the state file keeps the hosts and users)");
	daemon_notify("READY=1");
}

static void
directord_free(struct directord *dd)
{
	ring_free(dd);
	diradmin_close_all(dd);
	proxy_close_all(dd);
	health_free(dd);
	while (dd->resets)
		moves_resets_run(dd), dd->resets = NULL;
	for (struct dir_tag *t = dd->hosts.tags; t; t = t->next)
		users_dir_free(dd, &t->users);
	for (struct dir_tag *t = dd->orig.tags; t; t = t->next)
		users_dir_free(dd, &t->users);
	hosts_free(&dd->hosts);
	hosts_free(&dd->orig);
	conf_free(dd->conf);
	conf_unused_free(&dd->unused);
}

/* The state file is rewritten (temporary file, rename) after the privilege drop, so the
 * directory that holds it must be the internal user's: made and given to it when missing
 * (its parents 0755, itself 0700). An existing directory is left as the operator made it;
 * check_state_dir() then says if it will not do. */
static void
prepare_state_dir(const struct dir_settings *s, char *dir, size_t len)
{
	char *slash;

	str_copy(dir, s->state_path, len);
	if ((slash = strrchr(dir, '/')) == NULL) {
		str_copy(dir, ".", len);
		return;
	}
	*slash = '\0';
	if (dir[0] != '\0')
		daemon_mkdir(dir, 0700, s->user);
}

static void
check_state_dir(const struct dir_settings *s, const char *dir)
{
	if (access(dir, W_OK | X_OK) < 0)
		log_fatal("director_state_file %s: its directory must be writable by %s (default_internal_user)",
		    s->state_path, geteuid() == 0 ? "root" : s->user);
}

int
directord_main(int argc, char **argv)
{
	struct daemon_args args;
	struct directord dd = { .admin_fd = -1, .proxy_fd = -1 };
	char state_dir[sizeof(dd.set.state_path)], err[256];

	daemon_parse_args(argc, argv, &directord_cmd, &args);
	log_init("directord", args.debug, 0);
	if (settings_load(&dd, &args, stderr) < 0) {
		fprintf(stderr, "directord: %s: fix the configuration above\n",
		    args.check ? "configuration errors" : "not started");
		hosts_free(&dd.hosts);
		hosts_free(&dd.orig);
		conf_free(dd.conf);
		conf_unused_free(&dd.unused);
		free(args.overrides);
		return 1;
	}
	if (args.check) {
		conf_known_dump(dd.conf, &dd.unused, "directord", stdout);
		directord_free(&dd);
		free(args.overrides);
		return 0;
	}
	if (logconf_open("directord", dd.conf, args.debug, stderr) < 0)
		return 1;
	conf_known_log_unused(&dd.unused, "directord");
	signal(SIGPIPE, SIG_IGN);
	dd.loop = loop_new();
	if (state_load(&dd, stderr) < 0)
		log_fatalx("cannot read the state file %s: move it away to start from director_mail_servers", dd.set.state_path);
	daemon_mkdir(dd.set.base_dir, 0755, NULL);
	char *slash = strrchr(dd.set.proxy_path, '/');
	if (slash != NULL && slash != dd.set.proxy_path) {
		/* base_dir/login for Dovecot's login/director */
		*slash = '\0';
		daemon_mkdir(dd.set.proxy_path, 0755, NULL);
		*slash = '/';
	}
	if (diradmin_listen(&dd, stderr) < 0 || proxy_listen(&dd, stderr) < 0)
		log_fatalx("cannot create the sockets in %s", dd.set.base_dir);
	if (health_init(&dd, stderr) < 0)
		log_fatalx("health checks: fix the director_health_check_* settings above");
	if (ring_init(&dd, stderr) < 0)
		log_fatalx("director ring: fix director_servers and the ring listener above");
	struct http_server *stats = http_server_bind(&dd.stats_set, err, sizeof(err));
	if (stats == NULL)
		log_fatalx("%s", err);
	char pidfile[PATH_MAX];
	if (dd.set.state_path[0])
		prepare_state_dir(&dd.set, state_dir, sizeof(state_dir));
	if (str_fmt(pidfile, sizeof(pidfile), "%s/directord.pid", dd.set.base_dir) >= sizeof(pidfile))
		log_fatalx("base_dir too long");
	if (args.background && daemon_background(pidfile) < 0)
		log_fatal("fork");
	if (privdrop(dd.set.user, err, sizeof(err)) < 0)
		log_fatalx("default_internal_user: %s", err);
	if (dd.set.state_path[0])
		check_state_dir(&dd.set, state_dir);
	loop_signal(dd.loop, SIGTERM, on_term, &dd);
	loop_signal(dd.loop, SIGINT, on_term, &dd);
	loop_signal(dd.loop, SIGHUP, on_hup, &dd);
	loop_timer_set(dd.loop, &dd.tick, TICK_MS, tick, &dd);
	dirstats_init(&dd);
	if (http_server_start(stats, dd.loop) < 0)
		log_fatal("epoll_ctl");
	http_server_log(stats);
	log_info("mtool %s directord started (pid %d): %zu mail hosts, admin socket %s, proxy socket %s",
	    MTOOL_VERSION, (int)getpid(), dd.hosts.n, dd.set.admin_path, dd.set.proxy_path);
	daemon_started(dd.loop);
	int r = loop_run(dd.loop);
	if (dd.state_dirty || dd.set.state_path[0])
		state_save(&dd);
	loop_timer_cancel(dd.loop, &dd.tick);
	http_server_free(stats);
	directord_free(&dd);
	loop_free(dd.loop);
	free(args.overrides);
	buf_pool_drain();
	return r < 0 ? 1 : 0;
}
