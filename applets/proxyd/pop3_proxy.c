/* SPDX-License-Identifier: MIT */
/* applets/proxyd/pop3_proxy.c: the proxy's own POP3 login to the backend (protocols.md
 * §9.3): banner, XCLIENT with the client's address when the backend trusts us, then
 * USER/PASS or AUTH, pipelined, and the mapping of the backend's answer. */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/pop3.h"
#include "core/log.h"
#include "core/passdb.h"
#include "core/str.h"

static void
send_login(struct client *c)
{
	struct pop3_client *pc = pop3_of(c);
	const struct proxy_dest *d = &c->dest;
	char b64[2048];

	if (d->master == NULL && d->mech == NULL) {
		backend_send(c, "USER %s", d->destuser);
		pc->be_state = pc->be_state == POP3_BE_XCLIENT ? POP3_BE_XCLIENT : POP3_BE_USER;
		return;
	}
	const char *mech = d->master ? "PLAIN" : d->mech;
	if (str_eq_nocase(mech, "PLAIN")) {
		if (sasl_plain_encode(d->master ? d->destuser : "", d->master ? d->master : d->destuser,
		    d->pass ? d->pass : "", b64, sizeof(b64)) == 0) {
			client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, "credentials too long");
			return;
		}
		backend_send(c, "AUTH PLAIN %s", b64);
	} else if (str_eq_nocase(mech, "LOGIN")) {
		backend_send(c, "AUTH LOGIN");
	} else if (d->sasl_forward && sasl_mech_passthrough(sasl_mech_parse(mech))) {
		backend_send(c, "AUTH %s %s", mech, d->sasl_forward);
	} else {
		client_proxy_failed(c, FAIL_PROXY_CONFIG, NULL, "proxy_mech is neither PLAIN nor LOGIN; other mechanisms cannot be answered by the proxy");
		return;
	}
	if (pc->be_state != POP3_BE_XCLIENT)
		pc->be_state = POP3_BE_AUTH;
}

static void
send_xclient(struct client *c)
{
	struct strbuf sb;
	strbuf_init(&sb, 4096);
	client_xclient_compose(c, &sb);
	if (!sb.error)
		conn_write(c->backend, sb.s, sb.len);
	strbuf_free(&sb);
}

static void send_xclient_login(struct client *);

static void
banner(struct client *c, const char *line)
{
	struct pop3_client *pc = pop3_of(c);
	if (strncmp(line, "+OK", 3) != 0) {
		char why[300];
		str_fmt(why, sizeof(why), "Remote server sent invalid input: Invalid banner: %.200s", line);
		backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, why);
		return;
	}
	pc->be_xclient = strncmp(line, "+OK [XCLIENT]", 13) == 0;
	if (c->dest.starttls && !conn_tls_active(c->backend)) {
		/* as Dovecot: STLS first, XCLIENT and the login over TLS */
		backend_send(c, "STLS");
		pc->be_state = POP3_BE_STLS;
		c->backend_state = "starttls";
		return;
	}
	send_xclient_login(c);
}

static void
stls_reply(struct client *c, const char *line)
{
	if (strncmp(line, "+OK", 3) != 0) {
		char why[300];
		str_fmt(why, sizeof(why), "STLS failed: %.200s", line);
		client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, why);
		return;
	}
	if (backend_start_tls(c) == 0)
		send_xclient_login(c);
}

static void
send_xclient_login(struct client *c)
{
	struct pop3_client *pc = pop3_of(c);
	c->backend_state = "login1";
	pc->be_state = POP3_BE_USER;
	if (pc->be_xclient && !c->dest.not_trusted) {
		send_xclient(c);
		pc->be_state = POP3_BE_XCLIENT;
	}
	/* the login command goes right behind XCLIENT, without waiting for its reply */
	send_login(c);
}

static void
login_ok(struct client *c, const char *line)
{
	conn_printf(c->conn, "%s\r\n", line);
	client_proxy_established(c);
}

/* As Dovecot's proxy: -ERR texts reach the client as they are; [SYS/TEMP] may be cured
 * by another try; anything that is not -ERR is "Authentication failed." */
static void
login_failed(struct client *c, const char *line)
{
	char why[512];
	const char *text = strncmp(line, "-ERR ", 5) == 0 ? line + 5 : line;
	str_fmt(why, sizeof(why), "Login failed%s%s%s: %.300s", c->dest.master ? " (master " : "",
	    c->dest.master ? c->dest.master : "", c->dest.master ? ")" : "", text);
	if (strncmp(line, "-ERR", 4) != 0)
		client_proxy_failed(c, FAIL_AUTH, NULL, why);
	else if (strncmp(line, "-ERR [SYS/TEMP]", 15) == 0)
		backend_retry_or_fail(c, FAIL_BACKEND_TEMP, line, why);
	else
		client_proxy_failed(c, FAIL_BACKEND, line, why);
}

static void
auth_continue(struct client *c)
{
	char b64[2048];
	if (backend_sasl_answer(c, &pop3_of(c)->login_mech_step, b64, sizeof(b64)) < 0) {
		client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, "Unexpected SASL continuation from the backend");
		return;
	}
	backend_send(c, "%s", b64);
}

void
pop3_backend_start(struct client *c)
{
	pop3_of(c)->be_state = POP3_BE_BANNER;
	pop3_of(c)->login_mech_step = 0;
}

void
pop3_backend_input(struct client *c)
{
	struct pop3_client *pc = pop3_of(c);
	char *line;
	size_t len;
	int r;

	while (c->backend != NULL && c->proxying && (r = conn_getline(c->backend, &line, &len)) != 0) {
		if (r < 0) {
			client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, "Too long line from the backend");
			return;
		}
		switch (pc->be_state) {
		case POP3_BE_BANNER:
			banner(c, line);
			break;
		case POP3_BE_STLS:
			/* what the backend sent behind its +OK is dropped with the plaintext input */
			stls_reply(c, line);
			return;
		case POP3_BE_XCLIENT:
			if (strncmp(line, "+OK", 3) != 0) {
				char why[300];
				str_fmt(why, sizeof(why), "XCLIENT failed: %.200s", line);
				client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, why);
				return;
			}
			pc->be_state = c->dest.master || c->dest.mech ? POP3_BE_AUTH : POP3_BE_USER;
			break;
		case POP3_BE_USER:
			if (strncmp(line, "+OK", 3) != 0) {
				login_failed(c, line);
				return;
			}
			backend_send(c, "PASS %s", c->dest.pass);
			pc->be_state = POP3_BE_PASS;
			c->backend_state = "login2";
			break;
		case POP3_BE_PASS:
		case POP3_BE_AUTH:
			if (line[0] == '+' && line[1] == ' ') {
				auth_continue(c);
				break;
			}
			if (strncmp(line, "+OK", 3) == 0)
				login_ok(c, line);
			else
				login_failed(c, line);
			return;
		}
	}
}
