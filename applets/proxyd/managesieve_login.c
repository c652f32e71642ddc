/* SPDX-License-Identifier: MIT */
/* applets/proxyd/managesieve_login.c: what a ManageSieve client (RFC 5804) sees before it
 * is logged in: the capabilities as greeting, CAPABILITY, NOOP, LOGOUT, STARTTLS,
 * AUTHENTICATE with an initial response or continuations (quoted strings or literals),
 * XCLIENT from a trusted proxy in front, and the failure replies, in the words of
 * Pigeonhole's managesieve-login (docs/dovecot-login-behaviour.md §6). */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/managesieve.h"
#include "applets/proxyd/settings.h"
#include "config.h"
#include "core/log.h"
#include "core/str.h"

#define SIEVE_SASL_MAX	8192	/* one SASL string (Pigeonhole, measured) */

void
sieve_quote(struct strbuf *sb, const char *s)
{
	strbuf_putc(sb, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_putc(sb, '\\');
		strbuf_putc(sb, *s);
	}
	strbuf_putc(sb, '"');
}

/* "OK|NO|BYE [(CODE)] "text"" */
static void
sieve_reply(struct client *c, const char *status, const char *code, const char *text)
{
	struct strbuf sb;
	strbuf_init(&sb, 4096);
	strbuf_puts(&sb, status);
	if (code)
		strbuf_printf(&sb, " (%s)", code);
	if (text) {
		strbuf_putc(&sb, ' ');
		sieve_quote(&sb, text);
	}
	strbuf_puts(&sb, "\r\n");
	if (!sb.error)
		conn_write(c->conn, sb.s, sb.len);
	strbuf_free(&sb);
}

static void
sieve_capabilities(struct client *c, struct strbuf *sb)
{
	const struct proxyd_settings *set = c->pd->set;
	strbuf_puts(sb, "\"IMPLEMENTATION\" ");
	sieve_quote(sb, set->sieve_implementation);
	strbuf_puts(sb, "\r\n\"SIEVE\" ");
	sieve_quote(sb, set->sieve_capability);
	strbuf_puts(sb, "\r\n");
	if (set->sieve_notify) {
		strbuf_puts(sb, "\"NOTIFY\" ");
		sieve_quote(sb, set->sieve_notify);
		strbuf_puts(sb, "\r\n");
	}
	/* only plaintext mechanisms exist here: none is offered on an insecure link */
	strbuf_puts(sb, "\"SASL\" ");
	sieve_quote(sb, client_cleartext_allowed(c) ? client_mechanisms(c) : "");
	strbuf_puts(sb, "\r\n");
	if (client_starttls_allowed(c))
		strbuf_puts(sb, "\"STARTTLS\"\r\n");
	strbuf_puts(sb, "\"VERSION\" \"1.0\"\r\n");
	if (c->trusted)
		strbuf_puts(sb, "\"XCLIENT\"\r\n");
}

static void
sieve_send_caps(struct client *c, const char *ok_text)
{
	struct strbuf sb;
	strbuf_init(&sb, 16384);
	sieve_capabilities(c, &sb);
	strbuf_puts(&sb, "OK ");
	sieve_quote(&sb, ok_text);
	strbuf_puts(&sb, "\r\n");
	if (!sb.error)
		conn_write(c->conn, sb.s, sb.len);
	strbuf_free(&sb);
}

static void
sieve_greet(struct client *c)
{
	struct sieve_client *sc = calloc(1, sizeof(*sc));
	if (sc == NULL) {
		client_destroy(c, "Out of memory");
		return;
	}
	sc->parser.mode = IMAP_PARSE_UNTAGGED;
	/* Pigeonhole's limits are imap-login's, but a SASL string may hold 8192 bytes
	 * (measured, docs/dovecot-login-behaviour.md §7) */
	sc->parser.dovecot_limits = 1;
	sc->parser.sasl_cmd = "AUTHENTICATE";
	sc->parser.sasl_content_max = SIEVE_SASL_MAX;
	c->proto_state = sc;
	sieve_send_caps(c, c->pd->set->login_greeting);
}

static void
sieve_send_bye(struct client *c, const char *text)
{
	sieve_reply(c, "BYE", NULL, text);
}

/* The login skeleton's replies: the code is the status with its response code; a
 * backend's reply line (code NULL) was made by managesieve_proxy.c. */
static int
sieve_login_reply(struct client *c, const char *code, const char *text)
{
	if (code)
		sieve_reply(c, code, NULL, text);
	else
		conn_printf(c->conn, "%s\r\n", text);
	return 0;
}

/* As Pigeonhole: the third bad command (they are never forgiven) ends the connection.
 * Returns -1 if the client was closed. */
static int
sieve_bad(struct client *c)
{
	if (++c->bad_cmds >= LOGIN_MAX_BAD_CMDS) {
		login_bye(c, "Too many invalid MANAGESIEVE commands.", "Too many invalid commands");
		return -1;
	}
	sieve_reply(c, "NO", NULL, "Error in MANAGESIEVE command received by server.");
	return 0;
}

