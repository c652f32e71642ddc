/* SPDX-License-Identifier: MIT */
/* applets/directord/ring.h: what ring.c (directors, links, handshake, topology, timers)
 * and ring_msg.c (the commands that travel on the ring) share. Dovecot 2.3's
 * director-to-director protocol, minor version 9 (shared/docs/director-ring.md). The rest
 * of directord sees only the ring_* hooks in directord.h. */
#ifndef DIRECTORD_RING_H
#define DIRECTORD_RING_H

#include "applets/directord/directord.h"
#include "core/conn.h"

#define RING_MINOR		9
#define RING_LINE_MAX		1024	/* Dovecot's input buffer: a longer line is an error */
#define RING_FIELDS_MAX		16

/* the protocol minor versions that gate what a link gets (director.h) */
#define RING_V_WEAK		1
#define RING_V_REMOVE		2
#define RING_V_QUIT		3
#define RING_V_KICK		4
#define RING_V_OPTIONS		5
#define RING_V_UPDOWN		6
#define RING_V_TAGS		7
#define RING_V_KICK_ALT		8
#define RING_V_TIMESTAMP	9

/* USER-MOVE kill states (director.h's user_kill_state), kept in dir_user.ring_kill */
enum {
	KILL_KILLING = 0,
	KILL_NOTIFY_RECEIVED,
	KILL_WAIT_NOTIFY,
	KILL_WAIT_EVERYONE,
	KILL_EVERYWHERE,		/* USER-KILLED-EVERYWHERE seen: on to the kick delay */
};

struct ring_dir {
	struct ip_addr ip;
	char ip_str[IP_ADDR_STRLEN];
	unsigned int port;
	unsigned int self : 1, removed : 1;
	unsigned int last_seq;
	unsigned int last_sync_seq, sync_dups;
	int64_t last_sync_ts;
	uint32_t desynced_hash;
	int64_t net_fail, proto_fail;		/* wall seconds */
	/* a SYNC to pass on once there is a right */
	unsigned int delayed_seq, delayed_minor;
	int64_t delayed_ts;
	uint32_t delayed_hash;
};

struct ring_link {
	struct ring_link *next;
	struct ring *r;
	struct conn *c;
	struct ring_dir *dir;		/* incoming: NULL until ME */
	struct ip_addr peer;		/* incoming: the source address */
	unsigned int in : 1, connected : 1, version : 1, me : 1, done : 1, synced : 1;
	unsigned int hosts_list : 1, ignore_hosts : 1, verifying_left : 1, closing : 1, outbuf_full : 1;
	unsigned int minor;
	uint64_t created_ms, connected_ms, me_ms, last_in_ms;
	uint64_t bytes_in, peak_buffered;
	int64_t last_input, last_output;	/* wall seconds, for ring status */
	unsigned int ping_ms, users;		/* users received (in) or sent (out) */
	uint64_t ping_sent_ms, pong_deadline;	/* ping_sent_ms 0: no PING outstanding */
	uint64_t disconnect_at;		/* CONNECT sent (10 s) or a wrong CONNECT (1 s) */
	int reconnect_after;		/* close at disconnect_at, then dial if no right */
	size_t last_pending;		/* handshake output still queued at the last tick */
};

struct admin_wait;

struct ring {
	struct directord *dd;
	struct ring_dir **dirs;		/* sorted by (ip, port) */
	size_t ndirs, capdirs;
	struct ring_dir *self;
	struct ring_link *links;
	struct ring_link *left, *right;
	int fd;
	struct loop_io io;
	struct loop_timer timer;
	unsigned int handshaked : 1, synced : 1, alone : 1, removed_self : 1;
	unsigned int sync_frozen : 1, sync_pending : 1, applying : 1;
	unsigned int sync_seq, min_minor;
	unsigned int change_counter, sync_sent_change_counter;
	int64_t last_sync_time, self_sync_ts;	/* wall */
	uint64_t sync_start_ms, sync_resend_at, reconnect_at, quick_retry_at, purge_at;
	uint64_t first_alone_ms;
	unsigned int last_sync_ms;
	unsigned int ping_idle_ms, ping_max_ms;
	size_t outbuf_max;
	int alone_policy;		/* RING_ALONE_* */
	uint64_t hosts_resend_ms;	/* last "resending hosts" (rate limit) */
	/* counters for bench and the log */
	uint64_t msgs_in, msgs_out;
};

