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

/* -ERR, then the connection ends; the queued reply still goes out. */
static void
pop3_bye(struct client *c, const char *text, const char *reason)
{
	pop3_send_bye(c, text);
	conn_close_after_flush(c->conn);
	c->conn = NULL;
	client_destroy(c, reason);
}

/* An unknown command: as Dovecot, the third in a row (a good command resets the count)
 * is answered, then followed by a final -ERR. Returns -1 if the client was closed. */
static int
pop3_unknown(struct client *c)
{
	conn_puts(c->conn, "-ERR Unknown command.\r\n");
	if (++c->bad_cmds >= LOGIN_MAX_BAD_CMDS) {
		pop3_bye(c, "Too many invalid bad commands.", "Too many invalid commands");
		return -1;
	}
	return 0;
}

static void
pop3_cmd_capa(struct client *c)
{
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
}

static void
pop3_auth_done(struct client *c, const char *mech, const char *authzid, const char *user, const char *pass)
{
	pop3_of(c)->state = POP3_LOGIN_BUSY;
	c->sasl_waiting = 0;
	conn_pause_read(c->conn, 1);
	client_auth(c, mech, authzid, user, pass);
}

static void
pop3_sasl_step(struct client *c, const char *response, int initial)
{
	char challenge[64];
	switch (sasl_server_step(c->sasl, response, initial, challenge, sizeof(challenge))) {
	case SASL_CONTINUE:
		pop3_of(c)->state = POP3_LOGIN_SASL;
		c->sasl_waiting = 1;
		conn_printf(c->conn, "+ %s\r\n", challenge);
		return;
	case SASL_DONE:
		pop3_auth_done(c, sasl_mech_name(c->sasl->mech), c->sasl->authzid, c->sasl->authcid,
		    sasl_mech_passthrough(c->sasl->mech) ? NULL : c->sasl->pass);
		return;
	case SASL_FAILED:
		pop3_of(c)->state = POP3_LOGIN_AUTH;
		c->sasl_waiting = 0;
		if (c->sasl->bad_base64) {
			conn_printf(c->conn, "-ERR [AUTH] %s\r\n", c->sasl->error);
		} else {
			c->auth_attempts++;
			conn_puts(c->conn, "-ERR [AUTH] Authentication failed.\r\n");
		}
		sasl_server_clear(c->sasl);
		free(c->sasl);
		c->sasl = NULL;
		return;
	}
}

static void
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
		return;
	}
	char *ir = strchr(args, ' ');
	if (ir)
		*ir++ = '\0';
	enum sasl_mech mech = sasl_mech_parse(args);
	if (mech == SASL_MECH_NONE || !client_mechanism_offered(c, mech)) {
		conn_puts(c->conn, "-ERR [AUTH] Unsupported authentication mechanism.\r\n");
		return;
	}
	if (!client_cleartext_allowed(c)) {
		conn_puts(c->conn, "-ERR [AUTH] Plaintext authentication disabled.\r\n");
		return;
	}
	if ((c->sasl = calloc(1, sizeof(*c->sasl))) == NULL) {
		pop3_bye(c, "Out of memory.", "Out of memory");
		return;
	}
	sasl_server_init(c->sasl, mech);
	pop3_sasl_step(c, ir, 1);
}

