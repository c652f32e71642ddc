/* SPDX-License-Identifier: MIT */
/* applets/proxyd/submission_login.c: what a Submission client (RFC 6409) sees before it
 * is logged in: the greeting, EHLO/HELO with the capabilities Dovecot's submission-login
 * advertises, AUTH (RFC 4954) with initial responses, XCLIENT from a trusted proxy in
 * front, the commands that need a login first, and the failure replies, in Dovecot's
 * words (docs/dovecot-login-behaviour.md §5). */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/settings.h"
#include "applets/proxyd/submission.h"
#include "config.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xtext.h"

static void
smtp_greet(struct client *c)
{
	struct smtp_client *sc = calloc(1, sizeof(*sc));
	if (sc == NULL) {
		client_destroy(c, "Out of memory");
		return;
	}
	strbuf_init(&sc->reply, SMTP_MAX_REPLY);
	c->proto_state = sc;
	conn_printf(c->conn, "220 %s %s\r\n", c->pd->set->hostname, c->pd->set->login_greeting);
}

static void
smtp_send_bye_enh(struct client *c, const char *enh, const char *text)
{
	conn_printf(c->conn, "421 %s %s %s\r\n", enh, c->pd->set->hostname, text);
}

static void
smtp_send_bye(struct client *c, const char *text)
{
	smtp_send_bye_enh(c, "4.4.2", text);
}

/* Replies to a command. As Dovecot's SMTP server: 500, 501 and 503 count as bad
 * commands, anything else ends a run of them; after SMTP_LOGIN_MAX_BAD_CMDS in a row the
 * next bad one closes the connection. Returns -1 if the client is gone. */
static int
smtp_reply(struct client *c, const char *line)
{
	int bad = strncmp(line, "500", 3) == 0 || strncmp(line, "501", 3) == 0 ||
	    strncmp(line, "503", 3) == 0;
	if (!bad) {
		c->bad_cmds = 0;
	} else if (++c->bad_cmds > SMTP_LOGIN_MAX_BAD_CMDS) {
		conn_printf(c->conn, "421 4.7.0 %s Too many invalid commands.\r\n", c->pd->set->hostname);
		login_close(c, "Too many invalid commands");
		return -1;
	}
	conn_printf(c->conn, "%s\r\n", line);
	return 0;
}

/* The login skeleton's replies. A login's result (the passdb's or the backend's) is
 * written as it is: only the replies of the dialogue itself count as above. */
static int
smtp_login_reply(struct client *c, const char *code, const char *text)
{
	char line[512];
	if (code == NULL || c->login_state == LOGIN_BUSY) {
		if (code)
			conn_printf(c->conn, "%s %s\r\n", code, text);
		else
			conn_printf(c->conn, "%s\r\n", text);
		return 0;
	}
	str_fmt(line, sizeof(line), "%s %s", code, text);
	return smtp_reply(c, line);
}

/* "250-" for every line but the last */
static void
ehlo_line(struct strbuf *sb, const char *text)
{
	strbuf_printf(sb, "250-%s\r\n", text);
}

/* The capabilities are those Dovecot's submission-login shows: fixed, shaped by
 * submission_backend_capabilities and submission_client_workarounds = exotic-backend,
 * because the client does not ask again after AUTH. */
