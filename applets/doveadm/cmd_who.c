/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmd_who.c: `doveadm who [-a SOCKET] [-1] [-f FIELD] [MASK...]`, as
 * doveadm-who.c: connections from anvil's CONNECT-DUMP, one row per (user, protocol)
 * with the summed count, pids and IPs, or with -1 one row per connection. Rows come in
 * the order the users first appear in the dump; doveadm's order is that of a hash table
 * seeded at random (Debian's 2.3.19.1 keys it), so only the set of rows can match. The
 * table widths come from the first row, because doveadm flushes after every user. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "applets/doveadm/anvilclient.h"
#include "applets/doveadm/cmd.h"
#include "applets/doveadm/cmdopt.h"
#include "applets/doveadm/print.h"
#include "applets/doveadm/who.h"
#include "core/str.h"
#include "core/wildcard.h"

enum { OPT_SOCKET, OPT_SEPARATE, OPT_FIELD, OPT_MASK, OPT_COUNT };

static const struct cmdopt who_opts[OPT_COUNT] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ '1', "separate-connections", CMDOPT_BOOL, 0 },
	{ 'f', "passdb-field", CMDOPT_STR, 0 },
	{ 0, "mask", CMDOPT_ARRAY, 1 },
};

struct who_user {
	char *username, *service;
	struct ip_addr *ips;
	pid_t *pids;
	size_t nips, npids;
	unsigned int count;
	struct who_user *hnext;	/* hash chain */
};

struct who_users {
	struct who_user **list;	/* in order of first appearance */
	size_t n, cap;
	struct who_user **hash;
	size_t hsize;
};

static void *
xrealloc(void *p, size_t n, size_t size)
{
	p = n > SIZE_MAX / size ? NULL : realloc(p, n * size);
	if (p == NULL)
		dv_fatal("Out of memory");
	return p;
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);
	if (d == NULL)
		dv_fatal("Out of memory");
	return d;
}

/* (username, service) is the key; without a username, (service, first IP). */
static size_t
user_hash(const char *username, const char *service, const struct ip_addr *ip)
{
	size_t h = 5381;

	for (const char *s = service; *s != '\0'; s++)
		h = h * 33 + (unsigned char)*s;
	for (const char *s = username; *s != '\0'; s++)
		h = h * 33 + (unsigned char)*s;
	if (*username == '\0' && ip != NULL)
		h = h * 33 + (size_t)ip->family + ip->u.v6.s6_addr[15] + ip->u.v6.s6_addr[3];
	return h;
}

static struct who_user *
user_find(struct who_users *us, const struct who_line *w)
{
	const struct ip_addr *ip = w->ip.family != 0 ? &w->ip : NULL;
	size_t h = user_hash(w->username, w->service, ip);

	if (us->hsize < us->n * 2 + 16) {
		size_t hsize = us->hsize ? us->hsize * 4 : 256;
		free(us->hash);
		us->hash = xrealloc(NULL, hsize, sizeof(*us->hash));
		memset(us->hash, 0, hsize * sizeof(*us->hash));
		us->hsize = hsize;
		for (size_t i = 0; i < us->n; i++) {
			struct who_user *u = us->list[i];
			size_t b = user_hash(u->username, u->service, u->nips ? &u->ips[0] : NULL) % hsize;
			u->hnext = us->hash[b];
			us->hash[b] = u;
		}
	}
	for (struct who_user *u = us->hash[h % us->hsize]; u != NULL; u = u->hnext) {
		if (strcmp(u->username, w->username) != 0 || strcmp(u->service, w->service) != 0)
			continue;
		if (*w->username != '\0')
			return u;
		if ((u->nips == 0 && ip == NULL) || (u->nips > 0 && ip != NULL &&
		    who_ip_equal(&u->ips[0], ip)))
			return u;
	}
	if (us->n == us->cap) {
		us->cap = us->cap ? us->cap * 2 : 64;
		us->list = xrealloc(us->list, us->cap, sizeof(*us->list));
	}
	struct who_user *u = xrealloc(NULL, 1, sizeof(*u));
	memset(u, 0, sizeof(*u));
	u->username = xstrdup(w->username);
	u->service = xstrdup(w->service);
	us->list[us->n++] = u;
	u->hnext = us->hash[h % us->hsize];
	us->hash[h % us->hsize] = u;
	return u;
}

static void
user_add(struct who_users *us, const struct who_line *w)
{
	struct who_user *u = user_find(us, w);
	size_t i;

	u->count += w->refcount;
	for (i = 0; w->ip.family != 0 && i < u->nips; i++) {
		if (who_ip_equal(&u->ips[i], &w->ip))
			break;
	}
	if (w->ip.family != 0 && i == u->nips) {
		u->ips = xrealloc(u->ips, u->nips + 1, sizeof(*u->ips));
		u->ips[u->nips++] = w->ip;
	}
	for (i = 0; i < u->npids; i++) {
		if (u->pids[i] == w->pid)
			break;
	}
	if (i == u->npids) {
		u->pids = xrealloc(u->pids, u->npids + 1, sizeof(*u->pids));
		u->pids[u->npids++] = w->pid;
	}
}

