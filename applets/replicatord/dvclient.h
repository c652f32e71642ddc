/* SPDX-License-Identifier: MIT */
/* applets/replicatord/dvclient.h: one command on a backend's doveadm server (dvclient.c),
 * for the syncs (dsync.c) and the userdb listing (listing.c). */
#ifndef REPLICATORD_DVCLIENT_H
#define REPLICATORD_DVCLIENT_H

#include "applets/replicatord/replicatord.h"
#include "core/str.h"

enum dv_step { DV_CONNECTING, DV_HANDSHAKE_WAIT, DV_AUTH_WAIT, DV_REPLY };

struct dvreq {
	struct repl_backend *b;
	const char *password;
	struct strbuf cmd;		/* the command line, LF included */
	size_t line_max;
	unsigned int handshake_timeout_ms, reply_timeout_ms;
	/* each reply line after the handshake; returns 0 to read on, or 1 after it called
	 * dvclient_req_cancel() and ended the request itself (q may be freed then) */
	int (*line)(struct dvreq *, char *line);
	/* the connection failed or ended (reason), after which q->c is NULL */
	void (*done)(struct dvreq *, const char *reason);
	void (*on_step)(struct dvreq *);	/* for STATUS-DSYNC; may be NULL */
	void *arg;
	/* state */
	struct conn *c;
	enum dv_step step;
	int connect_failed;
};

/* Connects; the callbacks follow from the loop. 0, or -1 (errno) if no socket. */
int dvclient_req_start(struct repl *, struct dvreq *);
/* Closes the connection without calling done(). */
void dvclient_req_cancel(struct dvreq *);

/* Parses "host:port", "[v6]:port" or "/path" into b. 0, or -1. */
int dvclient_backend_parse(struct repl_backend *b, const char *spec);
void dvclient_backend_free(struct repl_backend *b);

#endif