enum { RING_ALONE_GRACE = 0, RING_ALONE_NEVER };

/* ring.c */
struct ring_dir *ring_dir_lookup(struct ring *, const struct ip_addr *, unsigned int port);
struct ring_dir *ring_dir_lookup_ip(struct ring *, const struct ip_addr *);
struct ring_dir *ring_dir_get(struct ring *, const struct ip_addr *, unsigned int port);
void ring_dir_restarted(struct ring_dir *);
int ring_dir_cmp_to_self(const struct ring_dir *, const struct ring_dir *, const struct ring_dir *self);
void ring_send(struct ring_link *, const char *line);	/* line ends with LF */
/* Sends to every link except those to src, whose peer knows min_minor. */
void ring_send_update(struct ring *, const struct ring_dir *src, unsigned int min_minor, const char *line);
void ring_link_close(struct ring_link *, const char *reason, int reconnect);
void ring_link_error(struct ring_link *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ring_connect(struct ring *, const char *reason);
int ring_connect_dir(struct ring *, struct ring_dir *, const char *reason);
void ring_sync(struct ring *);
void ring_sync_send(struct ring *, const struct ring_dir *origin, unsigned int seq, unsigned int minor,
    int64_t ts, uint32_t hash);
int ring_resend_sync(struct ring *);
void ring_set_handshaked(struct ring *);
void ring_set_synced(struct ring *);
void ring_ping(struct ring_link *);
void ring_send_connect(struct ring_link *, const struct ring_dir *);
void ring_state_changed(struct ring *);
void ring_link_set_synced(struct ring_link *, int synced);
void ring_assign_left(struct ring *);
int ring_link_assign_left(struct ring_link *);
int ring_link_assign_right(struct ring_link *);
void ring_incoming_me(struct ring_link *);
void ring_dir_remove(struct ring *, struct ring_dir *removed, struct ring_dir *src);
void ring_dir_added(struct ring *, struct ring_dir *added, const struct ring_dir *src, int log);

/* ring_msg.c */
/* Handles one line's fields; returns 1, or 0 after a protocol error or QUIT (the link is
 * then closed by the caller). */
int ring_msg_handle(struct ring_link *, char **f, size_t n);
void ring_msg_send_handshake(struct ring_link *);	/* dialler: hosts, users, OPTIONS, DONE */
void ring_send_host(struct ring *, const struct ring_dir *src, struct ring_dir *orig, struct dir_host *);
void ring_resend_hosts(struct ring *);
uint32_t ring_hosts_hash(struct ring *);
/* A move (from doveadm or the ring): host, flood, then the kill. */
void ring_move_user(struct ring *, const struct ring_dir *src, struct ring_dir *orig, uint32_t hash,
    struct dir_host *);

int ring_init(struct directord *, FILE *errf);
void ring_free(struct directord *);
int ring_synced(const struct directord *);
/* Directors are configured but none is reachable (or this one was removed): host
 * changes and moves are refused, new users wait (docs/directord.8.md). */
int ring_cut_off(const struct directord *);
/* 1 if this director originates the health checks' host up/down changes: it is the
 * lowest-sorted director of the synced ring it is connected to (or a ring of one). */
int ring_health_originator(const struct directord *);
/* 1 if a lookup for (tag, hash, u) may be answered now, 0 if it must wait (ring not
 * handshaked or synced, a weak user); may start a USER-WEAK round. */
int ring_lookup_ok(struct directord *, struct dir_tag *, uint32_t hash, struct dir_user *);
/* The user was assigned or its timestamp moved forward here: USER to the ring. */
void ring_user_refreshed(struct directord *, struct dir_user *, int64_t old_ts);
/* moves_user() changed the user's host here: USER-MOVE to the ring. */
void ring_user_moved(struct directord *, struct dir_user *);
/* doveadm director move in a ring: the move and its kill round (USER-MOVE etc.) */
void ring_user_move(struct directord *, uint32_t hash, struct dir_host *);
/* moves_check(): the user's sessions elsewhere are gone (or timed out); 1 when the kick
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

#endif
