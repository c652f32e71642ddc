/* SPDX-License-Identifier: MIT */
#include "core/opt.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

void
opt_init(struct opt_state *st, int argc, char **argv)
{
	memset(st, 0, sizeof(*st));
	st->argc = argc;
	st->argv = argv;
	st->ind = 1;
}

static const struct opt *
opt_find(const struct opt *o, int ch)
{
	for (; o->ch; o++)
		if (o->ch == ch)
			return o;
	return NULL;
}

void
opt_usage(FILE *f, const struct opt_cmd *cmd)
{
	fprintf(f, "usage: %s %s\n", cmd->name, cmd->synopsis);
	if (cmd->summary)
		fprintf(f, "%s\n", cmd->summary);
	if (cmd->opts && cmd->opts->ch)
		fprintf(f, "\noptions:\n");
	for (const struct opt *o = cmd->opts; o && o->ch; o++) {
		char left[40];
		str_fmt(left, sizeof(left), "-%c%s%s", o->ch, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-16s %s\n", left, o->help);
	}
}

static void
valid_options(FILE *f, const struct opt_cmd *cmd)
{
	fprintf(f, "valid:");
	for (const struct opt *o = cmd->opts; o && o->ch; o++)
		fprintf(f, " -%c", o->ch);
	fprintf(f, " --help");
}

int
opt_next(struct opt_state *st, const struct opt_cmd *cmd)
{
	if (st->pos == 0) {
		if (st->ind >= st->argc)
			return -1;
		const char *a = st->argv[st->ind];
		if (strcmp(a, "--help") == 0 || (strcmp(a, "-h") == 0 && !opt_find(cmd->opts, 'h'))) {
			opt_usage(stdout, cmd);
			exit(0);
		}
		if (strcmp(a, "--") == 0) {
			st->ind++;
			return -1;
		}
		if (a[0] != '-' || a[1] == '\0')
			return -1;
		st->pos = 1;
	}
	char *a = st->argv[st->ind];
	int ch = (unsigned char)a[st->pos++];
	const struct opt *o = ch == '-' ? NULL : opt_find(cmd->opts, ch);
	if (o == NULL) {
		fprintf(stderr, "%s: unknown option '%s' (", cmd->name, ch == '-' ? a : (char[]){ '-', (char)ch, 0 });
		valid_options(stderr, cmd);
		fprintf(stderr, ")\n");
		exit(2);
	}
	st->arg = NULL;
	if (o->arg) {
		if (a[st->pos] != '\0') {
			st->arg = a + st->pos;
		} else if (st->ind + 1 < st->argc) {
			st->arg = st->argv[++st->ind];
		} else {
			fprintf(stderr, "%s: option -%c needs an argument %s\n", cmd->name, ch, o->arg);
			exit(2);
		}
		st->pos = 0;
		st->ind++;
	} else if (a[st->pos] == '\0') {
		st->pos = 0;
		st->ind++;
	}
	return ch;
}

void
opt_die_usage(const struct opt_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (usage: %s %s)\n", cmd->name, cmd->synopsis);
	exit(2);
}

long long
opt_number(const struct opt_cmd *cmd, int ch, const char *s, long long min, long long max)
{
	long long v;
	const char *err;
	if (str_to_num(s, min, max, &v, &err) < 0)
		opt_die_usage(cmd, "-%c: '%s' is %s (%lld..%lld)", ch, s, err, min, max);
	return v;
}
