/* SPDX-License-Identifier: MIT */
/* core/authclient.h: a client of Dovecot 2.3's auth-client protocol (the one its login
 * processes speak to the auth server): one connection on the event loop to a UNIX socket
 * or host:port, the VERSION/CPID handshake, AUTH requests with the PLAIN mechanism and an
 * initial response, and their OK/FAIL answers with the extra fields. Requests are
 * pipelined with per-connection ids; the connection is kept and reused. A lost connection
 * is made again for the next request, and requests in flight when it broke are sent once
 * more. When the server cannot be reached (or its handshake does not come), requests
 * fail at once for a delay that doubles from 1 s to 16 s. Each request has a deadline;
 * one that passes fails the request and closes the connection (a stuck server). Not SASL:
 * only PLAIN, and a CONT answer is a protocol error. Not for applets: core/passdb_auth.c
 * is its user. */
#ifndef CORE_AUTHCLIENT_H
#define CORE_AUTHCLIENT_H

#include <stddef.h>

#define AUTHCLIENT_LINE_MAX	16384	/* Dovecot's AUTH_CLIENT_MAX_LINE_LENGTH */
#define AUTHCLIENT_FIELDS_MAX	128	/* extra fields of one answer */
#define AUTHCLIENT_INFLIGHT_MAX	256

enum authclient_status {
	AUTHCLIENT_OK,
	AUTHCLIENT_FAIL,	/* FAIL without code=temp_fail */
	AUTHCLIENT_TEMPFAIL,	/* FAIL with code=temp_fail */
	AUTHCLIENT_ERROR,	/* no answer: unreachable, timeout, protocol error */
};

/* An answer; every string is valid during the callback only. keys[i] without '=' has
 * values[i] NULL. user= and (FAIL's) code= are taken out of the fields. */
struct authclient_reply {
	enum authclient_status status;
	const char *error;	/* ERROR: why */
	const char *user;	/* NULL: none */
	const char *code;	/* NULL: none */
	size_t nfields;
	const char *keys[AUTHCLIENT_FIELDS_MAX];
	const char *values[AUTHCLIENT_FIELDS_MAX];
};

typedef void authclient_cb(const struct authclient_reply *, void *arg);

struct authclient;
struct authclient_op;
struct loop;
struct passdb_request;

/* where: a UNIX socket's path (starting with '/'), or IP:port / [IPv6]:port /
 * localhost:port. timeout_ms: each request's deadline. NULL with the reason in err. */
struct authclient *authclient_new(const char *where, unsigned int timeout_ms, char *err,
    size_t errlen);
void authclient_set_loop(struct authclient *, struct loop *);
/* "/run/dovecot/auth-client" or "127.0.0.1:9100", for logs. */
const char *authclient_name(const struct authclient *);

/* Queues "AUTH <id> PLAIN service=.. session=.. lip=.. rip=.. lport=.. rport=.. resp=.."
 * for req's user and password (both needed). cb runs once from the loop unless the
 * operation is aborted. NULL: out of memory, or a user or password too long for a line. */
struct authclient_op *authclient_plain(struct authclient *, const struct passdb_request *req,
    authclient_cb *cb, void *arg);
/* Forgets op; its callback will not run (an answer that comes later is dropped). */
void authclient_op_abort(struct authclient_op *);

/* Pending operations fail. NULL is fine. */
void authclient_free(struct authclient *);

/* Parses one answer line (without its LF) in place: OK or FAIL with its id into r (status
 * OK, FAIL or TEMPFAIL). Returns 1 for such an answer, 0 for a CONT (*id set), -1 for
 * anything else or a malformed line (no id, a field with a NUL byte, too many fields).
 * For the client and the fuzz target. */
int authclient_reply_parse(char *line, size_t len, unsigned int *id,
    struct authclient_reply *r);

#endif
