/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmdopt.h: a command's own options as doveadm parses them: GNU
 * getopt_long() over the command's parameter table (options may follow operands,
 * "--" ends them, long names may be abbreviated), glibc's error lines, then the
 * operands fill the positional parameters in order. Not core/opt: doveadm's global
 * options keep mtool's parser; this is only for byte-exact command errors. */
#ifndef DOVEADM_CMDOPT_H
#define DOVEADM_CMDOPT_H

#include <stddef.h>

enum cmdopt_type {
	CMDOPT_BOOL,	/* a flag */
	CMDOPT_STR,	/* one value; the last one given wins */
	CMDOPT_ARRAY,	/* values collect */
};

/* One parameter, as a DOVEADM_CMD_PARAM() row. Every parameter is also a long option
 * "--name" (positional ones too, as in doveadm: `who --mask 'u*'`). */
struct cmdopt {
	char ch;		/* short option letter, or 0 */
	const char *name;	/* long name, "socket-path" */
	enum cmdopt_type type;
	int positional;		/* operands fill it (in table order) */
};

struct cmdopt_val {
	int set;
	const char *str;	/* CMDOPT_STR: points into argv */
	const char **arr;	/* CMDOPT_ARRAY: NULL-terminated, allocated */
	size_t narr;
};

/* Parses argv[1..argc-1] into vals (one per row of opts, zeroed first; free with
 * cmdopt_free). argv[0] names the command in error lines. On a bad option prints
 * glibc's line ("who: invalid option -- 'x'") or "Error: Extraneous arguments found:
 * ..." and returns -1: the command exits 64. */
int cmdopt_parse(int argc, char **argv, const struct cmdopt *opts, size_t nopts,
    struct cmdopt_val *vals);
void cmdopt_free(struct cmdopt_val *vals, size_t nopts);

#endif
