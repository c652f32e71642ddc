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

/* The login skeleton's replies carry the tag of the login (or LOGOUT) command. */
static int
imap_login_reply(struct client *c, const char *code, const char *text)
{
	const char *tag = imap_of(c)->tag ? imap_of(c)->tag : "*";
	if (code)
		conn_printf(c->conn, "%s %s %s\r\n", tag, code, text);
	else
		conn_printf(c->conn, "%s %s\r\n", tag, text);
	return 0;
}

/* A malformed command: as Dovecot, the third one of a connection (good commands in
 * between do not reset the count) gets BYE instead of its BAD. Returns -1 if closed. */
static int
imap_bad(struct client *c, const char *tag)
{
	if (++c->bad_cmds >= LOGIN_MAX_BAD_CMDS) {
		login_bye(c, "Too many invalid IMAP commands.", "Too many invalid commands");
		return -1;
	}
	imap_reply(c, tag ? tag : "*", "BAD Error in IMAP command received by server.");
	return 0;
}


/* The commands' handlers take the tag from the parser. */
static int
imap_cmd_capability(struct client *c, char *args)
{
	const char *tag = imap_of(c)->parser.tag;
	struct strbuf sb;
	(void)args;
	strbuf_init(&sb, 4096);
	strbuf_puts(&sb, "* CAPABILITY ");
	imap_capabilities(c, &sb);
	strbuf_printf(&sb, "\r\n%s OK Pre-login capabilities listed, post-login capabilities have more.\r\n", tag);
	conn_write(c->conn, sb.s, sb.len);
	strbuf_free(&sb);
	imap_of(c)->capability_asked = 1;
	return 0;
}

static int
imap_set_tag(struct client *c, const char *tag)
{
	struct imap_client *ic = imap_of(c);
	free(ic->tag);
	ic->tag = strdup(tag);
	return ic->tag ? 0 : -1;
}

/* The login skeleton's replies carry the tag of the login (or LOGOUT) command. */
static int
imap_take_tag(struct client *c)
{
	if (imap_set_tag(c, imap_of(c)->parser.tag) == 0)
		return 0;
	login_bye(c, "Out of memory.", "Out of memory");
	return -1;
}

static int
imap_cmd_authenticate(struct client *c, char *args)
{
	const struct imap_parser *p = &imap_of(c)->parser;
	(void)args;
	if (p->nargs < 1 || p->nargs > 2 || !imap_args_strings(p, p->nargs))
		return imap_bad(c, p->tag);
	if (imap_take_tag(c) < 0)
		return -1;
	return login_authenticate(c, p->args[0].str, p->nargs == 2 ? p->args[1].str : NULL);
}

static int
imap_cmd_login(struct client *c, char *args)
{
	const struct imap_parser *p = &imap_of(c)->parser;
	const char *tag = p->tag;
	(void)args;
	if (!imap_args_strings(p, 2) || p->args[0].len > SASL_MAX_USER || p->args[1].len > SASL_MAX_PASS)
		return imap_bad(c, tag);
	if (!client_cleartext_allowed(c)) {
		conn_printf(c->conn, "* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, "
		    "but your client did it anyway. If anyone was listening, the password was exposed.\r\n"
		    "%s NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n", tag);
		return 0;
	}
	if (imap_take_tag(c) < 0)
		return -1;
	/* Dovecot logs the LOGIN command as method=PLAIN */
	login_auth(c, "PLAIN", NULL, p->args[0].str, p->args[1].str);
	return 0;
}

/* RFC 3501 §6.2.1. The reply goes out in plaintext, then the handshake; whatever the
 * client pipelined behind STARTTLS is dropped with the parser's state. */
static int
imap_cmd_starttls(struct client *c, char *args)
{
	const char *tag = imap_of(c)->parser.tag;
	(void)args;
	if (c->tls) {
		imap_reply(c, tag, "BAD TLS is already active.");
		return 0;
	}
	if (!client_starttls_allowed(c)) {
		imap_reply(c, tag, "BAD TLS support isn't enabled.");
		return 0;
	}
	imap_reply(c, tag, "OK Begin TLS negotiation now.");
	if (client_start_tls(c) < 0) {
		login_bye(c, "TLS initialization failed.", "TLS initialization failed");
		return -1;
	}
	imap_parser_reset(&imap_of(c)->parser);
	imap_of(c)->capability_asked = 0;
	return 0;
}

static int
imap_cmd_noop(struct client *c, char *args)
{
	(void)args;
	imap_reply(c, imap_of(c)->parser.tag, "OK NOOP completed.");
	return 0;
}

/* the arguments came one at a time (imap_id_input) */
static int
imap_cmd_id(struct client *c, char *args)
{
	(void)args;
	imap_id_finish(c, imap_of(c)->parser.tag);
	return 0;
}

