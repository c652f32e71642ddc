/* SPDX-License-Identifier: MIT */
/* Implementation notes: Dovecot 2.3's lib-auth/auth-client-connection.c and
 * auth-client-request.c (the client side), auth/auth-client-connection.c and
 * auth-request-handler.c (what the server accepts and answers). The client sends
 * VERSION and CPID at once and waits for the server's DONE before its first AUTH. The
 * server's MECH lines must list PLAIN. Callbacks run from the loop only: authclient_plain()
 * queues and arms a zero timer (the "kick"), answers are handed out after their line was
 * consumed. */
#include "core/authclient.h"
#include "core/ip.h"
#include "core/base64.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/passdb.h"
#include "core/reqq.h"
#include "core/sql_drv.h"
#include "core/str.h"
#include "core/tab.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AUTHCLIENT_CONNECT_TIMEOUT_MS	5000
#define AUTHCLIENT_DELAY_MAX_S		16
#define AUTHCLIENT_VALUE_MAX		1024	/* user, password, service, session */

enum client_state { ST_DOWN, ST_CONNECTING, ST_READY };

struct authclient_op {
	struct reqq_item it;	/* first: the queue's lists link these */
	struct authclient *c;
	char *line;		/* "AUTH\t" is written before it, the id and this after */
	size_t len;
	unsigned int id;
	struct loop_timer deadline;
	authclient_cb *cb;	/* NULL: aborted, the answer is thrown away */
	void *arg;
};

struct authclient {
	struct sql_addr addr;
	unsigned int timeout_ms;
	struct loop *loop;
	struct conn *conn;
	enum client_state state;
	int have_plain, reset;
	unsigned int next_id;
	struct reqq q;
	struct loop_timer kick;
	char last_error[192];
};

static void client_kick(struct authclient *c);
static void op_end(struct reqq_item *it, const char *error, void *arg);

struct authclient *
authclient_new(const char *where, unsigned int timeout_ms, char *err, size_t el)
{
	struct authclient *c = calloc(1, sizeof(*c));
	char hp[160];
	const char *host;
	unsigned int port;

	if (c == NULL) {
		str_copy(err, "out of memory", el);
		return NULL;
	}
	c->timeout_ms = timeout_ms;
	c->next_id = 1;
	reqq_init(&c->q, AUTHCLIENT_DELAY_MAX_S, op_end, c);
	if (where[0] == '/') {
		if (sql_addr_parse(where, 0, NULL, &c->addr, err, el) == 0)
			return c;
	} else if (str_copy(hp, where, sizeof(hp)) >= sizeof(hp) ||
	    ip_hostport_parse(hp, &host, &port, 0) < 0 || port == 0)
		str_fmt(err, el, "%s: a UNIX socket's path or host:port is needed", where);
	else if (sql_addr_parse(host, port, NULL, &c->addr, err, el) == 0)
		return c;
	free(c);
	return NULL;
}

const char *
authclient_name(const struct authclient *c)
{
	return c->addr.name;
}

/* ---- answers ---- */

static int
parse_id(const char *s, unsigned int *id)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || (v = v * 10 + (unsigned long)(*s - '0')) > 0xffffffffUL)
			return -1;
	}
	if (v == 0)
		return -1;
	*id = (unsigned int)v;
	return 0;
}

int
authclient_reply_parse(char *line, size_t len, unsigned int *id, struct authclient_reply *r)
{
	char *f[AUTHCLIENT_FIELDS_MAX + 3];
	size_t lens[AUTHCLIENT_FIELDS_MAX + 3], n;
	int is_ok;

	memset(r, 0, sizeof(*r));
	if (memchr(line, '\0', len) != NULL)
		return -1;
	n = tab_split_lens(line, f, lens, AUTHCLIENT_FIELDS_MAX + 3);
	if (n > AUTHCLIENT_FIELDS_MAX + 2 || n < 2 || parse_id(f[1], id) < 0)
		return -1;
	if (strcmp(f[0], "CONT") == 0)
		return 0;
	is_ok = strcmp(f[0], "OK") == 0;
	if (!is_ok && strcmp(f[0], "FAIL") != 0)
		return -1;
	r->status = is_ok ? AUTHCLIENT_OK : AUTHCLIENT_FAIL;
	for (size_t i = 2; i < n; i++) {
		char *eq = strchr(f[i], '=');
		/* an escaped NUL would cut a value short unseen */
		if (strlen(f[i]) != lens[i] || f[i][0] == '\0' || eq == f[i])
			return -1;
		if (eq != NULL)
			*eq++ = '\0';
		if (strcmp(f[i], "user") == 0 && eq != NULL)
			r->user = eq;
		else if (!is_ok && strcmp(f[i], "code") == 0 && eq != NULL)
			r->code = eq;
		else {
			r->keys[r->nfields] = f[i];
			r->values[r->nfields++] = eq;
		}
	}
	if (r->code != NULL && strcmp(r->code, "temp_fail") == 0)
		r->status = AUTHCLIENT_TEMPFAIL;
	return 1;
}