/* Returns -1 if the client is gone. */
static int
sieve_cmd_authenticate(struct client *c, char *args)
{
	const struct imap_parser *p = &sieve_of(c)->parser;
	(void)args;
	if (p->nargs < 1 || p->args[0].type != IMAP_ARG_STRING || p->args[0].len == 0)
		return sieve_bad(c);
	if (p->nargs > 2 || (p->nargs == 2 && p->args[1].type != IMAP_ARG_STRING)) {
		sieve_reply(c, "NO", NULL, "Invalid AUTHENTICATE initial response.");
		return 0;
	}
	return login_authenticate(c, p->args[0].str, p->nargs == 2 ? p->args[1].str : NULL);
}

/* A continuation line: one string, or "*" to give up. */
static void
sieve_sasl_line(struct client *c)
{
	const struct imap_parser *p = &sieve_of(c)->parser;
	if (p->nargs == 0) {
		sieve_reply(c, "NO", NULL, "Received empty AUTHENTICATE client response line.");
		login_sasl_end(c);
		return;
	}
	if (p->nargs != 1 || p->args[0].type != IMAP_ARG_STRING) {
		sieve_reply(c, "NO", NULL, "Invalid AUTHENTICATE client response.");
		login_sasl_end(c);
		return;
	}
	login_sasl_response(c, p->args[0].str);
}

/* XCLIENT from a trusted proxy in front of us carries the real client (§9.6). */
static int
sieve_cmd_xclient(struct client *c, char *args)
{
	const struct imap_parser *p = &sieve_of(c)->parser;
	char kv[LOGIN_MAX_CMD];
	(void)args;
	if (!c->trusted) {
		sieve_reply(c, "NO", NULL, "You are not from trusted IP");
		return 0;
	}
	for (unsigned int i = 0; i < p->nargs; i++) {
		str_copy(kv, p->args[i].str, sizeof(kv));
		char *v = strchr(kv, '=');
		if (v == NULL)
			continue;
		*v++ = '\0';
		if (client_xclient_attr(c, kv, v) < 0) {
			sieve_reply(c, "NO", NULL, "Invalid XCLIENT parameters");
			return 0;
		}
	}
	sieve_reply(c, "OK", NULL, "Updated");
	return 0;
}

static int
sieve_cmd_capability(struct client *c, char *args)
{
	(void)args;
	sieve_send_caps(c, "Capability completed.");
	return 0;
}

static int
sieve_cmd_noop(struct client *c, char *args)
{
	const struct imap_parser *p = &sieve_of(c)->parser;
	(void)args;
	if (p->nargs == 0) {
		sieve_reply(c, "OK", NULL, "NOOP Completed");
	} else if (p->nargs > 1) {
		return sieve_bad(c);
	} else if (p->args[0].type != IMAP_ARG_STRING) {
		sieve_reply(c, "NO", NULL, "Invalid echo tag.");
	} else {
		/* RFC 5804 2.11: the tag comes back as a response code */
		struct strbuf code;
		strbuf_init(&code, LOGIN_MAX_CMD + 64);
		strbuf_puts(&code, "TAG ");
		sieve_quote(&code, p->args[0].str);
		sieve_reply(c, "OK", code.s, "Done");
		strbuf_free(&code);
	}
	return 0;
}

static int
sieve_cmd_logout(struct client *c, char *args)
{
	(void)args;
	return login_logout(c);
}

static int
sieve_cmd_starttls(struct client *c, char *args)
{
	(void)args;
	if (c->tls) {
		sieve_reply(c, "NO", NULL, "TLS is already active.");
	} else if (!client_starttls_allowed(c)) {
		sieve_reply(c, "NO", NULL, "TLS support isn't enabled.");
	} else {
		sieve_reply(c, "OK", NULL, "Begin TLS negotiation now.");
		if (client_start_tls(c) < 0) {
			login_bye(c, "TLS initialization failed.", "TLS initialization failed");
			return -1;
		}
		/* RFC 5804 2.2: the capabilities again, over TLS (queued now, sent once the
		 * handshake is done); the parser forgets what came before */
		imap_parser_reset(&sieve_of(c)->parser);
		sieve_send_caps(c, "TLS negotiation successful.");
	}
	return 0;
}

static const struct login_cmd sieve_cmds[] = {
	{ "AUTHENTICATE", LOGIN_IN(CMD), sieve_cmd_authenticate, 0 },
	{ "CAPABILITY", LOGIN_IN(CMD), sieve_cmd_capability, LOGIN_CMD_NO_ARGS },
	{ "NOOP", LOGIN_IN(CMD), sieve_cmd_noop, 0 },
	{ "LOGOUT", LOGIN_IN(CMD), sieve_cmd_logout, LOGIN_CMD_NO_ARGS },
	{ "STARTTLS", LOGIN_IN(CMD), sieve_cmd_starttls, LOGIN_CMD_NO_ARGS },
	{ "XCLIENT", LOGIN_IN(CMD), sieve_cmd_xclient, 0 },
	{ NULL, 0, NULL, 0 },
};

