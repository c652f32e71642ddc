/* SPDX-License-Identifier: MIT */
/* applets/proxyd/login.c: the part of the login dialogue that is the same in every login
 * protocol: the SASL exchange with its abort, LOGOUT/QUIT, the last words before a
 * disconnect and the failure replies. The protocol gives the words (struct login_proto). */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/login.h"
#include "config.h"
#include "core/str.h"

void
login_close(struct client *c, const char *log_reason)
{
	c->login_state = LOGIN_CLOSING;
	conn_close_after_flush(c->conn);
	c->conn = NULL;
	client_destroy(c, log_reason);
}

void
login_bye(struct client *c, const char *text, const char *log_reason)
{
	c->proto->login->bye(c, text);
	login_close(c, log_reason);
}

int
login_logout(struct client *c)
{
	const struct login_proto *lp = c->proto->login;
	if (lp->logout_bye)
		lp->bye(c, lp->logout_bye);
	lp->reply(c, lp->logout.code, lp->logout.text);
	if (!c->destroyed)
		login_close(c, "Aborted login by logging out");
	return -1;
}

void
login_sasl_end(struct client *c)
{
	c->login_state = LOGIN_CMD;
	c->sasl_waiting = 0;
	if (c->sasl) {
		sasl_server_clear(c->sasl);
		free(c->sasl);
		c->sasl = NULL;
	}
}

void
login_auth(struct client *c, const char *mech, const char *authzid, const char *user, const char *pass)
{
	c->login_state = LOGIN_BUSY;
	c->sasl_waiting = 0;
	conn_pause_read(c->conn, 1);
	client_auth(c, mech, authzid, user, pass);
}

static int
login_reply(struct client *c, const struct login_text *t)
{
	return c->proto->login->reply(c, t->code, t->text);
}

static int
login_sasl_step(struct client *c, const char *response, int initial)
{
	const struct login_proto *lp = c->proto->login;
	struct sasl_server *s = c->sasl;
	char challenge[64];
	int r;

	switch (sasl_server_step(s, response, initial, challenge, sizeof(challenge))) {
	case SASL_CONTINUE:
		c->login_state = LOGIN_SASL;
		c->sasl_waiting = 1;
		conn_printf(c->conn, lp->challenge_fmt, challenge);
		return 0;
	case SASL_DONE:
		login_auth(c, sasl_mech_name(s->mech), s->authzid, s->authcid,
		    sasl_mech_passthrough(s->mech) ? NULL : s->pass);
		return c->destroyed ? -1 : 0;
	case SASL_FAILED:
		if (s->bad_base64) {
			r = lp->reply(c, lp->bad_base64, s->error);
		} else {
			/* undecodable credentials count as a failed login, answered as one */
			c->auth_attempts++;
			r = login_reply(c, &lp->fail[FAIL_AUTH]);
		}
		login_sasl_end(c);
		return r;
	}
	return 0;
}

int
login_authenticate(struct client *c, const char *mech_name, const char *ir)
{
	const struct login_proto *lp = c->proto->login;
	enum sasl_mech mech = sasl_mech_parse(mech_name);
	if (mech == SASL_MECH_NONE || !client_mechanism_offered(c, mech))
		return login_reply(c, &lp->unsupported_mech);
	if (!client_cleartext_allowed(c))
		return login_reply(c, &lp->cleartext_disabled);
	if ((c->sasl = calloc(1, sizeof(*c->sasl))) == NULL) {
		login_bye(c, "Out of memory.", "Out of memory");
		return -1;
	}
	sasl_server_init(c->sasl, mech);
	return login_sasl_step(c, ir, 1);
}

int
login_sasl_response(struct client *c, const char *line)
{
	if (strcmp(line, "*") == 0) {
		int r = login_reply(c, &c->proto->login->aborted);
		login_sasl_end(c);
		return r;
	}
	return login_sasl_step(c, line, 0);
}

void
login_fail(struct client *c, enum client_fail why, const char *text)
{
	const struct login_proto *lp = c->proto->login;
	char msg[256];

	if (why != FAIL_NONE) {
		const struct login_text *t = &lp->fail[why];
		if (why == FAIL_AUTH_TEMP)
			text = client_auth_temp_text(c, msg, sizeof(msg));
		lp->reply(c, t->code, t->text ? t->text : text);
	}
	c->login_state = LOGIN_CMD;
	if (lp->bye_on_max_auth && !c->destroyed && c->auth_attempts >= LOGIN_MAX_AUTH_ATTEMPTS)
		login_bye(c, "Too many failed logins.", "Too many failed logins");
}

const struct login_cmd *
login_cmd_find(const struct client *c, const struct login_cmd *cmds, const char *name, size_t len)
{
	for (; cmds->name; cmds++)
		if (strlen(cmds->name) == len && str_has_prefix_nocase(name, cmds->name))
			return (cmds->states & LOGIN_IN_STATE(c->login_state)) ? cmds : NULL;
	return NULL;
}
