/* SPDX-License-Identifier: MIT */
/* applets/proxyd/submission_proxy.c: the proxy's own SMTP login to the backend
 * (protocols.md §9.4): banner, EHLO, XCLIENT with the client's facts when the backend
 * offers it and trusts us, EHLO again, AUTH with the forwarded password or a master user,
 * and the mapping of the backend's reply. Replies may span lines ("250-..."); a reply is
 * acted on at its last line. */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/settings.h"
#include "applets/proxyd/submission.h"
#include "config.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xtext.h"

#define SMTP_BASE_LINE_LIMIT	510	/* RFC 5321's 512 without CRLF: the AUTH line */
#define XCLIENT_LINE_LIMIT	512	/* Dovecot splits XCLIENT commands longer than this */

void
submission_backend_free(struct smtp_client *sc)
{
	free(sc->be_xclient);
	sc->be_xclient = NULL;
	if (sc->sasl_pending) {
		memset(sc->sasl_pending, 0, strlen(sc->sasl_pending));
		free(sc->sasl_pending);
		sc->sasl_pending = NULL;
	}
}

void
submission_backend_start(struct client *c)
{
	struct smtp_client *sc = smtp_of(c);
	/* a reconnect starts the dialogue over */
	submission_backend_free(sc);
	sc->be_state = SMTP_BE_BANNER;
	sc->be_caps = 0;
	sc->xclient_replies = 0;
	sc->reply_status = 0;
	sc->login_mech_step = 0;
	strbuf_truncate(&sc->reply, 0);
	conn_set_line_max(c->backend, 65536);
}

static int
xclient_offers(const struct smtp_client *sc, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = sc->be_xclient; p && *p;) {
		size_t len = strcspn(p, " ");
		if (len == n && strncasecmp(p, name, n) == 0)
			return 1;
		p += len;
		p += strspn(p, " ");
	}
	return 0;
}

/* Adds " NAME=xtext(value)"; a command that grows past 512 characters is sent without
 * it and a new XCLIENT begins, as Dovecot does. */
static void
xclient_add(struct client *c, struct strbuf *cmd, const char *name, const char *value)
{
	struct smtp_client *sc = smtp_of(c);
	size_t prev = cmd->len;
	if (!xclient_offers(sc, name))
		return;
	strbuf_printf(cmd, " %s=", name);
	xtext_encode(cmd, value);
	if (cmd->len <= XCLIENT_LINE_LIMIT || cmd->error)
		return;
	if (prev <= 7)
		prev = cmd->len;	/* one attribute alone is too long: send it anyway */
	conn_write(c->backend, cmd->s, prev);
	conn_write(c->backend, "\r\n", 2);
	sc->xclient_replies++;
	size_t rest = cmd->len - prev;
	memmove(cmd->s + 7, cmd->s + prev, rest);
	strbuf_truncate(cmd, 7 + rest);
}

static void
send_xclient(struct client *c)
{
	struct smtp_client *sc = smtp_of(c);
	char num[16], rip[IP_ADDR_STRLEN];
	struct strbuf cmd;

	strbuf_init(&cmd, 16384);
	strbuf_puts(&cmd, "XCLIENT");
	xclient_add(c, &cmd, "HELO", sc->helo ? sc->helo : "[UNAVAILABLE]");
	xclient_add(c, &cmd, "PROTO", sc->proto ? sc->proto : sc->helo_seen ? "SMTP" : "ESMTP");
	str_fmt(num, sizeof(num), "%u", c->ttl - 1);
	xclient_add(c, &cmd, "TTL", num);
	str_fmt(num, sizeof(num), "%u", c->rport);
	xclient_add(c, &cmd, "PORT", num);
	xclient_add(c, &cmd, "ADDR", ip_format(&c->rip, rip, sizeof(rip)));
	xclient_add(c, &cmd, "SESSION", c->session_id);
	char *fwd = client_forward_base64(c);
	if (fwd)
		xclient_add(c, &cmd, "FORWARD", fwd);
	free(fwd);
	if (cmd.len > 7) {
		strbuf_puts(&cmd, "\r\n");
		sc->xclient_replies++;
	}
	if (!cmd.error && cmd.len > 7)
		conn_write(c->backend, cmd.s, cmd.len);
	strbuf_free(&cmd);
}