/* Returns -1 if the client is gone. */
static int
sieve_command(struct client *c)
{
	const struct imap_parser *p = &sieve_of(c)->parser;
	const struct login_cmd *cmd = login_cmd_find(c, sieve_cmds, p->name, strlen(p->name));
	if (cmd == NULL || ((cmd->flags & LOGIN_CMD_NO_ARGS) && p->nargs != 0))
		return sieve_bad(c);
	return cmd->fn(c, NULL) < 0 || c->destroyed ? -1 : 0;
}

static void
sieve_input(struct client *c)
{
	struct sieve_client *sc = sieve_of(c);

	while (!c->destroyed && c->conn != NULL && c->login_state != LOGIN_BUSY) {
		size_t len, used;
		const char *data = conn_peek(c->conn, &len);
		if (data == NULL) {
			imap_parser_idle(&sc->parser);
			return;
		}
		/* a response to a challenge is a line of arguments only; the state changes
		 * only between lines */
		sc->parser.mode = c->login_state == LOGIN_SASL ? IMAP_PARSE_ARGS : IMAP_PARSE_UNTAGGED;
		enum imap_parse_status st;
		if (imap_parser_feed(&sc->parser, data, len, &used, &st) < 0) {
			login_bye(c, "Out of memory.", "Out of memory");
			return;
		}
		conn_consume(c->conn, used);
		switch (st) {
		case IMAP_PARSE_MORE:
			return;
		case IMAP_PARSE_LITERAL:
			/* ManageSieve has no continuation request: the data follows at once */
			continue;
		case IMAP_PARSE_ARG:
		case IMAP_PARSE_SKIPPED:
			continue;	/* not asked for: no stream_cmd, no skip_line */
		case IMAP_PARSE_TOO_LONG:
			if (strcmp(sc->parser.error, "Authentication response too large") == 0)
				client_destroy(c, sc->parser.error);	/* as Pigeonhole: no word */
			else if (strcmp(sc->parser.error, "Literal too large") == 0)
				login_bye(c, "Literal size too large", "Literal size too large");
			else
				login_bye(c, "Input buffer full, aborting", "Input buffer full");
			return;
		case IMAP_PARSE_BAD:
			if (c->login_state != LOGIN_SASL &&
			    strcmp(sc->parser.error, "IMAP command line too large") == 0) {
				/* as Pigeonhole: answered, the connection goes on */
				sieve_reply(c, "NO", NULL, "MANAGESIEVE command line too large");
				continue;
			}
			if (c->login_state == LOGIN_SASL) {
				sieve_reply(c, "NO", NULL, "Invalid AUTHENTICATE client response.");
				login_sasl_end(c);
				continue;
			}
			if (sieve_bad(c) < 0)
				return;
			continue;
		case IMAP_PARSE_DONE:
			if (c->login_state == LOGIN_SASL)
				sieve_sasl_line(c);
			else if (sieve_command(c) < 0)
				return;
			/* the pre-login commands are small; give the storage back between them */
			if (!c->destroyed && conn_peek(c->conn, &len) == NULL)
				imap_parser_reset(&sc->parser);
			continue;
		}
	}
}

static void
sieve_free(struct client *c)
{
	struct sieve_client *sc = sieve_of(c);
	if (sc == NULL)
		return;
	imap_parser_reset(&sc->parser);
	free(sc);
	c->proto_state = NULL;
}

static const struct login_proto managesieve_login = {
	.fail = {
		[FAIL_AUTH] = { "NO", "Authentication failed." },
		[FAIL_AUTH_REASON] = { "NO", NULL },
		[FAIL_AUTH_TEMP] = { "NO (TRYLATER)", NULL },
		[FAIL_PROXY_TEMP] = { "NO (TRYLATER)", "Account is temporarily unavailable." },
		[FAIL_PROXY_CONFIG] = { "NO", "Account is temporarily unavailable." },
		[FAIL_BACKEND] = { NULL, NULL },
		[FAIL_BACKEND_TEMP] = { NULL, NULL },
	},
	.bad_base64 = "NO",
	.aborted = { "NO", "Authentication aborted by client." },
	.unsupported_mech = { "NO", "Unsupported authentication mechanism." },
	.cleartext_disabled = { "NO (ENCRYPT-NEEDED)", "Plaintext authentication disallowed on non-secure (SSL/TLS) connections." },
	.logout = { "OK", "Logout completed." },
	/* a quoted string: base64 has no character to escape */
	.challenge_fmt = "\"%s\"\r\n",
	.greet = sieve_greet,
	.input = sieve_input,
	.reply = sieve_login_reply,
	.bye = sieve_send_bye,
	.backend_start = managesieve_backend_start,
	.backend_input = managesieve_backend_input,
	.free = sieve_free,
};

const struct proxyd_proto managesieve_proto = {
	.name = "sieve",
	.log_prefix = "managesieve-login",
	.port = 4190,
	.ssl_port = 4190,
	.bye_fmt = "BYE \"%s\"\r\n",
	.login = &managesieve_login,
};
