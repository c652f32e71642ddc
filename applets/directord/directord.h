/* SPDX-License-Identifier: MIT */
/* applets/directord/directord.h: what the files of directord share: mail hosts and their
 * tags (hosts.c), the user directory (users.c), moves and kicks (moves.c), the sockets
 * (admin.c for doveadm, proxy.c for proxyd), the state file (state.c) and the health
 * checks (health.c). Not for other applets.
 *
 * The state is shaped as Dovecot's director keeps it (per tag: a vhost ring and a user
 * directory; per user: hash, host, timestamp, kill state) so that a later ring of
 * directors can replicate it with Dovecot's HOST/USER/USER-MOVE messages. */
#ifndef DIRECTORD_H
#define DIRECTORD_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/ip.h"

#include "core/conf_known.h"
#include "core/dirhash.h"
#include "core/http.h"
#include "core/loop.h"

struct dir_host;
struct dir_session;
struct proxy_conn;
struct health;

/* One user's assignment, in its tag's directory. */
struct dir_user {
	uint32_t hash;
	struct dir_host *host;		/* NULL only while a forgotten user's kicks run */
	struct dir_tag *tag;
	int64_t timestamp;		/* last lookup, session start or end (wall clock) */
	struct dir_user *hnext;		/* hash chain */
	struct dir_user *prev, *next;	/* oldest first, as Dovecot's directory */
	struct dir_session *sessions;	/* open sessions reported by proxies */
	unsigned int nsessions;
	/* a move in progress: sessions elsewhere are being kicked; logins wait */
	unsigned int killing : 1;
	unsigned int kick_delay : 1;	/* kicked; waiting director_user_kick_delay */
	unsigned int forget : 1;	/* no host left: forgotten once its sessions are gone */
	/* ring mode (ring.h): weak (USER-WEAK barrier), the USER-MOVE kill state and
	 * whether this director started the move */
	unsigned int weak : 1, ring_kill : 3, kill_self : 1;
	uint64_t kill_deadline;		/* loop_now() ms */
	struct dir_user *mnext;		/* directord.moving */
};

struct user_dir {
	struct dir_user **buckets;
	size_t nbuckets, count;
	struct dir_user *head, *tail;
};

struct dir_tag {
	char *name;			/* "" untagged */
	struct dirhash_ring ring;
	struct user_dir users;
	struct dir_tag *next;
};

struct dir_host {
	struct ip_addr ip;
	char ip_str[IP_ADDR_STRLEN];
	char *hostname;			/* as configured by name, or NULL */
	struct dir_tag *tag;
	unsigned int vhost_count;
	int down;
	int64_t last_updown;
	unsigned int user_count;
	int desynced;			/* ring: changed, and the ring has not synced since */
	struct health *health;		/* health.c, NULL without checks */
};

struct host_list {
	struct dir_host **hosts;	/* sorted by address when !unsorted */
	size_t n, cap;
	struct dir_tag *tags;
	int unsorted;
};

/* One open session, as a proxy reported it (START .. END). */
struct dir_session {
	struct proxy_conn *pc;
	char *guid;
	char *user;
	struct ip_addr ip;		/* the backend it went to */
	struct dir_user *u;		/* NULL once the user was forgotten */
	struct dir_session *unext, *uprev;	/* u->sessions */
	struct dir_session *hnext;	/* proxy_conn's table */
	unsigned int kicked : 1;
};

/* A director named by DIRECTOR-ADD: listed, not connected (no ring in this version). */
#define DIR_PEERS_MAX	64
struct dir_peer {
	struct ip_addr ip;
	unsigned int port;
	int removed;
};

struct dir_settings {
	const char *base_dir;
	const char *user;		/* default_internal_user: who directord runs as */
	const char *login_user;		/* default_login_user: who may use the proxy socket */
	unsigned int proxy_max_conns;	/* director_proxy_max_connections */
	unsigned int max_sessions;	/* director_max_sessions: over all proxy connections */
	struct ip_addr self_ip;		/* director_servers' only entry, else 127.0.0.1 */
	char self_ip_str[IP_ADDR_STRLEN];
	unsigned int self_port;
	const char *director_servers;
	struct ip_addr ring_listen_ip;	/* service director { inet_listener }; unset: any */
	unsigned int ring_port;		/* 0: no ring listener, a ring of one */
	const char *ring_alone;		/* director_ring_alone */
	unsigned int ping_idle_ms, ping_max_ms;
	unsigned long long outbuf_max;
	const char *mail_servers;
	const char *username_hash;
	unsigned int user_expire;	/* seconds */
	unsigned int user_kick_delay_ms;
	unsigned int max_parallel_moves;
	unsigned int max_parallel_kicks;
	unsigned int lookup_timeout_ms;
	char admin_path[512];
	char proxy_path[512];
	char state_path[512];		/* "" = no state file */
	/* health checks */
	const char *hc_ports;
	unsigned int hc_interval_ms, hc_timeout_ms;
	unsigned int hc_fails, hc_rises;
	unsigned int hc_flush_parallel;
	const char *hc_user, *hc_password;
	const char *hc_ssl_ca;		/* PEM text, NULL: the system store */
	int hc_flush, hc_ssl_any_cert;
};

struct directord {
	struct loop *loop;
	struct dir_settings set;
	struct conf *conf;
	struct conf_unused unused;	/* accepted, not used: logged at start-up */
	struct host_list hosts;
	struct host_list orig;		/* director_mail_servers as at start: "Initial config" */
	struct loop_timer tick;
	struct admin_conn *admins;
	struct proxy_conn *proxies;
	unsigned int nproxies, nsessions;
	uid_t proxy_uid, admin_uid;	/* the sockets' owners and group (docs/sockets.md) */
	gid_t proxy_gid;
	struct pending *pending;	/* lookups waiting for a user's move, or for hosts */
	struct reset_cmd *resets;
	unsigned int npending;
	unsigned int users_moving;
	unsigned int nhealth;
	int state_dirty;
	uint64_t state_saved_ms, state_save_every_ms;
	int admin_fd, proxy_fd;
	struct loop_io admin_io, proxy_io;
	struct health_ctx *health;
	struct dir_peer peers[DIR_PEERS_MAX];
	size_t npeers;
	struct dir_user *moving;	/* users being killed or in their kick delay */
	struct http_listen_set stats_set;	/* service stats { inet_listener http } */
	struct ring *ring;		/* NULL: a ring of one (no ring listener) */
};

/* A listening UNIX socket at path registered with the loop; returns the fd or -1 after
 * printing why to errf. */
int directord_listen(struct directord *, const char *path, unsigned int mode, struct loop_io *,
    loop_io_cb *, FILE *errf);
/* Sets a host up or down (logged; the state file follows). */
void directord_host_set_down(struct directord *, struct dir_host *, int down, const char *who);

/* Each file's functions are declared in its own header; these are all of them, so
 * that a directord file includes directord.h alone. */
#include "applets/directord/diradmin.h"
#include "applets/directord/health.h"
#include "applets/directord/hosts.h"
#include "applets/directord/moves.h"
#include "applets/directord/proxy.h"
#include "applets/directord/ring.h"
#include "applets/directord/state.h"
#include "applets/directord/users.h"

#endif
