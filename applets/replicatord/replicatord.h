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

#include "core/ip.h"

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

/* Each file's functions are declared in its own header; these are all of them, so
 * that a replicatord file includes replicatord.h alone. */
#include "applets/replicatord/dsync.h"
#include "applets/replicatord/dvclient.h"
#include "applets/replicatord/listeners.h"
#include "applets/replicatord/listing.h"
#include "applets/replicatord/notify.h"
#include "applets/replicatord/queue.h"
#include "applets/replicatord/radmin.h"
#include "applets/replicatord/rstate.h"
#include "applets/replicatord/rstats.h"
#include "applets/replicatord/sched.h"

#endif
