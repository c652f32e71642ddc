/* SPDX-License-Identifier: MIT */
/* Implementation notes: RFC 4511 (messages), RFC 4515 (filter strings), RFC 4516 (URLs,
 * only scheme, host and port are read). Everything that calls an operation's callback
 * runs from the loop: ldap_search() and ldap_bind() only queue and arm a zero timer (the
 * "kick"), and answers are handed out after their bytes were consumed, so a callback may
 * queue or abort operations but never meets the connection half-read. */
#include "core/ldap.h"
#include "core/ber.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/reqq.h"
#include "core/sql_drv.h"
#include "core/str.h"
#include "core/tls.h"

#include <stdlib.h>
#include <string.h>

#define LDAP_CONNECT_TIMEOUT_MS	5000
#define LDAP_DELAY_MAX_S	60
#define LDAP_INFLIGHT_MAX	64
#define LDAP_FILTER_DEPTH	16
#define LDAP_ENTRY_STORE	(64 * 1024)

/* protocolOp tags (RFC 4511 section 4.2 to 4.5, 4.12) */
#define OP_BIND_REQ	0x60
#define OP_BIND_RESP	0x61
#define OP_UNBIND_REQ	0x42
#define OP_SEARCH_REQ	0x63
#define OP_SEARCH_ENTRY	0x64
#define OP_SEARCH_DONE	0x65
#define OP_SEARCH_REF	0x73
#define OP_EXTENDED_REQ	0x77
#define OP_EXTENDED_RESP 0x78

#define STARTTLS_OID	"1.3.6.1.4.1.1466.20037"	/* RFC 4511 section 4.14 */

#define RESULT_SIZE_LIMIT	4

enum client_state { ST_DOWN, ST_CONNECTING, ST_STARTTLS, ST_BINDING, ST_READY };

struct ldap_op {
	struct reqq_item it;	/* first: the queue's lists link these */
	struct ldap_client *c;
	struct strbuf req;	/* the protocolOp, encoded */
	long msgid;
	int exclusive;
	ldap_cb *cb;		/* NULL: aborted, the answer is thrown away */
	void *arg;
	struct ldap_result res;
	char *store;		/* the first entry's strings */
	size_t used;
};

struct ldap_client {
	struct sql_addr addrs[LDAP_SERVERS_MAX];
	char hosts[LDAP_SERVERS_MAX][128];	/* the name certificates are checked for */
	unsigned char ldaps[LDAP_SERVERS_MAX];
	size_t naddrs, cur, tries;
	struct tls_client *tls;			/* NULL: no TLS settings given */
	int starttls, verify;
	char *dn, *pw;
	struct loop *loop;
	struct conn *conn;
	enum client_state state;
	long next_id, bind_id;
	struct reqq q;
	int reset;		/* an aborted operation asked for a new connection */
	struct loop_timer kick;
	char last_error[160];
};

static void client_kick(struct ldap_client *c);
static void op_end(struct reqq_item *it, const char *error, void *arg);

/* ---- servers ---- */

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static int
parse_server(struct sql_addr *a, char *host, unsigned char *ldaps, const char *s, size_t n,
    char *err, size_t el)
{
	char path[108];
	unsigned long port = 389;
	const char *colon = NULL, *end = s + n;
	size_t hl;

	if (n > 7 && strncmp(s, "ldapi://", 8) == 0) {
		size_t o = 0;
		for (s += 8; s < end && *s != '/' && o + 1 < sizeof(path); s++) {
			int h, l;
			if (*s == '%' && end - s >= 3 && (h = hexval(s[1])) >= 0 &&
			    (l = hexval(s[2])) >= 0) {
				path[o++] = (char)(h << 4 | l);
				s += 2;
			} else
				path[o++] = *s;
		}
		path[o] = '\0';
		if (o == 0 || path[0] != '/' || (s < end && *s != '/')) {
			str_fmt(err, el, "%.*s: ldapi:// needs the socket's path, %%2F-encoded",
			    (int)n, s);
			return -1;
		}
		return sql_addr_parse(path, 0, NULL, a, err, el);
	}
	*ldaps = n > 7 && strncmp(s, "ldaps://", 8) == 0;
	if (*ldaps || (n > 6 && strncmp(s, "ldap://", 7) == 0)) {
		s += *ldaps ? 8 : 7;
		port = *ldaps ? 636 : 389;
		const char *slash = memchr(s, '/', (size_t)(end - s));
		if (slash != NULL)
			end = slash;
	}
	if (s < end && *s == '[') {
		const char *rb = memchr(s, ']', (size_t)(end - s));
		if (rb == NULL)
			goto bad;
		hl = (size_t)(rb - s - 1);
		s++;
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		if (colon == NULL && rb + 1 != end)
			goto bad;
	} else {
		colon = memchr(s, ':', (size_t)(end - s));
		hl = (size_t)((colon != NULL ? colon : end) - s);
	}
	if (colon != NULL) {
		port = 0;
		for (const char *q = colon + 1; q < end; q++) {
			if (*q < '0' || *q > '9' || (port = port * 10 + (unsigned long)(*q - '0')) >
			    65535)
				goto bad;
		}
		if (colon + 1 == end || port == 0)
			goto bad;
	}
	if (hl == 0 || hl >= 128)
		goto bad;
	memcpy(host, s, hl);
	host[hl] = '\0';	/* the caller's, for the certificate check */
	if (host[0] == '/')
		goto bad;
	return sql_addr_parse(host, (unsigned int)port, NULL, a, err, el);
bad:
	str_fmt(err, el, "bad LDAP server: %.*s", (int)n, s);
	return -1;
}

