/* SPDX-License-Identifier: MIT */
/* applets/proxyd/lmtp_backend.c: the LMTP (or SMTP, protocol=smtp) client toward one
 * backend of a transaction: banner, LHLO/EHLO, XCLIENT when offered and trusted, MAIL,
 * one RCPT at a time, DATA streamed from the spool, and the replies (one per recipient
 * for LMTP, one for all with SMTP). A backend that fails gives 451 4.4.0 to its own
 * recipients only, as Dovecot's lmtp-proxy does; a recipient is never told 250 for the
 * message unless its backend said so after the final ".". */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "applets/proxyd/lmtp.h"
#include "applets/proxyd/settings.h"
#include "config.h"
#include "core/log.h"
#include "core/str.h"
#include "core/tls.h"
#include "core/xtext.h"

#define SPOOL_CHUNK		16384
#define SEND_HIGH_WATER		65536	/* queued toward the backend before waiting */

static void backend_cb(struct conn *, enum conn_event, void *);

static const char *const backend_state_names[] = {
	[LB_CONNECTING] = "connect", [LB_BANNER] = "banner", [LB_LHLO] = "lhlo",
	[LB_STARTTLS] = "starttls", [LB_XCLIENT] = "xclient", [LB_LHLO2] = "lhlo", [LB_MAIL] = "mail_from",
	[LB_IDLE] = "idle", [LB_RCPT] = "rcpt_to", [LB_DATA] = "data",
	[LB_SENDING] = "data", [LB_REPLIES] = "data_replies", [LB_DONE] = "done",
};

static const char *
route_name(const struct lmtp_backend *b, char *buf, size_t len)
{
	str_fmt(buf, len, "%s:%u", b->route.host, b->route.port);
	return buf;
}

