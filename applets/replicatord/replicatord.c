/* SPDX-License-Identifier: MIT */
/* applets/replicatord/replicatord.c: start-up of replicatord: settings, the backend pairs,
 * replicator.db, the sockets, the privilege drop, the one periodic tick, signals. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "applets/applets.h"
#include "applets/replicatord/replicatord.h"
#include "config.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/http.h"
#include "core/log.h"
#include "core/logconf.h"
#include "core/privdrop.h"
#include "core/str.h"

#define TICK_MS			1000
#define STATE_SAVE_EVERY_MS	1000

static const struct opt_cmd replicatord_cmd = {
	"replicatord", "[-dDn] [-c FILE] [-o KEY=VALUE]...",
	"replication scheduler", daemon_opts,
};

static const struct conf_key replicatord_schema[] = {
	{ "", "base_dir" }, { "", "state_dir" }, { "", "log_path" },
	{ "", "log_timestamp" }, { "", "info_log_path" }, { "", "debug_log_path" }, { "", "instance_name" },
	{ "", "default_internal_user" }, { "", "doveadm_password" },
	{ "", "replication_max_conns" }, { "", "replication_full_sync_interval" },
	{ "", "replication_dsync_parameters" },
	{ "", "replicator_pairs" }, { "", "replicator_state_file" },
	{ "", "replicator_dsync_timeout" }, { "", "replicator_connect_timeout" },
	{ "", "replicator_retry_min" }, { "", "replicator_retry_max" },
	{ "", "replicator_startup_rate" }, { "", "replicator_list_users" },
	{ "", "replicator_startup_sync" },
	{ "service/unix_listener", "mode" }, { "service/unix_listener", "user" },
	{ "service/unix_listener", "group" },
	{ "service/inet_listener", "address" }, { "service/inet_listener", "port" },
	{ "service/inet_listener", "backend" },
	{ "service/fifo_listener", "mode" }, { "service/fifo_listener", "user" },
	{ "service/fifo_listener", "group" },
	/* service stats { inet_listener http { address port } }: the metrics endpoint
	 * (address and port are in the inet_listener rows above) */
	{ NULL, NULL },
};

/* replicator: its sockets; aggregator: the notify plugin's; stats: the metrics endpoint */
static const char *const replicatord_services[] = {
	"replicator", "aggregator", "stats inet_listener", NULL,
};

static const struct conf_applet replicatord_conf = {
	"replicatord", replicatord_schema, replicatord_services, 'r',
};

/* a replicator time setting is at most a year; a timeout (kept in ms in an unsigned int)
 * at most a week */
#define REPL_MS_MAX		(365 * 86400000ULL)
#define REPL_TIMEOUT_MS_MAX	(7 * 86400000ULL)

/* "A1 B1, A2 B2": pairs separated by commas, the two doveadm servers of a pair by
 * spaces; each ip:port (TCP, doveadm_password) or /path (a UNIX socket) */
static int
pairs_parse(struct repl *r, const struct conf_node *n, FILE *errf)
{
	const char *v = n->value;
	int has_d = 0;
	for (const char *p = r->set.dsync_params; *p; ) {
		size_t k = strcspn(p, " ");
		if (k == 2 && strncmp(p, "-d", 2) == 0)
			has_d = 1;
		p += k + (p[k] == ' ');
	}
	while (*v) {
		char spec[2][128];
		size_t len = strcspn(v, ","), got = 0;
		const char *e = v + len, *p = v;
		while (p < e && got < 3) {
			p += strspn(p, " \t");
			size_t k = strcspn(p, " \t,");
			if (k == 0)
				break;
			if (got < 2)
				str_fmt(spec[got], sizeof(spec[got]), "%.*s", (int)k, p);
			got++;
			p += k;
		}
		if (got != 2) {
			fprintf(errf, "%s:%u: replicator_pairs: each pair is two doveadm servers "
			    "(ip:port or /socket), pairs separated by commas\n", n->file, n->line);
			return -1;
		}
		struct repl_pair *np = realloc(r->pairs, (r->npairs + 1) * sizeof(*np));
		if (np == NULL)
			return -1;
		r->pairs = np;
		struct repl_pair *pair = &r->pairs[r->npairs];
		memset(pair, 0, sizeof(*pair));
		for (int i = 0; i < 2; i++) {
			if (dvclient_backend_parse(&pair->b[i], spec[i]) < 0) {
				fprintf(errf, "%s:%u: replicator_pairs: '%s' is neither ip:port nor "
				    "an absolute socket path\n", n->file, n->line, spec[i]);
				dvclient_backend_free(&pair->b[0]);
				return -1;
			}
			if (pair->b[i].ip.family != 0) {
				char d[160];
				str_fmt(d, sizeof(d), "tcp:%s", spec[i]);
				pair->b[i].dest = strdup(d);
			}
		}
		r->npairs++;
		if (!has_d && (pair->b[0].dest == NULL || pair->b[1].dest == NULL)) {
			fprintf(errf, "%s:%u: replicator_pairs: without -d in replication_dsync_parameters "
			    "both backends of a pair must be ip:port (each is the other's dsync "
			    "destination)\n", n->file, n->line);
			return -1;
		}
		v = *e ? e + 1 : e;
	}
	if (r->npairs == 0) {
		fprintf(errf, "%s:%u: replicator_pairs: no pair\n", n->file, n->line);
		return -1;
	}
	return 0;
}

