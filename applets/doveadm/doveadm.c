/* SPDX-License-Identifier: MIT */
/* applets/doveadm/doveadm.c: global options, the command table and dispatch; each
 * command lives in its own file. Matches doveadm(1): options before the command,
 * longest command match, `-f` forcing the formatter, base_dir from the config. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/applets.h"
#include "applets/doveadm/cmd.h"
#include "applets/doveadm/dirclient.h"
#include "applets/doveadm/doveadm.h"
#include "applets/doveadm/print.h"
#include "config.h"
#include "core/conf.h"
#include "core/opt.h"
#include "core/str.h"

static int cmd_help(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);

/* Usage texts are doveadm's where doveadm prints them (`doveadm proxy`, a missing
 * argument), with mtool's additions (who -f, kick -h) in doveadm 2.4's words. */
static const struct doveadm_cmd doveadm_cmds[] = {
	FEATURE_IF(MTOOL_WITH_AUTH_CACHE,
	{ "auth cache flush", cmd_auth_cache_flush, "[-a <master socket path>] [<user> [...]]" },)
	FEATURE_IF(MTOOL_WITH_DOVEADM_DIRECTOR,
	{ "director add", cmd_director_add, "[-a <director socket path>] [-t <tag>] <host> [<vhost count>]" },
	{ "director down", cmd_director_down, "[-a <director socket path>] <host>" },
	{ "director dump", cmd_director_dump, "[-a <director socket path>]" },
	{ "director flush", cmd_director_flush, "[-a <director socket path>] [-F] [--max-parallel <n>] <host>|all" },
	{ "director kick", cmd_director_kick, "[-a <director socket path>] [-f <passdb field>] <user>" },
	{ "director map", cmd_director_map,
	  "[-a <director socket path>] [-f <users file>] [-h | -u] [<host>]" },
	{ "director move", cmd_director_move, "[-a <director socket path>] <user> <host>" },
	{ "director remove", cmd_director_remove, "[-a <director socket path>] <host>" },
	{ "director ring add", cmd_director_ring_add, "[-a <director socket path>] <ip> [<port>]" },
	{ "director ring remove", cmd_director_ring_remove, "[-a <director socket path>] <ip> [<port>]" },
	{ "director ring status", cmd_director_ring_status, "[-a <director socket path>]" },
	{ "director status", cmd_director_status, "[-a <director socket path>] [<user>] [<tag>]" },
	{ "director up", cmd_director_up, "[-a <director socket path>] <host>" },
	{ "director update", cmd_director_update, "[-a <director socket path>] <host> <vhost count>" },)
	{ "help", cmd_help, "[COMMAND]" },
	{ "kick", cmd_kick,
	  "[-a <anvil socket path>] [-f] [--passdb-field <field>] [-h <dest host>] "
	  "<user mask>[|]<ip/bits>" },
	{ "log reopen", cmd_log_reopen, "" },
	{ "proxy kick", cmd_proxy_kick,
	  "[-a <ipc socket path>] [-f <passdb field>] [-h <host> [...] | <user> [...]]" },
	{ "proxy list", cmd_proxy_list, "[-a <ipc socket path>]" },
	FEATURE_IF(MTOOL_WITH_DOVEADM_REPLICATOR,
	{ "replicator add", cmd_replicator_add, "[-a <replicator socket path>] <user mask>" },
	{ "replicator dsync-status", cmd_replicator_dsync_status, "[-a <replicator socket path>]" },
	{ "replicator remove", cmd_replicator_remove, "[-a <replicator socket path>] <username>" },
	{ "replicator replicate", cmd_replicator_replicate,
	  "[-a <replicator socket path>] [-f] [-p <priority>] <user mask>" },
	{ "replicator status", cmd_replicator_status, "[-a <replicator socket path>] [<user mask>]" },)
	{ "who", cmd_who, "[-a <anvil socket path>] [-1] [-f <passdb field>] [<user mask>] [<ip/bits>]" },
	{ NULL, NULL, NULL },
};

/* First words of commands whose feature (mk/features.mk) is not in this build. */
static const char *const doveadm_absent[] = {
	FEATURE_IF_NOT(MTOOL_WITH_AUTH_CACHE, "auth",)
	FEATURE_IF_NOT(MTOOL_WITH_DOVEADM_DIRECTOR, "director",)
	FEATURE_IF_NOT(MTOOL_WITH_DOVEADM_REPLICATOR, "replicator",)
	NULL,
};

