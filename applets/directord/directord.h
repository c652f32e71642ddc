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

#include "core/addr.h"
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

/* hosts.c */
void hosts_init(struct host_list *);
void hosts_free(struct host_list *);
/* Parses director_mail_servers (IPs, names, ranges ip1-ip2, each @tag). Errors go to errf
 * prefixed with what. Returns 0 or -1. */
int hosts_parse(struct host_list *, const char *servers, FILE *errf, const char *what);
struct dir_host *hosts_lookup(struct host_list *, const struct ip_addr *);
struct dir_host *hosts_add(struct host_list *, const struct ip_addr *, const char *tag);
/* Removes and frees the host; its users must be gone already. */
void hosts_remove(struct host_list *, struct dir_host *);
struct dir_tag *hosts_tag(struct host_list *, const char *name);	/* NULL if none */
struct dir_tag *hosts_tag_get(struct host_list *, const char *name);	/* creates */
/* Marks the rings for a rebuild (after vhost/up/down/add/remove). */
static inline void hosts_changed(struct host_list *l) { l->unsorted = 1; }
/* The host the ring gives hash in tag, or NULL. */
struct dir_host *hosts_by_hash(struct host_list *, uint32_t hash, const char *tag);
/* Sorts and rebuilds the rings if something changed; returns the sorted array. */
struct dir_host **hosts_sorted(struct host_list *, size_t *n);
uint32_t hosts_hash(struct host_list *);

/* users.c */
struct dir_user *users_find(struct user_dir *, uint32_t hash);
struct dir_user *users_add(struct dir_tag *, uint32_t hash, struct dir_host *, int64_t now);
/* Moves the user to the newest end with timestamp now. */
void users_refresh(struct user_dir *, struct dir_user *, int64_t now);
/* Forgets the user (its sessions stay, detached). */
void users_free(struct directord *, struct user_dir *, struct dir_user *);
void users_set_host(struct dir_user *, struct dir_host *);
void users_dir_free(struct directord *, struct user_dir *);
int users_expired(const struct directord *, const struct dir_user *, int64_t now);
/* Frees expired users everywhere. */
void users_sweep(struct directord *);
/* Forgets every user of host (no kicks). */
void users_forget_host(struct directord *, struct dir_host *);

/* moves.c */
/* Sends the user to host; kicks its sessions elsewhere and holds logins until they are
 * gone. host NULL: no host left, the user is kicked and forgotten afterwards. */
void move_user(struct directord *, struct dir_tag *, struct dir_user *, struct dir_host *,
    const char *why);
/* Called when a user's sessions change and on every tick: finishes kills. */
void move_check(struct directord *, struct dir_user *);
void moves_tick(struct directord *);
/* Takes the user off the moving list (its move is over or it is being freed). */
void moving_unlink(struct directord *, struct dir_user *);
/* HOST-RESET-USERS: a background job bound to the admin connection (done NULL for internal
 * flushes, e.g. a host the health check took down). done(arg) is called when every move
 * has started, possibly before reset_start() returns. Returns 0, or -1 if out of memory
 * (done is then not called). */
int reset_start(struct directord *, struct dir_host *only, unsigned int max_parallel,
    void (*done)(struct directord *, void *), void *arg);
void reset_cancel_arg(struct directord *, void *arg);
void resets_run(struct directord *);
/* HOST-REMOVE: moves the host's users elsewhere (kicking their sessions), then removes it. */
void host_remove_safely(struct directord *, struct dir_host *);

/* proxy.c: the mtool-director socket for proxyd (docs/director-proxy-protocol.md) */
int proxy_listen(struct directord *, FILE *errf);
void proxy_close_all(struct directord *);
/* Asks the proxy that reported the session to kick it. */
void proxy_kick_session(struct directord *, struct dir_session *, const char *reason);
/* USER-KICK: forwarded to the proxies that reported a session of the user; USER-KICK-ALT
 * to every proxy with sessions (the alt fields are the proxy's). Returns how many. */
