/* SPDX-License-Identifier: MIT */
/* The unit-test runner: runs every registered test, or those whose "file:name" contains
 * one of the arguments; "-l" lists them. Exit 1 if any failed. */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/unit.h"

static struct unit_test *tests;
static int current_failed;
int unit_in_child;

/* LeakSanitizer asks this before its check at exit (unused without a sanitizer). */
int __lsan_is_turned_off(void);
int
__lsan_is_turned_off(void)
{
	return unit_in_child;
}

void
unit_register(struct unit_test *t)
{
	/* keep the list sorted by file, then name, so the order is stable */
	struct unit_test **p = &tests;
	while (*p && (strcmp((*p)->file, t->file) < 0 ||
	    (strcmp((*p)->file, t->file) == 0 && strcmp((*p)->name, t->name) < 0)))
		p = &(*p)->next;
	t->next = *p;
	*p = t;
}

void
unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	printf("  %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	current_failed = 1;
}

static struct {
	FILE *f;
	int saved;
} capture = { NULL, -1 };

void
unit_stderr_begin(void)
{
	if (capture.f != NULL) {
		unit_fail(__FILE__, __LINE__, "nested stderr capture");
		return;
	}
	fflush(stderr);
	capture.f = tmpfile();
	capture.saved = dup(STDERR_FILENO);
	if (capture.f == NULL || capture.saved < 0 ||
	    dup2(fileno(capture.f), STDERR_FILENO) < 0) {
		printf("cannot capture stderr\n");
		exit(1);
	}
}

const char *
unit_stderr_end(void)
{
	static char text[64 * 1024];
	size_t n = 0;

	if (capture.f == NULL)
		return "";
	fflush(stderr);
	dup2(capture.saved, STDERR_FILENO);
	close(capture.saved);
	rewind(capture.f);
	n = fread(text, 1, sizeof(text) - 1, capture.f);
	text[n] = '\0';
	fclose(capture.f);
	capture.f = NULL;
	return text;
}

static const char *
short_file(const char *f)
{
	const char *s = strrchr(f, '/');
	return s ? s + 1 : f;
}

/* Arguments select tests whose "file:name" contains one of them; "-x ID" leaves out the
 * test whose id is exactly ID (cross builds: what an emulator cannot run). */
static int
selected(const struct unit_test *t, int argc, char **argv)
{
	char id[256];
	int any = 0, hit = 0;
	snprintf(id, sizeof(id), "%s:%s", short_file(t->file), t->name);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-x") == 0 && i + 1 < argc) {
			if (strcmp(id, argv[++i]) == 0)
				return 0;
			continue;
		}
		any = 1;
		hit |= strstr(id, argv[i]) != NULL;
	}
	return !any || hit;
}

int
main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	if (argc == 2 && strcmp(argv[1], "-l") == 0) {
		for (struct unit_test *t = tests; t; t = t->next)
			printf("%s:%s\n", short_file(t->file), t->name);
		return 0;
	}
	for (struct unit_test *t = tests; t; t = t->next) {
		if (!selected(t, argc, argv))
			continue;
		current_failed = 0;
		fflush(stdout);
		t->fn();
		printf("%s %s:%s\n", current_failed ? "FAIL" : "ok  ", short_file(t->file), t->name);
		if (current_failed)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
