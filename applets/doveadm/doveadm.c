/* SPDX-License-Identifier: MIT */
/* applets/doveadm/doveadm.c: global options and the command table; each command lives in
 * its own file. Matches doveadm(1): options before the command, longest command match. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets/applets.h"
#include "applets/doveadm/doveadm.h"
#include "config.h"
#include "core/opt.h"

static int cmd_help(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);

static const struct doveadm_cmd doveadm_cmds[] = {
	{ "help", cmd_help, "[COMMAND]" },
	{ NULL, NULL, NULL },
};

static const struct opt doveadm_opts[] = {
	{ 'D', NULL, "debug output (implies -v)" },
	{ 'v', NULL, "verbose output" },
	{ 'f', "FORMATTER", "output as flow, tab, table, pager or json" },
	{ 'h', NULL, "hide column titles" },
	{ 'c', "FILE", "read settings from FILE (default " MTOOL_CONF_PATH ")" },
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

int
doveadm_main(int argc, char **argv)
{
	struct doveadm_ctx ctx = { .conf_path = MTOOL_CONF_PATH, .base_dir = MTOOL_BASE_DIR };
	struct opt_state st;
	int ch;

	ctx.overrides = calloc((size_t)argc, sizeof(char *));
	if (ctx.overrides == NULL)
		return DOVEADM_EX_TEMPFAIL;
	opt_init(&st, argc, argv);
	while ((ch = opt_next(&st, &doveadm_cmd)) != -1) {
		switch (ch) {
		case 'D': ctx.debug = ctx.verbose = 1; break;
		case 'v': ctx.verbose = 1; break;
		case 'f': ctx.formatter = st.arg; break;
		case 'h': ctx.hide_titles = 1; break;
		case 'c': ctx.conf_path = st.arg; break;
		case 'o': ctx.overrides[ctx.noverrides++] = st.arg; break;
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
	int nwords;
	const struct doveadm_cmd *cmd = cmd_find(argc, argv, &nwords);
	int r;
	if (cmd == NULL) {
		fprintf(stderr, "doveadm: Unknown command '%s'\n", argv[0]);
		print_commands(stderr);
		r = DOVEADM_EX_USAGE;
	} else {
		r = cmd->run(&ctx, cmd, argc - nwords + 1, argv + nwords - 1);
	}
	free(ctx.overrides);
	return r;
}
