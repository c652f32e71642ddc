/* SPDX-License-Identifier: MIT */
#include "core/proctitle.h"

#include <stdlib.h>
#include <string.h>

extern char **environ;

static char *area;	/* where the title goes; NULL: no room or not initialised */
static size_t area_len;

static char *
copy(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

int
proctitle_init(int argc, char **argv)
{
	char *start, *end, **args, **env;
	size_t nenv = 0;

	if (area != NULL || argc < 2)
		return 0;
	start = argv[1];
	end = start;
	/* the run of contiguous strings: argv's, then environ's when they follow */
	for (int i = 1; i < argc; i++) {
		if (argv[i] != end)
			return 0;
		end += strlen(argv[i]) + 1;
	}
	while (environ != NULL && environ[nenv] != NULL)
		nenv++;
	args = calloc((size_t)argc, sizeof(*args));
	env = calloc(nenv + 1, sizeof(*env));
	if (args == NULL || env == NULL)
		goto oom;
	for (size_t i = 0; i < nenv; i++) {
		if ((env[i] = copy(environ[i])) == NULL)
			goto oom;
		if (environ[i] == end)
			end += strlen(environ[i]) + 1;
	}
	for (int i = 1; i < argc; i++)
		if ((args[i] = copy(argv[i])) == NULL)
			goto oom;
	/* the originals are the title's space now; the copies live as long as we do */
	for (int i = 1; i < argc; i++)
		argv[i] = args[i];
	free(args);
	environ = env;
	area = start;
	area_len = (size_t)(end - start);
	return 0;
oom:
	for (size_t i = 0; env != NULL && i < nenv; i++)
		free(env[i]);
	for (int i = 1; args != NULL && i < argc; i++)
		free(args[i]);
	free(env);
	free(args);
	return -1;
}

void
proctitle_set(const char *title)
{
	size_t n;

	if (area == NULL || area_len < 2)
		return;
	n = strlen(title);
	if (n > area_len - 1)
		n = area_len - 1;
	memcpy(area, title, n);
	memset(area + n, '\0', area_len - n);
}
