/* SPDX-License-Identifier: MIT */
/* applets/proxyd/pop3_login.c: what a POP3 client sees before it is logged in (RFC 1939
 * USER/PASS, RFC 2449 CAPA, RFC 5034 AUTH) and the failure replies, in Dovecot's words. */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/pop3.h"
#include "applets/proxyd/settings.h"
#include "config.h"
#include "core/log.h"
#include "core/str.h"

#define POP3_NAME_MAX	8	/* Dovecot's CLIENT_MAX_CMD_LEN */
#define POP3_INBUF_MAX	1026	/* Dovecot's login input buffer */
#define POP3_SASL_MAX	8192	/* Dovecot's LOGIN_MAX_AUTH_BUF_SIZE, CR included */

static void
pop3_greet(struct client *c)
{
	struct pop3_client *pc = calloc(1, sizeof(*pc));
	if (pc == NULL) {
		client_destroy(c, "Out of memory");
		return;
	}
	/* room for "AUTH <mech> " before an 8192-byte initial response; the buffer grows only
	 * while such a line is in flight */
	conn_set_line_max(c->conn, POP3_SASL_MAX + 64);
	c->proto_state = pc;
	/* [XCLIENT] tells a trusted proxy in front of us that it may send XCLIENT */
	conn_printf(c->conn, "+OK %s%s\r\n", c->trusted ? "[XCLIENT] " : "", c->pd->set->login_greeting);
}

static void
pop3_send_bye(struct client *c, const char *text)
{
	conn_printf(c->conn, "-ERR %s\r\n", text);
}

static int
pop3_login_reply(struct client *c, const char *code, const char *text)
{
	if (code)
		conn_printf(c->conn, "%s %s\r\n", code, text);
	else
		conn_printf(c->conn, "%s\r\n", text);
	return 0;
}

/* An unknown command: as Dovecot, the third in a row (a good command resets the count)
 * is answered, then followed by a final -ERR. Returns -1 if the client was closed. */
static int
pop3_unknown(struct client *c)
{
	conn_puts(c->conn, "-ERR Unknown command.\r\n");
	if (++c->bad_cmds >= LOGIN_MAX_BAD_CMDS) {
		login_bye(c, "Too many invalid bad commands.", "Too many invalid commands");
		return -1;
	}
	return 0;
}

