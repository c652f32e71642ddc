/* SPDX-License-Identifier: MIT */
/* applets/proxyd/imap_proxy.c: the proxy's own IMAP login to the backend (protocols.md
 * §9.2): banner, ID with the client's address, CAPABILITY, LOGIN or AUTHENTICATE, and
 * the mapping of the backend's answer to the client. Tags: I (ID), C (CAPABILITY),
 * L (login), as Dovecot's, so backend logs read the same. */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/imap.h"
#include "core/log.h"
#include "core/passdb.h"
#include "core/str.h"

#define BACKEND_LINE_MAX	65536

static int
caps_has(const char *caps, const char *cap)
{
	size_t n = strlen(cap);
	for (const char *p = caps; p && *p;) {
		size_t len = strcspn(p, " ");
		if (len == n && strncasecmp(p, cap, n) == 0)
			return 1;
		p += len;
		p += *p == ' ';
	}
	return 0;
}

static void
caps_set(struct client *c, const char *caps, size_t len)
{
	struct imap_client *ic = imap_of(c);
	char *s = strndup(caps, len);
	if (s == NULL)
		return;
	free(ic->backend_caps);
	ic->backend_caps = s;
	ic->backend_caps_known = 1;
	ic->saslir = caps_has(s, "SASL-IR");
	ic->logindisabled = caps_has(s, "LOGINDISABLED");
}

static int
needs_literal(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x80 || *p == '\r' || *p == '\n')
			return 1;
	return 0;
}

/* IMAP string for a value we send: quoted, or a literal for 8-bit bytes and CR/LF (as
 * Dovecot): "{N+}" with LITERAL+, else "{N}" sent at once and the backend's "+" for it
 * swallowed, as Dovecot's proxy does. */
static int
append_astring(struct client *c, struct strbuf *sb, const char *s)
{
	struct imap_client *ic = imap_of(c);
	if (needs_literal(s)) {
		int plus = caps_has(ic->backend_caps, "LITERAL+");
		strbuf_printf(sb, "{%zu%s}\r\n%s", strlen(s), plus ? "+" : "", s);
		if (!plus)
			ic->swallow_continuations++;
		return 0;
	}
	strbuf_putc(sb, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_putc(sb, '\\');
		strbuf_putc(sb, *p);
	}
	strbuf_putc(sb, '"');
	return 0;
}

static void
send_sb(struct client *c, struct strbuf *sb)
{
	strbuf_puts(sb, "\r\n");
	if (!sb->error)
		conn_write(c->backend, sb->s, sb->len);
	strbuf_free(sb);
}

static void
send_id(struct client *c)
{
	struct strbuf sb;
	char rip[IP_ADDR_STRLEN], lip[IP_ADDR_STRLEN];

	strbuf_init(&sb, 8192);
	strbuf_puts(&sb, "I ID (");
	if (c->client_id)
		strbuf_printf(&sb, "%s ", c->client_id);
	strbuf_printf(&sb, "\"x-session-id\" \"%s\" \"x-originating-ip\" \"%s\" \"x-originating-port\" \"%u\" "
	    "\"x-connected-ip\" \"%s\" \"x-connected-port\" \"%u\" \"x-proxy-ttl\" \"%u\"",
	    c->session_id, ip_format(&c->rip, rip, sizeof(rip)), c->rport,
	    ip_format(&c->lip, lip, sizeof(lip)), c->lport, c->ttl - 1);
	client_forward_imap(c, &sb, append_astring);
	strbuf_putc(&sb, ')');
	send_sb(c, &sb);
}