static void
send_auth(struct client *c)
{
	struct smtp_client *sc = smtp_of(c);
	char ir[2048];

	if (!(sc->be_caps & SMTP_BE_CAP_AUTH)) {
		/* credentials never go to a server that does not want them (no TLS yet?) */
		client_proxy_failed(c, FAIL_PROXY_CONFIG, NULL, "Authentication support not advertised (TLS required?)");
		return;
	}
	const char *mech = backend_sasl_start(c, ir, sizeof(ir));
	if (mech == NULL)
		return;
	sc->be_state = SMTP_BE_AUTH;
	c->backend_state = "authenticate";
	if (ir[0] == '\0') {
		backend_send(c, "AUTH %s", mech);
	} else if (5 + strlen(mech) + 1 + strlen(ir) > SMTP_BASE_LINE_LIMIT) {
		/* RFC 4954: too long for the AUTH line; it follows the first 334 */
		sc->sasl_pending = strdup(ir);
		backend_send(c, "AUTH %s", mech);
	} else {
		backend_send(c, "AUTH %s %s", mech, ir);
	}
}

static void
auth_continue(struct client *c)
{
	struct smtp_client *sc = smtp_of(c);
	char b64[2048];
	if (sc->sasl_pending) {
		backend_send(c, "%s", sc->sasl_pending);
		submission_backend_free(sc);
		return;
	}
	if (backend_sasl_answer(c, &sc->login_mech_step, b64, sizeof(b64)) < 0) {
		backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, "Server sent unexpected server-first challenge");
		return;
	}
	backend_send(c, "%s", b64);
}

/* The text of a reply line without its status and, when the backend uses them, the
 * enhanced status code: what Dovecot logs. */
static const char *
reply_text(const struct smtp_client *sc, const char *line)
{
	const char *t = line[3] ? line + 4 : line + 3;
	if (sc->be_caps & SMTP_BE_CAP_ENHANCED) {
		size_t n = strspn(t, "0123456789.");
		if (n >= 5 && t[n] == ' ' && (t[0] == '2' || t[0] == '4' || t[0] == '5') && t[1] == '.')
			t += n + 1;
	}
	return t;
}

/* The complete AUTH reply is in sc->reply; line is its last line. */
static void
auth_reply(struct client *c, unsigned int status, const char *line)
{
	struct smtp_client *sc = smtp_of(c);
	char why[512];
	const char *text = reply_text(sc, line);
	if (status / 100 == 2) {
		strbuf_puts(&sc->reply, "\r\n");
		if (!sc->reply.error)
			conn_write(c->conn, sc->reply.s, sc->reply.len);
		client_proxy_established(c);
		return;
	}
	str_fmt(why, sizeof(why), "Login failed%s%s%s: %.300s", c->dest.master ? " (master " : "",
	    c->dest.master ? c->dest.master : "", c->dest.master ? ")" : "", text);
	/* as Dovecot: the backend's reply reaches the client as it is; 4xx may be cured
	 * by another try */
	if (sc->reply.error)
		client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, why);
	else if (status / 100 == 4)
		backend_retry_or_fail(c, FAIL_BACKEND_TEMP, sc->reply.s, why);
	else
		client_proxy_failed(c, FAIL_BACKEND, sc->reply.s, why);
}

static void
ehlo_done(struct client *c)
{
	struct smtp_client *sc = smtp_of(c);
	if (c->dest.starttls && !conn_tls_active(c->backend)) {
		/* as Dovecot: STARTTLS before XCLIENT and AUTH, EHLO again over TLS */
		if (!(sc->be_caps & SMTP_BE_CAP_STARTTLS)) {
			client_proxy_failed(c, FAIL_PROXY_CONFIG, NULL, "STARTTLS not supported by the backend");
			return;
		}
		backend_send(c, "STARTTLS");
		sc->be_state = SMTP_BE_STARTTLS;
		c->backend_state = "starttls";
		return;
	}
	if (sc->be_state == SMTP_BE_EHLO && (sc->be_caps & SMTP_BE_CAP_XCLIENT) && !c->dest.not_trusted) {
		send_xclient(c);
		if (sc->xclient_replies > 0) {
			sc->be_state = SMTP_BE_XCLIENT;
			c->backend_state = "xclient";
			return;
		}
	}
	send_auth(c);
}

static void
ehlo_line(struct client *c, const char *text)
{
	struct smtp_client *sc = smtp_of(c);
	if (str_has_prefix_nocase(text, "XCLIENT ")) {
		sc->be_caps |= SMTP_BE_CAP_XCLIENT;
		free(sc->be_xclient);
		sc->be_xclient = strdup(text + 8);
	} else if (str_eq_nocase(text, "STARTTLS")) {
		sc->be_caps |= SMTP_BE_CAP_STARTTLS;
	} else if (str_has_prefix_nocase(text, "AUTH ") && text[5] != '\0') {
		sc->be_caps |= SMTP_BE_CAP_AUTH;
	} else if (str_eq_nocase(text, "ENHANCEDSTATUSCODES")) {
		sc->be_caps |= SMTP_BE_CAP_ENHANCED;
	}
}

