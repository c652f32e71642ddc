/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmd_director_map.c: `doveadm director map [-f users_file] [-h|-u] [host]`,
 * as doveadm-director.c: the director only knows user hashes, so the names come from a
 * list (the file, or the userdb through the auth-master LIST of <base_dir>/auth-userdb)
 * hashed here with doveadm's director_username_hash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/doveadm/cmd.h"
#include "applets/doveadm/dirclient.h"
#include "applets/doveadm/print.h"
#include "config.h"
#include "core/str.h"

struct user_ent {
	uint32_t hash;
	size_t seq;	/* later names first, as doveadm's per-hash lists */
	char *name;
};

struct user_list {
	struct user_ent *ents;
	size_t n, cap;
};

static void
user_add(struct doveadm_ctx *ctx, struct user_list *ul, const char *name)
{
	uint32_t hash;

	if (dirclient_user_hash(ctx, name, &hash) < 0)
		return;
	if (ul->n == ul->cap) {
		size_t cap = ul->cap ? ul->cap * 2 : 256;
		if (ul->n >= DOVEADM_DIRECTOR_USERS_MAX)
			dv_fatal("More than %d users to map", DOVEADM_DIRECTOR_USERS_MAX);
		struct user_ent *e = realloc(ul->ents, cap * sizeof(*e));
		if (e == NULL)
			dv_fatal("Out of memory");
		ul->ents = e;
		ul->cap = cap;
	}
	struct user_ent *e = &ul->ents[ul->n];
	e->hash = hash;
	e->seq = ul->n++;
	if ((e->name = strdup(name)) == NULL)
		dv_fatal("Out of memory");
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct user_ent *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

/* The first entry with hash (and its namesakes follow), or NULL. */
static const struct user_ent *
user_find(const struct user_list *ul, uint32_t hash)
{
	size_t lo = 0, hi = ul->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ul->ents[mid].hash < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ul->n && ul->ents[lo].hash == hash ? &ul->ents[lo] : NULL;
}

static void
user_list_free(struct user_list *ul)
{
	for (size_t i = 0; i < ul->n; i++)
		free(ul->ents[i].name);
	free(ul->ents);
}

/* One name per line, as i_stream_read_next_line() gives them: CRLF or LF ends a line,
 * a last line without one is not read. "-" is stdin; an unreadable file is an empty
 * list without a word, as in doveadm. */
static void
users_from_file(struct doveadm_ctx *ctx, struct user_list *ul, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (f == NULL)
		return;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] != '\n')
			break;
		line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		user_add(ctx, ul, line);
	}
	free(line);
	if (f != stdin)
		fclose(f);
}

/* auth-master LIST over <base_dir>/auth-userdb; failures are logged as lib-auth words
 * them and make the exit code 75 ("user listing failed"). */
static void
users_from_userdb(struct doveadm_ctx *ctx, struct dir_conn *c, struct user_list *ul)
{
	char *path = dv_socket_path(ctx, "auth-userdb");
	struct dline_reader r;
	char *line;
	int ok = 0, fd = dv_connect_unix(path);
	int ret;

	if (fd < 0) {
		dv_error("auth-master: userdb list: connect(%s) failed: %s", path,
		    dv_strerror(errno));
		goto fail;
	}
	dline_reader_init(&r, fd);
	static const char req[] = "VERSION\t1\t0\nLIST\t1\n";
	if (dv_write_all(fd, req, sizeof(req) - 1) < 0) {
		dv_error("auth-master: userdb list: write(auth socket) failed: %s",
		    dv_strerror(errno));
		dline_reader_free(&r);
		goto fail;
	}
	while ((ret = dline_reader_line(&r, &line, -1)) == 1) {
		size_t n;
		char **f = dv_split_tabescaped(line, &n);
		if (n >= 1 && (strcmp(f[0], "VERSION") == 0 || strcmp(f[0], "SPID") == 0)) {
			free(f);
			continue;
		}
		if (n >= 2 && strcmp(f[0], "DONE") == 0 && strcmp(f[1], "1") == 0) {
			if (n >= 3 && strcmp(f[2], "fail") == 0)
				dv_error("auth-master: userdb list: User listing returned failure");
			else
				ok = 1;
			free(f);
			break;
		}
		if (n >= 3 && strcmp(f[0], "LIST") == 0 && strcmp(f[1], "1") == 0) {
			user_add(ctx, ul, f[2]);
			free(f);
			continue;
		}
		free(f);
		dv_error("auth-master: userdb list: User listing returned invalid input");
		break;
	}
	if (ret != 1)
		dv_error("auth-master: userdb list: Disconnected unexpectedly");
	dline_reader_free(&r);
	if (ok) {
		free(path);
		return;
	}
fail:
	free(path);
	dv_error("user listing failed");
	dir_fail(c, DOVEADM_EX_TEMPFAIL);
}