struct ldap_client *
ldap_client_new(const char *servers, const char *dn, const char *pw, char *err,
    size_t el)
{
	struct ldap_client *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		str_copy(err, "out of memory", el);
		return NULL;
	}
	for (const char *p = servers; *p != '\0';) {
		size_t n = strcspn(p, " ,\t");
		if (n == 0) {
			p++;
			continue;
		}
		if (c->naddrs == LDAP_SERVERS_MAX) {
			str_fmt(err, el, "more than %d LDAP servers", LDAP_SERVERS_MAX);
			goto fail;
		}
		if (parse_server(&c->addrs[c->naddrs], c->hosts[c->naddrs], &c->ldaps[c->naddrs],
		    p, n, err, el) < 0)
			goto fail;
		c->naddrs++;
		p += n;
	}
	if (c->naddrs == 0) {
		str_copy(err, "no LDAP server given", el);
		goto fail;
	}
	if (dn != NULL && ((c->dn = strdup(dn)) == NULL || (c->pw = strdup(pw != NULL ? pw :
	    "")) == NULL)) {
		str_copy(err, "out of memory", el);
		goto fail;
	}
	c->next_id = 1;
	reqq_init(&c->q, LDAP_DELAY_MAX_S, op_end, c);
	return c;
fail:
	ldap_client_free(c);
	return NULL;
}

int
ldap_client_set_tls(struct ldap_client *c, const struct ldap_tls_set *set, char *err,
    size_t el)
{
	tls_client_free(c->tls);
	c->tls = sql_tls_client(set->ca_file, set->ca_dir, set->cert_file, set->key_file, err,
	    el);
	c->starttls = set->starttls;
	c->verify = set->verify;
	return c->tls != NULL ? 0 : -1;
}

/* ---- filters (RFC 4515) ---- */

void
ldap_escape(struct strbuf *out, const char *v, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '@' || ch == '_' || ch == '-')
			strbuf_putc(out, (char)ch);
		else {
			char e[3] = { '\\', hex[ch >> 4], hex[ch & 15] };
			strbuf_append(out, e, 3);
		}
	}
}

/* An assertion value up to one of stops, unescaped into out. -1 on a bad escape or a
 * byte RFC 4515 wants escaped. */
static int
filter_value(const char **pp, struct strbuf *out, const char *stops)
{
	const char *p = *pp;

	for (; *p != '\0' && strchr(stops, *p) == NULL; p++) {
		int h, l;
		if (*p == '(')
			return -1;
		if (*p != '\\') {
			strbuf_putc(out, *p);
			continue;
		}
		if ((h = hexval(p[1])) < 0 || (l = hexval(p[2])) < 0)
			return -1;
		strbuf_putc(out, (char)(h << 4 | l));
		p += 2;
	}
	*pp = p;
	return 0;
}