static int
imap_cmd_logout(struct client *c, char *args)
{
	(void)args;
	return imap_take_tag(c) < 0 ? -1 : login_logout(c);
}

static int
imap_cmd_enable(struct client *c, char *args)
{
	(void)args;
	conn_printf(c->conn, "* ENABLED\r\n%s OK ENABLE ignored in non-authenticated state.\r\n",
	    imap_of(c)->parser.tag);
	return 0;
}

static const struct login_cmd imap_cmds[] = {
	{ "LOGIN", LOGIN_IN(CMD), imap_cmd_login, 0 },
	{ "AUTHENTICATE", LOGIN_IN(CMD), imap_cmd_authenticate, 0 },
	{ "CAPABILITY", LOGIN_IN(CMD), imap_cmd_capability, 0 },
	{ "NOOP", LOGIN_IN(CMD), imap_cmd_noop, 0 },
	{ "ID", LOGIN_IN(CMD), imap_cmd_id, 0 },
	{ "LOGOUT", LOGIN_IN(CMD), imap_cmd_logout, 0 },
	{ "STARTTLS", LOGIN_IN(CMD), imap_cmd_starttls, 0 },
	{ "ENABLE", LOGIN_IN(CMD), imap_cmd_enable, 0 },
	{ NULL, 0, NULL, 0 },
};

/* One parsed command. Returns -1 if the client is gone. */
static int
imap_command(struct client *c)
{
	const struct imap_parser *p = &imap_of(c)->parser;
	const struct login_cmd *cmd = login_cmd_find(c, imap_cmds, p->name, strlen(p->name));
	if (cmd == NULL)
		return imap_bad(c, p->tag);
	return cmd->fn(c, NULL) < 0 || c->destroyed ? -1 : 0;
}

/* A continuation line of AUTHENTICATE: base64, or "*" to abort. */
static int
imap_sasl_line(struct client *c)
{
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
	return login_sasl_response(c, line) < 0 ? -1 : 0;
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
		login_bye(c, "Out of memory.", "Out of memory");
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
		if (c->login_state == LOGIN_SASL) {
			int r = imap_sasl_line(c);
			if (r != 0)
				return;
			continue;
		}
		if (c->login_state != LOGIN_CMD)
			return;	/* input waits in the buffer (pipelined after LOGIN) */
		size_t len, used;
		const char *data = conn_peek(c->conn, &len);
		if (data == NULL) {
			imap_parser_idle(&ic->parser);
			return;
		}
		enum imap_parse_status st;
		if (imap_parser_feed(&ic->parser, data, len, &used, &st) < 0) {
			login_bye(c, "Out of memory.", "Out of memory");
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
				login_bye(c, "Literal size too large", "Literal size too large");
			} else if (strcmp(ic->parser.error, "Authentication response too large") == 0) {
				/* as Dovecot: an over-long SASL response just ends the connection */
				client_destroy(c, ic->parser.error);
			} else {
				login_bye(c, "Input buffer full, aborting", "Input buffer full");
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
			if (c->login_state != LOGIN_CMD || conn_peek(c->conn, &len) == NULL)
				imap_parser_reset(&ic->parser);
			continue;
		}
	}
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

static const struct login_proto imap_login = {
	.fail = {
		[FAIL_AUTH] = { "NO [AUTHENTICATIONFAILED]", "Authentication failed." },
		[FAIL_AUTH_REASON] = { "NO [AUTHENTICATIONFAILED]", NULL },
		[FAIL_AUTH_TEMP] = { "NO [UNAVAILABLE]", NULL },
		[FAIL_PROXY_TEMP] = { "NO [UNAVAILABLE]", "Account is temporarily unavailable." },
		[FAIL_PROXY_CONFIG] = { "NO [SERVERBUG]", "Account is temporarily unavailable." },
		[FAIL_BACKEND] = { NULL, NULL },
		[FAIL_BACKEND_TEMP] = { "NO [UNAVAILABLE]", NULL },
	},
	.bad_base64 = "BAD",
	.aborted = { "BAD", "Authentication aborted by client." },
	.unsupported_mech = { "NO [ALERT]", "Unsupported authentication mechanism." },
	.cleartext_disabled = { "NO [PRIVACYREQUIRED]", "Plaintext authentication disabled." },
	.logout_bye = "Logging out",
	.logout = { "OK", "Logout completed." },
	.challenge_fmt = "+ %s\r\n",
	.bye_on_max_auth = 1,
	.greet = imap_greet,
	.input = imap_input,
	.reply = imap_login_reply,
	.bye = imap_send_bye,
	.backend_start = imap_backend_start,
	.backend_input = imap_backend_input,
	.free = imap_free,
};

const struct proxyd_proto imap_proto = {
	.name = "imap",
	.log_prefix = "imap-login",
	.port = 143,
	.ssl_port = 993,
	.bye_fmt = "* BYE %s\r\n",
	.login = &imap_login,
};