static void
send_login(struct client *c)
{
	struct imap_client *ic = imap_of(c);
	const struct proxy_dest *d = &c->dest;
	struct strbuf sb;

	strbuf_init(&sb, 8192);
	if (d->master == NULL && d->mech == NULL) {
		if (ic->logindisabled && !conn_tls_active(c->backend)) {
			client_proxy_failed(c, FAIL_PROXY_CONFIG, NULL,
			    "LOGINDISABLED advertised, but SSL/TLS not enabled");
			strbuf_free(&sb);
			return;
		}
		strbuf_puts(&sb, "L LOGIN ");
		append_astring(c, &sb, d->destuser);
		strbuf_putc(&sb, ' ');
		append_astring(c, &sb, d->pass);
		ic->be_state = IMAP_BE_LOGIN;
		c->backend_state = "login";
		send_sb(c, &sb);
		return;
	}
	/* a master user logs in with PLAIN: authzid = the user, authcid = the master */
	const char *mech = d->master ? "PLAIN" : d->mech;
	char b64[2048];
	size_t n;
	if (str_eq_nocase(mech, "PLAIN")) {
		n = sasl_plain_encode(d->master ? d->destuser : "", d->master ? d->master : d->destuser,
		    d->pass ? d->pass : "", b64, sizeof(b64));
	} else if (str_eq_nocase(mech, "LOGIN")) {
		n = 0;	/* LOGIN has no initial response: user and password follow the challenges */
		b64[0] = '\0';
	} else if (d->sasl_forward && sasl_mech_passthrough(sasl_mech_parse(mech))) {
		n = str_copy(b64, d->sasl_forward, sizeof(b64));
		if (n >= sizeof(b64)) {
			client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, "SASL response too long to forward");
			strbuf_free(&sb);
			return;
		}
	} else {
		client_proxy_failed(c, FAIL_PROXY_CONFIG, NULL, "proxy_mech is neither PLAIN nor LOGIN; other mechanisms cannot be answered by the proxy");
		strbuf_free(&sb);
		return;
	}
	c->backend_state = "login";
	strbuf_printf(&sb, "L AUTHENTICATE %s", mech);
	if (n > 0 && ic->saslir) {
		strbuf_printf(&sb, " %s", b64);
	} else if (n > 0) {
		free(ic->sasl_pending);
		ic->sasl_pending = strdup(b64);
	}
	ic->be_state = IMAP_BE_LOGIN;
	send_sb(c, &sb);
}

static void send_after_id(struct client *);

/* starttls: "S STARTTLS" after the ID (as Dovecot: the ID is not sent again over TLS). */
static void
send_starttls(struct client *c)
{
	struct imap_client *ic = imap_of(c);
	if (ic->backend_caps_known && !caps_has(ic->backend_caps, "STARTTLS")) {
		client_proxy_failed(c, FAIL_PROXY_CONFIG, NULL, "STARTTLS not supported by the backend");
		return;
	}
	backend_send(c, "S STARTTLS");
	ic->be_state = IMAP_BE_STARTTLS;
	c->backend_state = "starttls";
}

/* "S OK": TLS now; the capabilities are asked again over it. */
static void
starttls_reply(struct client *c, const char *line)
{
	struct imap_client *ic = imap_of(c);
	if (strncasecmp(line + 2, "OK", 2) != 0) {
		char why[300];
		str_fmt(why, sizeof(why), "STARTTLS failed: %.200s", line + 2);
		client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, why);
		return;
	}
	if (backend_start_tls(c) < 0)
		return;
	ic->backend_caps_known = 0;
	ic->logindisabled = 0;
	send_after_id(c);
}

static void
send_after_id(struct client *c)
{
	struct imap_client *ic = imap_of(c);
	if (c->dest.starttls && !conn_tls_active(c->backend)) {
		send_starttls(c);
		return;
	}
	if (!ic->backend_caps_known || ic->capability_asked) {
		backend_send(c, "C CAPABILITY");
		if (c->dest.nopipelining) {
			ic->be_state = IMAP_BE_CAPABILITY;
			return;
		}
	}
	send_login(c);
}

static void
banner(struct client *c, const char *line)
{
	struct imap_client *ic = imap_of(c);
	if (strncmp(line, "* OK ", 5) != 0) {
		char why[300];
		str_fmt(why, sizeof(why), "Remote server sent invalid input: Invalid banner: %.200s", line);
		backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, why);
		return;
	}
	c->backend_state = "login/id";
	if (strncasecmp(line + 5, "[CAPABILITY ", 12) == 0) {
		const char *caps = line + 17, *end = strchr(caps, ']');
		if (end)
			caps_set(c, caps, (size_t)(end - caps));
	}
	if (ic->backend_caps_known && caps_has(ic->backend_caps, "ID") && !c->dest.not_trusted) {
		send_id(c);
		if (c->dest.nopipelining) {
			ic->be_state = IMAP_BE_ID;
			return;
		}
	}
	send_after_id(c);
}

/* "L OK ..." */
static void
login_ok(struct client *c, const char *rest)
{
	struct imap_client *ic = imap_of(c);
	const char *tag = ic->tag;
	struct strbuf sb;

	strbuf_init(&sb, 65536);
	if (ic->capability_asked && ic->backend_caps) {
		strbuf_printf(&sb, "* CAPABILITY %s\r\n%s OK %s\r\n", ic->backend_caps, tag, rest);
	} else if (strncasecmp(rest, "[CAPABILITY ", 12) == 0 || ic->backend_caps == NULL) {
		strbuf_printf(&sb, "%s OK %s\r\n", tag, rest);
	} else {
		if (rest[0] == '[' && strchr(rest, ']')) {
			rest = strchr(rest, ']') + 1;
			rest += *rest == ' ';
		}
		strbuf_printf(&sb, "%s OK [CAPABILITY %s] %s\r\n", tag, ic->backend_caps, rest);
	}
	if (!sb.error)
		conn_write(c->conn, sb.s, sb.len);
	strbuf_free(&sb);
	client_proxy_established(c);
}