static int
user_match(const struct who_user *u, const struct who_filter *f)
{
	if (f->username != NULL && f->alt_field == NULL &&
	    !wildcard_match_icase(u->username, f->username))
		return 0;
	if (f->net_bits == 0)
		return 1;
	for (size_t i = 0; i < u->nips; i++) {
		if (who_in_network(&u->ips[i], &f->net_ip, f->net_bits))
			return 1;
	}
	return 0;
}

static void
user_print(const struct who_user *u)
{
	struct strbuf sb;
	char num[32], ip[IP_ADDR_STRLEN];

	print_value(u->username);
	str_fmt(num, sizeof(num), "%u", u->count);
	print_value(num);
	print_value(u->service);
	strbuf_init(&sb, SIZE_MAX);
	strbuf_putc(&sb, '(');
	for (size_t i = 0; i < u->npids; i++)
		strbuf_printf(&sb, "%s%ld", i ? " " : "", (long)u->pids[i]);
	strbuf_putc(&sb, ')');
	print_value(sb.s);
	strbuf_truncate(&sb, 0);
	strbuf_putc(&sb, '(');
	for (size_t i = 0; i < u->nips; i++)
		strbuf_printf(&sb, "%s%s", i ? " " : "", who_ip2addr(&u->ips[i], ip, sizeof(ip)));
	strbuf_putc(&sb, ')');
	if (sb.error)
		dv_fatal("Out of memory");
	print_value(sb.s);
	strbuf_free(&sb);
	print_flush();
}

static void
who_aggregated(struct anvil *a, const struct who_filter *f)
{
	struct who_users us = { 0 };
	struct who_line w;

	while (anvilclient_dump_next(a, &w) > 0) {
		/* a passdb field mask can only be checked per connection */
		if (f->alt_field == NULL || who_line_match(&w, f))
			user_add(&us, &w);
	}
	print_header("username", "username", 0);
	print_header("connections", "#", PRINT_RIGHT_JUSTIFY);
	print_header("service", "proto", 0);
	print_header("pids", "(pids)", 0);
	print_header("ips", "(ips)", 0);
	for (size_t i = 0; i < us.n; i++) {
		struct who_user *u = us.list[i];
		if (user_match(u, f))
			user_print(u);
		free(u->username);
		free(u->service);
		free(u->ips);
		free(u->pids);
		free(u);
	}
	free(us.list);
	free(us.hash);
}

static void
who_separate(struct anvil *a, const struct who_filter *f)
{
	struct who_line w;
	char num[32], ip[IP_ADDR_STRLEN];

	print_header("username", "username", PRINT_EXPAND);
	print_header("service", "proto", 0);
	print_header_simple("pid");
	print_header_simple("ip");
	if (a->version == 2) {
		print_header("dest_ip", "dest ip", 0);
		for (size_t i = 0; i < a->nalt_fields; i++)
			print_header_simple(a->alt_fields[i]);
	}
	while (anvilclient_dump_next(a, &w) > 0) {
		if (!who_line_match(&w, f))
			continue;
		str_fmt(num, sizeof(num), "%ld", (long)w.pid);
		for (unsigned int i = 0; i < w.refcount; i++) {
			print_value(w.username);
			print_value(w.service);
			print_value(num);
			print_value(who_ip2addr(&w.ip, ip, sizeof(ip)));
			if (a->version != 2)
				continue;
			print_value(who_ip2addr(&w.dest_ip, ip, sizeof(ip)));
			for (size_t k = 0; k < a->nalt_fields; k++)
				print_value(k < w.nalt ? w.alt[k] : "");
		}
	}
}

int
cmd_who(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	struct cmdopt_val v[OPT_COUNT];
	struct who_filter f = { 0 };
	struct anvil a;
	int ret = 0;

	(void)cmd;
	if (cmdopt_parse(argc, argv, who_opts, OPT_COUNT, v) < 0)
		return DOVEADM_EX_USAGE;
	char *path = v[OPT_SOCKET].set ? xstrdup(v[OPT_SOCKET].str) : dv_socket_path(ctx, "anvil");
	if (who_parse_masks(&f, (char *const *)v[OPT_MASK].arr, v[OPT_MASK].narr) < 0) {
		ret = DOVEADM_EX_USAGE;
		goto out;
	}
	f.alt_field = v[OPT_FIELD].str;
	print_init("table", 1, stdout);
	anvilclient_open(&a, path);
	if (f.alt_field != NULL && a.version != 2) {
		dv_error("-f <passdb field> needs anvil protocol version 2 (mtool proxyd, "
		    "Dovecot 2.4); %s speaks version 1", path);
		ret = DOVEADM_EX_USAGE;
	} else {
		anvilclient_dump_start(&a);
		f.alt_idx = SIZE_MAX;
		for (size_t i = 0; f.alt_field != NULL && i < a.nalt_fields; i++) {
			if (strcmp(a.alt_fields[i], f.alt_field) == 0)
				f.alt_idx = i;
		}
		if (v[OPT_SEPARATE].set)
			who_separate(&a, &f);
		else
			who_aggregated(&a, &f);
		if (a.failed)
			ret = DOVEADM_EX_TEMPFAIL;
	}
	anvilclient_close(&a);
out:
	free(path);
	cmdopt_free(v, OPT_COUNT);
	return ret;
}
