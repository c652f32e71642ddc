/* SPDX-License-Identifier: MIT */
/* applets/proxyd/relay.h: an established proxied session, as the admin side (proxy
 * list, kick) sees it. */
#ifndef PROXYD_RELAY_H
#define PROXYD_RELAY_H

#include <stdint.h>

#include "core/ip.h"
#include "core/buf.h"
#include "core/loop.h"

struct passdb_result;

struct relay_dir {
	struct buf buf;		/* copy mode, and bytes left over from the login dialogue */
	int pipe[2];		/* splice mode: a pooled pipe while bytes are in it, else -1 */
	size_t in_pipe;
	uint64_t bytes;		/* read from the source */
	unsigned int eof : 1;	/* the source closed */
	unsigned int shut : 1;	/* the destination's write side is shut */
};

/* What is shown and matched by proxy list/kick: one allocation, strings inside. */
struct relay_info {
	const char *log_name;		/* "user,backend-ip:port" for "proxy(...)" */
	const char *tail;		/* "user=<...>, method=..., rip=..., ..." */
	const char *user;
	const char *host;		/* the backend as the passdb named it (KICK-HOST) */
	const char *rip;
	const char *dest_ip;
	unsigned int dest_port;
	const char *session;
	const char *conn_guid;
	unsigned int nalt;		/* user_* fields from the passdb */
	const char **alt_keys, **alt_values;
};

/* Per backend address: for login_proxy_max_disconnect_delay. */
struct backend_rec {
	struct backend_rec *next;
	struct ip_addr ip;
	unsigned int port;
	unsigned int proxying;		/* sessions now */
	unsigned int disconnects;	/* server-side disconnects in the current burst */
	unsigned int delayed;		/* of which delayed */
	uint64_t burst_start;		/* loop_now() of the burst's first disconnect */
};

struct relay {
	struct proxyd *pd;
	struct relay *prev, *next;
	const struct proxyd_proto *proto;
	struct relay_info *info;
	struct loop_io cio, bio;
	struct tls *ctls, *btls;	/* TLS engines of the client and backend sides, or NULL */
	struct relay_dir up;		/* client to backend */
	struct relay_dir down;		/* backend to client */
	struct loop_timer timer;
	uint64_t last_io;
	int64_t started;
	const char *first_eof;		/* "client" or "server" */
	struct backend_rec *backend;
	unsigned int closed : 1;
	unsigned int oom : 1;
	unsigned int delayed : 1;	/* backend gone, client close delayed */
};


#endif
