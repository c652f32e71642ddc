/* SPDX-License-Identifier: MIT */
/* applets/replicatord/dvclient.c: one command on a backend's doveadm server, as
 * Dovecot's replicator and doveadm speak to it (replicator.md §4.1): VERSION with minor 0
 * (no multiplexing), "+" for a preauthenticated UNIX socket or "-" and then PLAIN with
 * doveadm_password, the command line, and the reply lines handed to the caller. One
 * command per connection: the server process drops to the user's uid after it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "applets/replicatord/dvclient.h"
#include "core/base64.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/str.h"

#define DV_HANDSHAKE	"VERSION\tdoveadm-server\t1\t0\n"

int
dvclient_backend_parse(struct repl_backend *b, const char *spec)
{
	memset(b, 0, sizeof(*b));
	if (spec[0] == '/') {
		struct sockaddr_un *sun = (struct sockaddr_un *)&b->ss;
		sun->sun_family = AF_UNIX;
		if (str_copy(sun->sun_path, spec, sizeof(sun->sun_path)) >= sizeof(sun->sun_path))
			return -1;
		b->sslen = sizeof(*sun);
	} else {
		char buf[128];
		const char *host;
		unsigned int port;
		if (str_copy(buf, spec, sizeof(buf)) >= sizeof(buf) ||
		    ip_hostport_parse(buf, &host, &port, 0) < 0 || port == 0 ||
		    ip_parse(host, &b->ip) < 0 || ip_to_sockaddr(&b->ip, port, &b->ss, &b->sslen) < 0)
			return -1;
	}
	if ((b->spec = strdup(spec)) == NULL)
		return -1;
	return 0;
}

void
dvclient_backend_free(struct repl_backend *b)
{
	free(b->spec);
	free(b->dest);
	b->spec = b->dest = NULL;
}

static void
dv_finish(struct dvreq *q, const char *reason)
{
	if (q->c != NULL) {
		conn_free(q->c);
		q->c = NULL;
	}
	q->done(q, reason);
}

static void
dv_send_cmd(struct dvreq *q)
{
	q->step = DV_REPLY;
	conn_write(q->c, q->cmd.s, q->cmd.len);
	conn_set_timeout(q->c, q->reply_timeout_ms);
	if (q->on_step)
		q->on_step(q);
}

/* Returns 1 if the request ended (q may be freed), else 0. */
static int
dv_line(struct dvreq *q, char *line)
{
	switch (q->step) {
	case DV_CONNECTING:
	case DV_HANDSHAKE_WAIT:
		if (strcmp(line, "+") == 0) {
			dv_send_cmd(q);
		} else if (strcmp(line, "-") == 0) {
			if (q->password == NULL || *q->password == '\0') {
				dv_finish(q, "the doveadm server wants a password: set doveadm_password");
				return 1;
			}
			/* SASL PLAIN, authcid "doveadm" as Dovecot's doveadm clients send it */
			char raw[512], b64[700];
			size_t plen = strlen(q->password);
			if (plen > sizeof(raw) - 10) {
				dv_finish(q, "doveadm_password is too long");
				return 1;
			}
			memcpy(raw, "\0doveadm\0", 9);
			memcpy(raw + 9, q->password, plen);
			base64_encode(raw, 9 + plen, b64, sizeof(b64));
			conn_printf(q->c, "PLAIN\t%s\n", b64);
			q->step = DV_AUTH_WAIT;
			if (q->on_step)
				q->on_step(q);
		} else {
			dv_finish(q, "the doveadm server sent an unexpected handshake");
			return 1;
		}
		return 0;
	case DV_AUTH_WAIT:
		if (strcmp(line, "+") != 0) {
			dv_finish(q, "the doveadm server refused doveadm_password");
			return 1;
		}
		dv_send_cmd(q);
		return 0;
	case DV_REPLY:
		return q->line(q, line);
	}
	return 0;
}

static void
dv_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct dvreq *q = arg;
	char *line, why[160];
	size_t len;
	int r;

	switch (ev) {
	case CONN_EV_CONNECTED:
		q->step = DV_HANDSHAKE_WAIT;
		if (q->on_step)
			q->on_step(q);
		conn_write(c, DV_HANDSHAKE, sizeof(DV_HANDSHAKE) - 1);
		return;
	case CONN_EV_DATA:
		while ((r = conn_getline(c, &line, &len)) != 0) {
			if (r < 0) {
				dv_finish(q, "the doveadm server sent a line that is too long");
				return;
			}
			if (dv_line(q, line))
				return;
		}
		return;
	case CONN_EV_EOF:
		dv_finish(q, q->step == DV_REPLY ?
		    "the doveadm server closed the connection before the result (did it die?)" :
		    "the doveadm server closed the connection during the handshake");
		return;
	case CONN_EV_TIMEOUT:
		if (q->step == DV_CONNECTING)
			q->connect_failed = 1;
		dv_finish(q, q->step == DV_CONNECTING ? "timed out connecting to the doveadm server" :
		    q->step == DV_REPLY ? "timed out waiting for the doveadm server's result" :
		    "timed out waiting for the doveadm server's handshake");
		return;
	case CONN_EV_ERROR:
		str_fmt(why, sizeof(why), "%s %s: %s", q->step == DV_CONNECTING ? "connect to" :
		    "connection to", q->b->spec, conn_error_str(c));
		if (q->step == DV_CONNECTING)
			q->connect_failed = 1;
		dv_finish(q, why);
		return;
	case CONN_EV_DRAINED:
		return;
	}
}

int
dvclient_req_start(struct repl *r, struct dvreq *q)
{
	q->step = DV_CONNECTING;
	q->c = conn_connect(r->loop, (struct sockaddr *)&q->b->ss, q->b->sslen, NULL, 0,
	    q->line_max, dv_cb, q);
	if (q->c == NULL)
		return -1;
	conn_set_timeout(q->c, q->handshake_timeout_ms);
	return 0;
}

void
dvclient_req_cancel(struct dvreq *q)
{
	if (q->c != NULL) {
		conn_free(q->c);
		q->c = NULL;
	}
}
