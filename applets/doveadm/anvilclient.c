/* SPDX-License-Identifier: MIT */
/* applets/doveadm/anvilclient.c: the anvil client of `who` and `kick`. Version 1 is Dovecot
 * 2.3's (the client speaks first: "VERSION\tanvil\t1\t0", CONNECT-DUMP lines
 * "ident\tpid\trefcount"); version 2 is Dovecot 2.4's and mtool proxyd's (the server
 * greets "VERSION\tanvil-server\t2\t0"; CONNECT-DUMP starts with a header line of
 * passdb field names; KICK-USER and KICK-ALT-USER reply with a count). Which one is
 * decided by whether the server greets; see docs/anvil-protocol.md. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/doveadm/anvilclient.h"
#include "applets/doveadm/who.h"
#include "core/str.h"

#define ANVIL_V1_CMD		"VERSION\tanvil\t1\t0\nCONNECT-DUMP\n"
/* the empty line is the version 2 handshake of a client without admin commands */
#define ANVIL_V2_HELLO		"VERSION\tanvil-client\t2\t0\n\n"
#define ANVIL_V2_GREET_WAIT_MS	10000	/* once it is known to be a version 2 server */
#define ANVIL_KICK_PIPELINE	64	/* commands in flight; replies are one short line */

/* "VERSION\tanvil-server\t2\t<minor>": 2; other VERSION lines: -1; not VERSION: 0 */
static int
greeting_version(const char *line)
{
	const char *p = "VERSION\tanvil-server\t";

	if (strncmp(line, "VERSION\t", 8) != 0)
		return 0;
	if (strncmp(line, p, strlen(p)) != 0)
		return -1;
	line += strlen(p);
	return strncmp(line, "2\t", 2) == 0 ? 2 : -1;
}

static void
anvil_connect(struct anvil *a, int wait_ms)
{
	char *line;

	dline_reader_init(&a->r, dv_connect(a->path));
	int ret = dline_reader_line(&a->r, &line, wait_ms);
	if (ret == -2 || ret == 0) {
		/* silent, or gone before we spoke: either way not a version 2 server,
		 * and doveadm 2.3 would have gone on with version 1 */
		a->version = 1;
	} else if (ret < 0) {
		dv_fatal("read(%s) failed: %s", a->path, dv_strerror(errno));
	} else if (greeting_version(line) == 2) {
		a->version = 2;
	} else {
		dv_fatal("Invalid VERSION line: %s", line);
	}
}

static void
anvil_send(struct anvil *a, const char *s)
{
	if (dv_write_all(a->r.fd, s, strlen(s)) < 0)
		dv_fatal("write(%s) failed: %s", a->path, dv_strerror(errno));
}

static void
hello_v2(struct anvil *a)
{
	if (!a->hello_sent)
		anvil_send(a, ANVIL_V2_HELLO);
	a->hello_sent = 1;
}

static void
dump_start_v2(struct anvil *a)
{
	char *line;

	hello_v2(a);
	anvil_send(a, "CONNECT-DUMP\n");
	int ret = dline_reader_line(&a->r, &line, -1);
	if (ret <= 0)
		dv_fatal("anvil didn't send header line");
	if ((a->header = strdup(line)) == NULL)
		dv_fatal("Out of memory");
	a->alt_fields = dv_split_tabescaped(a->header, &a->nalt_fields);
}

void
anvilclient_dump_start(struct anvil *a)
{
	/* version 1: asked for in anvilclient_open() */
	if (a->version == 2)
		dump_start_v2(a);
}

static int
parse_pid(const char *s, pid_t *pid)
{
	long long n;
	const char *err;

	if (str_to_num(s, 0, INT_MAX, &n, &err) < 0)
		return -1;
	*pid = (pid_t)n;
	return 0;
}

/* "service/ip/user\tpid\trefcount" (or "service/user" without an IP) */
static int
parse_v1(struct anvil *a, char *line, struct who_line *w)
{
	size_t n;
	long long refcount;
	const char *err;
	char **f = a->fields = dv_split_tabescaped(line, &n);

	if (n < 3)
		return -1;
	char *slash = strchr(f[0], '/');
	if (slash == NULL || parse_pid(f[1], &w->pid) < 0)
		return -1;
	*slash = '\0';
	w->service = f[0];
	char *user = strchr(slash + 1, '/');
	if (user == NULL) {
		w->username = slash + 1;
	} else {
		*user = '\0';
		(void)who_addr2ip(slash + 1, &w->ip);	/* a bad IP is no IP, as in doveadm */
		w->username = user + 1;
	}
	if (str_to_num(f[2], 0, UINT_MAX, &refcount, &err) < 0)
		return -1;
	w->refcount = (unsigned int)refcount;
	return 0;
}

static int
is_guid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (strchr("0123456789abcdefABCDEF", s[i]) == NULL)
			return 0;
	}
	return i == 32;
}