static void
smtp_ehlo_reply(struct client *c, const char *domain, int ehlo)
{
	struct smtp_client *sc = smtp_of(c);
	const struct proxyd_settings *set = c->pd->set;
	unsigned int caps = set->subm_backend_caps;
	int plain = !set->subm_exotic_backend;
	char size[64];

	if (*domain == '\0') {
		smtp_reply(c, "501 Missing hostname");
		return;
	}
	free(sc->helo);
	sc->helo = strdup(domain);
	sc->helo_seen = !ehlo;
	if (!ehlo) {
		char line[300];
		str_fmt(line, sizeof(line), "250 %s", set->hostname);
		smtp_reply(c, line);
		return;
	}
	struct strbuf sb;
	strbuf_init(&sb, 4096);
	ehlo_line(&sb, set->hostname);
	if (caps & SUBM_CAP_8BITMIME)
		ehlo_line(&sb, "8BITMIME");
	if (client_cleartext_allowed(c))
		strbuf_printf(&sb, "250-AUTH %s\r\n", client_mechanisms(c));
	if ((caps & SUBM_CAP_BINARYMIME) && (caps & SUBM_CAP_CHUNKING))
		ehlo_line(&sb, "BINARYMIME");
	if (plain || (caps & SUBM_CAP_BURL))
		ehlo_line(&sb, "BURL imap");
	if (plain || (caps & SUBM_CAP_CHUNKING))
		ehlo_line(&sb, "CHUNKING");
	if (caps & SUBM_CAP_DSN)
		ehlo_line(&sb, "DSN");
	if (plain || (caps & SUBM_CAP_ENHANCEDSTATUSCODES))
		ehlo_line(&sb, "ENHANCEDSTATUSCODES");
	if (set->subm_max_mail_size > 0) {
		str_fmt(size, sizeof(size), "SIZE %llu", (unsigned long long)set->subm_max_mail_size);
		ehlo_line(&sb, size);
	} else if (plain || (caps & SUBM_CAP_SIZE)) {
		ehlo_line(&sb, "SIZE");
	}
	/* Dovecot's order: STARTTLS between SIZE and PIPELINING */
	if (client_starttls_allowed(c))
		ehlo_line(&sb, "STARTTLS");
	if (plain || (caps & SUBM_CAP_PIPELINING))
		ehlo_line(&sb, "PIPELINING");
	if (caps & SUBM_CAP_VRFY)
		ehlo_line(&sb, "VRFY");
	if (c->trusted)
		ehlo_line(&sb, "XCLIENT ADDR PORT PROTO HELO LOGIN SESSION TTL TIMEOUT FORWARD");
	/* the last line says "250 " */
	char *last = sb.s + sb.len - 2;
	while (last > sb.s && last[-1] != '\n')
		last--;
	if (!sb.error) {
		last[3] = ' ';
		conn_write(c->conn, sb.s, sb.len);
	}
	strbuf_free(&sb);
	c->bad_cmds = 0;
}

static int
smtp_cmd_auth(struct client *c, char *args)
{
	if (*args == '\0')
		return smtp_reply(c, "501 5.5.4 Missing SASL mechanism parameter");
	char *ir = strchr(args, ' ');
	if (ir) {
		*ir++ = '\0';
		ir += strspn(ir, " ");
		if (*ir == '\0')
			ir = NULL;
	}
	return login_authenticate(c, args, ir);
}

/* XCLIENT from a trusted proxy in front of us carries the real client (§9.4); the
 * reply is a new greeting, as Dovecot's. */