static const struct opt doveadm_opts[] = {
	{ 'D', NULL, "debug output (implies -v)" },
	{ 'v', NULL, "verbose output" },
	{ 'f', "FORMATTER", "output as flow, tab, table, pager, json or formatted" },
	{ 'h', NULL, "hide column titles" },
	{ 'c', "FILE", "read base_dir from FILE (default " MTOOL_CONF_PATH ")" },
	{ 'o', "KEY=VALUE", "override one setting, e.g. base_dir=/run/dovecot; repeatable" },
	{ 0, NULL, NULL },
};

static const struct opt_cmd doveadm_cmd = {
	"doveadm", "[-Dvh] [-f FORMATTER] [-c FILE] [-o KEY=VALUE]... COMMAND [ARGS]...",
	"Administer mtool and Dovecot daemons through their sockets.", doveadm_opts,
};

static void
print_commands(FILE *f)
{
	fprintf(f, "\ncommands:\n");
	for (const struct doveadm_cmd *c = doveadm_cmds; c->name; c++)
		fprintf(f, "  %s %s\n", c->name, c->usage);
}

/* Longest match of the command's words against argv; returns the number of words. */
static int
cmd_words_match(const char *name, int argc, char **argv)
{
	int words = 0;
	const char *p = name;
	while (*p) {
		size_t len = strcspn(p, " ");
		if (words >= argc || strlen(argv[words]) != len || strncmp(argv[words], p, len) != 0)
			return 0;
		words++;
		p += len;
		p += *p == ' ';
	}
	return words;
}

static const struct doveadm_cmd *
cmd_find(int argc, char **argv, int *nwords)
{
	const struct doveadm_cmd *best = NULL;
	*nwords = 0;
	for (const struct doveadm_cmd *c = doveadm_cmds; c->name; c++) {
		int n = cmd_words_match(c->name, argc, argv);
		if (n > *nwords) {
			*nwords = n;
			best = c;
		}
	}
	return best;
}

static int
cmd_absent(const char *word)
{
	for (const char *const *a = doveadm_absent; *a; a++)
		if (strcmp(*a, word) == 0)
			return 1;
	return 0;
}

/* doveadm's usage_prefix() for a word that only starts commands ("doveadm proxy"):
 * the sub-commands, sorted, "  %-12s %s"; deeper ones share a line, "ring add|remove".
 * Returns 0 if word starts none. */
static int
usage_prefix(const char *word)
{
	size_t len = strlen(word);
	char group[64] = "";
	int any = 0;

	for (const struct doveadm_cmd *c = doveadm_cmds; c->name; c++) {
		if (strncmp(c->name, word, len) != 0 || c->name[len] != ' ')
			continue;
		if (!any)
			fprintf(stderr, "usage: doveadm [-Dv] [-f <formatter>] %s <command> [<args>]\n",
			    word);
		any = 1;
		/* the table is sorted by name */
		const char *rest = c->name + len + 1, *sp = strchr(rest, ' ');
		if (sp == NULL) {
			if (group[0] != '\0')
				fputc('\n', stderr);
			group[0] = '\0';
			fprintf(stderr, "  %-12s %s\n", rest, c->usage);
			continue;
		}
		size_t glen = (size_t)(sp - rest), slen = strcspn(sp + 1, " ");
		if (glen < sizeof(group) && strncmp(group, rest, glen) == 0 && group[glen] == '\0') {
			fprintf(stderr, "|%.*s", (int)slen, sp + 1);
			continue;
		}
		if (group[0] != '\0')
			fputc('\n', stderr);
		str_fmt(group, sizeof(group), "%.*s", (int)glen, rest);
		fprintf(stderr, "  %-12s %.*s", group, (int)slen, sp + 1);
	}
	if (group[0] != '\0')
		fputc('\n', stderr);
	return any;
}

static int
cmd_help(struct doveadm_ctx *ctx, const struct doveadm_cmd *self, int argc, char **argv)
{
	(void)ctx;
	(void)self;
	if (argc > 1) {
		int n;
		const struct doveadm_cmd *c = cmd_find(argc - 1, argv + 1, &n);
		if (c == NULL) {
			fprintf(stderr, "doveadm: Unknown command '%s'\n", argv[1]);
			return DOVEADM_EX_USAGE;
		}
		printf("doveadm %s %s\n", c->name, c->usage);
		return 0;
	}
	opt_usage(stdout, &doveadm_cmd);
	print_commands(stdout);
	return 0;
}