static int
settings_load(struct repl *r, const struct daemon_args *args, FILE *errf)
{
	struct repl_settings *s = &r->set;
	unsigned long long ms;
	int bad = 0;

	r->conf = conf_load(args->conf_path, args->overrides, args->noverrides, errf);
	if (r->conf == NULL)
		return -1;
	if (conf_known_check(r->conf, &replicatord_conf, &r->unused, errf) > 0)
		return -1;
	const struct conf_node *root = conf_root(r->conf), *n;
	s->base_dir = conf_get(root, "base_dir", MTOOL_BASE_DIR);
	s->user = conf_get(root, "default_internal_user", "dovecot");
	s->password = conf_get(root, "doveadm_password", "");
	s->dsync_params = conf_get(root, "replication_dsync_parameters", "-d -N -l 30 -U");
	bad |= conf_get_uint(r->conf, "replication_max_conns", 10, 1, 10000, &s->max_conns, errf);
	bad |= conf_get_ms(r->conf, "replication_full_sync_interval", 86400000ULL, 1000, REPL_MS_MAX, &ms, errf);
	s->full_interval = (int64_t)(ms / 1000);
	bad |= conf_get_ms(r->conf, "replicator_dsync_timeout", 30 * 60000ULL, 1000, REPL_TIMEOUT_MS_MAX, &ms, errf);
	s->sync_timeout_ms = (unsigned int)ms;
	bad |= conf_get_ms(r->conf, "replicator_connect_timeout", 5000, 100, REPL_TIMEOUT_MS_MAX, &ms, errf);
	s->connect_timeout_ms = (unsigned int)ms;
	bad |= conf_get_ms(r->conf, "replicator_retry_min", 30000, 1000, REPL_MS_MAX, &ms, errf);
	s->retry_min = (unsigned int)(ms / 1000);
	bad |= conf_get_ms(r->conf, "replicator_retry_max", 300000, 1000, REPL_MS_MAX, &ms, errf);
	s->retry_max = (unsigned int)(ms / 1000);
	if (s->retry_max < s->retry_min)
		s->retry_max = s->retry_min;
	bad |= conf_get_uint(r->conf, "replicator_startup_rate", 10, 1, 1000000, &s->startup_rate, errf);
	int list = 1;
	if ((n = conf_find(root, "replicator_list_users")) != NULL && conf_parse_bool(n, &list, errf) < 0)
		bad = 1;
	s->list_at_start = (unsigned int)list;
	s->startup_sync = 1;
	if ((n = conf_find(root, "replicator_startup_sync")) != NULL &&
	    conf_parse_bool(n, &s->startup_sync, errf) < 0)
		bad = 1;
	const char *state = conf_get(root, "replicator_state_file", "replicatord/replicator.db");
	const char *dir = conf_get(root, "state_dir", MTOOL_STATE_DIR);
	if (*state && (str_fmt(s->state_path, sizeof(s->state_path), "%s%s%s",
	    *state == '/' ? "" : dir, *state == '/' ? "" : "/", state) >= sizeof(s->state_path) - 8 ||
	    str_fmt(s->import_path, sizeof(s->import_path), "%s/replicator.db", dir) >=
	    sizeof(s->import_path))) {
		fprintf(errf, "replicatord: replicator_state_file: path too long\n");
		bad = 1;
	}
	if ((n = conf_find(root, "replicator_pairs")) == NULL) {
		fprintf(errf, "%s: replicator_pairs is not set: name the doveadm servers of each "
		    "backend pair\n", conf_root(r->conf)->file);
		bad = 1;
	} else if (pairs_parse(r, n, errf) < 0) {
		bad = 1;
	}
	if (http_conf(r->conf, "*, ::", &r->stats_set, errf) < 0)
		bad = 1;
	if ((r->slots = calloc(s->max_conns, sizeof(*r->slots))) == NULL)
		bad = 1;
	return bad ? -1 : 0;
}

static void
tick(struct loop_timer *t, void *arg)
{
	struct repl *r = arg;
	uint64_t now = loop_now(r->loop);
	sched_tick(r);
	if (r->dirty && now - r->saved_ms >= STATE_SAVE_EVERY_MS)
		rstate_save(r);
	loop_timer_set(r->loop, t, TICK_MS, tick, r);
}