static int
smtp_cmd_xclient(struct client *c, char *args)
{
	struct smtp_client *sc = smtp_of(c);
	char line[512];
	if (!c->trusted)
		return smtp_reply(c, "550 5.7.14 You are not from trusted IP");
	char *save = NULL;
	for (char *kv = strtok_r(args, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *v = strchr(kv, '=');
		if (v == NULL)
			return smtp_reply(c, "501 5.5.4 Invalid parameters");
		*v++ = '\0';
		if (strcmp(v, "[UNAVAILABLE]") == 0 || strcmp(v, "[TEMPUNAVAIL]") == 0)
			continue;
		if (xtext_decode(v) < 0)
			return smtp_reply(c, "501 5.5.4 Invalid parameters");
		if (str_eq_nocase(kv, "HELO")) {
			free(sc->helo);
			sc->helo = strdup(v);
		} else if (str_eq_nocase(kv, "PROTO")) {
			free(sc->proto);
			sc->proto = strdup(v);
		} else if (client_xclient_attr(c, kv, v) < 0) {
			return smtp_reply(c, str_eq_nocase(kv, "FORWARD") ? "501 5.5.4 Invalid FORWARD parameter" :
			    "501 5.5.4 Invalid parameters");
		}
		/* LOGIN, TIMEOUT: nothing for a login proxy to do with them */
	}
	str_fmt(line, sizeof(line), "220 %s %s", c->pd->set->hostname, c->pd->set->login_greeting);
	return smtp_reply(c, line);
}

static int
is_verb(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
			return 0;
	return 1;
}

/* RFC 3207: 220, then TLS; the client's EHLO and anything it pipelined behind STARTTLS
 * are forgotten, so it must greet again over TLS. Returns -1 if the client is gone. */
static int
smtp_cmd_starttls(struct client *c, char *args)
{
	struct smtp_client *sc = smtp_of(c);
	if (*args != '\0')
		return smtp_reply(c, "501 5.5.4 Invalid parameters");
	if (c->tls)
		return smtp_reply(c, "502 5.5.1 TLS is already active.");
	if (!client_starttls_allowed(c))
		return smtp_reply(c, "502 5.5.1 TLS support is not enabled.");
	smtp_reply(c, "220 2.0.0 Begin TLS negotiation now.");
	if (client_start_tls(c) < 0) {
		login_close(c, "TLS initialization failed");
		return -1;
	}
	free(sc->helo);
	sc->helo = NULL;
	sc->helo_seen = 0;
	return 0;
}

static int
smtp_cmd_ehlo(struct client *c, char *args)
{
	smtp_ehlo_reply(c, args, 1);
	return 0;
}

static int
smtp_cmd_helo(struct client *c, char *args)
{
	smtp_ehlo_reply(c, args, 0);
	return 0;
}

static int
smtp_cmd_noop(struct client *c, char *args)
{
	(void)args;
	return smtp_reply(c, "250 2.0.0 OK");
}

static int
smtp_cmd_quit(struct client *c, char *args)
{
	(void)args;
	return login_logout(c);
}

/* MAIL, RCPT, DATA, BDAT, VRFY */
static int
smtp_cmd_needs_auth(struct client *c, char *args)
{
	(void)args;
	return smtp_reply(c, "530 5.7.0 Authentication required.");
}

static const struct login_cmd smtp_cmds[] = {
	{ "EHLO", LOGIN_IN(CMD), smtp_cmd_ehlo, 0 },
	{ "HELO", LOGIN_IN(CMD), smtp_cmd_helo, 0 },
	{ "AUTH", LOGIN_IN(CMD), smtp_cmd_auth, 0 },
	{ "NOOP", LOGIN_IN(CMD), smtp_cmd_noop, 0 },
	{ "RSET", LOGIN_IN(CMD), smtp_cmd_noop, 0 },
	{ "QUIT", LOGIN_IN(CMD), smtp_cmd_quit, 0 },
	{ "STARTTLS", LOGIN_IN(CMD), smtp_cmd_starttls, 0 },
	{ "XCLIENT", LOGIN_IN(CMD), smtp_cmd_xclient, 0 },
	{ "MAIL", LOGIN_IN(CMD), smtp_cmd_needs_auth, 0 },
	{ "RCPT", LOGIN_IN(CMD), smtp_cmd_needs_auth, 0 },
	{ "DATA", LOGIN_IN(CMD), smtp_cmd_needs_auth, 0 },
	{ "BDAT", LOGIN_IN(CMD), smtp_cmd_needs_auth, 0 },
	{ "VRFY", LOGIN_IN(CMD), smtp_cmd_needs_auth, 0 },
	{ NULL, 0, NULL, 0 },
};

/* Returns -1 if the client is gone. */
static int
smtp_command(struct client *c, char *line)
{
	char *args = strchr(line, ' ');
	if (args) {
		*args++ = '\0';
		args += strspn(args, " ");
	} else {
		args = line + strlen(line);
	}
	if (!is_verb(line))
		return smtp_reply(c, "500 5.5.2 Invalid command syntax");
	const struct login_cmd *cmd = login_cmd_find(c, smtp_cmds, line, strlen(line));
	if (cmd == NULL)
		return smtp_reply(c, "500 5.5.1 Unknown command");
	return cmd->fn(c, args) < 0 || c->destroyed ? -1 : 0;
}

/* A line longer than the input buffer: its start is gone, the rest is dropped up to
 * its LF, then it gets its reply like any other bad line. Returns 1 when the line
 * ended, 0 if more of it is to come, -1 if the client is gone. */
static int
smtp_skip_line(struct client *c)
{
	struct smtp_client *sc = smtp_of(c);
	size_t len;
	const char *data = conn_peek(c->conn, &len);
	const char *lf = data ? memchr(data, '\n', len) : NULL;
	if (lf == NULL) {
		if (data)
			conn_consume(c->conn, len);
		return 0;
	}
	conn_consume(c->conn, (size_t)(lf - data) + 1);
	sc->skipping = 0;
	if (c->login_state == LOGIN_SASL) {
		/* RFC 4954: a response longer than the server's buffer fails the AUTH (with
		 * Dovecot's words: RFC 4954's 5.5.6 would be more precise) */
		login_sasl_end(c);
	}
	return smtp_reply(c, "500 5.5.2 Line too long") < 0 ? -1 : 1;
}

static void
smtp_input(struct client *c)
{
	struct smtp_client *sc = smtp_of(c);
	char *line;
	size_t len;

	while (!c->destroyed && c->conn && c->login_state != LOGIN_BUSY) {
		if (sc->skipping) {
			if (smtp_skip_line(c) <= 0)
				return;
			continue;
		}
		int r = conn_getline(c->conn, &line, &len);
		if (r == 0)
			return;
		if (r < 0) {
			sc->skipping = 1;
			continue;
		}
		if (c->login_state == LOGIN_SASL) {
			if (login_sasl_response(c, line) < 0)
				return;
			continue;
		}
		if (len > SMTP_LOGIN_MAX_LINE) {
			if (smtp_reply(c, "500 5.5.2 Line too long") < 0)
				return;
			continue;
		}
		if (smtp_command(c, line) < 0)
			return;
	}
}

static void
smtp_free(struct client *c)
{
	struct smtp_client *sc = smtp_of(c);
	if (sc == NULL)
		return;
	submission_backend_free(sc);
	free(sc->helo);
	free(sc->proto);
	strbuf_free(&sc->reply);
	free(sc);
	c->proto_state = NULL;
}

static const struct login_proto submission_login = {
	.fail = {
		[FAIL_AUTH] = { "535 5.7.8", "Authentication failed." },
		[FAIL_AUTH_REASON] = { "535 5.7.8", NULL },
		[FAIL_AUTH_TEMP] = { "454 4.7.0", NULL },
		[FAIL_PROXY_TEMP] = { "454 4.7.0", "Account is temporarily unavailable." },
		[FAIL_PROXY_CONFIG] = { "454 4.7.0", "Account is temporarily unavailable." },
		/* the backend's own reply, all its lines */
		[FAIL_BACKEND] = { NULL, NULL },
		[FAIL_BACKEND_TEMP] = { NULL, NULL },
	},
	.bad_base64 = "501 5.5.2",
	.aborted = { "501 5.5.2", "Authentication aborted by client." },
	.unsupported_mech = { "504 5.5.4", "Unsupported authentication mechanism." },
	.cleartext_disabled = { "523 5.7.10", "Plaintext authentication disallowed on non-secure (SSL/TLS) connections." },
	.logout = { "221 2.0.0", "Bye" },
	.challenge_fmt = "334 %s\r\n",
	.greet = smtp_greet,
	.input = smtp_input,
	.reply = smtp_login_reply,
	.bye = smtp_send_bye,
	.bye_enh = smtp_send_bye_enh,
	.backend_start = submission_backend_start,
	.backend_input = submission_backend_input,
	.free = smtp_free,
};

const struct proxyd_proto submission_proto = {
	.name = "submission",
	.log_prefix = "submission-login",
	.port = 587,
	.ssl_port = 465,
	.bye_fmt = "421 4.3.2 %s\r\n",
	.login = &submission_login,
};