/* Returns -1 after a failure (the client may be gone). */
static int
backend_line(struct client *c, char *line)
{
	struct smtp_client *sc = smtp_of(c);
	char why[300];
	unsigned int status = 0;
	int valid = strlen(line) >= 3 && (line[3] == ' ' || line[3] == '-' || line[3] == '\0');
	for (int i = 0; valid && i < 3; i++) {
		if (line[i] < '0' || line[i] > '9')
			valid = 0;
		else
			status = status * 10 + (unsigned int)(line[i] - '0');
	}
	if (valid && (status < 200 || status >= 560))
		valid = 0;
	int last = !valid || line[3] != '-';
	if (valid && sc->reply_status != 0 && sc->reply_status != status) {
		str_fmt(why, sizeof(why), "Inconsistent SMTP reply: %.160s (status != %u)", line, sc->reply_status);
		backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, why);
		return -1;
	}
	sc->reply_status = last ? 0 : status;

	switch (sc->be_state) {
	case SMTP_BE_BANNER:
		if (!valid || status != 220) {
			str_fmt(why, sizeof(why), "Invalid banner: %.160s", line);
			backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, why);
			return -1;
		}
		if (last) {
			backend_send(c, "EHLO %s", c->pd->set->hostname);
			sc->be_state = SMTP_BE_EHLO;
			c->backend_state = "ehlo";
		}
		return 0;
	case SMTP_BE_EHLO:
	case SMTP_BE_XCLIENT_EHLO:
		if (!valid || status / 100 != 2) {
			str_fmt(why, sizeof(why), "Invalid EHLO line: %.160s", line);
			backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, why);
			return -1;
		}
		ehlo_line(c, line + 4 - (line[3] == '\0'));
		if (last)
			ehlo_done(c);
		return 0;
	case SMTP_BE_XCLIENT:
		if (!valid || status / 100 != 2) {
			str_fmt(why, sizeof(why), "XCLIENT failed: %.160s", line);
			backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, why);
			return -1;
		}
		if (last && --sc->xclient_replies == 0) {
			/* XCLIENT starts a new session: greet it again */
			sc->be_caps = 0;
			free(sc->be_xclient);
			sc->be_xclient = NULL;
			backend_send(c, "EHLO %s", c->pd->set->hostname);
			sc->be_state = SMTP_BE_XCLIENT_EHLO;
			c->backend_state = "xclient-ehlo";
		}
		return 0;
	case SMTP_BE_STARTTLS:
		if (!valid || status != 220) {
			str_fmt(why, sizeof(why), "STARTTLS failed: %.160s", line);
			client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, why);
			return -1;
		}
		if (!last)
			return 0;
		/* what the backend sent behind its 220 is dropped with the plaintext input */
		if (backend_start_tls(c) < 0)
			return -1;
		sc->be_caps = 0;
		free(sc->be_xclient);
		sc->be_xclient = NULL;
		backend_send(c, "EHLO %s", c->pd->set->hostname);
		sc->be_state = SMTP_BE_EHLO;
		c->backend_state = "ehlo";
		return -1;	/* nothing more to read from before TLS */
	case SMTP_BE_AUTH:
		if (!valid) {
			str_fmt(why, sizeof(why), "Invalid AUTH reply: %.160s", line);
			backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, why);
			return -1;
		}
		if (status == 334) {
			if (!last) {
				str_fmt(why, sizeof(why), "Server returned multi-line challenge: %.160s", line);
				backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, why);
				return -1;
			}
			auth_continue(c);
			return 0;
		}
		if (sc->reply.len)
			strbuf_puts(&sc->reply, "\r\n");
		strbuf_puts(&sc->reply, line);
		if (last) {
			auth_reply(c, status, line);
			return -1;	/* done either way */
		}
		return 0;
	}
	return 0;
}

void
submission_backend_input(struct client *c)
{
	char *line;
	size_t len;
	int r;

	while (c->backend != NULL && c->proxying && (r = conn_getline(c->backend, &line, &len)) != 0) {
		if (r < 0) {
			backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, "Remote server sent invalid input: Too long line");
			return;
		}
		if (backend_line(c, line) < 0)
			return;
	}
}