/* ---- operations ---- */

static void
op_free(struct authclient_op *op)
{
	if (op->c->loop != NULL)
		loop_timer_cancel(op->c->loop, &op->deadline);
	if (op->line != NULL) {
		explicit_bzero(op->line, op->len);	/* holds the password */
		free(op->line);
	}
	free(op);
}

static void
op_finish(struct authclient_op *op, const struct authclient_reply *r)
{
	if (op->cb != NULL)
		op->cb(r, op->arg);
	op_free(op);
}

static void
op_error(struct authclient_op *op, const char *error)
{
	struct authclient_reply r;

	memset(&r, 0, sizeof(r));
	r.status = AUTHCLIENT_ERROR;
	r.error = error;
	op_finish(op, &r);
}

static void
op_end(struct reqq_item *it, const char *error, void *arg)
{
	(void)arg;
	op_error((struct authclient_op *)it, error);
}

/* ---- the connection ---- */

/* The connection broke or could not be made (see reqq_broken). */
static void
conn_broken(struct authclient *c, const char *why)
{
	int was_ready = c->state == ST_READY;
	unsigned int delay;

	str_fmt(c->last_error, sizeof(c->last_error), "auth(%s): %s", c->addr.name, why);
	if (c->conn != NULL)
		conn_free(c->conn);
	c->conn = NULL;
	c->state = ST_DOWN;
	if (was_ready)
		log_warnx("%s, reconnecting", c->last_error);
	if ((delay = reqq_broken(&c->q, was_ready, c->last_error, loop_now(c->loop))) != 0)
		log_errorx("%s (next try in %u s)", c->last_error, delay);
	client_kick(c);
}

static void
flush(struct authclient *c)
{
	while (c->state == ST_READY && c->q.queue != NULL &&
	    c->q.nsent < AUTHCLIENT_INFLIGHT_MAX) {
		struct authclient_op *op = (struct authclient_op *)c->q.queue;
		char head[32];
		size_t hl;

		reqq_send(&c->q);
		op->id = c->next_id;
		c->next_id = c->next_id == 0xffffffffU ? 1 : c->next_id + 1;
		hl = str_fmt(head, sizeof(head), "AUTH\t%u\t", op->id);
		sql_write(c->conn, head, hl, op->line, op->len, "\n", 1);
	}
}

/* The server's greeting, up to DONE. 0 goes on, -1 broke the connection. */
static int
handshake_line(struct authclient *c, char *line)
{
	char *f[4];
	size_t n = tab_split(line, f, 3);

	if (strcmp(f[0], "VERSION") == 0) {
		if (n < 3 || strcmp(f[1], "1") != 0) {
			conn_broken(c, "the server speaks another major version of the auth protocol");
			return -1;
		}
	} else if (strcmp(f[0], "MECH") == 0) {
		if (n >= 2 && str_eq_nocase(f[1], "PLAIN"))
			c->have_plain = 1;
	} else if (strcmp(f[0], "DONE") == 0) {
		if (!c->have_plain) {
			conn_broken(c, "the server does not offer the PLAIN mechanism "
			    "(auth_mechanisms)");
			return -1;
		}
		c->state = ST_READY;
		reqq_connected(&c->q);
		conn_set_timeout(c->conn, 0);
		flush(c);
	}
	/* SPID, CUID, COOKIE and what later versions add are not needed */
	return 0;
}