static void
send_line(struct lmtp_backend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
send_line(struct lmtp_backend *b, const char *fmt, ...)
{
	char line[LMTP_MAX_CMD + 2048];
	va_list ap;
	va_start(ap, fmt);
	size_t n = str_vfmt(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n > sizeof(line) - 3)
		n = sizeof(line) - 3;	/* cannot happen: the parts are limited */
	memcpy(line + n, "\r\n", 2);
	conn_write(b->conn, line, n + 2);
}

struct lmtp_backend *
lmtp_backend_get(struct lmtp_session *s, const struct lmtp_route *rt)
{
	struct proxyd *pd = s->pd;
	struct lmtp_backend *b;
	struct sockaddr_storage dst, src;
	socklen_t dstlen, srclen = 0;
	const struct ip_addr *sip = NULL;
	char name[300];

	/* recipients with the same route share one connection and transaction */
	for (b = s->backends; b; b = b->next)
		if (b->route.smtp == rt->smtp && b->route.port == rt->port && b->route.ssl == rt->ssl &&
		    b->route.starttls == rt->starttls && b->route.any_cert == rt->any_cert &&
		    strcmp(b->route.host, rt->host) == 0 && ip_equal(&b->route.ip, &rt->ip) &&
		    ip_equal(&b->route.source_ip, &rt->source_ip))
			return b;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->s = s;
	b->route = *rt;
	if ((b->route.host = strdup(rt->host)) == NULL) {
		free(b);
		return NULL;
	}
	b->seq = ++s->backend_seq;
	b->next = s->backends;
	s->backends = b;

	if (rt->source_ip.family)
		sip = &rt->source_ip;
	for (unsigned int i = 0; sip == NULL && i < pd->set->nsource_ips; i++) {
		const struct ip_addr *ip = &pd->set->source_ips[pd->source_rr++ % pd->set->nsource_ips];
		if (ip->family == rt->ip.family)
			sip = ip;
	}
	ip_to_sockaddr(&rt->ip, rt->port, &dst, &dstlen);
	if (sip)
		ip_to_sockaddr(sip, 0, &src, &srclen);
	b->state = LB_CONNECTING;
	b->conn = conn_connect(pd->loop, (struct sockaddr *)&dst, dstlen,
	    sip ? (struct sockaddr *)&src : NULL, srclen, LMTP_MAX_REPLY, backend_cb, b);
	if (b->conn == NULL) {
		lmtp_log(s, 1, "proxy: connect(%s) failed: %s", route_name(b, name, sizeof(name)), strerror(errno));
		b->state = LB_DONE;
		b->fail_detail = "connect, ";
		return b;
	}
	/* proxy_timeout: no answer for this long fails the backend's recipients */
	conn_set_timeout(b->conn, rt->timeout_ms);
	return b;
}

/* The recipients of b, in RCPT order: the n-th (0-based), or NULL. */
static struct lmtp_rcpt *
backend_rcpt(struct lmtp_backend *b, unsigned int n)
{
	struct lmtp_session *s = b->s;
	for (unsigned int i = 0; i < s->nrcpts; i++)
		if (s->rcpts[i]->backend == b && n-- == 0)
			return s->rcpts[i];
	return NULL;
}

static void
fail_text(struct lmtp_backend *b, const struct lmtp_rcpt *r, char *buf, size_t len)
{
	str_fmt(buf, len, "451 4.4.0 Proxy failed (%ssession=%s)", b->fail_detail ? b->fail_detail : "",
	    r->session_id);
}

/* The backend is unusable: its pending and accepted recipients that have no answer
 * yet get 451 4.4.0. detail is Dovecot's: "connect, ", "connection lost, ", ... */
static void
backend_fail(struct lmtp_backend *b, const char *detail, const char *log_reason)
{
	struct lmtp_session *s = b->s;
	enum lmtp_backend_state was = b->state;
	char text[256], name[300];

	if (b->state == LB_DONE)
		return;
	lmtp_log(s, 1, "proxy: %s: %s (state=%s, session=%s)", route_name(b, name, sizeof(name)), log_reason,
	    backend_state_names[was], s->trans_id);
	b->fail_detail = detail;
	b->state = LB_DONE;
	if (b->conn) {
		conn_free(b->conn);
		b->conn = NULL;
	}
	if (b->pending) {
		struct lmtp_rcpt *r = b->pending;
		b->pending = NULL;
		fail_text(b, r, text, sizeof(text));
		lmtp_rcpt_done(s, r, 0, text);
		return;
	}
	if (was >= LB_DATA && was <= LB_REPLIES) {
		for (unsigned int i = 0; i < b->nrcpts; i++) {
			struct lmtp_rcpt *r = backend_rcpt(b, i);
			if (r && r->reply == NULL) {
				fail_text(b, r, text, sizeof(text));
				lmtp_data_reply(s, r, text);
			}
		}
	}
}

/* "250 2.1.5 OK" stays; "550 no such user" becomes "550 5.0.0 no such user"; a success
 * without an enhanced code gets def2 (e.g. "2.1.0"). */
static void
reply_forward(const char *line, const char *def2, char *out, size_t len)
{
	const char *text = line[3] == ' ' || line[3] == '-' ? line + 4 : line + 3;
	int enh = text[0] >= '2' && text[0] <= '5' && text[1] == '.' &&
	    strspn(text + 2, "0123456789.") > 2 && strchr(text + 2, '.') != NULL;
	if (enh) {
		str_fmt(out, len, "%.3s %s", line, text);
		return;
	}
	if (line[0] == '2')
		str_fmt(out, len, "%.3s %s %s", line, def2, text);
	else
		str_fmt(out, len, "%.3s %c.0.0 %s", line, line[0], text);
}

/* the enhanced code of a reply line, or def */
static void
reply_enhanced(const char *line, const char *def, char *out, size_t len)
{
	const char *text = line + 4;
	size_t n = strcspn(text, " ");
	if (strlen(line) > 4 && text[0] >= '2' && text[0] <= '5' && text[1] == '.' && n >= 5 && n < 12 &&
	    strspn(text, "0123456789.") == n)
		str_fmt(out, len, "%.*s", (int)n, text);
	else
		str_copy(out, def, len);
}

/* TLS on the backend connection now (ssl at connect, or after STARTTLS's 220); the
 * certificate is checked against ssl_client_ca_* for the passdb's host unless any-cert.
 * Returns 0, or -1 after failing the backend. */
static int
backend_tls(struct lmtp_backend *b)
{
	struct tls *t = tls_new_client(b->s->pd->tls_client, b->route.host, !b->route.any_cert);
	if (t == NULL || conn_start_tls(b->conn, t) < 0) {
		backend_fail(b, "connect, ", "TLS: out of memory");
		return -1;
	}
	b->tls_started = 1;
	return 0;
}

static void
send_rcpt(struct lmtp_backend *b)
{
	struct lmtp_rcpt *r = b->pending;
	struct strbuf sb;
	strbuf_init(&sb, LMTP_MAX_CMD + 16384);
	strbuf_printf(&sb, "RCPT TO:<%s>%s", r->backend_address, r->params);
	if (r->add_orcpt) {
		strbuf_puts(&sb, " ORCPT=rfc822;");
		xtext_encode(&sb, r->address);
	}
	/* as Dovecot: the TAB-joined forward fields, xtext-encoded */
	if (r->forward && b->cap_rcptforward) {
		strbuf_puts(&sb, " XRCPTFORWARD=");
		xtext_encode(&sb, r->forward);
	}
	b->state = LB_RCPT;
	conn_set_timeout(b->conn, b->route.timeout_ms);
	strbuf_puts(&sb, "\r\n");
	if (sb.error) {
		/* cannot happen with the limits on the parts; say so rather than cut */
		strbuf_free(&sb);
		backend_fail(b, "", "RCPT command too long");
		return;
	}
	conn_write(b->conn, sb.s, sb.len);
	strbuf_free(&sb);
}

void
lmtp_backend_rcpt(struct lmtp_backend *b, struct lmtp_rcpt *r)
{
	struct lmtp_session *s = b->s;
	char text[256];
	if (b->state == LB_DONE) {
		if (b->fail_text) {
			lmtp_rcpt_done(s, r, 0, b->fail_text);
		} else {
			fail_text(b, r, text, sizeof(text));
			lmtp_rcpt_done(s, r, 0, text);
		}
		return;
	}
	lmtp_session_busy(s);
	b->pending = r;
	if (b->state == LB_IDLE)
		send_rcpt(b);
}

static int
xclient_offers(const struct lmtp_backend *b, const char *attr)
{
	size_t n = strlen(attr);
	for (const char *p = b->xclient; *p;) {
		size_t len = strcspn(p, " ");
		if (len == n && str_has_prefix_nocase(p, attr))
			return 1;
		p += len;
		p += strspn(p, " ");
	}
	return 0;
}

/* Dovecot's order: HELO, PROTO, LOGIN, SESSION, TTL, TIMEOUT, PORT, ADDR */
static void
send_xclient(struct lmtp_backend *b)
{
	struct lmtp_session *s = b->s;
	struct strbuf sb;
	char ip[IP_ADDR_STRLEN];
	strbuf_init(&sb, 2048);
	strbuf_puts(&sb, "XCLIENT");
	if (s->helo && xclient_offers(b, "HELO")) {
		strbuf_puts(&sb, " HELO=");
		xtext_encode(&sb, s->helo);
	}
	if (xclient_offers(b, "PROTO"))
		strbuf_puts(&sb, " PROTO=LMTP");
	if (xclient_offers(b, "SESSION")) {
		/* values are xtext: base64 session ids hold '+' */
		char sess[128];
		str_fmt(sess, sizeof(sess), "%s:P%u", s->trans_id, b->seq);
		strbuf_puts(&sb, " SESSION=");
		xtext_encode(&sb, sess);
	}
	if (xclient_offers(b, "TTL"))
		strbuf_printf(&sb, " TTL=%u", s->ttl_received ? s->ttl - 1 : s->ttl);
	if (s->rip.family && xclient_offers(b, "PORT"))
		strbuf_printf(&sb, " PORT=%u", s->rport);
	if (s->rip.family && xclient_offers(b, "ADDR"))
		/* LMTP sends IPv6 without the "IPV6:" prefix, SMTP with it (as Dovecot) */
		strbuf_printf(&sb, " ADDR=%s%s", s->rip.family == AF_INET6 && b->route.smtp ? "IPV6:" : "",
		    ip_format(&s->rip, ip, sizeof(ip)));
	b->state = LB_XCLIENT;
	send_line(b, "%s", sb.s);
	strbuf_free(&sb);
}

static void
send_more(struct lmtp_backend *b)
{
	struct lmtp_session *s = b->s;
	char buf[SPOOL_CHUNK];
	while (b->state == LB_SENDING && conn_out_pending(b->conn) < SEND_HIGH_WATER) {
		if (b->sent >= s->spool_size) {
			conn_write(b->conn, ".\r\n", 3);
			b->state = LB_REPLIES;
			break;
		}
		size_t want = sizeof(buf);
		if ((off_t)want > s->spool_size - b->sent)
			want = (size_t)(s->spool_size - b->sent);
		ssize_t n = pread(s->spool_fd, buf, want, b->sent);
		if (n <= 0) {
			char why[128];
			str_fmt(why, sizeof(why), "reading the message spool failed: %s", n < 0 ? strerror(errno) : "short file");
			backend_fail(b, "", why);
			return;
		}
		conn_write(b->conn, buf, (size_t)n);
		b->sent += n;
	}
	/* the idle timeout runs while the backend takes the message */
	conn_set_timeout(b->conn, b->route.timeout_ms);
}

void
lmtp_backend_data(struct lmtp_session *s)
{
	for (struct lmtp_backend *b = s->backends; b; b = b->next) {
		if (b->nrcpts == 0)
			continue;
		if (b->state != LB_IDLE) {
			/* failed after its recipients were accepted */
			char text[256];
			if (b->fail_detail == NULL)
				b->fail_detail = "connection lost, ";
			for (unsigned int i = 0; i < b->nrcpts; i++) {
				struct lmtp_rcpt *r = backend_rcpt(b, i);
				fail_text(b, r, text, sizeof(text));
				lmtp_data_reply(s, r, text);
			}
			b->state = LB_DONE;
			continue;
		}
		b->state = LB_DATA;
		conn_set_timeout(b->conn, b->route.timeout_ms);
		send_line(b, "DATA");
	}
}

/* one DATA reply from the backend (LMTP: for its next recipient; SMTP: for all) */
static void
data_reply(struct lmtp_backend *b, const char *line)
{
	struct lmtp_session *s = b->s;
	char text[1200], enh[16], name[300];
	unsigned int first = b->nreplies, last = b->route.smtp || b->one_reply ? b->nrcpts : b->nreplies + 1;
	uint64_t ms = loop_now(s->pd->loop) - s->data_started_ms;

	for (unsigned int i = first; i < last; i++) {
		struct lmtp_rcpt *r = backend_rcpt(b, i);
		if (r == NULL)
			break;
		int ok = line[0] == '2';
		lmtp_log(s, 0, "proxy(%s): <%s>: %s <%s> at %s: %s (%u/%u at %llu ms)", r->user, r->session_id,
		    ok ? "Sent message to" : "Failed to send message to", r->backend_address,
		    route_name(b, name, sizeof(name)), line, r->pos, s->nrcpts, (unsigned long long)ms);
		if (ok) {
			/* as Dovecot: our own success text, the backend's enhanced code */
			reply_enhanced(line, "2.0.0", enh, sizeof(enh));
			str_fmt(text, sizeof(text), "250 %s %s Saved", enh, r->session_id);
		} else {
			reply_forward(line, "2.0.0", text, sizeof(text));
		}
		b->nreplies = i + 1;
		lmtp_data_reply(s, r, text);
	}
	if (b->nreplies >= b->nrcpts) {
		send_line(b, "QUIT");
		b->state = LB_DONE;
		conn_close_after_flush(b->conn);
		b->conn = NULL;
	}
}

static void
caps_line(struct lmtp_backend *b, const char *line)
{
	const char *cap = line + 4;
	if (str_has_prefix_nocase(cap, "XCLIENT ") || str_eq_nocase(cap, "XCLIENT")) {
		b->cap_xclient = 1;
		str_copy(b->xclient, cap[7] ? cap + 8 : "", sizeof(b->xclient));
	} else if (str_eq_nocase(cap, "XRCPTFORWARD")) {
		b->cap_rcptforward = 1;
	} else if (str_eq_nocase(cap, "STARTTLS")) {
		b->cap_starttls = 1;
	}
}

/* A complete reply; line is its last line. */
static void
backend_reply(struct lmtp_backend *b, const char *line)
{
	struct lmtp_session *s = b->s;
	char text[1200], why[1200];
	char code = line[0];

	switch (b->state) {
	case LB_BANNER:
		if (code != '2') {
			str_fmt(why, sizeof(why), "Invalid banner: %s", line);
			backend_fail(b, "connect, ", why);
			return;
		}
		b->state = LB_LHLO;
		send_line(b, "%s %s", b->route.smtp ? "EHLO" : "LHLO", s->pd->set->hostname);
		return;
	case LB_LHLO:
	case LB_LHLO2:
		if (code != '2') {
			str_fmt(why, sizeof(why), "%s failed: %s", b->route.smtp ? "EHLO" : "LHLO", line);
			backend_fail(b, "connect, ", why);
			return;
		}
		if (b->route.starttls && !b->tls_started) {
			if (!b->cap_starttls) {
				backend_fail(b, "connect, ", "Remote doesn't support STARTTLS");
				return;
			}
			b->state = LB_STARTTLS;
			send_line(b, "STARTTLS");
			return;
		}
		if (b->state == LB_LHLO && b->cap_xclient && !b->route.not_trusted) {
			send_xclient(b);
			return;
		}
		b->state = LB_MAIL;
		send_line(b, "MAIL FROM:%s", s->mail_from);
		return;
	case LB_STARTTLS:
		if (code != '2') {
			str_fmt(why, sizeof(why), "STARTTLS failed: %s", line);
			backend_fail(b, "connect, ", why);
			return;
		}
		if (backend_tls(b) < 0)
			return;
		/* RFC 3207: forget what was learnt before TLS, greet again */
		b->cap_xclient = b->cap_rcptforward = b->cap_starttls = 0;
		b->state = LB_LHLO;
		send_line(b, "%s %s", b->route.smtp ? "EHLO" : "LHLO", s->pd->set->hostname);
		return;
	case LB_XCLIENT:
		if (code != '2') {
			str_fmt(why, sizeof(why), "XCLIENT failed: %s", line);
			backend_fail(b, "connect, ", why);
			return;
		}
		/* XCLIENT restarts the session: a new banner came, LHLO again */
		b->cap_xclient = 0;
		b->cap_rcptforward = 0;
		b->state = LB_LHLO2;
		send_line(b, "%s %s", b->route.smtp ? "EHLO" : "LHLO", s->pd->set->hostname);
		return;
	case LB_MAIL:
		if (code != '2') {
			/* the backend's own answer goes to each recipient routed here */
			reply_forward(line, "2.0.0", text, sizeof(text));
			free(b->fail_text);
			b->fail_text = strdup(text);
			str_fmt(why, sizeof(why), "MAIL FROM failed: %s", line);
			struct lmtp_rcpt *r = b->pending;
			b->pending = NULL;
			b->state = LB_DONE;
			lmtp_log(s, 0, "proxy: %s:%u: %s", b->route.host, b->route.port, why);
			conn_free(b->conn);
			b->conn = NULL;
			if (r)
				lmtp_rcpt_done(s, r, 0, b->fail_text ? b->fail_text : text);
			return;
		}
		b->state = LB_IDLE;
		if (b->pending)
			send_rcpt(b);
		else
			conn_set_timeout(b->conn, 0);
		return;
	case LB_RCPT: {
		struct lmtp_rcpt *r = b->pending;
		b->pending = NULL;
		b->state = LB_IDLE;
		/* nothing is outstanding: proxy_timeout waits for the next command */
		conn_set_timeout(b->conn, 0);
		reply_forward(line, "2.1.0", text, sizeof(text));
		if (code == '2') {
			r->backend = b;
			b->nrcpts++;
		}
		lmtp_rcpt_done(s, r, code == '2', text);
		return;
	}
	case LB_DATA:
		if (line[0] != '3') {
			/* DATA refused: that is every recipient's answer here */
			b->state = LB_REPLIES;
			b->one_reply = 1;
			data_reply(b, line);
			return;
		}
		b->state = LB_SENDING;
		send_more(b);
		return;
	case LB_REPLIES:
		data_reply(b, line);
		return;
	case LB_SENDING:
		/* an answer before the message ended: the backend gave up on it */
		str_fmt(why, sizeof(why), "Unexpected reply during DATA: %s", line);
		backend_fail(b, "bad reply, ", why);
		return;
	case LB_CONNECTING:
	case LB_IDLE:
	case LB_DONE:
		str_fmt(why, sizeof(why), "Unexpected reply: %s", line);
		backend_fail(b, "bad reply, ", why);
		return;
	}
}

static void
backend_input(struct lmtp_backend *b)
{
	char *line;
	size_t len;
	while (b->conn && b->state != LB_DONE) {
		int r = conn_getline(b->conn, &line, &len);
		if (r == 0)
			return;
		if (r < 0) {
			backend_fail(b, "bad reply, ", "Reply too long");
			return;
		}
		if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
		    line[2] < '0' || line[2] > '9' || (len > 3 && line[3] != ' ' && line[3] != '-')) {
			char why[600];
			str_fmt(why, sizeof(why), "Invalid reply: %.500s", line);
			backend_fail(b, "bad reply, ", why);
			return;
		}
		if (b->state == LB_LHLO || b->state == LB_LHLO2)
			caps_line(b, line);
		if (len > 3 && line[3] == '-')
			continue;
		backend_reply(b, line);
	}
}

