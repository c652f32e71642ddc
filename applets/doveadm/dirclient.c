/* SPDX-License-Identifier: MIT */
/* applets/doveadm/dirclient.c: the director-doveadm connection of the `director`
 * commands, as doveadm-director.c: handshake, one line out, reply lines in, and the
 * texts doveadm fails with; host name resolution and the user hash. */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "applets/doveadm/dirclient.h"
#include "applets/doveadm/print.h"
#include "config.h"
#include "core/dirhash.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "core/varexpand.h"

#define DIR_HANDSHAKE		"VERSION\tdirector-doveadm\t1\t0\n"

void
dirclient_init(struct dir_conn *c, struct doveadm_ctx *ctx, const char *socket_opt)
{
	memset(c, 0, sizeof(*c));
	c->r.fd = -1;
	if (socket_opt != NULL) {
		if ((c->path = strdup(socket_opt)) == NULL)
			dv_fatal("Out of memory");
		c->explicit_path = 1;
	} else {
		c->path = dv_socket_path(ctx, "director-admin");
	}
}

int
dirclient_start(struct dir_conn *c, struct doveadm_ctx *ctx, int argc, char **argv,
    const struct cmdopt *opts, size_t nopts, struct cmdopt_val *v)
{
	if (cmdopt_parse(argc, argv, opts, nopts, v) < 0)
		return -1;
	dirclient_init(c, ctx, v[0].set ? v[0].str : NULL);
	dirclient_connect(c);
	return 0;
}

void
dirclient_per_ip(struct doveadm_ctx *ctx, struct dir_conn *c, const struct ip_addr *ips,
    size_t nips, const char *verb, const char *suffix, int notfound_exit,
    void (*log)(const char *fmt, ...), const char *done)
{
	char ipstr[IP_ADDR_STRLEN];
	struct strbuf sb;
	size_t i;

	/* all commands first, then the replies, as doveadm */
	strbuf_init(&sb, (size_t)-1);
	for (i = 0; i < nips; i++) {
		strbuf_truncate(&sb, 0);
		strbuf_printf(&sb, "%s\t%s%s", verb, ip_format(&ips[i], ipstr, sizeof(ipstr)),
		    suffix);
		if (sb.error)
			dv_fatal("Out of memory");
		dirclient_send(c, sb.s);
	}
	strbuf_free(&sb);
	for (i = 0; i < nips; i++) {
		char *reply = dirclient_read(c);
		ip_format(&ips[i], ipstr, sizeof(ipstr));
		if (reply == NULL)
			continue;
		if (strcmp(reply, "NOTFOUND") == 0) {
			log("%s: doesn't exist", ipstr);
			if (notfound_exit != DOVEADM_EX_NOTFOUND || c->exit_code == 0)
				dir_fail(c, notfound_exit);
		} else if (strcmp(reply, "OK") != 0) {
			log("%s: %s", ipstr, reply);
			dir_fail(c, DOVEADM_EX_TEMPFAIL);
		} else if (ctx->verbose) {
			dv_info("%s: %s", ipstr, done);
		}
	}
}

void
dirclient_connect(struct dir_conn *c)
{
	int fd = dv_connect(c->path);

	dline_reader_init(&c->r, fd);
	c->connected = 1;
	dv_handshake(fd, &c->r, c->path, DIR_HANDSHAKE, "director-doveadm", "director-doveadm");
}

void
dirclient_send(struct dir_conn *c, const char *line)
{
	size_t len = strlen(line);

	/* callers end the handshake with its LF; commands get theirs here */
	if (dv_write_all(c->r.fd, line, len) < 0 ||
	    (len > 0 && line[len - 1] != '\n' && dv_write_all(c->r.fd, "\n", 1) < 0))
		dv_fatal("write(%s) failed: %s", c->path, dv_strerror(errno));
}