static void
answer_line(struct authclient *c, char *line, size_t len)
{
	struct authclient_reply r;
	struct reqq_item *it = c->q.sent;
	struct authclient_op *op;
	unsigned int id;
	int k = authclient_reply_parse(line, len, &id, &r);

	if (k < 0) {
		if (strncmp(line, "OK\t", 3) == 0 || strncmp(line, "FAIL\t", 5) == 0 ||
		    strncmp(line, "CONT\t", 5) == 0) {
			conn_broken(c, "malformed answer from the server");
			return;
		}
		return;		/* a command this client does not know */
	}
	while (it != NULL && ((struct authclient_op *)it)->id != id)
		it = it->next;
	if (it == NULL) {
		conn_broken(c, "answer for a request that was not sent");
		return;
	}
	op = (struct authclient_op *)it;
	(void)reqq_unlink(&c->q, it);
	if (k == 0) {
		/* PLAIN with an initial response needs no more round trips */
		char cancel[32];
		size_t cl = str_fmt(cancel, sizeof(cancel), "CANCEL\t%u\n", id);
		(void)conn_write(c->conn, cancel, cl);
		op_error(op, "the server asked for more (CONT) after a PLAIN response");
	} else
		op_finish(op, &r);
	client_kick(c);
}

static void
read_lines(struct authclient *c)
{
	char *line;
	size_t len;
	int r;

	while (c->conn != NULL && (r = conn_getline(c->conn, &line, &len)) != 0) {
		if (r < 0) {
			conn_broken(c, "line from the server too long");
			return;
		}
		if (c->state != ST_READY) {
			if (memchr(line, '\0', len) != NULL) {
				conn_broken(c, "NUL byte in the handshake");
				return;
			}
			if (handshake_line(c, line) < 0)
				return;
		} else
			answer_line(c, line, len);
	}
}

static void
conn_event(struct conn *conn, enum conn_event ev, void *arg)
{
	struct authclient *c = arg;
	const char *why;
	char hello[64];
	size_t n;

	switch (ev) {
	case CONN_EV_CONNECTED:
		/* Dovecot's login processes send their PID; a plain client socket ignores it,
		 * a login socket wants it unique among its connections */
		n = str_fmt(hello, sizeof(hello), "VERSION\t1\t2\nCPID\t%d\n", (int)getpid());
		(void)conn_write(conn, hello, n);
		return;
	case CONN_EV_DATA:
		read_lines(c);
		return;
	case CONN_EV_DRAINED:
		return;
	case CONN_EV_TIMEOUT:
		conn_broken(c, c->state == ST_READY ? "read timeout" :
		    "no handshake from the server");
		return;
	default:
		why = sql_conn_failure(conn, ev);
		conn_broken(c, why != NULL ? why : "connection failed");
	}
}

static void
on_kick(struct loop_timer *t, void *arg)
{
	struct authclient *c = arg;

	(void)t;
	if (c->reset) {
		c->reset = 0;
		if (c->state != ST_DOWN) {
			conn_broken(c, "request timed out");
			return;
		}
	}
	if (c->state == ST_READY) {
		flush(c);
		return;
	}
	if (c->state != ST_DOWN || c->q.queue == NULL ||
	    reqq_hold(&c->q, c->last_error, loop_now(c->loop)))
		return;
	c->state = ST_CONNECTING;
	c->have_plain = 0;
	c->next_id = 1;
	c->conn = sql_connect(c->loop, &c->addr, conn_event, c);
	if (c->conn == NULL) {
		conn_broken(c, "cannot create a socket");
		return;
	}
	conn_set_line_max(c->conn, AUTHCLIENT_LINE_MAX);
	conn_set_timeout(c->conn, AUTHCLIENT_CONNECT_TIMEOUT_MS);
}

static void
client_kick(struct authclient *c)
{
	if (c->loop != NULL && !loop_timer_armed(&c->kick))
		(void)loop_timer_set(c->loop, &c->kick, 0, on_kick, c);
}

void
authclient_set_loop(struct authclient *c, struct loop *loop)
{
	c->loop = loop;
	client_kick(c);
}

/* A request's deadline: it fails, and a request sent but unanswered means the server is
 * stuck, so the connection is made again (the others in flight are sent once more). */