static void
backend_cb(struct conn *conn, enum conn_event ev, void *arg)
{
	struct lmtp_backend *b = arg;
	char why[300];
	(void)conn;
	switch (ev) {
	case CONN_EV_CONNECTED: {
		/* the final ".\r\n" and each command are small writes: without this, Nagle
		 * holds them for the backend's delayed ACK (40 ms per transaction, measured) */
		int one = 1;
		setsockopt(conn_fd(conn), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		b->state = LB_BANNER;
		if (b->route.ssl && !b->route.starttls)
			backend_tls(b);	/* the banner comes over TLS */
		return;
	}
	case CONN_EV_DATA:
		backend_input(b);
		return;
	case CONN_EV_EOF:
		backend_fail(b, b->state == LB_BANNER ? "connect, " : "connection lost, ",
		    "Disconnected by server: Connection closed");
		return;
	case CONN_EV_ERROR:
		if (conn_tls_active(conn) && !conn_tls_ready(conn)) {
			/* never falls back to plaintext */
			str_fmt(why, sizeof(why), "%s handshake failed: %s (host=%s%s)",
			    b->route.starttls ? "STARTTLS" : "TLS", conn_error_str(conn), b->route.host,
			    b->route.any_cert ? ", any-cert" : "");
			backend_fail(b, "connect, ", why);
		} else if (b->state == LB_CONNECTING) {
			str_fmt(why, sizeof(why), "connect() failed: %s", strerror(conn_error(conn)));
			backend_fail(b, "connect, ", why);
		} else {
			str_fmt(why, sizeof(why), "Disconnected by server: %s", strerror(conn_error(conn)));
			backend_fail(b, "connection lost, ", why);
		}
		return;
	case CONN_EV_TIMEOUT:
		backend_fail(b, "timed out, ", "Timed out waiting for the backend");
		return;
	case CONN_EV_DRAINED:
		if (b->state == LB_SENDING)
			send_more(b);
		return;
	}
}

static void
backend_free_deferred(void *p)
{
	struct lmtp_backend *b = p;
	free(b->route.host);
	free(b->fail_text);
	free(b);
}

void
lmtp_backend_free(struct lmtp_backend *b)
{
	if (b->conn) {
		if (b->state == LB_IDLE) {
			send_line(b, "QUIT");
			conn_close_after_flush(b->conn);
		} else {
			conn_free(b->conn);
		}
		b->conn = NULL;
	}
	/* a recipient still waiting for this backend's answer (the session ends) is ours */
	if (b->pending) {
		lmtp_rcpt_free(b->pending);
		b->pending = NULL;
	}
	b->state = LB_DONE;
	loop_defer_free(b->s->pd->loop, backend_free_deferred, b);
}