unsigned int proxy_kick_user(struct directord *, const char *user);
unsigned int proxy_kick_alt(struct directord *, const char *field, const char *value);
/* Answers the lookups that can be answered now (after a move finished, a host came). */
void pending_run(struct directord *);
void pending_tick(struct directord *);
void session_detach(struct dir_session *);

/* admin.c: the director-admin socket (Dovecot's director-doveadm protocol) */
int admin_listen(struct directord *, FILE *errf);
void admin_close_all(struct directord *);

/* state.c */
int state_load(struct directord *, FILE *errf);
/* Writes the state now (temp file, fsync, rename). Returns 0 or -1 (logged). */
int state_save(struct directord *);
static inline void state_touch(struct directord *d) { d->state_dirty = 1; }

/* health.c */
int health_init(struct directord *, FILE *errf);
void health_host_added(struct directord *, struct dir_host *);
void health_host_removed(struct directord *, struct dir_host *);
void health_free(struct directord *);
/* Probes the host now instead of at its next round, unless a probe is under way (for
 * tests/fuzz/directord_fuzz.c, which cannot wait for a timer). */
void health_check_now(struct directord *, struct dir_host *);

/* ring.c, ring_msg.c: a ring of directors (Dovecot 2.3's director protocol). Every hook
 * is a no-op without a ring (dd->ring NULL). */
int ring_init(struct directord *, FILE *errf);
void ring_free(struct directord *);
int ring_synced(const struct directord *);
/* Directors are configured but none is reachable (or this one was removed): host
 * changes and moves are refused, new users wait (docs/directord.8.md). */
int ring_cut_off(const struct directord *);
/* 1 if a lookup for (tag, hash, u) may be answered now, 0 if it must wait (ring not
 * handshaked or synced, a weak user); may start a USER-WEAK round. */
int ring_lookup_ok(struct directord *, struct dir_tag *, uint32_t hash, struct dir_user *);
/* The user was assigned or its timestamp moved forward here: USER to the ring. */
void ring_user_refreshed(struct directord *, struct dir_user *, int64_t old_ts);
/* move_user() changed the user's host here: USER-MOVE to the ring. */
void ring_user_moved(struct directord *, struct dir_user *);
/* doveadm director move in a ring: the move and its kill round (USER-MOVE etc.) */
void ring_user_move(struct directord *, uint32_t hash, struct dir_host *);
/* move_check(): the user's sessions elsewhere are gone (or timed out); 1 when the kick
 * delay may start, 0 while the USER-KILLED token is still going round. */
int ring_kill_local_done(struct directord *, struct dir_user *);
void ring_host_changed(struct directord *, struct dir_host *);
void ring_host_removed(struct directord *, const struct ip_addr *);	/* after it is gone */
void ring_host_flushed(struct directord *, struct dir_host *);
void ring_user_kicked(struct directord *, const char *user);
void ring_user_kicked_alt(struct directord *, const char *field, const char *value);
/* Users with open sessions are refreshed to the ring every director_user_expire/4. */
void ring_refresh_sessions(struct directord *);
/* DIRECTOR-LIST lines, DIRECTOR-ADD, DIRECTOR-REMOVE (0 OK, -1 NOTFOUND) */
void ring_director_list(struct directord *, void (*out)(void *, const char *), void *arg);
void ring_director_add(struct directord *, const struct ip_addr *, unsigned int port);
int ring_director_remove(struct directord *, const struct ip_addr *, unsigned int port);

/* admin.c: the ring synced (or a tick passed): commands waiting for it go on */
void admin_ring_changed(struct directord *);

/* directord.c */
/* A listening UNIX socket at path registered with the loop; returns the fd or -1 after
 * printing why to errf. */
int dir_listen(struct directord *, const char *path, unsigned int mode, struct loop_io *,
    loop_io_cb *, FILE *errf);
/* Sets a host up or down (logged; the state file follows). */
void host_set_down(struct directord *, struct dir_host *, int down, const char *who);

#endif
