/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmd_kick.c: `doveadm kick [-a SOCKET] [-f] [-h HOST] MASK [IP[/BITS]]`.
 * Against a version 1 anvil (Dovecot 2.3) it is doveadm 2.3's kick: the connections
 * anvil lists are grouped by pid and every pid whose users all match gets SIGTERM
 * (-f: also pids that serve other users too); it prints the users. Against a version 2
 * anvil (mtool proxyd, Dovecot 2.4) it is doveadm 2.4's: anvil closes the sessions
 * (KICK-USER, KICK-ALT-USER) and it prints their number. -f is "force" for version 1
 * and "the first operand is a passdb field" for version 2, as the two doveadm
 * versions define it; --passdb-field FIELD says the latter explicitly. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "applets/doveadm/anvilclient.h"
#include "applets/doveadm/cmd.h"
#include "applets/doveadm/cmdopt.h"
#include "applets/doveadm/print.h"
#include "applets/doveadm/who.h"
#include "core/str.h"
#include "core/tab.h"

enum { OPT_SOCKET, OPT_FORCE, OPT_FIELD, OPT_HOST, OPT_MASK, OPT_COUNT };

static const struct cmdopt kick_opts[OPT_COUNT] = {
	{ 'a', "socket-path", CMDOPT_STR, 0 },
	{ 'f', "force", CMDOPT_BOOL, 0 },
	{ 0, "passdb-field", CMDOPT_STR, 0 },
	{ 'h', "dest-host", CMDOPT_STR, 0 },
	{ 0, "mask", CMDOPT_ARRAY, 1 },
};

struct kick_user {
	char *username;
	int kick_me;
};

struct kick_pid {
	pid_t pid;
	struct kick_user *users;
	size_t nusers;
	int kick;
};

struct kick_list {
	struct kick_pid *pids;
	size_t n;
	char **names;		/* users to print */
	size_t nnames;
};

static void *
xrealloc(void *p, size_t n, size_t size)
{
	p = n > SIZE_MAX / size ? NULL : realloc(p, n * size);
	if (p == NULL)
		dv_fatal("Out of memory");
	return p;
}

static void
add_name(struct kick_list *kl, char *name)
{
	kl->names = xrealloc(kl->names, kl->nnames + 1, sizeof(*kl->names));
	kl->names[kl->nnames++] = name;
}

/* kick_aggregate_line(): the users of each pid and whether each one matches */
static void
aggregate(struct kick_list *kl, const struct who_line *w, const struct who_filter *f)
{
	int match = who_line_match(w, f);
	size_t i;

	for (i = 0; i < kl->n && kl->pids[i].pid != w->pid; i++)
		;
	if (i == kl->n) {
		kl->pids = xrealloc(kl->pids, kl->n + 1, sizeof(*kl->pids));
		memset(&kl->pids[kl->n++], 0, sizeof(*kl->pids));
		kl->pids[i].pid = w->pid;
	}
	struct kick_pid *kp = &kl->pids[i];
	for (i = 0; i < kp->nusers; i++) {
		if (strcmp(kp->users[i].username, w->username) == 0) {
			kp->users[i].kick_me |= match;
			return;
		}
	}
	kp->users = xrealloc(kp->users, kp->nusers + 1, sizeof(*kp->users));
	if ((kp->users[kp->nusers].username = strdup(w->username)) == NULL)
		dv_fatal("Out of memory");
	kp->users[kp->nusers++].kick_me = match;
}

/* kick_pid_want_kicked(): a pid whose users only partly match is kicked only with -f;
 * without, its other users are listed in the warning */
