/* SPDX-License-Identifier: MIT */
/* applets/replicatord/replicatord.h: what the files of replicatord share: the user queue
 * (queue.c), the scheduler (sched.c), one command on a backend's doveadm server
 * (dvclient.c) used by the syncs (dsync.c) and the userdb listing (listing.c), the sockets
 * (listen.c) with the replicator-doveadm protocol (radmin.c) and the notify protocols
 * (notify.c), replicator.db (rstate.c) and the metrics (rstats.c).
 * Not for other applets.
 *
 * The per-user record is Dovecot 2.3's (replicator-queue.c), so that the admin socket and
 * the state file say exactly what Dovecot's would; what mtool adds (backoff, a retry
 * time, the pair a user belongs to) lives beside it. */
#ifndef REPLICATORD_H
#define REPLICATORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/conf_known.h"
#include "core/http.h"
#include "core/loop.h"

enum repl_prio { PRIO_NONE, PRIO_LOW, PRIO_HIGH, PRIO_SYNC };

struct notify_conn;

/* A mail process (through its aggregator) waiting for a user's next sync. */
struct repl_waiter {
	struct repl_waiter *next;
	struct notify_conn *nc;		/* referenced: notify_unref() */
	unsigned int id;
	int armed;			/* a sync started after the request: its result answers */
};

struct repl_user {
	char *name;
	/* dsync states, one per initiating side of the pair ("" for none): a state is the
	 * master side's view, and an incremental sync skips mailboxes whose master side did
	 * not change, so changes on a side are synced from that side */
	char *state[2];
	int64_t last_update, last_fast, last_full, last_success;	/* wall seconds, 0 never */
	int64_t retry_at;		/* failed: not before this (backoff) */
	int64_t not_before;		/* start-up spreading of first full syncs */
	unsigned int fails;		/* consecutive failures, for the backoff */
	unsigned int pair;		/* index into repl.pairs */
	/* while syncing: what the sync cleared, written to replicator.db instead so that a
	 * crash during the sync loses no request */
	int64_t sync_old_full;
	unsigned char sync_prio;
	unsigned char prio;
	unsigned char sides;		/* bit 0/1: side A/B changed and must initiate a sync */
	unsigned int failed : 1, force_full : 1, syncing : 1, removed : 1;
	unsigned int startup_sync : 1;	/* one sync after a start (see rstate.c) */
	struct repl_waiter *waiters;
	struct repl_user *hnext;	/* hash chain */
	size_t idx;			/* in repl.users */
};

/* A doveadm server: TCP host:port (PLAIN with doveadm_password) or a UNIX socket. */
struct repl_backend {
	char *spec;			/* as configured, for logs and the state file */
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct ip_addr ip;		/* unset for UNIX: notifications are matched by it */
	char *dest;			/* explicit dsync destination, or NULL for -d */
};

/* Two backends: syncs run on the first (the initiator) towards the second; dsync is
 * two-way, so one direction moves changes both ways. */
struct repl_pair {
	struct repl_backend b[2];
};

enum slot_state {
	SLOT_NOT_CONNECTED, SLOT_CONNECT_FAILED, SLOT_HANDSHAKE, SLOT_AUTH, SLOT_DSYNC,
	SLOT_DSYNC_SECOND,
};

struct dsync;

/* A dsync connection slot as STATUS-DSYNC lists it (made on demand, never freed). */
struct repl_slot {
	struct dsync *ds;		/* NULL when idle */
	enum slot_state st;
	int64_t connect_failed;		/* wall seconds of the last failed connect */
	char fail_path[128];
};

struct repl_settings {
	const char *base_dir;
	const char *user;		/* default_internal_user */
	unsigned int max_conns;
	int64_t full_interval;		/* seconds */
	const char *dsync_params;
	const char *password;		/* doveadm_password */
	unsigned int sync_timeout_ms;
	unsigned int connect_timeout_ms;
	unsigned int retry_min, retry_max;	/* seconds */
	unsigned int startup_rate;	/* first full syncs per second at start-up */
	unsigned int list_at_start;
	int startup_sync;		/* replicator_startup_sync */
	char state_path[512];
	char import_path[512];		/* Dovecot's replicator.db, read if state_path is missing */
};

struct listener;
struct listing;
struct admin_conn;