static int
filter_item(struct strbuf *sb, const char **pp)
{
	const char *p = *pp, *attr = p;
	size_t alen, start;
	unsigned int tag = 0xa3;
	struct strbuf v;
	int r = -1;

	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == ';')
		p++;
	if ((alen = (size_t)(p - attr)) == 0)
		return -1;
	if ((p[0] == '~' || p[0] == '>' || p[0] == '<') && p[1] == '=') {
		tag = p[0] == '~' ? 0xa8 : p[0] == '>' ? 0xa5 : 0xa6;
		p++;
	} else if (p[0] != '=')
		return -1;	/* also extensible matches (":="): not used for logins */
	p++;
	if (tag == 0xa3 && p[0] == '*' && p[1] == ')') {
		ber_put_octets(sb, 0x87, attr, alen);
		*pp = p + 1;
		return 0;
	}
	strbuf_init(&v, LDAP_FILTER_MAX);
	if (tag != 0xa3 || strcspn(p, "*)") == strcspn(p, ")")) {
		if (filter_value(&p, &v, tag != 0xa3 ? "*)" : ")") < 0 || *p != ')')
			goto out;
		start = ber_begin(sb, tag);
		ber_put_octets(sb, BER_OCTETS, attr, alen);
		ber_put_octets(sb, BER_OCTETS, v.s, v.len);
		ber_end(sb, start);
	} else {
		/* substrings: initial*any*...*final, each part may be empty but not all */
		size_t s2, nparts = 0;
		start = ber_begin(sb, 0xa4);
		ber_put_octets(sb, BER_OCTETS, attr, alen);
		s2 = ber_begin(sb, BER_SEQUENCE);
		for (int first = 1;; first = 0) {
			strbuf_truncate(&v, 0);
			if (filter_value(&p, &v, "*)") < 0)
				goto out;
			if (v.len > 0) {
				ber_put_octets(sb, first ? 0x80 : *p == ')' ? 0x82 : 0x81, v.s, v.len);
				nparts++;
			}
			if (*p != '*')
				break;
			p++;
		}
		if (*p != ')' || nparts == 0)
			goto out;
		ber_end(sb, s2);
		ber_end(sb, start);
	}
	*pp = p;
	r = v.error ? -1 : 0;
out:
	strbuf_free(&v);
	return r;
}

static int
filter_enc(struct strbuf *sb, const char **pp, int depth)
{
	const char *p = *pp;
	size_t start;

	if (*p != '(' || depth > LDAP_FILTER_DEPTH)
		return -1;
	p++;
	if (*p == '&' || *p == '|') {
		start = ber_begin(sb, *p == '&' ? 0xa0 : 0xa1);
		p++;
		if (*p != '(')
			return -1;
		while (*p == '(')
			if (filter_enc(sb, &p, depth + 1) < 0)
				return -1;
		ber_end(sb, start);
	} else if (*p == '!') {
		start = ber_begin(sb, 0xa2);
		p++;
		if (filter_enc(sb, &p, depth + 1) < 0)
			return -1;
		ber_end(sb, start);
	} else if (filter_item(sb, &p) < 0)
		return -1;
	if (*p != ')')
		return -1;
	*pp = p + 1;
	return 0;
}

static int
filter_encode(struct strbuf *sb, const char *filter)
{
	const char *p = filter;

	if (strlen(filter) > LDAP_FILTER_MAX || filter_enc(sb, &p, 0) < 0 || *p != '\0')
		return -1;
	return sb->error ? -1 : 0;
}

int
ldap_filter_check(const char *filter, char *err, size_t el)
{
	struct strbuf sb;
	int r;

	strbuf_init(&sb, LDAP_MSG_MAX);
	r = filter_encode(&sb, filter);
	strbuf_free(&sb);
	if (r < 0)
		str_fmt(err, el, "bad LDAP filter: %s", filter);
	return r;
}

/* ---- responses ---- */

int
ldap_msg_parse(const unsigned char *p, size_t n, long *msgid, unsigned int *op,
    struct ber *body)
{
	struct ber b = { p, n }, msg;

	if (ber_expect(&b, BER_SEQUENCE, &msg) < 0 || b.len != 0 ||
	    ber_get_int(&msg, BER_INTEGER, msgid) < 0 || *msgid < 0 ||
	    ber_next(&msg, op, body) < 0)
		return -1;
	return 0;	/* controls, if any, are ignored */
}