static int
want_kicked(struct kick_list *kl, const struct kick_pid *kp, int force, int *warn)
{
	size_t count = 0;

	for (size_t i = 0; i < kp->nusers; i++)
		count += kp->users[i].kick_me != 0;
	if (count == 0)
		return 0;
	if (count < kp->nusers && !force) {
		for (size_t i = 0; i < kp->nusers; i++) {
			if (!kp->users[i].kick_me)
				add_name(kl, kp->users[i].username);
		}
		*warn = 1;
		return 0;
	}
	return 1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* kick_print_kicked(): the users, sorted and unique, through the formatter between
 * doveadm's own printf() lines */
static int
print_kicked(struct kick_list *kl, int warn)
{
	if (kl->nnames == 0) {
		print_stdio("no users kicked\n");
		return DOVEADM_EX_NOTFOUND;
	}
	print_stdio(warn ? "warning: other connections would also be kicked from following users:\n" :
	    "kicked connections from the following users:\n");
	qsort(kl->names, kl->nnames, sizeof(*kl->names), name_cmp);
	for (size_t i = 0; i < kl->nnames; i++) {
		if (i == 0 || strcmp(kl->names[i - 1], kl->names[i]) != 0)
			print_value(kl->names[i]);
	}
	print_flush();
	print_stdio("\n");
	if (warn)
		print_stdio("Use the '-f' option to enforce the disconnect.\n");
	return 0;
}

static int
kick_v1(struct anvil *a, const struct who_filter *f, int force)
{
	struct kick_list kl = { 0 };
	struct who_line w;
	int warn = 0, ret;

	print_init("formatted", 1, stdout);
	print_set_format("%{result} ");
	print_header_simple("result");
	anvilclient_dump_start(a);
	while (anvilclient_dump_next(a, &w) > 0)
		aggregate(&kl, &w, f);
	for (size_t i = 0; i < kl.n; i++)
		kl.pids[i].kick = want_kicked(&kl, &kl.pids[i], force, &warn);
	for (size_t i = 0; !warn && i < kl.n; i++) {
		struct kick_pid *kp = &kl.pids[i];
		if (!kp->kick)
			continue;
		if (kill(kp->pid, SIGTERM) < 0 && errno != ESRCH) {
			fprintf(stderr, "kill(%ld, SIGTERM) failed: %s\n", (long)kp->pid,
			    dv_strerror(errno));
			continue;
		}
		for (size_t k = 0; k < kp->nusers; k++)
			add_name(&kl, kp->users[k].username);
	}
	ret = print_kicked(&kl, warn);
	for (size_t i = 0; i < kl.n; i++) {
		for (size_t k = 0; k < kl.pids[i].nusers; k++)
			free(kl.pids[i].users[k].username);
		free(kl.pids[i].users);
	}
	free(kl.pids);
	free(kl.names);
	return ret;
}

static char *
kick_line(const char *cmd, const char *a1, const char *a2)
{
	struct strbuf sb;

	strbuf_init(&sb, SIZE_MAX);
	strbuf_puts(&sb, cmd);
	strbuf_putc(&sb, '\t');
	tab_escape(&sb, a1);
	if (a2 != NULL) {
		strbuf_putc(&sb, '\t');
		tab_escape(&sb, a2);
	}
	if (sb.error)
		dv_fatal("Out of memory");
	return sb.s;
}

static int
kick_v2(struct anvil *a, struct who_filter *f)
{
	char **cmds = NULL, num[32];
	size_t n = 0;
	int failed = 0;

	print_init("formatted", 1, stdout);
	print_set_format("%{count} connections kicked\n");
	print_header_simple("count");
	if (f->username != NULL && f->net_bits == 0 && f->dest_ip.family == 0 &&
	    strpbrk(f->username, "*?") == NULL) {
		/* explicit user: anvil finds the sessions itself */
		cmds = xrealloc(NULL, 1, sizeof(*cmds));
		cmds[n++] = f->alt_field != NULL ?
		    kick_line("KICK-ALT-USER", f->alt_field, f->username) :
		    kick_line("KICK-USER", f->username, NULL);
	} else {
		struct who_line w;
		anvilclient_dump_start(a);
		f->alt_idx = SIZE_MAX;
		for (size_t i = 0; f->alt_field != NULL && i < a->nalt_fields; i++) {
			if (strcmp(a->alt_fields[i], f->alt_field) == 0)
				f->alt_idx = i;
		}
		while (anvilclient_dump_next(a, &w) > 0) {
			if (!who_line_match(&w, f))
				continue;
			cmds = xrealloc(cmds, n + 1, sizeof(*cmds));
			cmds[n++] = kick_line("KICK-USER", w.username, w.conn_guid);
		}
		failed = a->failed;
	}
	str_fmt(num, sizeof(num), "%u", anvilclient_kick(a, cmds, n, &failed));
	print_value(num);
	for (size_t i = 0; i < n; i++)
		free(cmds[i]);
	free(cmds);
	return failed ? DOVEADM_EX_TEMPFAIL : 0;
}

static int
version_2_only(const char *what, const char *path)
{
	dv_error("%s needs anvil protocol version 2 (mtool proxyd, Dovecot 2.4); %s speaks "
	    "version 1 (for a Dovecot 2.3 proxy use 'doveadm proxy kick')", what, path);
	return DOVEADM_EX_USAGE;
}

int
cmd_kick(struct doveadm_ctx *ctx, const struct doveadm_cmd *cmd, int argc, char **argv)
{
	struct cmdopt_val v[OPT_COUNT];
	struct who_filter f = { 0 };
	struct anvil a;
	int ret;

	if (cmdopt_parse(argc, argv, kick_opts, OPT_COUNT, v) < 0)
		return DOVEADM_EX_USAGE;
	char *path = v[OPT_SOCKET].set ? strdup(v[OPT_SOCKET].str) : dv_socket_path(ctx, "anvil");
	char *const *masks = (char *const *)v[OPT_MASK].arr;
	size_t nmasks = v[OPT_MASK].narr;
	int ambiguous = v[OPT_FORCE].set;	/* -f: its meaning depends on the version */

	if (path == NULL)
		dv_fatal("Out of memory");
	if (v[OPT_HOST].set && who_addr2ip(v[OPT_HOST].str, &f.dest_ip) < 0)
		dv_fatal("dest-host isn't a valid IP address");
	/* what doveadm 2.3 checks before it connects */
	ret = DOVEADM_EX_USAGE;
	if (nmasks == 0 && !v[OPT_HOST].set) {
		dv_error("user and/or ip[/bits] must be specified.");
		goto out;
	}
	if (!ambiguous && who_parse_masks(&f, masks, nmasks) < 0)
		goto out;

	anvilclient_open(&a, path);
	if (a.version == 1) {
		if (v[OPT_HOST].set)
			ret = version_2_only("kick -h <dest host>", path);
		else if (v[OPT_FIELD].set)
			ret = version_2_only("kick --passdb-field", path);
		else if (!ambiguous || who_parse_masks(&f, masks, nmasks) == 0)
			ret = kick_v1(&a, &f, v[OPT_FORCE].set);
	} else {
		f.alt_field = v[OPT_FIELD].str;
		if (ambiguous && f.alt_field == NULL && nmasks > 0) {
			f.alt_field = masks[0];
			masks++;
			nmasks--;
		}
		if (ambiguous && who_parse_masks(&f, masks, nmasks) < 0)
			;
		else if (f.alt_field != NULL && f.username == NULL)
			dv_error("Username must be given with passdb-field parameter");
		else if (f.username == NULL && f.net_bits == 0 && f.dest_ip.family == 0)
			dv_usage(cmd);
		else
			ret = kick_v2(&a, &f);
	}
	anvilclient_close(&a);
out:
	free(path);
	cmdopt_free(v, OPT_COUNT);
	return ret;
}