char *
dirclient_read(struct dir_conn *c)
{
	char *line;
	int ret = dline_reader_line(&c->r, &line, -1);

	if (ret == 1)
		return line;
	if (ret < 0) {
		c->read_errno = errno;
		dv_error("read(%s) failed: %s", c->path, dv_strerror(errno));
	} else {
		dv_error("%s unexpectedly disconnected", c->path);
	}
	c->exit_code = DOVEADM_EX_TEMPFAIL;
	return NULL;
}

int
dirclient_close(struct dir_conn *c)
{
	if (c->connected) {
		if (c->read_errno != 0)
			dv_fatal("read(%s) failed: %s", c->path, dv_strerror(c->read_errno));
		dline_reader_free(&c->r);
		c->connected = 0;
	}
	free(c->path);
	c->path = NULL;
	return c->exit_code;
}

/* glibc's gai_strerror() texts, which doveadm prints (musl's differ) */
static const char *
gai_text(int err)
{
	switch (err) {
	case EAI_NONAME: return "Name or service not known";
	case EAI_AGAIN: return "Temporary failure in name resolution";
	case EAI_FAIL: return "Non-recoverable failure in name resolution";
	case EAI_FAMILY: return "ai_family not supported";
	case EAI_MEMORY: return "Memory allocation failure";
	case EAI_SERVICE: return "Servname not supported for ai_socktype";
#ifdef EAI_NODATA
	case EAI_NODATA: return "No address associated with hostname";
#endif
	default: return gai_strerror(err);
	}
}

size_t
dirclient_get_host(struct dir_conn *c, const char *host, struct ip_addr **ips)
{
	struct ip_addr ip;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	size_t n = 0;

	if (ip_parse(host, &ip) == 0) {
		if ((*ips = malloc(sizeof(**ips))) == NULL)
			dv_fatal("Out of memory");
		**ips = ip;
		return 1;
	}
	int err = getaddrinfo(host, NULL, &hints, &res);
	if (err != 0) {
		dv_error("gethostname(%s) failed: %s", host, gai_text(err));
		dir_fail(c, DOVEADM_EX_TEMPFAIL);
		return 0;
	}
	for (ai = res; ai != NULL && n < DOVEADM_DIRECTOR_MAX_IPS; ai = ai->ai_next)
		n++;
	if ((*ips = calloc(n ? n : 1, sizeof(**ips))) == NULL)
		dv_fatal("Out of memory");
	n = 0;
	for (ai = res; ai != NULL && n < DOVEADM_DIRECTOR_MAX_IPS; ai = ai->ai_next) {
		if (ip_from_sockaddr(ai->ai_addr, &(*ips)[n], NULL) == 0)
			n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		free(*ips);
		dv_error("gethostname(%s) failed: %s", host, gai_text(EAI_NONAME));
		dir_fail(c, DOVEADM_EX_TEMPFAIL);
	}
	return n;
}

int
dirclient_user_hash(struct doveadm_ctx *ctx, const char *user, uint32_t *hash)
{
	const char *fmt = ctx->director_username_hash, *error = "Expanded value too long";
	static const struct var_tab names[] = {
		{ 'u', "user", "" }, { 'n', "username", "" }, { 'd', "domain", "" },
		{ 0, NULL, NULL },
	};
	struct strbuf sb;

	if (dirhash_user(user, fmt, hash) == 0)
		return 0;
	/* which variable is unknown does not depend on the user: ask var_expand */
	strbuf_init(&sb, DOVEADM_DIRECTOR_HASH_MAX);
	if (var_expand(&sb, fmt, names, &error) == 0)
		error = "Expanded value too long";
	dv_error("Failed to expand director_username_hash=%s: %s", fmt, error);
	strbuf_free(&sb);
	return -1;
}

int
dirclient_str_to_uint(const char *s, unsigned int *out)
{
	unsigned long long v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > 0xffffffffULL)
			return -1;
	}
	if (*s != '\0')
		return -1;
	*out = (unsigned int)v;
	return 0;
}

const char *
dirclient_unixdate(long long t)
{
	static char buf[64];
	timefmt_iso(buf, sizeof(buf), (time_t)t);
	return buf;
}