static int
copy_str(char *store, size_t cap, size_t *used, const struct ber *s, const char **out)
{
	if (s->len >= cap - *used || memchr(s->p, '\0', s->len) != NULL)
		return -1;	/* too big, or a NUL that would cut the value short */
	memcpy(store + *used, s->p, s->len);
	store[*used + s->len] = '\0';
	*out = store + *used;
	*used += s->len + 1;
	return 0;
}

int
ldap_entry_parse(struct ber *body, struct ldap_result *r, char *store, size_t cap,
    size_t *used)
{
	struct ber dn, attrs, pa, type, vals, val;

	if (ber_expect(body, BER_OCTETS, &dn) < 0 ||
	    ber_expect(body, BER_SEQUENCE, &attrs) < 0)
		return -1;
	if (r->nentries++ > 0)
		return 0;
	if (copy_str(store, cap, used, &dn, &r->dn) < 0)
		return -1;
	while (attrs.len > 0) {
		unsigned int i = r->nattrs, nv = 0;
		if (ber_expect(&attrs, BER_SEQUENCE, &pa) < 0 ||
		    ber_expect(&pa, BER_OCTETS, &type) < 0 ||
		    ber_expect(&pa, BER_SET, &vals) < 0)
			return -1;
		if (i == LDAP_ATTRS_MAX)
			return -1;
		if (copy_str(store, cap, used, &type, &r->names[i]) < 0)
			return -1;
		r->values[i] = NULL;
		while (vals.len > 0) {
			if (ber_expect(&vals, BER_OCTETS, &val) < 0)
				return -1;
			if (nv++ == 0 && copy_str(store, cap, used, &val, &r->values[i]) < 0)
				return -1;
		}
		if (nv == 0)
			continue;	/* typesOnly-style answer: no value, no attribute */
		r->nvalues[i] = nv;
		r->nattrs++;
	}
	return 0;
}

int
ldap_result_parse(struct ber *body, long *code, char *msg, size_t msglen)
{
	struct ber dn, diag;

	if (ber_get_int(body, BER_ENUM, code) < 0 || *code < 0 ||
	    ber_expect(body, BER_OCTETS, &dn) < 0 ||
	    ber_expect(body, BER_OCTETS, &diag) < 0)
		return -1;
	str_fmt(msg, msglen, "%.*s", (int)(diag.len < 120 ? diag.len : 120),
	    (const char *)diag.p);
	sql_one_line(msg);
	return 0;
}

/* ---- the connection ---- */

static void
op_free(struct ldap_op *op)
{
	strbuf_free(&op->req);
	free(op->store);
	free(op);
}

static void
op_finish(struct ldap_op *op, const char *error, int code)
{
	if (op->cb != NULL) {
		op->res.error = error;
		op->res.code = code;
		op->cb(&op->res, op->arg);
	}
	op_free(op);
}

static void
op_end(struct reqq_item *it, const char *error, void *arg)
{
	(void)arg;
	op_finish((struct ldap_op *)it, error, -1);
}

/* polite: an UnbindRequest first (a client that goes away), else the socket is just
 * closed (it failed, or the server is stuck) */
static void
close_conn(struct ldap_client *c, int polite)
{
	if (c->conn != NULL) {
		if (polite && c->state == ST_READY) {
			uint8_t unbind[] = { BER_SEQUENCE, 5, BER_INTEGER, 1, 0, OP_UNBIND_REQ, 0 };
			unbind[4] = (uint8_t)(c->next_id & 0x7f);
			(void)conn_write(c->conn, unbind, sizeof(unbind));
			conn_close_after_flush(c->conn);
		} else
			conn_free(c->conn);
	}
	c->conn = NULL;
	c->state = ST_DOWN;
}

/* The connection broke or could not be made. Before it was ready: the next server is
 * tried, and when all failed, waiting operations fail and the delay grows. After: the
 * operations in flight are sent again once on a new connection. */
static void
conn_broken(struct ldap_client *c, const char *why)
{
	int was_ready = c->state == ST_READY, all_tried = 0;
	unsigned int delay;

	str_fmt(c->last_error, sizeof(c->last_error), "%s: %s", c->addrs[c->cur].name, why);
	close_conn(c, 0);
	if (was_ready) {
		log_warnx("ldap(%s): %s, reconnecting", c->addrs[c->cur].name, why);
		c->tries = 0;
	} else {
		c->cur = (c->cur + 1) % c->naddrs;
		if (++c->tries >= c->naddrs) {
			c->tries = 0;
			all_tried = 1;
		}
	}
	/* nothing is in flight before the connection is ready: only all_tried fails */
	if ((delay = reqq_broken(&c->q, !all_tried, c->last_error, loop_now(c->loop))) != 0)
		log_errorx("ldap: %s (next try in %u s)", c->last_error, delay);
	client_kick(c);
}