/* base_dir: -o, else the config file's, else MTOOL_BASE_DIR. A missing default config
 * file is no error (mtool may run beside Dovecot without one); a missing -c file is. */
static struct conf *
load_base_dir(struct doveadm_ctx *ctx, int conf_given)
{
	char *errs = NULL;
	size_t errlen = 0;
	struct conf *c;
	FILE *errf = open_memstream(&errs, &errlen);

	if (!conf_given && access(ctx->conf_path, F_OK) < 0 && errno == ENOENT)
		c = conf_load_string("-o", "", ctx->overrides, (size_t)ctx->noverrides, errf);
	else
		c = conf_load(ctx->conf_path, ctx->overrides, (size_t)ctx->noverrides, errf);
	if (errf != NULL)
		fclose(errf);
	if (c == NULL) {
		if (errs != NULL)
			errs[strcspn(errs, "\n")] = '\0';
		dv_fatal("Error reading configuration: %s", errs != NULL ? errs : "Out of memory");
	}
	free(errs);
	ctx->base_dir = conf_get(conf_root(c), "base_dir", MTOOL_BASE_DIR);
	ctx->director_username_hash = conf_get(conf_root(c), "director_username_hash", "%Lu");
	return c;
}

int
doveadm_main(int argc, char **argv)
{
	struct doveadm_ctx ctx = { .conf_path = MTOOL_CONF_PATH, .base_dir = MTOOL_BASE_DIR,
		.director_username_hash = "%Lu" };
	struct opt_state st;
	struct conf *conf = NULL;
	int ch, conf_given = 0;

	/* a daemon that hangs up is a read error, not a signal (as doveadm) */
	signal(SIGPIPE, SIG_IGN);
	/* doveadm's printf() lines reach a pipe only at exit, after what its formatter
	 * wrote; musl line-buffers stdout until its first write finds no terminal */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 0);
	ctx.overrides = calloc((size_t)argc, sizeof(char *));
	if (ctx.overrides == NULL)
		return DOVEADM_EX_TEMPFAIL;
	opt_init(&st, argc, argv);
	while ((ch = opt_next(&st, &doveadm_cmd)) != -1) {
		switch (ch) {
		case 'D': ctx.debug = ctx.verbose = 1; break;
		case 'v': ctx.verbose = 1; break;
		case 'h': ctx.hide_titles = 1; print_set_hide_titles(1); break;
		case 'c': ctx.conf_path = st.arg; conf_given = 1; break;
		case 'o': ctx.overrides[ctx.noverrides++] = st.arg; break;
		case 'f':
			/* as doveadm: checked, and the formatter started, right away */
			ctx.formatter = st.arg;
			if (print_init(st.arg, STDOUT_FILENO, stdout) < 0) {
				fprintf(stderr, "doveadm: Fatal: Unknown print formatter: %s\n", st.arg);
				free(ctx.overrides);
				return DOVEADM_EX_TEMPFAIL;
			}
			break;
		}
	}
	argc -= st.ind;
	argv += st.ind;
	if (argc == 0) {
		opt_usage(stderr, &doveadm_cmd);
		print_commands(stderr);
		free(ctx.overrides);
		return DOVEADM_EX_USAGE;
	}
	int nwords, r;
	const struct doveadm_cmd *cmd = cmd_find(argc, argv, &nwords);
	if (cmd == NULL) {
		/* doveadm exits from its usage text: what -f started is never written */
		print_discard();
		if (usage_prefix(argv[0])) {
			r = DOVEADM_EX_USAGE;
		} else if (cmd_absent(argv[0])) {
			fprintf(stderr, "doveadm: %s: not in this build\n", argv[0]);
			r = DOVEADM_EX_USAGE;
		} else {
			fprintf(stderr, "doveadm: Unknown command '%s'\n", argv[0]);
			print_commands(stderr);
			r = DOVEADM_EX_USAGE;
		}
	} else {
		if (cmd->run != cmd_help)
			conf = load_base_dir(&ctx, conf_given);
		r = cmd->run(&ctx, cmd, argc - nwords + 1, argv + nwords - 1);
	}
	print_deinit();
	conf_free(conf);
	free(ctx.overrides);
	return r;
}