struct repl {
	struct loop *loop;
	struct conf *conf;
	struct conf_unused unused;	/* accepted, not used: logged at start-up */
	struct repl_settings set;
	struct repl_pair *pairs;
	size_t npairs;
	struct repl_user **users;	/* every known user, unordered */
	size_t nusers, capusers;
	struct repl_user **buckets;
	size_t nbuckets;
	struct repl_slot *slots;
	size_t nslots, running;
	struct listener *listeners;
	struct admin_conn *admins;
	int fifo_wfd;			/* our own writer on the FIFO: readers never see EOF */
	struct notify_conn *notifies;
	struct loop_timer tick, kick;
	int dirty;
	uint64_t saved_ms;
	unsigned int listings;		/* userdb listings in progress */
	struct listing *listing_head;
	/* counters for the log and the bench */
	unsigned long long syncs_ok, syncs_failed;
	struct http_listen_set stats_set;	/* service stats { inet_listener http } */
};

/* queue.c */
struct repl_user *queue_find(struct repl *, const char *name);
/* Finds or adds (priority none, never synced); NULL if out of memory or the name is
 * unusable (empty or over 255 bytes). */
struct repl_user *queue_get(struct repl *, const char *name, unsigned int pair);
/* Raises the priority (a lower or equal one changes nothing) and wakes the scheduler;
 * side is the pair member that changed (0, 1), or -1 when unknown (then both sync). */
void queue_raise(struct repl *, struct repl_user *, enum repl_prio, int side);
/* Forgets the user; a running sync's result is dropped when it ends. */
void queue_remove(struct repl *, struct repl_user *);
/* Frees a user queue_remove() left to its running sync, once the sync let go of it. */
void queue_release(struct repl_user *);
/* When the user is next due (wall seconds). */
int64_t queue_due(const struct repl *, const struct repl_user *, int64_t now);
int queue_is_wildcard(const char *mask);
const char *queue_prio_name(unsigned int prio);
int queue_prio_parse(const char *s, enum repl_prio *);
void queue_free_all(struct repl *);
/* Answers the armed (or all) waiters with ok and forgets them. */
void queue_answer_waiters(struct repl_user *, int ok, int all);

/* sched.c */
void sched_kick(struct repl *);
void sched_tick(struct repl *);
/* A sync ended (dsync.c): result is NULL on success, else the reason; code is the
 * doveadm server's -CODE when it sent one. */
void sched_done(struct repl *, struct repl_user *, int side, int full, int64_t old_full,
    const char *new_state, const char *code, const char *reason);

/* dsync.c */
int dsync_start(struct repl *, size_t slot, struct repl_user *, int full);
void dsync_abort_all(struct repl *);
const char *dsync_slot_status(const struct repl *, const struct repl_slot *, char *buf,
    size_t len);
const char *dsync_slot_user(const struct repl_slot *);
const char *dsync_slot_type(const struct repl_slot *);
/* Parses "host:port", "[v6]:port" or "/path" into b. 0, or -1. */
int backend_parse(struct repl_backend *b, const char *spec);
void backend_free(struct repl_backend *b);

/* listing.c: asks each pair's initiator for its users ("user MASK") and adds them;
 * at start-up they are spread over time. */
void listing_start(struct repl *, const char *mask, int startup);
void listing_abort_all(struct repl *);
/* Parses the doveadm server's {"userList":["u1",...]} line (JSON string escapes, \uXXXX
 * outside the surrogates); calls add for each name that fits 255 bytes. 0, or -1 if the
 * line is not exactly that. */
int listing_parse(const char *line, void (*add)(void *, const char *), void *arg);

/* radmin.c and notify.c: the listeners (service replicator). */
int listeners_open(struct repl *, FILE *errf);
void listeners_close(struct repl *);
void notify_ref(struct notify_conn *);
void notify_unref(struct notify_conn *);
void notify_answer(struct notify_conn *, unsigned int id, int ok);
/* A new connection on a listener; admin is the replicator-doveadm protocol. */
void radmin_accept_fd(struct repl *, int fd);
void radmin_close_all(struct repl *);
void notify_close_all(struct repl *);
/* pair, side: the backend the listener serves, or -1 to match peer against them */
void notify_accept_fd(struct repl *, int fd, const struct ip_addr *peer, int pair, int side);
/* The replication plugin's own lines, on its replication-notify socket or FIFO. */
void notify_plugin_accept_fd(struct repl *, int fd, int fifo);

/* rstate.c */
int rstate_load(struct repl *, FILE *errf);
int rstate_save(struct repl *);

/* rstats.c: the metric families (docs/metrics.md) */
/* Registers them and the build info; the queue gauges read r at scrape time. */
void rstats_init(struct repl *);
/* A sync ended; started_us is metrics_now_us() at its start. */
void rstats_sync_done(int full, int ok, uint64_t started_us);

#endif
