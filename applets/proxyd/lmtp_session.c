/* SPDX-License-Identifier: MIT */
/* applets/proxyd/lmtp_session.c: the LMTP server side of the proxy (RFC 2033): greeting,
 * LHLO, MAIL, RCPT (each recipient looked up in the passdb and routed, see lmtp_rcpt.c),
 * DATA into the spool, one reply per accepted recipient in RCPT order, RSET, NOOP, VRFY,
 * XCLIENT from trusted peers, QUIT. Replies use Dovecot 2.3's texts.
 *
 * Commands run one at a time: while a RCPT waits for its backend or the message goes
 * out, the client's input stays buffered (paused), so pipelined commands are answered in
 * order without a queue of their own. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/proxyd/lmtp.h"
#include "applets/proxyd/settings.h"
#include "applets/proxyd/stats.h"
#include "config.h"
#include "core/log.h"
#include "core/str.h"
#include "core/tls.h"
#include "core/xtext.h"

#define LMTP_PROXY_TTL		5		/* as Dovecot's LMTP_PROXY_DEFAULT_TTL */
#define LMTP_IDLE_TIMEOUT_MS	(5 * 60 * 1000)	/* as Dovecot's lmtp */
#define LMTP_OUT_HIGH		16384		/* replies queued before input waits */

static void lmtp_conn_cb(struct conn *, enum conn_event, void *);
static void lmtp_input(struct lmtp_session *);

const struct proxyd_proto lmtp_proto = {
	.name = "lmtp",
	.log_prefix = "lmtp",
	.port = 24,
	.accept = lmtp_accept,
};

static const char *const state_names[] = {
	[LMTP_READY] = "READY", [LMTP_MAIL] = "MAIL", [LMTP_BUSY] = "RCPT",
	[LMTP_DATA] = "DATA", [LMTP_BDAT] = "DATA", [LMTP_DELIVERING] = "DATA",
};

