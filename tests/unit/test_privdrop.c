/* SPDX-License-Identifier: MIT */
/* core/privdrop.h: every call runs in a forked child (a successful drop cannot be
 * undone), which reports back through a pipe. Run as root, the drop itself is tested;
 * as any other user, only that nothing happens. */
#include "tests/unit/unit.h"
#include "core/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* In the child: optionally become uid/gid 'as' first (to test "not root"), call
 * privdrop(user), and describe the outcome in one line. */
static void
child_report(int fd, const char *user, uid_t as)
{
	char err[256] = "untouched";
	char line[512];
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[8];

	if (as != 0) {
		gid_t g = (gid_t)as;
		if (setgroups(1, &g) < 0 || setresgid(g, g, g) < 0 || setresuid(as, as, as) < 0)
			_exit(3);
	}
	int rc = privdrop(user, err, sizeof(err));
	int saved = errno;
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	int ng = getgroups(8, groups);
	int regain = setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0;
	snprintf(line, sizeof(line), "rc=%d uid=%d,%d,%d gid=%d,%d,%d groups=%d:%d regain=%d err=%s",
	    rc, (int)ru, (int)eu, (int)su, (int)rg, (int)eg, (int)sg, ng, ng > 0 ? (int)groups[0] : -1,
	    regain, err);
	(void)saved;
	ssize_t w = write(fd, line, strlen(line));
	_exit(w < 0 ? 4 : 0);
}

static void
run(const char *user, uid_t as, char *out, size_t outlen)
{
	int p[2];
	out[0] = '\0';
	if (pipe(p) < 0) {
		unit_fail(__FILE__, __LINE__, "pipe");
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		child_report(p[1], user, as);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n < outlen - 1 && (r = read(p[0], out + n, outlen - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		unit_fail(__FILE__, __LINE__, "child for '%s' failed (status %d)", user, st);
}

TEST(not_root_does_nothing)
{
	char out[512], want[512];
	/* as root, become nobody first; otherwise we already are someone */
	uid_t as = geteuid() == 0 ? 65534 : 0;
	uid_t u = as ? as : geteuid();
	gid_t g = as ? (gid_t)as : getegid();
	const char *users[] = { "65534:65534", "root", "0", "no-such-user-mtool", "" };
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		run(users[i], as, out, sizeof(out));
		/* rc 0, ids unchanged, err untouched */
		snprintf(want, sizeof(want), "rc=0 uid=%d,%d,%d gid=%d,%d,%d", (int)u, (int)u, (int)u,
		    (int)g, (int)g, (int)g);
		CHECK(strncmp(out, want, strlen(want)) == 0);
		CHECK(strstr(out, "regain=0 err=untouched") != NULL);
		if (strncmp(out, want, strlen(want)) != 0)
			printf("    got: %s\n", out);
	}
}

TEST(root_drops_to_uid_gid)
{
	char out[512];
	if (geteuid() != 0)
		return;
	run("65534:65534", 0, out, sizeof(out));
	CHECK_STR(out, "rc=0 uid=65534,65534,65534 gid=65534,65534,65534 groups=1:65534 regain=0 err=untouched");
	/* UID alone: the group is the same number */
	run("4242", 0, out, sizeof(out));
	CHECK_STR(out, "rc=0 uid=4242,4242,4242 gid=4242,4242,4242 groups=1:4242 regain=0 err=untouched");
	run("4242:4343", 0, out, sizeof(out));
	CHECK_STR(out, "rc=0 uid=4242,4242,4242 gid=4343,4343,4343 groups=1:4343 regain=0 err=untouched");
}

TEST(root_drops_to_named_user)
{
	char out[512], want[512];
	if (geteuid() != 0)
		return;
	struct passwd *pw = getpwnam("nobody");
	if (pw == NULL)
		return;	/* no passwd entry to test with */
	int u = (int)pw->pw_uid, g = (int)pw->pw_gid;
	run("nobody", 0, out, sizeof(out));
	snprintf(want, sizeof(want), "rc=0 uid=%d,%d,%d gid=%d,%d,%d groups=1:%d regain=0 err=untouched",
	    u, u, u, g, g, g, g);
	CHECK_STR(out, want);
}

TEST(root_errors)
{
	char out[512];
	if (geteuid() != 0)
		return;
	/* unknown user: the documented message; nothing changed */
	run("no-such-user-mtool", 0, out, sizeof(out));
	CHECK(strncmp(out, "rc=-1 uid=0,0,0 gid=0,0,0 ", 26) == 0);
	CHECK(strstr(out, " regain=1 err=user 'no-such-user-mtool' not found "
	    "(give UID[:GID] where there is no passwd file)") != NULL);
	/* root, by number or by name, is refused */
	run("0", 0, out, sizeof(out));
	CHECK(strncmp(out, "rc=-1 uid=0,0,0 ", 16) == 0);
	CHECK(strstr(out, "err=refusing to run as root (user '0')") != NULL);
	run("root", 0, out, sizeof(out));
	CHECK(strncmp(out, "rc=-1 uid=0,0,0 ", 16) == 0);
	CHECK(strstr(out, "err=refusing to run as root (user 'root')") != NULL);
	/* a long name that merely starts like a number is a name */
	char name[80];
	snprintf(name, sizeof(name), "%063d%s", 65534, "-not-a-number");
	run(name, 0, out, sizeof(out));
	CHECK(strncmp(out, "rc=-1 uid=0,0,0 ", 16) == 0);
	CHECK(strstr(out, "not found") != NULL);
	run("0:65534", 0, out, sizeof(out));
	CHECK(strncmp(out, "rc=-1 uid=0,0,0 ", 16) == 0);
	CHECK(strstr(out, "err=refusing to run as root") != NULL);
}