static const struct cmdopt map_opts[] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 'f', "users-file", CMDOPT_STR, 0 },
	{ 'h', "hash-map", CMDOPT_BOOL, 0 },
	{ 'u', "user-map", CMDOPT_BOOL, 0 },
	{ 0, "host", CMDOPT_STR, 1 },
};

static void
map_users(struct dir_conn *c, const struct user_list *ul, const struct ip_addr *ips, size_t nips)
{
	char line_ip[IP_ADDR_STRLEN], cmd[128];
	char *line;
	size_t n, i;

	print_init("table", 1, stdout);
	print_header("user", "user", PRINT_EXPAND);
	print_header_simple("hash");
	print_header_simple("mail server ip");
	print_header_simple("expire time");
	if (nips == 1)
		str_fmt(cmd, sizeof(cmd), "USER-LIST\t%s", ip_format(&ips[0], line_ip, sizeof(line_ip)));
	else
		str_fmt(cmd, sizeof(cmd), "USER-LIST");
	dirclient_send(c, cmd);
	while ((line = dirclient_read(c)) != NULL && *line != '\0') {
		char *copy = strdup(line);
		if (copy == NULL)
			dv_fatal("Out of memory");
		char **f = dv_split_tabescaped(copy, &n);
		unsigned int hash;
		long long expires;
		const char *err;
		struct ip_addr ip;
		if (n < 3 || dirclient_str_to_uint(f[0], &hash) < 0 ||
		    str_to_num(f[1], -0x7fffffffffffffffLL, 0x7fffffffffffffffLL, &expires, &err) < 0 ||
		    ip_parse(f[2], &ip) < 0) {
			dv_error("Invalid USER-LIST reply: %s", line);
			dir_fail(c, DOVEADM_EX_PROTOCOL);
			free(f);
			free(copy);
			continue;
		}
		int want = nips == 0;
		for (i = 0; i < nips && !want; i++)
			want = ip_equal(&ips[i], &ip);
		if (want) {
			const struct user_ent *e = user_find(ul, hash);
			if (e == NULL) {
				print_value("<unknown>");
				print_value(f[0]);
				print_value(f[2]);
				print_value(dirclient_unixdate(expires));
			}
			for (; e != NULL && e < ul->ents + ul->n && e->hash == hash; e++) {
				print_value(e->name);
				print_value(f[0]);
				print_value(f[2]);
				print_value(dirclient_unixdate(expires));
			}
		}
		free(f);
		free(copy);
	}
}

int
cmd_director_map(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	struct cmdopt_val v[5];
	struct dir_conn c;
	struct user_list ul = { NULL, 0, 0 };
	struct ip_addr *ips = NULL;
	size_t nips = 0;
	uint32_t hash;

	if (cmdopt_parse(argc, argv, map_opts, 5, v) < 0)
		return DOVEADM_EX_USAGE;
	int hash_map = v[2].set, user_map = v[3].set;
	const char *host = v[4].set ? v[4].str : NULL;
	dirclient_init(&c, ctx, v[0].set ? v[0].str : NULL);
	/* -u needs no director */
	if (!user_map)
		dirclient_connect(&c);
	if ((hash_map || user_map) && host == NULL)
		dir_usage(cmd);
	if (user_map) {
		if (dirclient_user_hash(ctx, host, &hash) == 0) {
			char num[16];
			print_init("table", 1, stdout);
			print_header("hash", "hash", PRINT_HIDE_TITLE);
			str_fmt(num, sizeof(num), "%u", (unsigned int)hash);
			print_value(num);
		}
		goto out;
	}
	if (host != NULL && !hash_map && (nips = dirclient_get_host(&c, host, &ips)) == 0)
		goto out;
	if (v[1].set)
		users_from_file(ctx, &ul, v[1].str);
	else
		users_from_userdb(ctx, &c, &ul);
	if (ul.n > 0)
		qsort(ul.ents, ul.n, sizeof(*ul.ents), ent_cmp);
	if (hash_map) {
		unsigned int h;
		if (dirclient_str_to_uint(host, &h) < 0)
			dv_fatal("Invalid username hash: %s", host);
		print_init("table", 1, stdout);
		print_header("user", "user", PRINT_HIDE_TITLE);
		for (const struct user_ent *e = user_find(&ul, h);
		    e != NULL && e < ul.ents + ul.n && e->hash == h; e++)
			print_value(e->name);
	} else {
		map_users(&c, &ul, ips, nips);
	}
out:
	free(ips);
	user_list_free(&ul);
	cmdopt_free(v, 5);
	return dirclient_close(&c);
}
