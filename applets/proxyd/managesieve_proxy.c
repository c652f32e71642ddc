/* SPDX-License-Identifier: MIT */
/* applets/proxyd/managesieve_proxy.c: the proxy's own ManageSieve login to the backend
 * (protocols.md §9.6): the capability greeting, XCLIENT with the client's facts when the
 * backend offers it, AUTHENTICATE with the forwarded password or a master user, and the
 * mapping of the backend's answer. Backend lines are short and quoted (Pigeonhole never
 * sends literals here), so they are read as lines. */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/managesieve.h"
#include "core/log.h"
#include "core/str.h"

void
managesieve_backend_start(struct client *c)
{
	struct sieve_client *sc = sieve_of(c);
	/* a reconnect starts the dialogue over */
	sc->be_state = SIEVE_BE_CAPABILITY;
	sc->be_sasl = sc->be_xclient = 0;
	sc->login_mech_step = 0;
	conn_set_line_max(c->backend, 65536);
}

/* Reads a quoted string at *p into out (unescaped); advances *p past it and the spaces
 * after it. Returns 0, or -1 if *p is not a complete quoted string. */
static int
unquote(const char **p, char *out, size_t outlen)
{
	const char *s = *p;
	size_t n = 0;
	if (*s++ != '"')
		return -1;
	for (; *s && *s != '"'; s++) {
		if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
			s++;
		if (n + 1 < outlen)
			out[n++] = *s;
	}
	if (*s != '"')
		return -1;
	out[n] = '\0';
	s++;
	*p = s + strspn(s, " ");
	return 0;
}

static int
status_is(const char *line, const char *status)
{
	size_t n = strlen(status);
	return strncasecmp(line, status, n) == 0 && (line[n] == '\0' || line[n] == ' ');
}

static void
send_quoted_line(struct client *c, const char *prefix, const char *value)
{
	struct strbuf sb;
	strbuf_init(&sb, 8192);
	strbuf_puts(&sb, prefix);
	if (value)
		sieve_quote(&sb, value);
	strbuf_puts(&sb, "\r\n");
	if (!sb.error)
		conn_write(c->backend, sb.s, sb.len);
	strbuf_free(&sb);
}

static void
send_auth(struct client *c)
{
	struct sieve_client *sc = sieve_of(c);
	char ir[2048], prefix[64];

	if (!sc->be_sasl) {
		/* credentials never go to a server that does not want them (no TLS yet?) */
		client_proxy_failed(c, FAIL_PROXY_CONFIG, NULL, "Server has disabled authentication (TLS required?)");
		return;
	}
	const char *mech = backend_sasl_start(c, ir, sizeof(ir));
	if (mech == NULL)
		return;
	sc->be_state = SIEVE_BE_AUTH;
	c->backend_state = "auth";
	str_fmt(prefix, sizeof(prefix), "AUTHENTICATE \"%s\"%s", mech, ir[0] ? " " : "");
	send_quoted_line(c, prefix, ir[0] ? ir : NULL);
}

static void
send_xclient(struct client *c)
{
	struct strbuf sb;
	strbuf_init(&sb, 8192);
	client_xclient_compose(c, &sb);
	if (!sb.error)
		conn_write(c->backend, sb.s, sb.len);
	strbuf_free(&sb);
}

/* One line of the greeting. Returns -1 after a failure. */
static int
capability_line(struct client *c, const char *line)
{
	struct sieve_client *sc = sieve_of(c);
	char name[64], value[4096], why[300];
	const char *p = line;

	if (status_is(line, "OK") && c->dest.starttls && !conn_tls_active(c->backend)) {
		/* as Pigeonhole: STARTTLS after the greeting; the capabilities come again */
		if (!sc->be_starttls) {
			client_proxy_failed(c, FAIL_PROXY_CONFIG, NULL, "STARTTLS not supported by the backend");
			return -1;
		}
		backend_send(c, "STARTTLS");
		sc->be_state = SIEVE_BE_STARTTLS;
		c->backend_state = "starttls";
		return 0;
	}
	if (status_is(line, "OK")) {
		c->backend_state = "xclient";
		/* Pigeonhole sends XCLIENT whatever proxy_not_trusted says; proxyd honours it,
		 * as for the other protocols */
		if (sc->be_xclient && !c->dest.not_trusted) {
			send_xclient(c);
			sc->be_state = SIEVE_BE_XCLIENT;
			return 0;
		}
		send_auth(c);
		return 0;
	}
	if (status_is(line, "NO") || status_is(line, "BYE")) {
		backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, "Remote sent unexpected NO/BYE instead of capability response");
		return -1;
	}
	if (unquote(&p, name, sizeof(name)) < 0) {
		str_fmt(why, sizeof(why), "Remote returned with invalid capability/greeting line: %.160s", line);
		backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, why);
		return -1;
	}
	if (strcasecmp(name, "SASL") == 0) {
		if (unquote(&p, value, sizeof(value)) < 0) {
			backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, "Server returned erroneous SASL capability");
			return -1;
		}
		sc->be_sasl = value[0] != '\0';
	} else if (strcasecmp(name, "XCLIENT") == 0) {
		sc->be_xclient = 1;
	} else if (strcasecmp(name, "STARTTLS") == 0) {
		sc->be_starttls = 1;
	}
	return 0;
}