static void
on_deadline(struct loop_timer *t, void *arg)
{
	struct authclient_op *op = arg;
	struct authclient *c = op->c;
	char why[sizeof(c->last_error)];

	(void)t;
	str_fmt(why, sizeof(why), "auth(%s): request timed out after %u ms", c->addr.name,
	    c->timeout_ms);
	int was = reqq_unlink(&c->q, &op->it);

	if (was == 0)
		return;
	if (was == 2) {
		c->reset = 1;
		client_kick(c);
	}
	op_error(op, why);
}

static void
put_field(struct strbuf *sb, const char *key, const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	strbuf_putc(sb, '\t');
	strbuf_puts(sb, key);
	strbuf_putc(sb, '=');
	tab_escape(sb, value);
}

struct authclient_op *
authclient_plain(struct authclient *c, const struct passdb_request *req, authclient_cb *cb,
    void *arg)
{
	struct authclient_op *op;
	struct strbuf sb;
	char *plain, num[16];
	size_t ul, pl, b64;

	if (req->user == NULL || req->password == NULL ||
	    (ul = strlen(req->user)) > AUTHCLIENT_VALUE_MAX ||
	    (pl = strlen(req->password)) > AUTHCLIENT_VALUE_MAX ||
	    (op = calloc(1, sizeof(*op))) == NULL)
		return NULL;
	strbuf_init(&sb, AUTHCLIENT_LINE_MAX - 32);
	strbuf_puts(&sb, "PLAIN");
	put_field(&sb, "service", req->service != NULL ? req->service : "imap");
	put_field(&sb, "session", req->session);
	put_field(&sb, "lip", req->lip);
	put_field(&sb, "rip", req->rip);
	if (req->lport != 0) {
		str_fmt(num, sizeof(num), "%u", req->lport);
		put_field(&sb, "lport", num);
	}
	if (req->rport != 0) {
		str_fmt(num, sizeof(num), "%u", req->rport);
		put_field(&sb, "rport", num);
	}
	/* SASL PLAIN: empty authzid, NUL, authcid, NUL, password */
	b64 = base64_encoded_len(ul + pl + 2);
	strbuf_puts(&sb, "\tresp=");
	if ((plain = malloc(ul + pl + 2 + b64 + 1)) != NULL) {
		char *enc = plain + ul + pl + 2;
		plain[0] = '\0';
		memcpy(plain + 1, req->user, ul);
		plain[ul + 1] = '\0';
		memcpy(plain + ul + 2, req->password, pl);
		base64_encode(plain, ul + pl + 2, enc, b64 + 1);
		strbuf_append(&sb, enc, b64);
		explicit_bzero(plain, ul + pl + 2 + b64 + 1);
		free(plain);
	}
	if (plain == NULL || sb.error) {
		if (sb.s != NULL)
			explicit_bzero(sb.s, sb.len);
		strbuf_free(&sb);
		free(op);
		return NULL;
	}
	op->line = sb.s;	/* the strbuf's memory is the op's now */
	op->len = sb.len;
	op->c = c;
	op->cb = cb;
	op->arg = arg;
	if (c->loop != NULL && c->timeout_ms != 0 &&
	    loop_timer_set(c->loop, &op->deadline, c->timeout_ms, on_deadline, op) < 0) {
		op_free(op);
		return NULL;
	}
	reqq_push(&c->q, &op->it);
	client_kick(c);
	return op;
}

void
authclient_op_abort(struct authclient_op *op)
{
	struct authclient *c = op->c;

	if (reqq_unlink(&c->q, &op->it) == 1) {
		op_free(op);
		return;
	}
	op->cb = NULL;	/* in flight: its answer is read and dropped */
	op->it.dropped = 1;
	if (c->loop != NULL)
		loop_timer_cancel(c->loop, &op->deadline);
}

void
authclient_free(struct authclient *c)
{
	if (c == NULL)
		return;
	if (c->loop != NULL)
		loop_timer_cancel(c->loop, &c->kick);
	if (c->conn != NULL)
		conn_free(c->conn);
	c->conn = NULL;
	reqq_end_all(&c->q, "auth client closed");
	free(c);
}
