/* SPDX-License-Identifier: MIT */
/* main.c: pick the applet from basename(argv[0]) or argv[1]; --list, --install, --help, --version.
 * An applet left out of this build (mk/features.mk) keeps its name only, to say so. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "applets/applets.h"
#include "core/str.h"

struct applet {
	const char *name;
	int (*main)(int, char **);	/* NULL: not in this build */
	const char *summary;
};

static const struct applet applets[] = {
#define X(name, in, summary) { #name, (in) ? name##_main : NULL, summary },
	MTOOL_APPLETS(X)
#undef X
};
#define NAPPLETS (sizeof(applets) / sizeof(applets[0]))

static const struct applet *
applet_find(const char *name)
{
	for (size_t i = 0; i < NAPPLETS; i++)
		if (strcmp(applets[i].name, name) == 0)
			return &applets[i];
	return NULL;
}

static void
applet_names(FILE *f, const char *sep)
{
	const char *s = "";
	for (size_t i = 0; i < NAPPLETS; i++)
		if (applets[i].main) {
			fprintf(f, "%s%s", s, applets[i].name);
			s = sep;
		}
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: mtool APPLET [ARGS]...  or  APPLET [ARGS]... (via a link named APPLET)\n"
	    "       mtool --list | --install [-s] DIR | --help | --version\n\napplets:\n");
	for (size_t i = 0; i < NAPPLETS; i++)
		if (applets[i].main)
			fprintf(f, "  %-12s %s\n", applets[i].name, applets[i].summary);
	fprintf(f, "\n'mtool APPLET --help' describes one applet.\n");
}

static void
bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "mtool: %s '%s' (applets: ", what, arg);
	applet_names(stderr, ", ");
	fprintf(stderr, "; options: --list, --install [-s] DIR, --help, --version)\n");
}

/* The empty-root test has no /proc, so fall back to argv[0] when it names a path. */
static int
self_path(const char *argv0, char *out, size_t outlen)
{
	ssize_t n = readlink("/proc/self/exe", out, outlen - 1);
	if (n > 0) {
		out[n] = '\0';
		return 0;
	}
	if (strchr(argv0, '/') == NULL)
		return -1;
	if (argv0[0] == '/')
		return str_copy(out, argv0, outlen) < outlen ? 0 : -1;
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	return str_fmt(out, outlen, "%s/%s", cwd, argv0) < outlen ? 0 : -1;
}

static int
install_links(const char *argv0, int symbolic, const char *dir)
{
	char self[PATH_MAX], link_path[PATH_MAX];
	int failed = 0;

	if (self_path(argv0, self, sizeof(self)) < 0) {
		fprintf(stderr, "mtool: --install: cannot find my own path (no /proc and argv[0] '%s' has no '/')\n", argv0);
		return 1;
	}
	for (size_t i = 0; i < NAPPLETS; i++) {
		if (applets[i].main == NULL)
			continue;
		if (str_fmt(link_path, sizeof(link_path), "%s/%s", dir, applets[i].name) >= sizeof(link_path)) {
			fprintf(stderr, "mtool: --install: path too long: %s/%s\n", dir, applets[i].name);
			failed = 1;
			continue;
		}
		int r = symbolic ? symlink(self, link_path) : link(self, link_path);
		if (r < 0) {
			fprintf(stderr, "mtool: --install: %s: %s\n", link_path, strerror(errno));
			failed = 1;
		}
	}
	return failed;
}

static int
run_applet(const struct applet *a, int argc, char **argv)
{
	if (a->main == NULL) {
		fprintf(stderr, "mtool: %s: not in this build (profile %s)\n", a->name, MTOOL_PROFILE);
		return 2;
	}
	argv[0] = (char *)a->name;
	return a->main(argc, argv);
}

int
main(int argc, char **argv)
{
	const char *base = argc > 0 && argv[0] ? argv[0] : "mtool";
	const char *slash = strrchr(base, '/');
	const struct applet *a;

	if (slash)
		base = slash + 1;
	if ((a = applet_find(base)) != NULL)
		return run_applet(a, argc, argv);

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if ((a = applet_find(cmd)) != NULL)
		return run_applet(a, argc - 1, argv + 1);
	if (strcmp(cmd, "--list") == 0 && argc == 2) {
		applet_names(stdout, "\n");
		putchar('\n');
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("mtool %s (profile %s: %s)\n", MTOOL_VERSION, MTOOL_PROFILE, MTOOL_FEATURES);
		return 0;
	}
	if (strcmp(cmd, "--install") == 0) {
		int symbolic = argc == 4 && strcmp(argv[2], "-s") == 0;
		if (argc != 3 + symbolic) {
			fprintf(stderr, "mtool: usage: mtool --install [-s] DIR\n");
			return 2;
		}
		return install_links(argv[0], symbolic, argv[2 + symbolic]);
	}
	bad_usage(cmd[0] == '-' ? "unknown option" : "unknown applet", cmd);
	return 2;
}