/* "L NO ..." or "L BAD ..." (line is after the tag). As Dovecot's proxy: [UNAVAILABLE]
 * may be cured by another try; [ALERT] reaches the user; anything else is "Authentication
 * failed." to the client, with the backend's own words in the log. */
static void
login_failed(struct client *c, const char *line)
{
	const char *text = strchr(line, ' ');
	char why[512], reply[1024];
	text = text ? text + 1 : "";
	str_fmt(why, sizeof(why), "Login failed%s%s%s: %.300s", c->dest.master ? " (master " : "",
	    c->dest.master ? c->dest.master : "", c->dest.master ? ")" : "", text);
	if (strncasecmp(text, "[UNAVAILABLE]", 13) == 0) {
		const char *t = text + 13;
		t += *t == ' ';
		backend_retry_or_fail(c, FAIL_BACKEND_TEMP, t, why);
		return;
	}
	if (strncasecmp(text, "[ALERT]", 7) == 0) {
		str_fmt(reply, sizeof(reply), "NO %s", text);
		client_proxy_failed(c, FAIL_BACKEND, reply, why);
		return;
	}
	client_proxy_failed(c, FAIL_AUTH, NULL, why);
}

static void
sasl_continue(struct client *c)
{
	struct imap_client *ic = imap_of(c);
	char b64[2048];
	if (ic->sasl_pending) {
		backend_send(c, "%s", ic->sasl_pending);
		free(ic->sasl_pending);
		ic->sasl_pending = NULL;
		return;
	}
	if (backend_sasl_answer(c, &ic->login_mech_step, b64, sizeof(b64)) < 0) {
		client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, "Unexpected SASL continuation from the backend");
		return;
	}
	backend_send(c, "%s", b64);
}

static int
line_has_tag(const char *line, char tag)
{
	return line[0] == tag && line[1] == ' ';
}

void
imap_backend_start(struct client *c)
{
	struct imap_client *ic = imap_of(c);
	/* a reconnect starts the dialogue over */
	ic->be_state = IMAP_BE_BANNER;
	ic->swallow_continuations = 0;
	ic->login_mech_step = 0;
	free(ic->sasl_pending);
	ic->sasl_pending = NULL;
	conn_set_line_max(c->backend, BACKEND_LINE_MAX);
}

void
imap_backend_input(struct client *c)
{
	struct imap_client *ic = imap_of(c);
	char *line;
	size_t len;
	int r;

	while (c->backend != NULL && c->proxying && (r = conn_getline(c->backend, &line, &len)) != 0) {
		if (r < 0) {
			client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, "Remote server sent invalid input: Too long line");
			return;
		}
		switch (ic->be_state) {
		case IMAP_BE_BANNER:
			banner(c, line);
			continue;
		case IMAP_BE_ID:
			if (line_has_tag(line, 'I')) {
				send_after_id(c);
				continue;
			}
			break;
		case IMAP_BE_CAPABILITY:
			if (line_has_tag(line, 'C')) {
				send_login(c);
				continue;
			}
			break;
		case IMAP_BE_STARTTLS:
			if (line_has_tag(line, 'S')) {
				/* anything the backend sent behind its OK is dropped with the
				 * plaintext input */
				starttls_reply(c, line);
				return;
			}
			break;
		case IMAP_BE_LOGIN:
			break;
		}
		if (strncasecmp(line, "* CAPABILITY ", 13) == 0) {
			caps_set(c, line + 13, len - 13);
		} else if (strncasecmp(line, "* ID ", 5) == 0 || strncasecmp(line, "* BYE ", 6) == 0) {
			continue;
		} else if (line[0] == '*') {
			conn_printf(c->conn, "%s\r\n", line);
		} else if (line[0] == '+' && ic->swallow_continuations > 0) {
			ic->swallow_continuations--;
		} else if (line[0] == '+') {
			sasl_continue(c);
		} else if (line_has_tag(line, 'L')) {
			if (strncasecmp(line + 2, "OK", 2) == 0 && (line[4] == ' ' || line[4] == '\0'))
				login_ok(c, line[4] ? line + 5 : "");
			else
				login_failed(c, line + 2);
			return;
		} else if (!line_has_tag(line, 'I') && !line_has_tag(line, 'C')) {
			client_log_debug(c, "proxy(%s): unexpected line from the backend: %.200s", c->virtual_user, line);
		}
	}
}
