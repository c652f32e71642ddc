/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmdopt.c: GNU getopt_long() as doveadm drives it for a command's
 * parameters (doveadm-cmd.c): permuting, with glibc's error texts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets/doveadm/cmdopt.h"
#include "applets/doveadm/doveadm.h"

struct parse {
	int argc;
	char **argv;
	int ind;	/* next argv element */
	const struct cmdopt *opts;
	size_t nopts;
	struct cmdopt_val *vals;
};

static void
val_add(struct cmdopt_val *v, const struct cmdopt *o, const char *arg)
{
	v->set = 1;
	if (o->type == CMDOPT_STR)
		v->str = arg;
	if (o->type != CMDOPT_ARRAY)
		return;
	const char **a = realloc(v->arr, (v->narr + 2) * sizeof(*a));
	if (a == NULL)
		dv_fatal("Out of memory");
	a[v->narr++] = arg;
	a[v->narr] = NULL;
	v->arr = a;
}

/* getopt_long()'s "val": options without a letter all share 0, which matters for
 * what glibc calls an ambiguous abbreviation */
static int
same_kind(const struct cmdopt *a, const struct cmdopt *b)
{
	return (a->type == CMDOPT_BOOL) == (b->type == CMDOPT_BOOL) && a->ch == b->ch;
}

/* "--name[=value]" at argv[ind - 1]; text points after the dashes */
static int
parse_long(struct parse *ps, const char *text)
{
	const char *argv0 = ps->argv[0];
	size_t namelen = strcspn(text, "=");
	size_t found = ps->nopts, i;
	int ambiguous = 0;

	for (i = 0; i < ps->nopts; i++) {
		if (strlen(ps->opts[i].name) == namelen &&
		    strncmp(ps->opts[i].name, text, namelen) == 0) {
			found = i;
			break;
		}
	}
	if (found == ps->nopts) {
		for (i = 0; i < ps->nopts; i++) {
			if (strncmp(ps->opts[i].name, text, namelen) != 0)
				continue;
			if (found == ps->nopts)
				found = i;
			else if (!same_kind(&ps->opts[found], &ps->opts[i]))
				ambiguous = 1;
		}
	}
	if (ambiguous) {
		fprintf(stderr, "%s: option '--%s' is ambiguous; possibilities:", argv0, text);
		for (i = 0; i < ps->nopts; i++) {
			if (strncmp(ps->opts[i].name, text, namelen) == 0)
				fprintf(stderr, " '--%s'", ps->opts[i].name);
		}
		fputc('\n', stderr);
		return -1;
	}
	if (found == ps->nopts) {
		fprintf(stderr, "%s: unrecognized option '--%s'\n", argv0, text);
		return -1;
	}
	const struct cmdopt *o = &ps->opts[found];
	const char *arg = NULL;
	if (text[namelen] == '=') {
		if (o->type == CMDOPT_BOOL) {
			fprintf(stderr, "%s: option '--%s' doesn't allow an argument\n", argv0, o->name);
			return -1;
		}
		arg = text + namelen + 1;
	} else if (o->type != CMDOPT_BOOL) {
		if (ps->ind >= ps->argc) {
			fprintf(stderr, "%s: option '--%s' requires an argument\n", argv0, o->name);
			return -1;
		}
		arg = ps->argv[ps->ind++];
	}
	val_add(&ps->vals[found], o, arg);
	return 0;
}

/* a cluster of short options "-1a/path" at argv[ind - 1]; text points after the '-' */
static int
parse_short(struct parse *ps, const char *text)
{
	for (; *text != '\0'; text++) {
		size_t i;
		for (i = 0; i < ps->nopts; i++) {
			if (ps->opts[i].ch != 0 && ps->opts[i].ch == *text)
				break;
		}
		if (i == ps->nopts) {
			fprintf(stderr, "%s: invalid option -- '%c'\n", ps->argv[0], *text);
			return -1;
		}
		if (ps->opts[i].type == CMDOPT_BOOL) {
			val_add(&ps->vals[i], &ps->opts[i], NULL);
			continue;
		}
		const char *arg = text + 1;
		if (*arg == '\0') {
			if (ps->ind >= ps->argc) {
				fprintf(stderr, "%s: option requires an argument -- '%c'\n",
				    ps->argv[0], *text);
				return -1;
			}
			arg = ps->argv[ps->ind++];
		}
		val_add(&ps->vals[i], &ps->opts[i], arg);
		return 0;
	}
	return 0;
}

int
cmdopt_parse(int argc, char **argv, const struct cmdopt *opts, size_t nopts,
    struct cmdopt_val *vals)
{
	struct parse ps = { argc, argv, 1, opts, nopts, vals };
	char **operands = calloc((size_t)argc + 1, sizeof(*operands));
	size_t noperands = 0;
	int ret = 0;

	if (operands == NULL)
		dv_fatal("Out of memory");
	memset(vals, 0, nopts * sizeof(*vals));
	while (ret == 0 && ps.ind < argc) {
		char *a = argv[ps.ind++];
		if (strcmp(a, "--") == 0) {
			while (ps.ind < argc)
				operands[noperands++] = argv[ps.ind++];
		} else if (a[0] == '-' && a[1] == '-') {
			ret = parse_long(&ps, a + 2);
		} else if (a[0] == '-' && a[1] != '\0') {
			ret = parse_short(&ps, a + 1);
		} else {
			operands[noperands++] = a;	/* GNU getopt permutes operands last */
		}
	}
	for (size_t k = 0; ret == 0 && k < noperands; k++) {
		size_t i;
		for (i = 0; i < nopts; i++) {
			if (opts[i].positional && (!vals[i].set || opts[i].type == CMDOPT_ARRAY))
				break;
		}
		if (i == nopts) {
			fputs("Error: Extraneous arguments found:", stderr);
			for (; k < noperands; k++)
				fprintf(stderr, " %s", operands[k]);
			fputc('\n', stderr);
			ret = -1;
			break;
		}
		val_add(&vals[i], &opts[i], operands[k]);
	}
	free(operands);
	if (ret < 0)
		cmdopt_free(vals, nopts);
	return ret;
}

void
cmdopt_free(struct cmdopt_val *vals, size_t nopts)
{
	for (size_t i = 0; i < nopts; i++) {
		free(vals[i].arr);
		vals[i].arr = NULL;
		vals[i].narr = 0;
	}
}