void
lmtp_log(struct lmtp_session *s, int error, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	(void)s;
	va_start(ap, fmt);
	str_vfmt(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_set_prefix("lmtp");
	(error ? log_errorx : log_info)("%s", msg);
}

static const char *
peer_name(struct lmtp_session *s, char *buf, size_t len)
{
	if (s->rip.family == 0)
		return "local";
	return ip_format(&s->rip, buf, len);
}

static void
reply(struct lmtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
reply(struct lmtp_session *s, const char *fmt, ...)
{
	char line[1100];
	va_list ap;
	va_start(ap, fmt);
	size_t n = str_vfmt(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	memcpy(line + n, "\r\n", 2);
	conn_write(s->conn, line, n + 2);
}

void
lmtp_accept(struct proxyd *pd, int fd, const struct sockaddr *peer, const struct sockaddr *local,
    int ssl)
{
	struct lmtp_session *s = calloc(1, sizeof(*s));
	char ip[IP_ADDR_STRLEN];
	const char *bad;
	if (s == NULL) {
		close(fd);
		return;
	}
	s->pd = pd;
	s->spool_fd = -1;
	ip_from_sockaddr(peer, &s->rip, &s->rport);
	ip_from_sockaddr(local, &s->lip, &s->lport);
	/* a UNIX socket peer is local: its file mode is the access control */
	s->trusted = s->rip.family == 0 ||
	    ip_net_list_match(pd->set->login_trusted_networks, &s->rip, &bad) == 1;
	s->ttl = LMTP_PROXY_TTL;
	client_session_id(s->session_id, sizeof(s->session_id), &s->rip, s->rport);
	s->conn = conn_new(pd->loop, fd, LMTP_MAX_CMD, lmtp_conn_cb, s);
	if (s->conn == NULL) {
		free(s);
		return;
	}
	conn_set_timeout(s->conn, LMTP_IDLE_TIMEOUT_MS);
	struct tls *t;
	if (ssl && ((t = tls_new_server(proxyd_tls_server(pd, &s->lip))) == NULL ||
	    conn_start_tls(s->conn, t) < 0)) {
		conn_free(s->conn);
		free(s);
		return;
	}
	s->tls = ssl != 0;
	s->next = pd->lmtp_sessions;
	if (s->next)
		s->next->prev = s;
	pd->lmtp_sessions = s;
	pd->nlmtp++;
	lmtp_log(s, 0, "Connect from %s", peer_name(s, ip, sizeof(ip)));
	reply(s, "220 %s %s", pd->set->hostname, pd->set->login_greeting);
}

void
lmtp_rcpt_free(struct lmtp_rcpt *r)
{
	free(r->address);
	free(r->backend_address);
	free(r->user);
	free(r->forward);
	free(r->params);
	free(r->reply);
	free(r);
}

/* Ends the transaction: backends are closed (QUIT), recipients and spool forgotten. */
static void
transaction_reset(struct lmtp_session *s)
{
	while (s->backends) {
		struct lmtp_backend *b = s->backends;
		s->backends = b->next;
		lmtp_backend_free(b);
	}
	for (unsigned int i = 0; i < s->nrcpts; i++)
		lmtp_rcpt_free(s->rcpts[i]);
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpts = s->rcpts_cap = s->next_reply = 0;
	s->nrcpt_cmds = 0;
	free(s->mail_from);
	s->mail_from = NULL;
	lmtp_spool_close(s);
	s->bdat_started = s->bdat_failed = 0;
	if (s->state != LMTP_BUSY)
		s->state = LMTP_READY;
}

static void
session_free(void *p)
{
	struct lmtp_session *s = p;
	free(s->helo);
	free(s);
}

static void
lmtp_destroy(struct lmtp_session *s, const char *reason)
{
	char ip[IP_ADDR_STRLEN];
	if (s->destroyed)
		return;
	s->destroyed = 1;
	loop_timer_cancel(s->pd->loop, &s->finish);
	lmtp_rcpt_abort(s);
	lmtp_log(s, 0, "Disconnect from %s: %s (state=%s)", peer_name(s, ip, sizeof(ip)), reason,
	    state_names[s->state]);
	s->state = LMTP_READY;
	transaction_reset(s);
	if (s->conn) {
		conn_close_after_flush(s->conn);
		s->conn = NULL;
	}
	if (s->prev)
		s->prev->next = s->next;
	else
		s->pd->lmtp_sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->pd->nlmtp--;
	loop_defer_free(s->pd->loop, session_free, s);
}

void
lmtp_destroy_all(struct proxyd *pd)
{
	while (pd->lmtp_sessions) {
		struct lmtp_session *s = pd->lmtp_sessions;
		if (s->conn)
			reply(s, "421 4.3.2 %s Shutting down", pd->set->hostname);
		lmtp_destroy(s, "Shutting down");
	}
}

/* ---- commands ---- */

static int
bad_command(struct lmtp_session *s)
{
	if (++s->bad_cmds < LMTP_MAX_BAD_CMDS)
		return 0;
	reply(s, "421 4.7.0 %s Too many invalid commands.", s->pd->set->hostname);
	lmtp_destroy(s, "Too many invalid commands");
	return -1;
}

static void
cmd_lhlo(struct lmtp_session *s, char *args)
{
	if (*args == '\0') {
		reply(s, "501 Missing hostname");
		return;
	}
	free(s->helo);
	s->helo = strdup(args);
	/* LHLO resets the transaction (RFC 5321 4.1.4) */
	transaction_reset(s);
	/* Dovecot's list without STARTTLS; XCLIENT only where it would be accepted */
	reply(s, "250-%s", s->pd->set->hostname);
	reply(s, "250-8BITMIME");
	reply(s, "250-CHUNKING");
	reply(s, "250-ENHANCEDSTATUSCODES");
	if (s->pd->tls_server && !s->tls)
		reply(s, "250-STARTTLS");
	if (s->trusted) {
		reply(s, "250-PIPELINING");
		reply(s, "250 XCLIENT ADDR PORT PROTO HELO LOGIN SESSION TTL TIMEOUT");
	} else {
		reply(s, "250 PIPELINING");
	}
}

/* "<path>" at *p, which is advanced past it; the path (without <>) is copied into out.
 * Returns NULL or an error text in Dovecot's words. */
static const char *
parse_path(char **p, char *out, size_t outlen)
{
	char *s = *p;
	if (*s == ' ')
		return "Unexpected whitespace before path";
	if (*s != '<')
		return "Missing '<' at beginning of path";
	int quoted = 0;
	char *e = s + 1;
	for (; *e && (quoted || *e != '>'); e++) {
		if (*e == '"' && e[-1] != '\\')
			quoted = !quoted;
		if ((unsigned char)*e < 0x20 || *e == 0x7f)
			return "Invalid character in path";
		if (*e == ' ' && !quoted)
			return "Invalid character in path";
	}
	if (*e != '>')
		return "Missing '>' at end of path";
	size_t n = (size_t)(e - s - 1);
	if (n >= outlen)
		return "Path too long";
	memcpy(out, s + 1, n);
	out[n] = '\0';
	e++;
	if (*e != '\0' && *e != ' ')
		return "Invalid character after path";
	*p = e;
	return NULL;
}

/* "FROM:<path> params" (key "FROM"): the path into path, the params returned; NULL
 * after an error reply */
static char *
cmd_path(struct lmtp_session *s, char *args, const char *key, char *path, size_t len)
{
	const char *err;
	size_t klen = strlen(key);
	if (!str_has_prefix_nocase(args, key) || args[klen] != ':') {
		reply(s, "501 5.5.4 Invalid parameters");
		return NULL;
	}
	args += klen + 1;
	if ((err = parse_path(&args, path, len)) != NULL) {
		reply(s, "501 5.5.4 Invalid %s: %s", key, err);
		return NULL;
	}
	return args;
}

static int
mail_param_ok(const char *p, size_t n)
{
	return (n == 9 && str_has_prefix_nocase(p, "BODY=7BIT")) ||
	    (n == 13 && str_has_prefix_nocase(p, "BODY=8BITMIME"));
}

static int
rcpt_param_ok(const char *p, size_t n)
{
	return n > 6 && str_has_prefix_nocase(p, "ORCPT=");
}

/* every space-separated parameter must pass ok(); else 555 and -1 */
static int
params_check(struct lmtp_session *s, const char *args, int (*ok)(const char *, size_t))
{
	for (const char *p = args; *p;) {
		p += strspn(p, " ");
		size_t n = strcspn(p, " ");
		if (n == 0)
			break;
		if (!ok(p, n)) {
			reply(s, "555 5.5.4 Unsupported parameters");
			return -1;
		}
		p += n;
	}
	return 0;
}

static void
cmd_mail(struct lmtp_session *s, char *args)
{
	char path[LMTP_MAX_CMD];
	if (s->state != LMTP_READY) {
		reply(s, "503 5.5.0 MAIL already given");
		return;
	}
	/* only what LHLO announced: BODY (8BITMIME) */
	if ((args = cmd_path(s, args, "FROM", path, sizeof(path))) == NULL ||
	    params_check(s, args, mail_param_ok) < 0)
		return;
	size_t len = strlen(path) + strlen(args) + 3;
	free(s->mail_from);
	if ((s->mail_from = malloc(len)) == NULL) {
		reply(s, "451 4.3.0 Out of memory");
		return;
	}
	str_fmt(s->mail_from, len, "<%s>%s", path, args);
	s->ntrans++;
	if (s->ntrans == 1)
		str_copy(s->trans_id, s->session_id, sizeof(s->trans_id));
	else
		str_fmt(s->trans_id, sizeof(s->trans_id), "%s:T%u", s->session_id, s->ntrans);
	s->state = LMTP_MAIL;
	reply(s, "250 2.1.0 OK");
}

static void
cmd_rcpt(struct lmtp_session *s, char *args)
{
	char path[LMTP_MAX_CMD];
	if (s->state != LMTP_MAIL) {
		reply(s, "503 5.5.0 MAIL needed first");
		return;
	}
	if (s->nrcpts >= LMTP_MAX_RCPTS) {
		reply(s, "451 4.5.3 Too many recipients");
		return;
	}
	/* only ORCPT: the rest of DSN is not announced, as in Dovecot's LMTP */
	if ((args = cmd_path(s, args, "TO", path, sizeof(path))) == NULL ||
	    params_check(s, args, rcpt_param_ok) < 0)
		return;
	if (*path == '\0') {
		reply(s, "501 5.5.4 Invalid TO: Null path not allowed");
		return;
	}
	int has_orcpt = args[strspn(args, " ")] != '\0';	/* ORCPT is the only one */
	s->nrcpt_cmds++;
	lmtp_rcpt_route(s, path, args, has_orcpt);
}

void
lmtp_rcpt_done(struct lmtp_session *s, struct lmtp_rcpt *r, int accepted, const char *text)
{
	reply(s, "%s", text);
	METRICS_INC(stats_lmtp_rcpts, accepted ? "accepted" : text[0] == '4' ? "tempfail" : "rejected");
	if (accepted && r) {
		if (s->nrcpts == s->rcpts_cap) {
			unsigned int cap = s->rcpts_cap ? s->rcpts_cap * 2 : 8;
			struct lmtp_rcpt **n = realloc(s->rcpts, cap * sizeof(*n));
			if (n == NULL) {
				/* the client was told 250: better to drop the session than lose it */
				lmtp_rcpt_free(r);
				lmtp_destroy(s, "Out of memory");
				return;
			}
			s->rcpts = n;
			s->rcpts_cap = cap;
		}
		s->rcpts[s->nrcpts++] = r;
		r->pos = s->nrcpts;
	} else if (r) {
		lmtp_rcpt_free(r);
	}
	if (s->state == LMTP_BUSY) {
		s->state = LMTP_MAIL;
		s->out_blocked = 0;
		conn_set_timeout(s->conn, LMTP_IDLE_TIMEOUT_MS);
		conn_resume(s->conn);
	}
}

void
lmtp_session_busy(struct lmtp_session *s)
{
	s->state = LMTP_BUSY;
	conn_set_timeout(s->conn, 0);
	conn_pause_read(s->conn, 1);
}

static void
cmd_data(struct lmtp_session *s, char *args)
{
	(void)args;
	if (s->state != LMTP_MAIL) {
		reply(s, "503 5.5.0 MAIL needed first");
		return;
	}
	if (s->nrcpts == 0) {
		reply(s, "503 5.5.0 No valid recipients");
		return;
	}
	if (s->bdat_started) {
		reply(s, "503 5.5.0 Bad sequence of commands");
		return;
	}
	if (lmtp_spool_open(s) < 0) {
		lmtp_log(s, 1, "open(%s) for the message spool failed: %s", s->pd->set->mail_temp_dir, strerror(errno));
		reply(s, "451 4.3.0 Temporary internal failure");
		return;
	}
	s->state = LMTP_DATA;
	s->data_started_ms = loop_now(s->pd->loop);
	reply(s, "354 OK");
}

/* The message is in the spool: send it to the backends, or answer now for all. */
static void
data_received(struct lmtp_session *s)
{
	conn_set_timeout(s->conn, 0);
	conn_pause_read(s->conn, 1);
	s->state = LMTP_DELIVERING;
	if (s->too_big) {
		for (unsigned int i = 0; i < s->nrcpts; i++)
			lmtp_data_reply(s, s->rcpts[i], "552 5.2.3 Message size exceeds administrative limit");
		return;
	}
	lmtp_backend_data(s);
}

static void
transaction_finished(struct loop_timer *t, void *arg)
{
	struct lmtp_session *s = arg;
	(void)t;
	s->state = LMTP_READY;
	s->out_blocked = 0;
	transaction_reset(s);
	conn_set_timeout(s->conn, LMTP_IDLE_TIMEOUT_MS);
	conn_resume(s->conn);
}

void
lmtp_data_reply(struct lmtp_session *s, struct lmtp_rcpt *r, const char *text)
{
	if (r->reply == NULL)
		r->reply = strdup(text);
	if (r->reply == NULL)
		r->reply = strdup("451 4.3.0 Out of memory");
	/* RFC 2033: one reply per recipient, in the order of the RCPT commands */
	while (s->next_reply < s->nrcpts && s->rcpts[s->next_reply]->reply) {
		const char *t = s->rcpts[s->next_reply]->reply;
		reply(s, "%s", t ? t : "451 4.3.0 Out of memory");
		s->next_reply++;
	}
	if (s->next_reply < s->nrcpts || s->state != LMTP_DELIVERING)
		return;
	/* the backends are still inside their callbacks: finish on the next turn */
	if (loop_timer_set(s->pd->loop, &s->finish, 0, transaction_finished, s) < 0)
		lmtp_destroy(s, "Out of memory");
}

static void
cmd_rset(struct lmtp_session *s, char *args)
{
	(void)args;
	transaction_reset(s);
	reply(s, "250 2.0.0 OK");
}

static void
cmd_noop(struct lmtp_session *s, char *args)
{
	(void)args;
	reply(s, "250 2.0.0 OK");
}

static void
cmd_vrfy(struct lmtp_session *s, char *args)
{
	(void)args;
	reply(s, "252 2.3.3 Try RCPT instead");
}

static void
cmd_quit(struct lmtp_session *s, char *args)
{
	(void)args;
	reply(s, "221 2.0.0 Bye");
	lmtp_destroy(s, "Logged out");
}

/* BDAT SIZE [LAST] (RFC 3030): the chunk is dot-stuffed into the same spool as DATA */
static void
cmd_bdat(struct lmtp_session *s, char *args)
{
	char *last = strchr(args, ' ');
	long long size;
	const char *e;
	if (last)
		*last++ = '\0';
	if (str_to_num(args, 0, INT64_MAX / 2, &size, &e) < 0) {
		/* the size is unknown: nothing can be skipped */
		reply(s, "501 5.5.4 Invalid chunk size parameter");
		return;
	}
	s->bdat_left = (uint64_t)size;
	s->bdat_chunk_size = (uint64_t)size;
	s->bdat_last = 0;
	s->bdat_skip = 1;
	s->bdat_return = s->state;
	if (last && strchr(last, ' '))
		reply(s, "501 5.5.4 Invalid parameters");
	else if (last && !str_eq_nocase(last, "LAST"))
		reply(s, "501 5.5.4 Invalid end marker parameter");
	else if (s->bdat_failed)
		reply(s, "503 5.5.0 Previous data chunk failed, issue RSET first");
	else if (s->state != LMTP_MAIL)
		reply(s, "503 5.5.0 MAIL needed first");
	else if (s->nrcpts == 0) {
		/* RFC 2033 4.3: BDAT LAST without recipients gets no reply at all */
		if (!(last && size > 0))
			reply(s, "503 5.5.0 No valid recipients");
		s->bdat_failed = 1;
	} else if (!s->bdat_started && lmtp_spool_open(s) < 0) {
		lmtp_log(s, 1, "open(%s) for the message spool failed: %s", s->pd->set->mail_temp_dir, strerror(errno));
		reply(s, "451 4.3.0 Temporary internal failure");
		s->bdat_failed = 1;
	} else {
		s->bdat_skip = 0;
		s->bdat_last = last != NULL;
		if (!s->bdat_started)
			s->data_started_ms = loop_now(s->pd->loop);
		s->bdat_started = 1;
	}
	s->state = LMTP_BDAT;
}

static void
spool_failed(struct lmtp_session *s)
{
	lmtp_log(s, 1, "write() to the message spool failed: %s", strerror(errno));
	reply(s, "451 4.3.0 Temporary internal failure");
	lmtp_destroy(s, "Spool write failed");
}

/* The chunk is in (or was skipped). */
static void
bdat_done(struct lmtp_session *s)
{
	if (s->bdat_skip) {
		s->state = s->bdat_return;
		return;
	}
	if (!s->bdat_last) {
		s->state = LMTP_MAIL;
		reply(s, "250 2.0.0 Added %llu octets", (unsigned long long)s->bdat_chunk_size);
		return;
	}
	if (lmtp_spool_chunks_end(s) < 0) {
		spool_failed(s);
		return;
	}
	data_received(s);
}

/* XCLIENT from a trusted peer (another proxy): the real client's address and the TTL */
static void
cmd_xclient(struct lmtp_session *s, char *args)
{
	if (!s->trusted) {
		reply(s, "550 5.7.14 You are not from trusted IP");
		return;
	}
	if (s->state != LMTP_READY) {
		reply(s, "503 5.5.0 XCLIENT not permitted during a mail transaction");
		return;
	}
	for (char *p = args; *p;) {
		p += strspn(p, " ");
		size_t n = strcspn(p, " ");
		if (n == 0)
			break;
		char save = p[n];
		p[n] = '\0';
		char *v = strchr(p, '=');
		if (v == NULL) {
			reply(s, "501 5.5.4 Invalid parameter: %s", p);
			return;
		}
		*v++ = '\0';
		if (str_eq_nocase(p, "ADDR")) {
			struct ip_addr ip;
			if (str_has_prefix_nocase(v, "IPV6:"))
				v += 5;
			if (strcmp(v, "[UNAVAILABLE]") != 0 && ip_parse(v, &ip) < 0) {
				reply(s, "501 5.5.4 Invalid ADDR parameter");
				return;
			}
			if (strcmp(v, "[UNAVAILABLE]") != 0)
				s->rip = ip;
		} else if (str_eq_nocase(p, "PORT")) {
			long long port;
			const char *e;
			if (strcmp(v, "[UNAVAILABLE]") != 0) {
				if (str_to_num(v, 0, 65535, &port, &e) < 0) {
					reply(s, "501 5.5.4 Invalid PORT parameter");
					return;
				}
				s->rport = (unsigned int)port;
			}
		} else if (str_eq_nocase(p, "TTL")) {
			long long ttl;
			const char *e;
			if (str_to_num(v, 0, 255, &ttl, &e) < 0) {
				reply(s, "501 5.5.4 Invalid TTL parameter");
				return;
			}
			s->ttl = (unsigned int)ttl;
			s->ttl_received = 1;
		} else if (str_eq_nocase(p, "SESSION")) {
			if (xtext_decode(v) < 0 || *v == '\0' || strlen(v) >= 64) {
				reply(s, "501 5.5.4 Invalid SESSION parameter");
				return;
			}
			str_copy(s->session_id, v, sizeof(s->session_id));
		}
		/* HELO, LOGIN, PROTO, TIMEOUT: accepted and not used */
		p += n;
		if (save)
			p++;
	}
	reply(s, "220 %s %s", s->pd->set->hostname, s->pd->set->login_greeting);
}

/* RFC 3207: 220, then TLS; the client greets again, pipelined input is dropped (conn) */
static void
cmd_starttls(struct lmtp_session *s, char *args)
{
	struct tls *t;
	if (*args != '\0') {
		reply(s, "501 5.5.4 Invalid parameters");
		return;
	}
	if (s->tls) {
		reply(s, "502 5.5.1 TLS is already active.");
		return;
	}
	if (s->pd->tls_server == NULL) {
		reply(s, "502 5.5.1 TLS support is not enabled.");
		return;
	}
	if (s->state != LMTP_READY) {
		reply(s, "503 5.5.0 STARTTLS not permitted during a mail transaction");
		return;
	}
	reply(s, "220 2.0.0 Begin TLS negotiation now.");
	if ((t = tls_new_server(proxyd_tls_server(s->pd, &s->lip))) == NULL ||
	    conn_start_tls(s->conn, t) < 0) {
		lmtp_destroy(s, "TLS initialization failed");
		return;
	}
	s->tls = 1;
	free(s->helo);
	s->helo = NULL;
}

struct lmtp_cmd {
	const char *name;
	void (*fn)(struct lmtp_session *, char *args);
};

static const struct lmtp_cmd lmtp_cmds[] = {
	{ "LHLO", cmd_lhlo },
	{ "MAIL", cmd_mail },
	{ "RCPT", cmd_rcpt },
	{ "DATA", cmd_data },
	{ "BDAT", cmd_bdat },
	{ "RSET", cmd_rset },
	{ "NOOP", cmd_noop },
	{ "VRFY", cmd_vrfy },
	{ "QUIT", cmd_quit },
	{ "XCLIENT", cmd_xclient },
	{ "STARTTLS", cmd_starttls },
	{ NULL, NULL },
};

static void
lmtp_command(struct lmtp_session *s, char *line)
{
	char *args = line + strcspn(line, " ");
	size_t n = (size_t)(args - line);
	if (*args == ' ')
		*args++ = '\0';
	for (const struct lmtp_cmd *c = lmtp_cmds; c->name; c++) {
		if (strlen(c->name) == n && str_has_prefix_nocase(line, c->name)) {
			c->fn(s, args);
			return;
		}
	}
	if (n == 0 || n > 32) {
		reply(s, "500 5.5.2 Invalid command syntax");
	} else {
		reply(s, "500 5.5.1 Unknown command");
	}
	bad_command(s);
}

static void
lmtp_input(struct lmtp_session *s)
{
	while (!s->destroyed && s->conn && s->state != LMTP_BUSY && s->state != LMTP_DELIVERING) {
		if (conn_out_pending(s->conn) > LMTP_OUT_HIGH) {
			/* a client that pipelines without reading the replies waits for them */
			s->out_blocked = 1;
			conn_pause_read(s->conn, 1);
			return;
		}
		if (s->state == LMTP_BDAT || s->state == LMTP_DATA) {
			int bdat = s->state == LMTP_BDAT;
			int r = bdat ? lmtp_spool_chunk(s, s->bdat_skip) : lmtp_spool_feed(s);
			if (r < 0) {
				spool_failed(s);
				return;
			}
			if (r == 0)
				return;
			if (bdat)
				bdat_done(s);
			else
				data_received(s);
			continue;
		}
		if (s->skipping_line) {
			size_t len;
			const char *p = conn_peek(s->conn, &len);
			const char *lf = p ? memchr(p, '\n', len) : NULL;
			conn_consume(s->conn, lf ? (size_t)(lf - p) + 1 : len);
			if (lf == NULL)
				return;
			s->skipping_line = 0;
			continue;
		}
		char *line;
		size_t len;
		int r = conn_getline(s->conn, &line, &len);
		if (r == 0)
			return;
		if (r < 0) {
			/* as Dovecot: the line is skipped, the session goes on */
			reply(s, "500 5.5.2 Line too long");
			s->skipping_line = 1;
			if (bad_command(s) < 0)
				return;
			continue;
		}
		lmtp_command(s, line);
	}
}

static void
lmtp_conn_cb(struct conn *conn, enum conn_event ev, void *arg)
{
	struct lmtp_session *s = arg;
	(void)conn;
	switch (ev) {
	case CONN_EV_DATA:
		lmtp_input(s);
		return;
	case CONN_EV_EOF:
		lmtp_destroy(s, s->state == LMTP_DATA ? "Connection closed during DATA" : "Connection closed");
		return;
	case CONN_EV_ERROR:
		lmtp_destroy(s, conn_error_str(conn));
		return;
	case CONN_EV_TIMEOUT:
		reply(s, "421 4.4.2 %s Disconnected for inactivity", s->pd->set->hostname);
		lmtp_destroy(s, "Disconnected for inactivity");
		return;
	case CONN_EV_DRAINED:
		if (s->out_blocked && s->state != LMTP_BUSY && s->state != LMTP_DELIVERING) {
			s->out_blocked = 0;
			conn_resume(s->conn);
		}
		return;
	case CONN_EV_CONNECTED:
		return;
	}
}