static void
send_msg(struct ldap_client *c, long id, const struct strbuf *opbody)
{
	struct strbuf env;
	size_t start;

	strbuf_init(&env, LDAP_MSG_MAX);
	start = ber_begin(&env, BER_SEQUENCE);
	ber_put_int(&env, BER_INTEGER, id);
	strbuf_append(&env, opbody->s, opbody->len);
	ber_end(&env, start);
	if (!env.error)
		(void)conn_write(c->conn, env.s, env.len);
	strbuf_free(&env);
}

static long
new_id(struct ldap_client *c)
{
	long id = c->next_id;

	c->next_id = c->next_id >= 0x7fffffff ? 1 : c->next_id + 1;
	return id;
}

static void
encode_bind(struct strbuf *sb, const char *dn, const char *pw)
{
	size_t start = ber_begin(sb, OP_BIND_REQ);

	ber_put_int(sb, BER_INTEGER, 3);
	ber_put_octets(sb, BER_OCTETS, dn, strlen(dn));
	ber_put_octets(sb, 0x80, pw, strlen(pw));	/* simple */
	ber_end(sb, start);
}

static void
flush(struct ldap_client *c)
{
	while (c->state == ST_READY && c->q.queue != NULL && c->q.nsent < LDAP_INFLIGHT_MAX) {
		struct ldap_op *op = (struct ldap_op *)c->q.queue;
		if (c->q.sent != NULL && (op->exclusive || ((struct ldap_op *)c->q.sent)->exclusive))
			break;
		reqq_send(&c->q);
		/* sent once more after a lost connection: what came of it the first time goes */
		op->res.nentries = op->res.nattrs = 0;
		op->res.dn = NULL;
		op->used = 0;
		op->msgid = new_id(c);
		send_msg(c, op->msgid, &op->req);
	}
}

/* Plaintext or TLS under way: the bind as dn, or ready at once. */
static void
connected(struct ldap_client *c)
{
	struct strbuf sb;

	if (c->dn == NULL) {
		c->state = ST_READY;
		c->tries = 0;
		reqq_connected(&c->q);
		conn_set_timeout(c->conn, 0);
		flush(c);
		return;
	}
	strbuf_init(&sb, LDAP_MSG_MAX);
	encode_bind(&sb, c->dn, c->pw);
	c->bind_id = new_id(c);
	c->state = ST_BINDING;
	send_msg(c, c->bind_id, &sb);
	strbuf_free(&sb);
}

/* TLS on the connection: the server's name is checked (tls_require_cert demand/hard). */
static int
start_tls(struct ldap_client *c)
{
	struct tls *t = tls_new_client(c->tls, c->hosts[c->cur][0] != '\0' ?
	    c->hosts[c->cur] : NULL, c->verify);

	if (t == NULL || conn_start_tls(c->conn, t) < 0) {
		conn_broken(c, "TLS initialization failed");
		return -1;
	}
	return 0;
}

/* RFC 4511 section 4.14: an ExtendedRequest for StartTLS, before anything else. */
static void
send_starttls(struct ldap_client *c)
{
	struct strbuf sb;
	size_t start;

	strbuf_init(&sb, 64);
	start = ber_begin(&sb, OP_EXTENDED_REQ);
	ber_put_octets(&sb, 0x80, STARTTLS_OID, sizeof(STARTTLS_OID) - 1);
	ber_end(&sb, start);
	c->bind_id = new_id(c);
	c->state = ST_STARTTLS;
	send_msg(c, c->bind_id, &sb);
	strbuf_free(&sb);
}

static void
handle_starttls_answer(struct ldap_client *c, struct ber *body, unsigned int opt)
{
	char msg[128], why[192];
	long code;

	if (opt != OP_EXTENDED_RESP || ldap_result_parse(body, &code, msg, sizeof(msg)) < 0) {
		conn_broken(c, "bad answer to StartTLS");
		return;
	}
	if (code != 0) {
		str_fmt(why, sizeof(why), "StartTLS refused: resultCode %ld%s%s", code,
		    msg[0] ? ": " : "", msg);
		conn_broken(c, why);
		return;
	}
	if (start_tls(c) == 0)
		connected(c);
}