static int
pop3_cmd_capa(struct client *c, char *args)
{
	(void)args;
	struct strbuf sb;
	strbuf_init(&sb, 1024);
	strbuf_puts(&sb, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n");
	if (client_starttls_allowed(c))
		strbuf_puts(&sb, "STLS\r\n");
	if (client_cleartext_allowed(c))
		strbuf_printf(&sb, "USER\r\nSASL %s\r\n", client_mechanisms(c));
	else
		strbuf_puts(&sb, "SASL\r\n");
	strbuf_puts(&sb, ".\r\n");
	conn_write(c->conn, sb.s, sb.len);
	strbuf_free(&sb);
	return 0;
}

static int
pop3_cmd_auth(struct client *c, char *args)
{
	if (*args == '\0') {
		struct strbuf sb;
		strbuf_init(&sb, 1024);
		strbuf_puts(&sb, "+OK\r\n");
		/* only plaintext mechanisms exist here: none is offered on an insecure link */
		for (const char *m = client_cleartext_allowed(c) ? client_mechanisms(c) : ""; *m;) {
			size_t n = strcspn(m, " ");
			strbuf_append(&sb, m, n);
			strbuf_puts(&sb, "\r\n");
			m += n;
			m += *m == ' ';
		}
		strbuf_puts(&sb, ".\r\n");
		conn_write(c->conn, sb.s, sb.len);
		strbuf_free(&sb);
		return 0;
	}
	char *ir = strchr(args, ' ');
	if (ir)
		*ir++ = '\0';
	return login_authenticate(c, args, ir);
}

static int
pop3_cmd_user(struct client *c, char *args)
{
	struct pop3_client *pc = pop3_of(c);
	if (!client_cleartext_allowed(c)) {
		conn_puts(c->conn, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n");
		return 0;
	}
	/* as Dovecot: USER always succeeds, whatever its length (the line limit holds it);
	 * PASS says whether the pair is good */
	free(pc->user);
	pc->user = strdup(args);
	conn_puts(c->conn, "+OK\r\n");
	return 0;
}

static int
pop3_cmd_pass(struct client *c, char *args)
{
	struct pop3_client *pc = pop3_of(c);
	if (!client_cleartext_allowed(c)) {
		conn_puts(c->conn, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n");
		return 0;
	}
	if (pc->user == NULL) {
		conn_puts(c->conn, "-ERR No username given.\r\n");
		return 0;
	}
	if (strlen(args) > SASL_MAX_PASS) {
		conn_puts(c->conn, "-ERR [AUTH] Authentication failed.\r\n");
		return 0;
	}
	char *user = pc->user;
	pc->user = NULL;
	login_auth(c, "PLAIN", NULL, user, args);
	free(user);
	return 0;
}

/* XCLIENT from a trusted proxy in front of us carries the real client (§9.3.7). */
static int
pop3_cmd_xclient(struct client *c, char *args)
{
	if (!c->trusted) {
		conn_puts(c->conn, "+OK You are not from trusted IP - ignoring\r\n");
		return 0;
	}
	char *save = NULL;
	for (char *kv = strtok_r(args, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *v = strchr(kv, '=');
		if (v == NULL)
			continue;
		*v++ = '\0';
		if (client_xclient_attr(c, kv, v) < 0) {
			conn_puts(c->conn, "-ERR Invalid parameters\r\n");
			return 0;
		}
	}
	conn_puts(c->conn, "+OK Updated\r\n");
	return 0;
}

/* RFC 2595 §4: the reply in plaintext, then the handshake; pipelined input is dropped. */
static int
pop3_cmd_stls(struct client *c, char *args)
{
	(void)args;
	if (c->tls) {
		conn_puts(c->conn, "-ERR TLS is already active.\r\n");
		return 0;
	}
	if (!client_starttls_allowed(c)) {
		conn_puts(c->conn, "-ERR TLS support isn't enabled.\r\n");
		return 0;
	}
	conn_puts(c->conn, "+OK Begin TLS negotiation now.\r\n");
	if (client_start_tls(c) < 0) {
		login_bye(c, "TLS initialization failed.", "TLS initialization failed");
		return -1;
	}
	/* a USER given before TLS does not carry over */
	free(pop3_of(c)->user);
	pop3_of(c)->user = NULL;
	return 0;
}

static int
pop3_cmd_apop(struct client *c, char *args)
{
	(void)args;
	conn_puts(c->conn, "-ERR APOP not enabled.\r\n");
	return 0;
}

/* Dovecot's alias for XCLIENT ADDR= */
static int
pop3_cmd_xoip(struct client *c, char *args)
{
	char addr[128];
	str_fmt(addr, sizeof(addr), "ADDR=%s", args);
	return pop3_cmd_xclient(c, addr);
}

static int
pop3_cmd_quit(struct client *c, char *args)
{
	(void)args;
	return login_logout(c);
}

static const struct login_cmd pop3_cmds[] = {
	{ "CAPA", LOGIN_IN(CMD), pop3_cmd_capa, 0 },
	{ "USER", LOGIN_IN(CMD), pop3_cmd_user, 0 },
	{ "PASS", LOGIN_IN(CMD), pop3_cmd_pass, 0 },
	{ "AUTH", LOGIN_IN(CMD), pop3_cmd_auth, 0 },
	{ "XCLIENT", LOGIN_IN(CMD), pop3_cmd_xclient, 0 },
	{ "STLS", LOGIN_IN(CMD), pop3_cmd_stls, 0 },
	{ "QUIT", LOGIN_IN(CMD), pop3_cmd_quit, 0 },
	{ "APOP", LOGIN_IN(CMD), pop3_cmd_apop, 0 },
	{ "XOIP", LOGIN_IN(CMD), pop3_cmd_xoip, 0 },
	{ NULL, 0, NULL, 0 },
};

/* Returns -1 if the client is gone. */
static int
pop3_command(struct client *c, char *line, size_t len)
{
	/* Dovecot's limits (measured, docs/dovecot-login-behaviour.md §7): the command name
	 * (at most 8 bytes) is read first, then the rest of the line must fit the 1026-byte
	 * input buffer with its CRLF; AUTH's initial response may fill 8192 bytes with its CR */
	size_t name_len = strcspn(line, " ");
	size_t rest = name_len <= POP3_NAME_MAX ? len - name_len - (name_len < len) :
	    len - POP3_NAME_MAX;
	if (name_len == 4 && str_has_prefix_nocase(line, "AUTH")) {
		size_t mech = strcspn(line + 5, " ");
		if (rest > mech && rest - mech - 1 >= POP3_SASL_MAX) {
			client_destroy(c, "Authentication response too large");
			return -1;
		}
	} else if (rest + 2 > POP3_INBUF_MAX) {
		login_bye(c, "Input buffer full, aborting", "Input buffer full");
		return -1;
	}
	char *args = strchr(line, ' ');
	if (args)
		*args++ = '\0';
	else
		args = line + strlen(line);

	const struct login_cmd *cmd = login_cmd_find(c, pop3_cmds, line, strlen(line));
	if (cmd == NULL)
		return pop3_unknown(c);
	/* a known command ends a run of unknown ones */
	c->bad_cmds = 0;
	if (cmd->fn(c, args) < 0)
		return -1;
	return c->destroyed ? -1 : 0;
}

static void
pop3_input(struct client *c)
{
	char *line;
	size_t len;

	while (!c->destroyed && c->conn && c->login_state != LOGIN_BUSY) {
		int r = conn_getline(c->conn, &line, &len);
		if (r == 0)
			return;
		if (r < 0) {
			if (c->login_state == LOGIN_SASL)
				client_destroy(c, "Authentication response too large");
			else
				login_bye(c, "Input buffer full, aborting", "Input buffer full");
			return;
		}
		if (c->login_state == LOGIN_SASL) {
			if (len >= POP3_SASL_MAX) {
				/* as Dovecot: 8192 bytes with the CR, and the connection just ends */
				client_destroy(c, "Authentication response too large");
				return;
			}
			login_sasl_response(c, line);
			continue;
		}
		if (pop3_command(c, line, len) < 0)
			return;
	}
}

static void
pop3_free(struct client *c)
{
	struct pop3_client *pc = pop3_of(c);
	if (pc == NULL)
		return;
	free(pc->user);
	free(pc);
	c->proto_state = NULL;
}

static const struct login_proto pop3_login = {
	.fail = {
		[FAIL_AUTH] = { "-ERR [AUTH]", "Authentication failed." },
		[FAIL_AUTH_REASON] = { "-ERR [AUTH]", NULL },
		[FAIL_AUTH_TEMP] = { "-ERR [SYS/TEMP]", NULL },
		[FAIL_PROXY_TEMP] = { "-ERR [SYS/TEMP]", "Account is temporarily unavailable." },
		[FAIL_PROXY_CONFIG] = { "-ERR", "Account is temporarily unavailable." },
		[FAIL_BACKEND] = { NULL, NULL },
		[FAIL_BACKEND_TEMP] = { NULL, NULL },
	},
	.bad_base64 = "-ERR [AUTH]",
	.aborted = { "-ERR", "Authentication aborted by client." },
	.unsupported_mech = { "-ERR [AUTH]", "Unsupported authentication mechanism." },
	.cleartext_disabled = { "-ERR [AUTH]", "Plaintext authentication disabled." },
	.logout = { "+OK", "Logging out" },
	.challenge_fmt = "+ %s\r\n",
	.bye_on_max_auth = 1,
	.greet = pop3_greet,
	.input = pop3_input,
	.reply = pop3_login_reply,
	.bye = pop3_send_bye,
	.backend_start = pop3_backend_start,
	.backend_input = pop3_backend_input,
	.free = pop3_free,
};

const struct proxyd_proto pop3_proto = {
	.name = "pop3",
	.log_prefix = "pop3-login",
	.port = 110,
	.ssl_port = 995,
	.bye_fmt = "-ERR %s\r\n",
	.login = &pop3_login,
};