/* "pid\tuser\tservice\tip\tconn-guid\tdest-ip[\talt...]" */
static int
parse_v2(struct anvil *a, char *line, struct who_line *w)
{
	size_t n;
	char **f = a->fields = dv_split_tabescaped(line, &n);

	if (n < 6 || parse_pid(f[0], &w->pid) < 0)
		return -1;
	w->username = f[1];
	w->service = f[2];
	if (f[3][0] != '\0' && who_addr2ip(f[3], &w->ip) < 0)
		return -1;
	if (!is_guid(f[4]))
		return -1;
	w->conn_guid = f[4];
	if (f[5][0] != '\0' && who_addr2ip(f[5], &w->dest_ip) < 0)
		return -1;
	w->refcount = 1;
	w->alt = f + 6;
	w->nalt = n - 6;
	return 0;
}

void
anvilclient_open(struct anvil *a, const char *path)
{
	char *line;

	memset(a, 0, sizeof(*a));
	a->path = path;
	anvil_connect(a, ANVIL_GREETING_WAIT_MS);
	if (a->version == 2)
		return;
	/* Version 1 has only CONNECT-DUMP for us: ask now, so that its first reply line
	 * settles the version before a command acts on it. If that line is a version 2
	 * greeting after all, the server was slow to greet: start over as version 2 (it
	 * has logged our version 1 line and hung up). */
	anvil_send(a, ANVIL_V1_CMD);
	int ret = dline_reader_line(&a->r, &line, -1);
	if (ret < 0)
		dv_fatal("read(%s) failed: %s", a->path, dv_strerror(errno));
	if (ret == 0) {
		a->done = 1;
	} else if (greeting_version(line) == 2) {
		dline_reader_free(&a->r);
		anvil_connect(a, ANVIL_V2_GREET_WAIT_MS);
		if (a->version != 2)
			dv_fatal("anvil didn't send VERSION line");
	} else if ((a->pending = strdup(line)) == NULL) {
		dv_fatal("Out of memory");
	}
}

int
anvilclient_dump_next(struct anvil *a, struct who_line *w)
{
	char *line;

	for (;;) {
		free(a->fields);
		a->fields = NULL;
		free(a->pending_used);
		a->pending_used = NULL;
		if (a->done)
			return 0;
		int ret = 1;
		if (a->pending != NULL) {
			line = a->pending_used = a->pending;
			a->pending = NULL;
		} else {
			ret = dline_reader_line(&a->r, &line, -1);
		}
		if (ret < 0)
			dv_fatal("read(%s) failed: %s", a->path, dv_strerror(errno));
		if (ret == 0 && a->version == 2) {
			dv_error("read(%s) failed: Unexpected EOF", a->path);
			a->failed = 1;
		}
		if (ret == 0 || line[0] == '\0') {
			a->done = 1;
			return 0;
		}
		char *copy = strdup(line);
		if (copy == NULL)
			dv_fatal("Out of memory");
		memset(w, 0, sizeof(*w));
		int bad = a->version == 1 ? parse_v1(a, line, w) : parse_v2(a, line, w);
		if (bad == 0) {
			free(copy);
			return 1;
		}
		dv_error("Invalid input: %s", copy);
		free(copy);
		if (a->version == 2) {
			a->failed = a->done = 1;
			return 0;
		}
	}
}

unsigned int
anvilclient_kick(struct anvil *a, char **cmds, size_t n, int *failed)
{
	unsigned int total = 0;
	char *line;

	hello_v2(a);
	for (size_t sent = 0, got = 0; got < n;) {
		while (sent < n && sent - got < ANVIL_KICK_PIPELINE) {
			struct strbuf sb;
			strbuf_init(&sb, SIZE_MAX);
			strbuf_puts(&sb, cmds[sent++]);
			strbuf_putc(&sb, '\n');
			if (sb.error)
				dv_fatal("Out of memory");
			anvil_send(a, sb.s);
			strbuf_free(&sb);
		}
		int ret = dline_reader_line(&a->r, &line, -1);
		if (ret <= 0) {
			dv_error("Failed to send kick to anvil: %s",
			    ret == 0 ? "Connection closed" : dv_strerror(errno));
			*failed = 1;
			break;
		}
		got++;
		long long count;
		const char *err;
		if (str_to_num(line, 0, UINT_MAX, &count, &err) < 0) {
			dv_error("Unexpected reply from anvil: %s", line);
			*failed = 1;
			continue;
		}
		total += (unsigned int)count;
	}
	return total;
}

void
anvilclient_close(struct anvil *a)
{
	free(a->pending);
	free(a->pending_used);
	free(a->fields);
	free(a->alt_fields);
	free(a->header);
	dline_reader_free(&a->r);
	memset(a, 0, sizeof(*a));
}