static void
handle_bind_answer(struct ldap_client *c, struct ber *body, unsigned int opt)
{
	char msg[128], why[192];
	long code;

	if (opt != OP_BIND_RESP || ldap_result_parse(body, &code, msg, sizeof(msg)) < 0) {
		conn_broken(c, "bad answer to the bind");
		return;
	}
	if (code != 0) {
		str_fmt(why, sizeof(why), "bind as %s failed: resultCode %ld%s%s", c->dn, code,
		    msg[0] ? ": " : "", msg);
		conn_broken(c, why);
		return;
	}
	c->state = ST_READY;
	c->tries = 0;
	reqq_connected(&c->q);
	conn_set_timeout(c->conn, 0);
	flush(c);
}

/* One message for an operation in flight: 1 when it finished (taken off the list into
 * *done), 0 when more follow, -1 when malformed. */
static int
handle_op_msg(struct ldap_client *c, long id, unsigned int opt, struct ber *body,
    struct ldap_op **done, long *code, char *msg, size_t msglen)
{
	struct reqq_item *it = c->q.sent;
	struct ldap_op *op;

	while (it != NULL && ((struct ldap_op *)it)->msgid != id)
		it = it->next;
	if ((op = (struct ldap_op *)it) == NULL)
		return -1;
	if (opt == OP_SEARCH_ENTRY) {
		if (op->store == NULL && (op->store = malloc(LDAP_ENTRY_STORE)) == NULL)
			return -1;
		return ldap_entry_parse(body, &op->res, op->store, LDAP_ENTRY_STORE, &op->used);
	}
	if (opt == OP_SEARCH_REF)
		return 0;
	if (opt != OP_SEARCH_DONE && opt != OP_BIND_RESP)
		return -1;
	if (ldap_result_parse(body, code, msg, msglen) < 0)
		return -1;
	(void)reqq_unlink(&c->q, it);
	*done = op;
	return 1;
}

static void
read_msgs(struct ldap_client *c)
{
	while (c->conn != NULL) {
		size_t n, total;
		const unsigned char *p = (const unsigned char *)conn_peek(c->conn, &n);
		struct ldap_op *done = NULL;
		struct ber body;
		unsigned int opt;
		long id, code = 0;
		char msg[128], err[192];
		int r;

		if (n == 0 || (r = ber_frame(p, n, LDAP_MSG_MAX, &total)) == 0)
			return;
		if (r < 0 || ldap_msg_parse(p, total, &id, &opt, &body) < 0) {
			conn_broken(c, "malformed message from the server");
			return;
		}
		if (id == 0) {	/* unsolicited: a notice of disconnection */
			conn_broken(c, "the server gave notice of disconnection");
			return;
		}
		if (c->state == ST_BINDING || c->state == ST_STARTTLS) {
			if (id != c->bind_id) {
				conn_broken(c, "answer before the bind's");
				return;
			}
			conn_consume(c->conn, total);
			if (c->state == ST_STARTTLS)
				handle_starttls_answer(c, &body, opt);
			else
				handle_bind_answer(c, &body, opt);
			continue;
		}
		r = handle_op_msg(c, id, opt, &body, &done, &code, msg, sizeof(msg));
		if (r < 0) {
			conn_broken(c, "malformed or unexpected message from the server");
			return;
		}
		conn_consume(c->conn, total);
		if (done == NULL)
			continue;
		if (code == 0 || (code == RESULT_SIZE_LIMIT && opt == OP_SEARCH_DONE))
			op_finish(done, NULL, 0);
		else {
			str_fmt(err, sizeof(err), "resultCode %ld%s%s", code, msg[0] ? ": " : "",
			    msg);
			op_finish(done, err, (int)code);
		}
		client_kick(c);	/* room for more in flight */
	}
}

