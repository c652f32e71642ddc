/* SPDX-License-Identifier: MIT */
/* applets/proxyd/imap_login.c: what an IMAP client sees before it is logged in: the
 * greeting, the pre-login commands (RFC 3501 §6.1-6.2, RFC 2971 ID, RFC 4959 SASL-IR),
 * and the replies for every failure, in Dovecot's words. */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/imap.h"
#include "applets/proxyd/settings.h"
#include "core/log.h"
#include "core/str.h"

#define IMAP_PRELOGIN_CAPS	"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+"

static void imap_free(struct client *);

static void
imap_capabilities(struct client *c, struct strbuf *sb)
{
	const struct proxyd_settings *set = c->pd->set;
	strbuf_puts(sb, set->imap_capability ? set->imap_capability : IMAP_PRELOGIN_CAPS);
	if (client_starttls_allowed(c))
		strbuf_puts(sb, " STARTTLS");
	if (!client_cleartext_allowed(c)) {
		strbuf_puts(sb, " LOGINDISABLED");
		return;
	}
	const char *m = client_mechanisms(c);
	while (*m) {
		size_t n = strcspn(m, " ");
		strbuf_puts(sb, " AUTH=");
		strbuf_append(sb, m, n);
		m += n;
		m += *m == ' ';
	}
}

static void
imap_greet(struct client *c)
{
	struct imap_client *ic = calloc(1, sizeof(*ic));
	struct strbuf sb;
	if (ic == NULL) {
		client_destroy(c, "Out of memory");
		return;
	}
	c->proto_state = ic;
	ic->parser.dovecot_limits = 1;
	ic->parser.stream_cmd = "ID";
	ic->parser.sasl_cmd = "AUTHENTICATE";
	strbuf_init(&sb, 4096);
	strbuf_puts(&sb, "* OK [CAPABILITY ");
	imap_capabilities(c, &sb);
	strbuf_printf(&sb, "] %s\r\n", c->pd->set->login_greeting);
	conn_write(c->conn, sb.s, sb.len);
	strbuf_free(&sb);
}

static void
imap_reply(struct client *c, const char *tag, const char *text)
{
	conn_printf(c->conn, "%s %s\r\n", tag, text);
}

static void
imap_send_bye(struct client *c, const char *text)
{
	conn_printf(c->conn, "* BYE %s\r\n", text);
}

/* BYE, then the connection ends; the queued reply still goes out. */
static void
imap_bye(struct client *c, const char *text, const char *log_reason)
{
	imap_send_bye(c, text);
	imap_of(c)->state = IMAP_LOGIN_CLOSING;
	conn_close_after_flush(c->conn);
	c->conn = NULL;
	client_destroy(c, log_reason);
}

/* A malformed command: as Dovecot, the third one of a connection (good commands in
 * between do not reset the count) gets BYE instead of its BAD. Returns -1 if closed. */
static int
imap_bad(struct client *c, const char *tag)
{
	if (++c->bad_cmds >= LOGIN_MAX_BAD_CMDS) {
		imap_bye(c, "Too many invalid IMAP commands.", "Too many invalid commands");
		return -1;
	}
	imap_reply(c, tag ? tag : "*", "BAD Error in IMAP command received by server.");
	return 0;
}

static void
imap_privacy_required(struct client *c, const char *tag, int login_cmd)
{
	if (login_cmd)
		conn_printf(c->conn, "* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, "
		    "but your client did it anyway. If anyone was listening, the password was exposed.\r\n"
		    "%s NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n", tag);
	else
		conn_printf(c->conn, "%s NO [PRIVACYREQUIRED] Plaintext authentication disabled.\r\n", tag);
}

static void
imap_cmd_capability(struct client *c, const char *tag)
{
	struct strbuf sb;
	strbuf_init(&sb, 4096);
	strbuf_puts(&sb, "* CAPABILITY ");
	imap_capabilities(c, &sb);
	strbuf_printf(&sb, "\r\n%s OK Pre-login capabilities listed, post-login capabilities have more.\r\n", tag);
	conn_write(c->conn, sb.s, sb.len);
	strbuf_free(&sb);
	imap_of(c)->capability_asked = 1;
}

