/* SPDX-License-Identifier: MIT */
/* core/opt.h: parsing, usage text, and the exit paths (run in a child whose stdout and
 * stderr are captured). */
#include "tests/unit/unit.h"
#include "core/opt.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct opt opts[] = {
	{ 'd', NULL, "debug: log to stderr, stay in the foreground" },
	{ 'D', NULL, "do not daemonize" },
	{ 'c', "FILE", "configuration file" },
	{ 'o', "KEY=VALUE", "override a setting" },
	{ 0, NULL, NULL },
};

static const struct opt_cmd cmd = {
	"proxyd", "[-dD] [-c FILE] [-o KEY=VALUE]...", "IMAP/POP3 login proxy", opts,
};

static const struct opt opts_h[] = {
	{ 'h', "HOST", "host name" },
	{ 0, NULL, NULL },
};

static const struct opt_cmd cmd_h = { "doveadm proxy list", "[-h HOST]", NULL, opts_h };

static const struct opt no_opts[] = { { 0, NULL, NULL } };
static const struct opt_cmd cmd_none = { "tool", "ARG", NULL, no_opts };

/* Parses argv (NULL-terminated) and writes "letter[=arg] ..." then "| ind" into out. */
static void
parse(const struct opt_cmd *c, char **argv, char *out, size_t outlen)
{
	struct opt_state st;
	int argc = 0, ch;
	size_t len = 0;
	while (argv[argc])
		argc++;
	opt_init(&st, argc, argv);
	out[0] = '\0';
	while ((ch = opt_next(&st, c)) != -1) {
		if (st.arg)
			len += (size_t)snprintf(out + len, outlen - len, "%c=%s ", ch, st.arg);
		else
			len += (size_t)snprintf(out + len, outlen - len, "%c ", ch);
		if (len >= outlen)
			return;
	}
	snprintf(out + len, outlen - len, "| %d", st.ind);
}

#define PARSE(expect, ...) \
	do { \
		char *argv_[] = { "proxyd", __VA_ARGS__, NULL }; \
		char out_[256]; \
		parse(&cmd, argv_, out_, sizeof(out_)); \
		CHECK_STR(out_, expect); \
	} while (0)

TEST(bundled_flags_and_arguments)
{
	PARSE("d D c=FILE | 4", "-dD", "-c", "FILE");
	PARSE("d D c=FILE | 3", "-dD", "-cFILE");
	PARSE("d c=FILE | 2", "-dcFILE");
	PARSE("d c=FILE D | 4", "-dc", "FILE", "-D");
	PARSE("o=a=b o=c=d | 4", "-o", "a=b", "-oc=d");
	/* an option argument may look like an option */
	PARSE("c=-d D | 4", "-c", "-d", "-D");
	PARSE("c=-- | 3", "-c", "--");
	/* the same letter twice is returned twice */
	PARSE("d d | 3", "-d", "-d");
}

TEST(options_end)
{
	/* "--" ends the options and is skipped */
	PARSE("d | 3", "-d", "--", "-D");
	PARSE("| 2", "--", "--");
	/* the first operand ends them: no permutation */
	PARSE("d | 2", "-d", "operand", "-D");
	/* "-" alone is an operand */
	PARSE("| 1", "-", "-d");
	{
		char *argv[] = { "proxyd", NULL };
		char out[64];
		parse(&cmd, argv, out, sizeof(out));
		CHECK_STR(out, "| 1");
	}
	/* st->arg points into argv */
	char arg[] = "FILE";
	char *argv[] = { "proxyd", "-c", arg, NULL };
	struct opt_state st;
	opt_init(&st, 3, argv);
	CHECK_INT(opt_next(&st, &cmd), 'c');
	CHECK(st.arg == arg);
	CHECK_INT(opt_next(&st, &cmd), -1);
	CHECK_INT(st.ind, 3);
	/* -h is an ordinary option when the table has it */
	char *argv_h[] = { "doveadm", "-h", "example.com", "x", NULL };
	char out[64];
	parse(&cmd_h, argv_h, out, sizeof(out));
	CHECK_STR(out, "h=example.com | 3");
}