static void
conn_event(struct conn *conn, enum conn_event ev, void *arg)
{
	struct ldap_client *c = arg;
	const char *why;

	(void)conn;
	switch (ev) {
	case CONN_EV_CONNECTED:
		if (c->ldaps[c->cur] || c->starttls) {
			if (c->tls == NULL) {
				conn_broken(c, "ldaps:// or tls = yes without TLS settings");
				return;
			}
			if (!c->ldaps[c->cur]) {
				send_starttls(c);
				return;
			}
			if (start_tls(c) < 0)
				return;
		}
		connected(c);
		return;
	case CONN_EV_DATA:
		read_msgs(c);
		return;
	case CONN_EV_DRAINED:
		return;
	default:
		why = sql_conn_failure(c->conn, ev);
		conn_broken(c, why != NULL ? why : "connection failed");
	}
}

static void
on_kick(struct loop_timer *t, void *arg)
{
	struct ldap_client *c = arg;

	(void)t;
	if (c->reset) {
		c->reset = 0;
		/* only a ready connection has operations in flight */
		if (c->state == ST_READY) {
			conn_broken(c, "operation timed out");
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
	c->conn = sql_connect(c->loop, &c->addrs[c->cur], conn_event, c);
	if (c->conn == NULL) {
		conn_broken(c, "cannot create a socket");
		return;
	}
	conn_set_timeout(c->conn, LDAP_CONNECT_TIMEOUT_MS);
}

static void
client_kick(struct ldap_client *c)
{
	if (c->loop != NULL && !loop_timer_armed(&c->kick))
		(void)loop_timer_set(c->loop, &c->kick, 0, on_kick, c);
}

void
ldap_client_set_loop(struct ldap_client *c, struct loop *loop)
{
	c->loop = loop;
	client_kick(c);
}

static struct ldap_op *
op_queue(struct ldap_client *c, struct ldap_op *op)
{
	if (op->req.error) {
		op_free(op);
		return NULL;
	}
	reqq_push(&c->q, &op->it);
	op->c = c;
	client_kick(c);
	return op;
}

struct ldap_op *
ldap_search(struct ldap_client *c, const char *base, enum ldap_scope scope,
    enum ldap_deref deref, const char *filter, const char *const *attrs, size_t nattrs,
    ldap_cb *cb, void *arg)
{
	struct ldap_op *op = calloc(1, sizeof(*op));
	size_t start, s2;

	if (op == NULL)
		return NULL;
	op->cb = cb;
	op->arg = arg;
	strbuf_init(&op->req, LDAP_MSG_MAX);
	start = ber_begin(&op->req, OP_SEARCH_REQ);
	ber_put_octets(&op->req, BER_OCTETS, base, strlen(base));
	ber_put_int(&op->req, BER_ENUM, scope);
	ber_put_int(&op->req, BER_ENUM, deref);
	ber_put_int(&op->req, BER_INTEGER, 2);	/* two are enough to see "more than one" */
	ber_put_int(&op->req, BER_INTEGER, 0);
	ber_put_octets(&op->req, BER_BOOLEAN, "\0", 1);
	if (filter_encode(&op->req, filter) < 0) {
		op_free(op);
		return NULL;
	}
	s2 = ber_begin(&op->req, BER_SEQUENCE);
	for (size_t i = 0; i < nattrs; i++)
		ber_put_octets(&op->req, BER_OCTETS, attrs[i], strlen(attrs[i]));
	ber_end(&op->req, s2);
	ber_end(&op->req, start);
	return op_queue(c, op);
}

struct ldap_op *
ldap_bind(struct ldap_client *c, const char *dn, const char *pw, ldap_cb *cb, void *arg)
{
	struct ldap_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		return NULL;
	op->cb = cb;
	op->arg = arg;
	op->exclusive = 1;
	strbuf_init(&op->req, LDAP_MSG_MAX);
	encode_bind(&op->req, dn, pw);
	return op_queue(c, op);
}

void
ldap_op_abort(struct ldap_op *op, int close_it)
{
	struct ldap_client *c = op->c;

	if (reqq_unlink(&c->q, &op->it) == 1) {
		op_free(op);
		return;
	}
	op->cb = NULL;	/* in flight: its answer is read and dropped */
	op->it.dropped = 1;
	if (close_it) {
		c->reset = 1;
		client_kick(c);
	}
}

void
ldap_client_free(struct ldap_client *c)
{
	if (c == NULL)
		return;
	if (c->loop != NULL)
		loop_timer_cancel(c->loop, &c->kick);
	close_conn(c, 1);
	reqq_end_all(&c->q, "LDAP client closed");
	free(c->dn);
	free(c->pw);
	tls_client_free(c->tls);
	free(c);
}