static void
imap_auth_done(struct client *c, const char *mech)
{
	struct imap_client *ic = imap_of(c);
	struct sasl_server *s = c->sasl;
	ic->state = IMAP_LOGIN_PASSDB;
	c->sasl_waiting = 0;
	conn_pause_read(c->conn, 1);
	client_auth(c, mech, s->authzid, s->authcid, sasl_mech_passthrough(s->mech) ? NULL : s->pass);
}

static void
imap_sasl_step(struct client *c, const char *response, int initial)
{
	struct imap_client *ic = imap_of(c);
	char challenge[64];
	switch (sasl_server_step(c->sasl, response, initial, challenge, sizeof(challenge))) {
	case SASL_CONTINUE:
		ic->state = IMAP_LOGIN_SASL;
		c->sasl_waiting = 1;
		conn_printf(c->conn, "+ %s\r\n", challenge);
		return;
	case SASL_DONE:
		imap_auth_done(c, sasl_mech_name(c->sasl->mech));
		return;
	case SASL_FAILED:
		ic->state = IMAP_LOGIN_NOAUTH;
		c->sasl_waiting = 0;
		if (c->sasl->bad_base64) {
			conn_printf(c->conn, "%s BAD %s\r\n", ic->tag, c->sasl->error);
		} else {
			/* undecodable credentials count as a failed login, answered as one */
			c->auth_attempts++;
			conn_printf(c->conn, "%s NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", ic->tag);
		}
		sasl_server_clear(c->sasl);
		free(c->sasl);
		c->sasl = NULL;
		return;
	}
}

static int
imap_set_tag(struct client *c, const char *tag)
{
	struct imap_client *ic = imap_of(c);
	free(ic->tag);
	ic->tag = strdup(tag);
	return ic->tag ? 0 : -1;
}

static void
imap_cmd_authenticate(struct client *c, const char *tag)
{
	struct imap_client *ic = imap_of(c);
	const struct imap_parser *p = &ic->parser;

	if (p->nargs < 1 || p->nargs > 2 || !imap_args_strings(p, p->nargs)) {
		imap_bad(c, tag);
		return;
	}
	enum sasl_mech mech = sasl_mech_parse(p->args[0].str);
	if (mech == SASL_MECH_NONE || !client_mechanism_offered(c, mech)) {
		conn_printf(c->conn, "%s NO [ALERT] Unsupported authentication mechanism.\r\n", tag);
		return;
	}
	if (!client_cleartext_allowed(c)) {
		imap_privacy_required(c, tag, 0);
		return;
	}
	if (imap_set_tag(c, tag) < 0 || (c->sasl = calloc(1, sizeof(*c->sasl))) == NULL) {
		imap_bye(c, "Out of memory.", "Out of memory");
		return;
	}
	sasl_server_init(c->sasl, mech);
	imap_sasl_step(c, p->nargs == 2 ? p->args[1].str : NULL, 1);
}

static void
imap_cmd_login(struct client *c, const char *tag)
{
	struct imap_client *ic = imap_of(c);
	const struct imap_parser *p = &ic->parser;

	if (!imap_args_strings(p, 2) || p->args[0].len > SASL_MAX_USER || p->args[1].len > SASL_MAX_PASS) {
		imap_bad(c, tag);
		return;
	}
	if (!client_cleartext_allowed(c)) {
		imap_privacy_required(c, tag, 1);
		return;
	}
	if (imap_set_tag(c, tag) < 0 || (c->sasl = calloc(1, sizeof(*c->sasl))) == NULL) {
		imap_bye(c, "Out of memory.", "Out of memory");
		return;
	}
	sasl_server_init(c->sasl, SASL_MECH_NONE);
	memcpy(c->sasl->authcid, p->args[0].str, p->args[0].len + 1);
	memcpy(c->sasl->pass, p->args[1].str, p->args[1].len + 1);
	/* Dovecot logs the LOGIN command as method=PLAIN */
	imap_auth_done(c, "PLAIN");
}

/* RFC 3501 §6.2.1. The reply goes out in plaintext, then the handshake; whatever the
 * client pipelined behind STARTTLS is dropped with the parser's state. */