static void
on_term(int signo, void *arg)
{
	struct repl *r = arg;
	log_info("received signal %d, shutting down", signo);
	daemon_notify("STOPPING=1");
	loop_stop(r->loop);
}

static void
on_hup(int signo, void *arg)
{
	(void)signo;
	(void)arg;
	daemon_notify("RELOADING=1");
	log_info("SIGHUP: settings need a restart in this version (replicator.db keeps the queue)");
	daemon_notify("READY=1");
}

static void
repl_free(struct repl *r)
{
	listeners_close(r);
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
	conf_free(r->conf);
	conf_unused_free(&r->unused);
}

int
replicatord_main(int argc, char **argv)
{
	struct daemon_args args;
	struct repl r = { .fifo_wfd = -1 };
	char err[256], state_dir[sizeof(r.set.state_path)];
	uid_t uid;
	gid_t gid;

	daemon_parse_args(argc, argv, &replicatord_cmd, &args);
	log_init("replicator", args.debug, 0);
	if (settings_load(&r, &args, stderr) < 0) {
		fprintf(stderr, "replicatord: %s: fix the configuration above\n",
		    args.check ? "configuration errors" : "not started");
		repl_free(&r);
		free(args.overrides);
		return 1;
	}
	if (args.check) {
		conf_known_dump(r.conf, &r.unused, "replicatord", stdout);
		repl_free(&r);
		free(args.overrides);
		return 0;
	}
	if (logconf_open("replicator", r.conf, args.debug, stderr) < 0)
		return 1;
	conf_known_log_unused(&r.unused, "replicatord");
	signal(SIGPIPE, SIG_IGN);
	r.loop = loop_new();
	if (rstate_load(&r, stderr) < 0)
		log_fatalx("replicator.db %s is damaged (see above): nothing was changed; repair or move "
		    "it away (the users are then listed and fully synced again)", r.set.state_path);
	daemon_mkdir(r.set.base_dir, 0755, NULL);
	if (listeners_open(&r, stderr) < 0)
		log_fatalx("cannot create the sockets (see above)");
	struct http_server *stats = http_server_bind(&r.stats_set, err, sizeof(err));
	if (stats == NULL)
		log_fatalx("%s", err);
	if (r.set.state_path[0] && privdrop_state_dir(r.set.state_path, r.set.user, state_dir,
	    sizeof(state_dir), err, sizeof(err)) < 0)
		log_fatalx("replicator_state_file: %s", err);
	/* a file a root-run Dovecot left is ours to rewrite from now on */
	if (r.set.state_path[0] && geteuid() == 0 && privdrop_lookup(r.set.user, &uid, &gid, err,
	    sizeof(err)) == 0 && chown(r.set.state_path, uid, gid) < 0 && errno != ENOENT)
		log_fatal("chown(%s)", r.set.state_path);
	/* the pid file goes to base_dir, root's: written before the privileges go */
	char pidfile[PATH_MAX];
	if (str_fmt(pidfile, sizeof(pidfile), "%s/replicatord.pid", r.set.base_dir) >= sizeof(pidfile))
		log_fatalx("base_dir too long");
	if (args.background && daemon_background(pidfile) < 0)
		log_fatal("fork");
	if (privdrop(r.set.user, err, sizeof(err)) < 0)
		log_fatalx("default_internal_user: %s", err);
	if (r.set.state_path[0] && access(state_dir, W_OK | X_OK) < 0)
		log_fatal("replicator_state_file %s: its directory must be writable by %s",
		    r.set.state_path, geteuid() == 0 ? "root" : r.set.user);
	loop_signal(r.loop, SIGTERM, on_term, &r);
	loop_signal(r.loop, SIGINT, on_term, &r);
	loop_signal(r.loop, SIGHUP, on_hup, &r);
	loop_timer_set(r.loop, &r.tick, TICK_MS, tick, &r);
	rstats_init(&r);
	if (http_server_start(stats, r.loop) < 0)
		log_fatal("metrics endpoint");
	http_server_log(stats);
	log_info("mtool %s replicatord started (pid %d): %zu users from %s, %zu backend pairs",
	    MTOOL_VERSION, (int)getpid(), r.nusers, r.set.state_path[0] ? r.set.state_path : "(none)",
	    r.npairs);
	if (r.set.list_at_start)
		listing_start(&r, "*", 1);
	sched_kick(&r);
	daemon_started(r.loop);
	int ret = loop_run(r.loop);
	rstate_save(&r);
	loop_timer_cancel(r.loop, &r.tick);
	loop_timer_cancel(r.loop, &r.kick);
	http_server_free(stats);
	repl_free(&r);
	loop_free(r.loop);
	free(args.overrides);
	buf_pool_drain();
	return ret < 0 ? 1 : 0;
}
