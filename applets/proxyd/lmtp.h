/* SPDX-License-Identifier: MIT */
/* applets/proxyd/lmtp.h: what the LMTP proxy's files share: one LMTP session from a
 * client (Postfix's lmtp:, Dovecot's own proxies), its transaction, its recipients and
 * the backend connections they were routed to. Not a login protocol: there is no client
 * login and no byte relay; every recipient is looked up and routed on its own, as
 * Dovecot's lmtp/lmtp-proxy.c does (protocols.md §9.5). */
#ifndef PROXYD_LMTP_H
#define PROXYD_LMTP_H

#include <stdint.h>
#include <sys/types.h>

#include "applets/proxyd/proxyd.h"
#include "core/smtpdot.h"

struct lmtp_session;
struct lmtp_backend;

/* One recipient the client's RCPT TO named, accepted by its backend. */
struct lmtp_rcpt {
	char *address;		/* as the client gave it, without <> */
	char *backend_address;	/* after user/destuser: what the backend gets */
	char *user;		/* the passdb's name for it (logs) */
	char *params;		/* the client's RCPT parameters (" ORCPT=..."), or "" */
	char *forward;		/* forward_* fields for XRCPTFORWARD (base64), or NULL */
	unsigned int add_orcpt : 1;	/* the address changed: tell the backend the original */
	unsigned int renamed : 1;	/* user/destuser changed the name (no self-loop check) */
	char session_id[96];	/* as Dovecot: "<trans>" or "<trans>:R<n>" */
	struct lmtp_backend *backend;
	char *reply;		/* final DATA reply (without CRLF), NULL until known */
	unsigned int index;	/* 1-based number of the RCPT command in the transaction */
	unsigned int pos;	/* 1-based place among the accepted recipients (logs) */
};

/* What the DATA phase of a backend is doing. */
enum lmtp_backend_state {
	LB_CONNECTING,
	LB_BANNER,		/* waiting for 220 */
	LB_LHLO,		/* LHLO/EHLO sent */
	LB_STARTTLS,		/* STARTTLS sent */
	LB_XCLIENT,		/* XCLIENT sent: its reply is a new banner */
	LB_LHLO2,		/* LHLO/EHLO again after XCLIENT */
	LB_MAIL,		/* MAIL FROM sent */
	LB_IDLE,		/* transaction open, nothing outstanding */
	LB_RCPT,		/* RCPT TO sent */
	LB_DATA,		/* DATA sent, waiting for 354 */
	LB_SENDING,		/* streaming the spooled message */
	LB_REPLIES,		/* message sent, collecting the replies */
	LB_DONE,		/* all replies in, or failed */
};

/* Where recipients are routed: recipients with equal routes share one backend
 * connection and transaction (Dovecot compares the same things). */
struct lmtp_route {
	char *host;			/* as given (logs, comparison) */
	struct ip_addr ip;
	unsigned int port;
	struct ip_addr source_ip;	/* family 0: login_source_ips or none */
	unsigned int timeout_ms;
	unsigned int smtp : 1;		/* protocol=smtp: EHLO and one DATA reply */
	unsigned int ssl : 1;		/* ssl or starttls: TLS toward the backend */
	unsigned int starttls : 1;	/* ... after STARTTLS rather than at connect */
	unsigned int any_cert : 1;	/* ... without verifying its certificate */
	unsigned int not_trusted : 1;	/* proxy_not_trusted: no XCLIENT */
};

struct lmtp_backend {
	struct lmtp_session *s;
	struct lmtp_backend *next;
	struct lmtp_route route;
	struct conn *conn;
	enum lmtp_backend_state state;
	unsigned int seq;		/* P<n> of the XCLIENT SESSION */
	struct lmtp_rcpt *pending;	/* the recipient whose RCPT is outstanding */
	unsigned int nrcpts;		/* accepted here */
	unsigned int nreplies;		/* DATA replies received (LMTP) */
	off_t sent;			/* spool bytes written so far */
	const char *fail_detail;	/* failed: Dovecot's "connect, ", "connection lost, "... */
	char *fail_text;		/* MAIL refused: the backend's reply, for every recipient */
	char xclient[128];		/* the XCLIENT attributes the backend offers, or "" */
	unsigned int cap_xclient : 1;
	unsigned int cap_rcptforward : 1;
	unsigned int cap_starttls : 1;
	unsigned int tls_started : 1;
	unsigned int one_reply : 1;	/* SMTP, or DATA refused: one reply for all */
};

enum lmtp_state {
	LMTP_READY,		/* no transaction */
	LMTP_MAIL,		/* MAIL given: RCPT or DATA next */
	LMTP_BUSY,		/* a RCPT is being routed: client input waits */
	LMTP_DATA,		/* receiving the message into the spool */
	LMTP_BDAT,		/* receiving (or skipping) one BDAT chunk */
	LMTP_DELIVERING,	/* the message goes to the backends */
};