static void
imap_cmd_starttls(struct client *c, const char *tag)
{
	if (c->tls) {
		imap_reply(c, tag, "BAD TLS is already active.");
		return;
	}
	if (!client_starttls_allowed(c)) {
		imap_reply(c, tag, "BAD TLS support isn't enabled.");
		return;
	}
	imap_reply(c, tag, "OK Begin TLS negotiation now.");
	if (client_start_tls(c) < 0) {
		imap_bye(c, "TLS initialization failed.", "TLS initialization failed");
		return;
	}
	imap_parser_reset(&imap_of(c)->parser);
	imap_of(c)->capability_asked = 0;
}

/* One parsed command. Returns -1 if the client is gone. */
static int
imap_command(struct client *c)
{
	struct imap_client *ic = imap_of(c);
	const char *tag = ic->parser.tag, *name = ic->parser.name;

	if (str_eq_nocase(name, "LOGIN")) {
		imap_cmd_login(c, tag);
	} else if (str_eq_nocase(name, "AUTHENTICATE")) {
		imap_cmd_authenticate(c, tag);
	} else if (str_eq_nocase(name, "CAPABILITY")) {
		imap_cmd_capability(c, tag);
	} else if (str_eq_nocase(name, "NOOP")) {
		imap_reply(c, tag, "OK NOOP completed.");
	} else if (str_eq_nocase(name, "ID")) {
		imap_id_finish(c, tag);	/* the arguments came one at a time (imap_id_input) */
	} else if (str_eq_nocase(name, "LOGOUT")) {
		conn_printf(c->conn, "* BYE Logging out\r\n%s OK Logout completed.\r\n", tag);
		ic->state = IMAP_LOGIN_CLOSING;
		conn_close_after_flush(c->conn);
		c->conn = NULL;
		client_destroy(c, "Aborted login by logging out");
		return -1;
	} else if (str_eq_nocase(name, "STARTTLS")) {
		imap_cmd_starttls(c, tag);
	} else if (str_eq_nocase(name, "ENABLE")) {
		conn_printf(c->conn, "* ENABLED\r\n%s OK ENABLE ignored in non-authenticated state.\r\n", tag);
	} else {
		return imap_bad(c, tag);
	}
	return c->destroyed ? -1 : 0;
}

/* A continuation line of AUTHENTICATE: base64, or "*" to abort. */
static int
imap_sasl_line(struct client *c)
{
	struct imap_client *ic = imap_of(c);
	char *line;
	size_t len;
	int r = conn_getline(c->conn, &line, &len);
	if (r == 0)
		return 1;
	if (r < 0 || len >= IMAP_PARSER_SASL_MAX) {
		/* as Dovecot: an over-long SASL response (8192 bytes with its CR) just ends
		 * the connection */
		client_destroy(c, "Authentication response too large");
		return -1;
	}
	if (strcmp(line, "*") == 0) {
		ic->state = IMAP_LOGIN_NOAUTH;
		c->sasl_waiting = 0;
		conn_printf(c->conn, "%s BAD Authentication aborted by client.\r\n", ic->tag);
		sasl_server_clear(c->sasl);
		free(c->sasl);
		c->sasl = NULL;
		return 0;
	}
	imap_sasl_step(c, line, 0);
	return 0;
}

/* One argument of ID. Returns -1 if the client is gone. */
static int
imap_id_input(struct client *c)
{
	struct imap_client *ic = imap_of(c);
	switch (imap_id_arg(c, &ic->parser.args[0])) {
	case 0:
		return 0;
	case 1:
		imap_id_finish(c, ic->parser.tag);
		break;
	case -1:
		/* as Dovecot: answered, not counted as a bad command */
		imap_id_free(c);
		imap_reply(c, ic->parser.tag, "BAD Invalid ID parameters");
		break;
	default:
		imap_bye(c, "Out of memory.", "Out of memory");
		return -1;
	}
	imap_parser_skip_line(&ic->parser);
	return 0;
}