static void
auth_challenge(struct client *c, const char *line)
{
	char b64[2048], challenge[2048];
	const char *p = line;
	if (unquote(&p, challenge, sizeof(challenge)) < 0) {
		char why[300];
		str_fmt(why, sizeof(why), "Server sent invalid SASL challenge line: %.160s", line);
		backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, why);
		return;
	}
	if (backend_sasl_answer(c, &sieve_of(c)->login_mech_step, b64, sizeof(b64)) < 0) {
		backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, "Server sent unexpected SASL challenge");
		return;
	}
	send_quoted_line(c, "", b64);
}

/* The backend's final answer to AUTHENTICATE. */
static void
auth_result(struct client *c, const char *line)
{
	char why[512], reason[300];
	if (status_is(line, "OK")) {
		conn_printf(c->conn, "%s\r\n", line);
		client_proxy_established(c);
		return;
	}
	/* the reason for the log: the quoted text after NO and its response code */
	const char *p = line;
	int trylater = 0;
	str_copy(reason, line, sizeof(reason));
	if (status_is(line, "NO")) {
		p = line + 2 + (line[2] == ' ');
		if (strncasecmp(p, "(TRYLATER) ", 11) == 0) {
			trylater = 1;
			p += 11;
		} else if (*p == '(' && strstr(p, ") ") != NULL) {
			p = strstr(p, ") ") + 2;
		}
		if (unquote(&p, reason, sizeof(reason)) < 0)
			str_copy(reason, line, sizeof(reason));
	}
	str_fmt(why, sizeof(why), "Login failed%s%s%s: %.300s", c->dest.master ? " (master " : "",
	    c->dest.master ? c->dest.master : "", c->dest.master ? ")" : "", reason);
	if (trylater) {
		backend_retry_or_fail(c, FAIL_BACKEND_TEMP, line, why);
		return;
	}
	/* as Pigeonhole: our own words, so that the reply does not tell whether the user
	 * exists */
	client_proxy_failed(c, FAIL_BACKEND, "NO \"Authentication failed.\"", why);
}

void
managesieve_backend_input(struct client *c)
{
	struct sieve_client *sc = sieve_of(c);
	char *line, why[300];
	size_t len;
	int r;

	while (c->backend != NULL && c->proxying && (r = conn_getline(c->backend, &line, &len)) != 0) {
		if (r < 0) {
			backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, "Remote server sent invalid input: Too long line");
			return;
		}
		switch (sc->be_state) {
		case SIEVE_BE_CAPABILITY:
			if (capability_line(c, line) < 0)
				return;
			break;
		case SIEVE_BE_STARTTLS:
			if (!status_is(line, "OK")) {
				str_fmt(why, sizeof(why), "STARTTLS failed: %.160s", line);
				client_proxy_failed(c, FAIL_PROXY_TEMP, NULL, why);
				return;
			}
			/* what the backend sent behind its OK is dropped with the plaintext */
			if (backend_start_tls(c) < 0)
				return;
			sc->be_sasl = sc->be_xclient = sc->be_starttls = 0;
			sc->be_state = SIEVE_BE_CAPABILITY;
			return;
		case SIEVE_BE_XCLIENT:
			if (!status_is(line, "OK")) {
				str_fmt(why, sizeof(why), "Remote XCLIENT failed: %.160s", line);
				backend_retry_or_fail(c, FAIL_PROXY_TEMP, NULL, why);
				return;
			}
			send_auth(c);
			break;
		case SIEVE_BE_AUTH:
			if (line[0] == '"') {
				auth_challenge(c, line);
				break;
			}
			auth_result(c, line);
			return;
		}
	}
}
