/* SPDX-License-Identifier: MIT */
/* core/opt.h: command-line options from one table that drives both parsing and --help.
 * Not getopt: no permutation, no long options except --help; parsing stops at the first
 * non-option argument or "--". Start-up code only: errors print and exit. */
#ifndef CORE_OPT_H
#define CORE_OPT_H

#include <stdio.h>

struct opt {
	int ch;			/* option letter; 0 ends the table */
	const char *arg;	/* name of its argument for --help, or NULL for a flag */
	const char *help;	/* one line */
};

struct opt_cmd {
	const char *name;	/* "proxyd", "doveadm proxy list" */
	const char *synopsis;	/* "[-dD] [-c FILE] [-o KEY=VALUE]..." */
	const char *summary;	/* one line, printed under the synopsis */
	const struct opt *opts;
};

struct opt_state {
	int argc;
	char **argv;
	int ind;		/* index of the next argument to look at */
	char *arg;		/* argument of the option just returned (points into argv) */
	int pos;		/* position inside a bundle of flags ("-dD") */
};

void opt_init(struct opt_state *, int argc, char **argv);

/* Returns the next option letter, or -1 when the options end (st->ind is then the first
 * operand). "--help" or "-h" (when 'h' is not in the table) prints opt_usage() to stdout
 * and exits 0. An unknown option or a missing argument prints one line naming the valid
 * options to stderr and exits 2. */
int opt_next(struct opt_state *, const struct opt_cmd *);

void opt_usage(FILE *, const struct opt_cmd *);

/* Prints "NAME: MESSAGE (usage: NAME SYNOPSIS)" to stderr and exits 2. */
void opt_die_usage(const struct opt_cmd *, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Range-checked number for an option: exits 2 with "NAME: -C: VALUE is too large ..." */
long long opt_number(const struct opt_cmd *, int ch, const char *s, long long min, long long max);

#endif