static void
imap_input(struct client *c)
{
	struct imap_client *ic = imap_of(c);

	while (!c->destroyed && c->conn != NULL) {
		if (ic->state == IMAP_LOGIN_SASL) {
			int r = imap_sasl_line(c);
			if (r != 0)
				return;
			continue;
		}
		if (ic->state != IMAP_LOGIN_NOAUTH)
			return;	/* input waits in the buffer (pipelined after LOGIN) */
		size_t len, used;
		const char *data = conn_peek(c->conn, &len);
		if (data == NULL) {
			imap_parser_idle(&ic->parser);
			return;
		}
		enum imap_parse_status st;
		if (imap_parser_feed(&ic->parser, data, len, &used, &st) < 0) {
			imap_bye(c, "Out of memory.", "Out of memory");
			return;
		}
		conn_consume(c->conn, used);
		switch (st) {
		case IMAP_PARSE_MORE:
			return;
		case IMAP_PARSE_LITERAL:
			conn_puts(c->conn, "+ OK\r\n");
			continue;
		case IMAP_PARSE_TOO_LONG:
			if (strcmp(ic->parser.error, "Literal too large") == 0) {
				imap_bye(c, "Literal size too large", "Literal size too large");
			} else if (strcmp(ic->parser.error, "Authentication response too large") == 0) {
				/* as Dovecot: an over-long SASL response just ends the connection */
				client_destroy(c, ic->parser.error);
			} else {
				imap_bye(c, "Input buffer full, aborting", "Input buffer full");
			}
			return;
		case IMAP_PARSE_ARG:
			if (imap_id_input(c) < 0)
				return;
			continue;
		case IMAP_PARSE_SKIPPED:
			continue;
		case IMAP_PARSE_BAD:
			imap_id_free(c);
			/* errors inside the arguments get the parser's words and do not count
			 * as bad commands (Dovecot's client_handle_parser_error) */
			if (ic->parser.bad_reply) {
				conn_printf(c->conn, "%s BAD %s\r\n", ic->parser.tag ? ic->parser.tag : "*",
				    ic->parser.error);
				continue;
			}
			if (imap_bad(c, ic->parser.tag) < 0)
				return;
			continue;
		case IMAP_PARSE_DONE:
			if (imap_command(c) < 0)
				return;
			/* the pre-login commands are small; give the storage back between them */
			if (ic->state != IMAP_LOGIN_NOAUTH || conn_peek(c->conn, &len) == NULL)
				imap_parser_reset(&ic->parser);
			continue;
		}
	}
}

static void
imap_fail(struct client *c, enum client_fail why, const char *text)
{
	struct imap_client *ic = imap_of(c);
	const char *tag = ic->tag ? ic->tag : "*";
	char msg[256];

	ic->state = IMAP_LOGIN_NOAUTH;
	switch (why) {
	case FAIL_AUTH:
		conn_printf(c->conn, "%s NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", tag);
		break;
	case FAIL_AUTH_REASON:
		conn_printf(c->conn, "%s NO [AUTHENTICATIONFAILED] %s\r\n", tag, text);
		break;
	case FAIL_AUTH_TEMP:
		conn_printf(c->conn, "%s NO [UNAVAILABLE] %s\r\n", tag, client_auth_temp_text(c, msg, sizeof(msg)));
		break;
	case FAIL_PROXY_TEMP:
		conn_printf(c->conn, "%s NO [UNAVAILABLE] Account is temporarily unavailable.\r\n", tag);
		break;
	case FAIL_PROXY_CONFIG:
		conn_printf(c->conn, "%s NO [SERVERBUG] Account is temporarily unavailable.\r\n", tag);
		break;
	case FAIL_BACKEND:
		conn_printf(c->conn, "%s %s\r\n", tag, text);
		break;
	case FAIL_BACKEND_TEMP:
		conn_printf(c->conn, "%s NO [UNAVAILABLE] %s\r\n", tag, text);
		break;
	case FAIL_NONE:
		break;
	}
	if (c->auth_attempts >= LOGIN_MAX_AUTH_ATTEMPTS)
		imap_bye(c, "Too many failed logins.", "Too many failed logins");
}

static void
imap_free(struct client *c)
{
	struct imap_client *ic = imap_of(c);
	if (ic == NULL)
		return;
	imap_parser_reset(&ic->parser);
	imap_id_free(c);
	free(ic->tag);
	free(ic->backend_caps);
	free(ic->sasl_pending);
	free(ic);
	c->proto_state = NULL;
}

const struct login_proto imap_proto = {
	.name = "imap",
	.log_prefix = "imap-login",
	.port = 143,
	.ssl_port = 993,
	.greet = imap_greet,
	.input = imap_input,
	.fail = imap_fail,
	.bye = imap_send_bye,
	.bye_fmt = "* BYE %s\r\n",
	.backend_start = imap_backend_start,
	.backend_input = imap_backend_input,
	.free = imap_free,
};
