/* SPDX-License-Identifier: MIT */
/* applets/doveadm/doveadm.h: what doveadm's command files share: the global options,
 * the command table row and doveadm's exit codes (its ways of failing are dv.h's, the
 * commands cmd.h's). Not a library for other applets. */
#ifndef DOVEADM_H
#define DOVEADM_H

#include <stddef.h>

#include "applets/doveadm/dv.h"
#include "core/dline.h"

/* doveadm's documented exit codes (sysexits.h values, as Dovecot uses them) */
#define DOVEADM_EX_OK		0
#define DOVEADM_EX_USAGE	64
#define DOVEADM_EX_DATAERR	65
#define DOVEADM_EX_NOUSER	67
#define DOVEADM_EX_NOTFOUND	68
#define DOVEADM_EX_TEMPFAIL	75	/* also what a "Fatal:" error exits with */
#define DOVEADM_EX_PROTOCOL	76
#define DOVEADM_EX_NOPERM	77

struct doveadm_ctx {
	int debug;
	int verbose;
	int hide_titles;
	const char *formatter;	/* -f, or NULL for the command's default */
	const char *conf_path;	/* -c */
	char **overrides;	/* -o, in order */
	int noverrides;
	const char *base_dir;	/* from -o base_dir, the config, or MTOOL_BASE_DIR */
	const char *director_username_hash;	/* the same way; default "%Lu" */
};

/* A command. run() gets argv[0] = the last word of the name ("list" for "proxy list"),
 * which is what getopt error lines start with in doveadm, and returns the exit code. */
struct doveadm_cmd {
	const char *name;	/* words, "proxy list" */
	int (*run)(struct doveadm_ctx *, const struct doveadm_cmd *, int argc, char **argv);
	const char *usage;	/* what follows the name, as doveadm prints it */
};

#endif