struct lmtp_session {
	struct proxyd *pd;
	struct lmtp_session *prev, *next;	/* pd->lmtp_sessions */
	struct conn *conn;
	enum lmtp_state state;
	struct ip_addr rip, lip;	/* unset for a UNIX socket peer */
	unsigned int rport, lport;
	char session_id[72];
	char trans_id[96];
	unsigned int ntrans;		/* transactions started on this connection */
	unsigned int nrcpt_cmds;	/* RCPT commands in this transaction */
	unsigned int bad_cmds;
	unsigned int ttl;		/* hops left; from a trusted XCLIENT TTL, else 5 */
	unsigned int ttl_received : 1;
	unsigned int trusted : 1;	/* login_trusted_networks or a UNIX socket */
	unsigned int tls : 1;		/* TLS with the client (ssl listener or STARTTLS) */
	unsigned int skipping_line : 1;	/* discarding the rest of a too long command */
	unsigned int out_blocked : 1;	/* input paused until the client reads its replies */
	unsigned int destroyed : 1;
	char *helo;
	char *mail_from;		/* "<path>[ params]" as it goes to the backends */
	struct lmtp_rcpt **rcpts;	/* accepted, in RCPT order */
	unsigned int nrcpts, rcpts_cap;
	unsigned int next_reply;	/* first recipient whose DATA reply the client lacks */
	struct lmtp_backend *backends;
	unsigned int backend_seq;
	/* the spooled message (see lmtp_data.c) */
	int spool_fd;
	off_t spool_size;
	struct smtpdot dot;
	int too_big;
	uint64_t bdat_left;		/* bytes of the current chunk still to come */
	uint64_t bdat_chunk_size;
	enum lmtp_state bdat_return;	/* where a skipped chunk returns to */
	unsigned int bdat_last : 1;
	unsigned int bdat_skip : 1;	/* the chunk was refused: its bytes are dropped */
	unsigned int bdat_started : 1;	/* chunks were taken in this transaction */
	unsigned int bdat_failed : 1;	/* a chunk was refused: RSET needed */
	uint64_t data_started_ms;
	struct loop_timer finish;	/* ends a transaction outside the backends' callbacks */
	struct lmtp_rcpt *dir_rcpt;	/* waiting for the passdb, directord or DNS (lmtp_rcpt.c) */
	unsigned int passdb_lookup_id;
	unsigned int rcpt_has_orcpt : 1;
	struct lmtp_route dir_route;
	unsigned int dir_lookup_id;
	struct dns_query *dns_q;	/* the DNS lookup for dir_route.host */
};

/* lmtp_session.c */
void lmtp_accept(struct proxyd *, int fd, const struct sockaddr *peer, const struct sockaddr *local,
    int ssl);
void lmtp_destroy_all(struct proxyd *);
/* Called by a backend when the RCPT it was given got its answer: reply is the line for
 * the client (CRLF added here); the session reads the next command. */
void lmtp_rcpt_done(struct lmtp_session *, struct lmtp_rcpt *, int accepted, const char *reply);
/* Called when a recipient's DATA reply is known; replies go out in RCPT order. */
void lmtp_data_reply(struct lmtp_session *, struct lmtp_rcpt *, const char *reply);
/* A RCPT is being routed: client input waits until lmtp_rcpt_done(). */
void lmtp_session_busy(struct lmtp_session *);
void lmtp_log(struct lmtp_session *, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* lmtp_rcpt.c: looks the recipient up in the passdb and routes it; always ends with
 * lmtp_rcpt_done() (now or when the backend answered). params: the RCPT parameters. */
void lmtp_rcpt_route(struct lmtp_session *, const char *address, const char *params, int has_orcpt);
/* The session goes away: forgets a recipient still waiting for directord. */
void lmtp_rcpt_abort(struct lmtp_session *);
/* lmtp_session.c */
void lmtp_rcpt_free(struct lmtp_rcpt *);

/* lmtp_backend.c */
/* The backend for route (created and connected on first use). NULL if out of memory. */
struct lmtp_backend *lmtp_backend_get(struct lmtp_session *, const struct lmtp_route *);
/* Sends RCPT for r (after the backend's greeting, LHLO and MAIL if they are still to
 * come); the answer comes through lmtp_rcpt_done(). */
void lmtp_backend_rcpt(struct lmtp_backend *, struct lmtp_rcpt *);
/* Starts DATA on every backend with recipients; replies come through lmtp_data_reply(). */
void lmtp_backend_data(struct lmtp_session *);
/* Closes one backend (QUIT when idle) and frees it (deferred: safe from its callbacks). */
void lmtp_backend_free(struct lmtp_backend *);

/* lmtp_data.c: the message from the client, dot-stuffed as on the wire, in an unlinked
 * file under mail_temp_dir, so that memory stays bounded whatever its size. */
/* Opens the spool; 0 or -1 (errno). */
int lmtp_spool_open(struct lmtp_session *);
/* Takes DATA bytes from the client's buffered input: 1 when the final "." line was
 * seen (consumed), 0 when more is needed, -1 on a spool write error. */
int lmtp_spool_feed(struct lmtp_session *);
/* Takes up to bdat_left bytes of a BDAT chunk (dot-stuffed into the spool, or dropped
 * with discard): 1 when the chunk is complete, 0 when more is needed, -1 on a write
 * error. */
int lmtp_spool_chunk(struct lmtp_session *, int discard);
/* After BDAT LAST: ends the text with CRLF if it ends inside a line. 0 or -1. */
int lmtp_spool_chunks_end(struct lmtp_session *);
void lmtp_spool_close(struct lmtp_session *);

#endif