static char *
usage_text(const struct opt_cmd *c)
{
	static char buf[2048];
	FILE *f = tmpfile();
	if (f == NULL)
		return NULL;
	opt_usage(f, c);
	rewind(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

TEST(usage_format)
{
	CHECK_STR(usage_text(&cmd),
	    "usage: proxyd [-dD] [-c FILE] [-o KEY=VALUE]...\n"
	    "IMAP/POP3 login proxy\n"
	    "\n"
	    "options:\n"
	    "  -d               debug: log to stderr, stay in the foreground\n"
	    "  -D               do not daemonize\n"
	    "  -c FILE          configuration file\n"
	    "  -o KEY=VALUE     override a setting\n");
	/* no summary, no options */
	CHECK_STR(usage_text(&cmd_none), "usage: tool ARG\n");
	CHECK_STR(usage_text(&cmd_h),
	    "usage: doveadm proxy list [-h HOST]\n"
	    "\n"
	    "options:\n"
	    "  -h HOST          host name\n");
}

/* ---- exit paths, in a child ---- */

struct result {
	int status;	/* exit code, or -1 if it did not exit */
	int ret;	/* what the child wrote on its stdout after the call returned */
	char out[2048];
	char err[2048];
};

static void
slurp(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;
	while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

typedef void child_fn(void *);

static void
run_child(child_fn *fn, void *arg, struct result *res)
{
	int po[2], pe[2];
	memset(res, 0, sizeof(*res));
	res->status = -1;
	if (pipe(po) < 0 || pipe(pe) < 0) {
		unit_fail(__FILE__, __LINE__, "pipe");
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		unit_in_child = 1;
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		close(po[0]);
		close(pe[0]);
		close(po[1]);
		close(pe[1]);
		fn(arg);
		/* the function returned: not an exit path */
		fflush(stdout);
		_exit(99);
	}
	close(po[1]);
	close(pe[1]);
	/* the outputs are small: reading one pipe after the other cannot block the child */
	slurp(po[0], res->out, sizeof(res->out));
	slurp(pe[0], res->err, sizeof(res->err));
	close(po[0]);
	close(pe[0]);
	int st;
	if (waitpid(pid, &st, 0) == pid && WIFEXITED(st))
		res->status = WEXITSTATUS(st);
}

static void
child_parse(void *arg)
{
	char **argv = arg;
	char out[256];
	parse(&cmd, argv, out, sizeof(out));
	printf("%s", out);
}

static void
child_parse_h(void *arg)
{
	char **argv = arg;
	char out[256];
	parse(&cmd_h, argv, out, sizeof(out));
	printf("%s", out);
}

TEST(unknown_option_exits_2)
{
	struct result r;
	char *a1[] = { "proxyd", "-d", "-x", NULL };
	run_child(child_parse, a1, &r);
	CHECK_INT(r.status, 2);
	CHECK_STR(r.out, "");
	CHECK_STR(r.err, "proxyd: unknown option '-x' (valid: -d -D -c -o --help)\n");
	/* inside a bundle */
	char *a2[] = { "proxyd", "-dxD", NULL };
	run_child(child_parse, a2, &r);
	CHECK_INT(r.status, 2);
	CHECK_STR(r.err, "proxyd: unknown option '-x' (valid: -d -D -c -o --help)\n");
	/* long options other than --help are unknown, named whole */
	char *a3[] = { "proxyd", "--config=x", NULL };
	run_child(child_parse, a3, &r);
	CHECK_INT(r.status, 2);
	CHECK_STR(r.err, "proxyd: unknown option '--config=x' (valid: -d -D -c -o --help)\n");
}

TEST(missing_argument_exits_2)
{
	struct result r;
	char *a1[] = { "proxyd", "-d", "-c", NULL };
	run_child(child_parse, a1, &r);
	CHECK_INT(r.status, 2);
	CHECK_STR(r.out, "");
	CHECK_STR(r.err, "proxyd: option -c needs an argument FILE\n");
	char *a2[] = { "proxyd", "-dc", NULL };
	run_child(child_parse, a2, &r);
	CHECK_INT(r.status, 2);
	CHECK_STR(r.err, "proxyd: option -c needs an argument FILE\n");
}

TEST(help_exits_0)
{
	struct result r;
	const char *usage = usage_text(&cmd);
	char *a1[] = { "proxyd", "--help", NULL };
	run_child(child_parse, a1, &r);
	CHECK_INT(r.status, 0);
	CHECK_STR(r.out, usage);
	CHECK_STR(r.err, "");
	/* after other options, and -h when the table has no 'h' */
	char *a2[] = { "proxyd", "-d", "-h", NULL };
	run_child(child_parse, a2, &r);
	CHECK_INT(r.status, 0);
	CHECK_STR(r.out, usage);
	/* --help is not looked for after the options end */
	char *a3[] = { "proxyd", "--", "--help", NULL };
	run_child(child_parse, a3, &r);
	CHECK_INT(r.status, 99);
	CHECK_STR(r.out, "| 2");
	/* with 'h' in the table, -h is that option and --help still prints usage */
	char *a4[] = { "doveadm", "--help", NULL };
	run_child(child_parse_h, a4, &r);
	CHECK_INT(r.status, 0);
	CHECK_STR(r.out, usage_text(&cmd_h));
}

static void
child_die(void *arg)
{
	(void)arg;
	opt_die_usage(&cmd, "%s: %d operands", "too many", 3);
}

static void
child_number(void *arg)
{
	long long v = opt_number(&cmd, 'p', arg, 1, 65535);
	printf("%lld", v);
}

TEST(die_usage_and_number)
{
	struct result r;
	run_child(child_die, NULL, &r);
	CHECK_INT(r.status, 2);
	CHECK_STR(r.err, "proxyd: too many: 3 operands (usage: proxyd [-dD] [-c FILE] [-o KEY=VALUE]...)\n");
	run_child(child_number, "143", &r);
	CHECK_INT(r.status, 99);
	CHECK_STR(r.out, "143");
	CHECK_STR(r.err, "");
	run_child(child_number, "65536", &r);
	CHECK_INT(r.status, 2);
	CHECK(strncmp(r.err, "proxyd: -p: ", 12) == 0);
	CHECK(strstr(r.err, "65536") != NULL);
	CHECK(strstr(r.err, "too large") != NULL);
	CHECK(strstr(r.err, "(usage: proxyd ") != NULL);
	run_child(child_number, "0", &r);
	CHECK_INT(r.status, 2);
	CHECK(strstr(r.err, "too small") != NULL);
	run_child(child_number, "12x", &r);
	CHECK_INT(r.status, 2);
	CHECK(strstr(r.err, "invalid") != NULL);
}