static void
pop3_cmd_user(struct client *c, const char *args)
{
	struct pop3_client *pc = pop3_of(c);
	if (!client_cleartext_allowed(c)) {
		conn_puts(c->conn, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n");
		return;
	}
	/* as Dovecot: USER always succeeds, whatever its length (the line limit holds it);
	 * PASS says whether the pair is good */
	free(pc->user);
	pc->user = strdup(args);
	conn_puts(c->conn, "+OK\r\n");
}

static void
pop3_cmd_pass(struct client *c, const char *args)
{
	struct pop3_client *pc = pop3_of(c);
	if (!client_cleartext_allowed(c)) {
		conn_puts(c->conn, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n");
		return;
	}
	if (pc->user == NULL) {
		conn_puts(c->conn, "-ERR No username given.\r\n");
		return;
	}
	if (strlen(args) > SASL_MAX_PASS) {
		conn_puts(c->conn, "-ERR [AUTH] Authentication failed.\r\n");
		return;
	}
	char *user = pc->user;
	pc->user = NULL;
	pop3_auth_done(c, "PLAIN", NULL, user, args);
	free(user);
}

/* XCLIENT from a trusted proxy in front of us carries the real client (§9.3.7). */
static void
pop3_cmd_xclient(struct client *c, char *args)
{
	if (!c->trusted) {
		conn_puts(c->conn, "+OK You are not from trusted IP - ignoring\r\n");
		return;
	}
	char *save = NULL;
	for (char *kv = strtok_r(args, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *v = strchr(kv, '=');
		if (v == NULL)
			continue;
		*v++ = '\0';
		if (client_xclient_attr(c, kv, v) < 0) {
			conn_puts(c->conn, "-ERR Invalid parameters\r\n");
			return;
		}
	}
	conn_puts(c->conn, "+OK Updated\r\n");
}

/* RFC 2595 §4: the reply in plaintext, then the handshake; pipelined input is dropped. */
static void
pop3_cmd_stls(struct client *c)
{
	if (c->tls) {
		conn_puts(c->conn, "-ERR TLS is already active.\r\n");
		return;
	}
	if (!client_starttls_allowed(c)) {
		conn_puts(c->conn, "-ERR TLS support isn't enabled.\r\n");
		return;
	}
	conn_puts(c->conn, "+OK Begin TLS negotiation now.\r\n");
	if (client_start_tls(c) < 0) {
		pop3_bye(c, "TLS initialization failed.", "TLS initialization failed");
		return;
	}
	/* a USER given before TLS does not carry over */
	free(pop3_of(c)->user);
	pop3_of(c)->user = NULL;
}

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
		pop3_bye(c, "Input buffer full, aborting", "Input buffer full");
		return -1;
	}
	char *args = strchr(line, ' ');
	if (args)
		*args++ = '\0';
	else
		args = line + strlen(line);

	/* a known command ends a run of unknown ones */
	if (!str_eq_nocase(line, "CAPA") && !str_eq_nocase(line, "USER") && !str_eq_nocase(line, "PASS") &&
	    !str_eq_nocase(line, "AUTH") && !str_eq_nocase(line, "XCLIENT") && !str_eq_nocase(line, "STLS") &&
	    !str_eq_nocase(line, "QUIT") && !str_eq_nocase(line, "APOP") && !str_eq_nocase(line, "XOIP"))
		return pop3_unknown(c);
	c->bad_cmds = 0;
	if (str_eq_nocase(line, "CAPA"))
		pop3_cmd_capa(c);
	else if (str_eq_nocase(line, "USER"))
		pop3_cmd_user(c, args);
	else if (str_eq_nocase(line, "PASS"))
		pop3_cmd_pass(c, args);
	else if (str_eq_nocase(line, "AUTH"))
		pop3_cmd_auth(c, args);
	else if (str_eq_nocase(line, "XCLIENT"))
		pop3_cmd_xclient(c, args);
	else if (str_eq_nocase(line, "STLS"))
		pop3_cmd_stls(c);
	else if (str_eq_nocase(line, "APOP"))
		conn_puts(c->conn, "-ERR APOP not enabled.\r\n");
	else if (str_eq_nocase(line, "XOIP")) {
		/* Dovecot's alias for XCLIENT ADDR= */
		char addr[128];
		str_fmt(addr, sizeof(addr), "ADDR=%s", args);
		pop3_cmd_xclient(c, addr);
	} else if (str_eq_nocase(line, "QUIT")) {
		conn_puts(c->conn, "+OK Logging out\r\n");
		conn_close_after_flush(c->conn);
		c->conn = NULL;
		client_destroy(c, "Aborted login by logging out");
		return -1;
	}
	return c->destroyed ? -1 : 0;
}

static void
pop3_input(struct client *c)
{
	struct pop3_client *pc = pop3_of(c);
	char *line;
	size_t len;

	while (!c->destroyed && c->conn && pc->state != POP3_LOGIN_BUSY) {
		int r = conn_getline(c->conn, &line, &len);
		if (r == 0)
			return;
		if (r < 0) {
			if (pc->state == POP3_LOGIN_SASL)
				client_destroy(c, "Authentication response too large");
			else
				pop3_bye(c, "Input buffer full, aborting", "Input buffer full");
			return;
		}
		if (pc->state == POP3_LOGIN_SASL) {
			if (len >= POP3_SASL_MAX) {
				/* as Dovecot: 8192 bytes with the CR, and the connection just ends */
				client_destroy(c, "Authentication response too large");
				return;
			}
			if (strcmp(line, "*") == 0) {
				pc->state = POP3_LOGIN_AUTH;
				c->sasl_waiting = 0;
				conn_puts(c->conn, "-ERR Authentication aborted by client.\r\n");
				sasl_server_clear(c->sasl);
				free(c->sasl);
				c->sasl = NULL;
				continue;
			}
			pop3_sasl_step(c, line, 0);
			continue;
		}
		if (pop3_command(c, line, len) < 0)
			return;
	}
}

static void
pop3_fail(struct client *c, enum client_fail why, const char *text)
{
	char msg[256];

	pop3_of(c)->state = POP3_LOGIN_AUTH;
	switch (why) {
	case FAIL_AUTH:
		conn_puts(c->conn, "-ERR [AUTH] Authentication failed.\r\n");
		break;
	case FAIL_AUTH_REASON:
		conn_printf(c->conn, "-ERR [AUTH] %s\r\n", text);
		break;
	case FAIL_AUTH_TEMP:
		conn_printf(c->conn, "-ERR [SYS/TEMP] %s\r\n", client_auth_temp_text(c, msg, sizeof(msg)));
		break;
	case FAIL_PROXY_TEMP:
		conn_puts(c->conn, "-ERR [SYS/TEMP] Account is temporarily unavailable.\r\n");
		break;
	case FAIL_PROXY_CONFIG:
		conn_puts(c->conn, "-ERR Account is temporarily unavailable.\r\n");
		break;
	case FAIL_BACKEND:
	case FAIL_BACKEND_TEMP:
		conn_printf(c->conn, "%s\r\n", text);
		break;
	case FAIL_NONE:
		break;
	}
	if (c->auth_attempts >= LOGIN_MAX_AUTH_ATTEMPTS)
		pop3_bye(c, "Too many failed logins.", "Too many failed logins");
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

const struct login_proto pop3_proto = {
	.name = "pop3",
	.log_prefix = "pop3-login",
	.port = 110,
	.ssl_port = 995,
	.greet = pop3_greet,
	.input = pop3_input,
	.fail = pop3_fail,
	.bye = pop3_send_bye,
	.bye_fmt = "-ERR %s\r\n",
	.backend_start = pop3_backend_start,
	.backend_input = pop3_backend_input,
	.free = pop3_free,
};
