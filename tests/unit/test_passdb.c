/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/feature.h"
#include "core/passdb.h"
#include "core/passwd_file.h"
#include "core/str.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A scratch directory per test, removed at the end. */
struct scratch {
	char dir[64];
	char path[16][128];
	int n;
};

static void
scratch_init(struct scratch *s)
{
	s->n = 0;
	str_copy(s->dir, "/tmp/mtool-passdb-XXXXXX", sizeof(s->dir));
	if (mkdtemp(s->dir) == NULL)
		unit_fail(__FILE__, __LINE__, "mkdtemp failed");
}

static const char *
scratch_file(struct scratch *s, const char *name, const char *text)
{
	char *p = s->path[s->n < 16 ? s->n++ : 15];
	FILE *f;

	str_fmt(p, 128, "%s/%s", s->dir, name);
	f = fopen(p, "w");
	if (f == NULL) {
		unit_fail(__FILE__, __LINE__, "cannot write %s", p);
		return p;
	}
	fputs(text, f);
	fclose(f);
	return p;
}

static void
scratch_free(struct scratch *s)
{
	char cmd[128];

	str_fmt(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd) != 0)
		unit_fail(__FILE__, __LINE__, "cannot remove %s", s->dir);
}

static struct passdb_chain *
chain_of(const char *driver, const char *args)
{
	struct passdb_chain *c = passdb_chain_new();
	const char *err;

	if (passdb_chain_add(c, driver, args, NULL, NULL, NULL, &err) < 0)
		unit_fail(__FILE__, __LINE__, "passdb_chain_add(%s, %s): %s", driver, args, err);
	return c;
}

static enum passdb_status
lookup(struct passdb_chain *c, const char *user, const char *pass, const char *rip,
    struct passdb_result *r)
{
	struct passdb_request req = { user, pass, "imap", rip, "10.0.0.1", 51234, 143, "sEss" };

	passdb_chain_lookup(c, &req, r);
	return r->status;
}

static const char users[] =
    "# comment line\n"
    "\n"
    ":nobody:here\n"
    "alice:{PLAIN}alicepw::::::proxy host=192.0.2.1 port=1143 destuser=%n@%d\n"
    "bob:{SHA256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=:1000:1000:Bob B:/home/bob:/bin/sh:"
    "proxy host=192.0.2.2 forward_note=a:b:c userdb_quota=1G empty=\n"
    "alice:{PLAIN}second::::::host=192.0.2.99\n"
    "carol:$1$GenWXNxI$UzKYZDGn43ZgmCgyzhZs./::::::nologin reason=Gone\n"
    "dave:Wc4nUPuP4hteA:::::::mail=maildir:~/Maildir\n"
    "erin\n"
    "frank:::::::nopassword proxy\n"
    "gina:{PLAIN}ginapw::::::nopassword\n"
    "hank:{PLAIN}hankpw::::::allow_nets=192.0.2.0/24,local,bogus host=h\n"
    "ivan:{PLAIN}ivanpw::::::fail=yes host=h\n"
    "judy:{PLAIN}judypw::::::user=Judy@Example.ORG nodelay host=%u\n"
    "kim:5ebe2294ecd0e0f08eab7690d2a6ee69[34]\n"
    "lee:{PLAIN}leepw\r\n"
    "mo:{PLAIN}mopw::::::host=a host=b\n"
    "ned:{PLAIN}nedpw::::::host=%{nosuch}\n"
    "no-newline-at-end:{PLAIN}x";

TEST(passwd_file_lookups)
{
	/* the expected failures are logged; they must be, and not on the terminal */
	unit_stderr_begin();
	struct scratch s;
	struct passdb_chain *c;
	struct passdb_result r;
	char args[256];

	scratch_init(&s);
	str_fmt(args, sizeof(args), "%s", scratch_file(&s, "users", users));
	c = chain_of("passwd-file", args);

	CHECK_INT(lookup(c, "alice", "alicepw", "192.0.2.7", &r), PASSDB_OK);
	CHECK_STR(r.user, "alice");
	CHECK_INT(r.nfields, 4);
	CHECK_STR(r.fields[0].key, "proxy");
	CHECK(r.fields[0].value == NULL);
	CHECK_STR(passdb_field(&r, "proxy"), "");
	CHECK_STR(passdb_field(&r, "host"), "192.0.2.1");	/* the first line wins */
	CHECK_STR(passdb_field(&r, "port"), "1143");
	CHECK_STR(passdb_field(&r, "destuser"), "alice@");
	CHECK(passdb_field(&r, "password") == NULL);
	CHECK(passdb_field(&r, "nologin") == NULL);
	passdb_result_free(&r);

	CHECK_INT(lookup(c, "alice", "second", NULL, &r), PASSDB_PASSWORD_MISMATCH);
	CHECK_INT(r.nfields, 0);	/* a failed passdb's fields are dropped */
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "Alice", "alicepw", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "nobody", "", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "", "", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);

	/* colons stay in values; userdb_ fields are not for a proxy; "empty=" has no value */
	CHECK_INT(lookup(c, "bob", "secret", NULL, &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "forward_note"), "a:b:c");
	CHECK(passdb_field(&r, "userdb_quota") == NULL);
	CHECK_STR(passdb_field(&r, "empty"), "");
	CHECK(r.fields[r.nfields - 1].value == NULL);
	passdb_result_free(&r);

	/* "$1$" without a prefix; nologin is the caller's business */
	CHECK_INT(lookup(c, "carol", "secret", NULL, &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "nologin"), "");
	CHECK_STR(passdb_field(&r, "reason"), "Gone");
	passdb_result_free(&r);

	/* default scheme CRYPT; the legacy 9th field is userdb-only */
	CHECK_INT(lookup(c, "dave", "secret", NULL, &r), FEATURE_ON(MTOOL_WITH_DES_CRYPT) ?
	    PASSDB_OK : PASSDB_PASSWORD_MISMATCH);	/* DES crypt is a feature */
	CHECK_INT(r.nfields, 0);
	passdb_result_free(&r);

	/* a user without a password field never matches, except with nopassword */
	CHECK_INT(lookup(c, "erin", "", NULL, &r), PASSDB_PASSWORD_MISMATCH);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "frank", "anything", NULL, &r), PASSDB_OK);
	CHECK(passdb_field(&r, "nopassword") == NULL);
	CHECK_STR(passdb_field(&r, "proxy"), "");
	passdb_result_free(&r);
	/* nopassword with a password set is an error, and ignored */
	CHECK_INT(lookup(c, "gina", "anything", NULL, &r), PASSDB_PASSWORD_MISMATCH);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "gina", "ginapw", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);

	/* allow_nets, with "local" for an unknown remote IP; fail=yes */
	CHECK_INT(lookup(c, "hank", "hankpw", "192.0.2.200", &r), PASSDB_OK);
	CHECK(passdb_field(&r, "allow_nets") == NULL);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "hank", "hankpw", "198.51.100.1", &r), PASSDB_USER_UNKNOWN);
	CHECK_INT(r.nfields, 0);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "hank", "hankpw", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "hank", "wrong", "198.51.100.1", &r), PASSDB_PASSWORD_MISMATCH);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "ivan", "ivanpw", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);

	/* user= renames; values were expanded for the name before the line's renames */
	CHECK_INT(lookup(c, "judy", "judypw", NULL, &r), PASSDB_OK);
	CHECK_STR(r.user, "Judy@Example.ORG");
	CHECK_STR(passdb_field(&r, "host"), "judy");
	CHECK(passdb_field(&r, "user") == NULL);
	passdb_result_free(&r);

	/* libpam-pwdfile's password[34] is PLAIN-MD5; CRLF; last line without LF */
	CHECK_INT(lookup(c, "kim", "secret", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "lee", "leepw", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "no-newline-at-end", "x", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);

	/* a key twice: the later value, in the first one's place */
	CHECK_INT(lookup(c, "mo", "mopw", NULL, &r), PASSDB_OK);
	CHECK_INT(r.nfields, 1);
	CHECK_STR(passdb_field(&r, "host"), "b");
	passdb_result_free(&r);

	/* a bad variable in the file: internal failure */
	CHECK_INT(lookup(c, "ned", "nedpw", NULL, &r), PASSDB_INTERNAL_FAILURE);
	passdb_result_free(&r);

	/* a lookup without a password (LMTP) */
	CHECK_INT(lookup(c, "alice", NULL, NULL, &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "host"), "192.0.2.1");
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "erin", NULL, NULL, &r), PASSDB_OK);
	passdb_result_free(&r);

	passdb_chain_free(c);
	scratch_free(&s);

	const char *log = unit_stderr_end();
	CHECK_CONTAINS(log, "users: User alice exists more than once");
	CHECK_CONTAINS(log, "passwd-file(gina,<sEss>): nopassword set but password is non-empty");
	CHECK_CONTAINS(log, "passwd-file(hank,198.51.100.1,<sEss>): allow_nets: Invalid network 'bogus'");
	CHECK_CONTAINS(log, "passwd-file(hank,198.51.100.1,<sEss>): allow_nets check failed: IP 198.51.100.1 not in allowed networks");
	CHECK_CONTAINS(log, "passwd-file(ned,<sEss>): Failed to expand extra field host=%{nosuch}: Unknown variable '%nosuch'");
}

TEST(passwd_file_args)
{
	struct scratch s;
	struct passdb_chain *c;
	struct passdb_result r;
	char args[256];
	const char *path;

	scratch_init(&s);
	path = scratch_file(&s, "users",
	    "alice:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\n"
	    "bob@example.com:{PLAIN}bobpw\n");
	str_fmt(args, sizeof(args), "scheme=SHA256 username_format=%%Ln %s", path);
	c = chain_of("passwd-file", args);
	CHECK_INT(lookup(c, "ALICE@example.com", "secret", NULL, &r), PASSDB_OK);
	CHECK_STR(r.user, "ALICE@example.com");
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "alice", "Secret", NULL, &r), PASSDB_PASSWORD_MISMATCH);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* username_format's values are escaped as Dovecot's str_escape does */
	str_fmt(args, sizeof(args), "username_format=%%u %s", path);
	c = chain_of("passwd-file", args);
	CHECK_INT(lookup(c, "bob@example.com", "bobpw", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	passdb_chain_free(c);
	scratch_free(&s);
}

TEST(passwd_file_reload)
{
	/* the expected failures are logged; they must be, and not on the terminal */
	unit_stderr_begin();
	struct scratch s;
	struct passdb_chain *c;
	struct passdb_result r;
	char tmp[160];
	const char *path;
	int fd;

	scratch_init(&s);
	path = scratch_file(&s, "users", "alice:{PLAIN}one\n");
	c = chain_of("passwd-file", path);
	CHECK_INT(lookup(c, "alice", "one", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);

	/* a new size: read again */
	scratch_file(&s, "users", "alice:{PLAIN}two::::::host=x\n");
	CHECK_INT(lookup(c, "alice", "two", NULL, &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "host"), "x");
	passdb_result_free(&r);

	/* same size, new inode (the usual atomic rename) */
	str_fmt(tmp, sizeof(tmp), "%s/users.new", s.dir);
	scratch_file(&s, "users.new", "alice:{PLAIN}333::::::host=y\n");
	CHECK_INT(rename(tmp, path), 0);
	CHECK_INT(lookup(c, "alice", "333", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);

	/* too large to read: the old users stay */
	fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	CHECK_INT(ftruncate(fd, PASSWD_FILE_SIZE_MAX + 1), 0);
	close(fd);
	CHECK_INT(lookup(c, "alice", "333", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);

	/* gone: unknown users; back: known again */
	CHECK_INT(unlink(path), 0);
	CHECK_INT(lookup(c, "alice", "333", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "alice", "333", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);
	scratch_file(&s, "users", "alice:{PLAIN}four\n");
	CHECK_INT(lookup(c, "alice", "four", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* a file missing at start-up is no configuration error */
	str_fmt(tmp, sizeof(tmp), "%s/not-yet", s.dir);
	c = chain_of("passwd-file", tmp);
	CHECK_INT(lookup(c, "alice", "four", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);
	scratch_file(&s, "not-yet", "alice:{PLAIN}four\n");
	CHECK_INT(lookup(c, "alice", "four", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	passdb_chain_free(c);
	scratch_free(&s);

	const char *log = unit_stderr_end();
	CHECK_CONTAINS(log, "users: file is 67108865 bytes, more than the 67108864 allowed");
	CHECK_CONTAINS(log, "users: keeping the users read before");
	CHECK_CONTAINS(log, "users: missing passwd file");
	CHECK_CONTAINS(log, "not-yet: missing passwd file");
}

TEST(passwd_file_per_domain)
{
	/* the expected failures are logged; they must be, and not on the terminal */
	unit_stderr_begin();
	struct scratch s;
	struct passdb_chain *c;
	struct passdb_result r;
	char args[256], dir[128];

	scratch_init(&s);
	str_fmt(dir, sizeof(dir), "%s/example.com", s.dir);
	CHECK_INT(mkdir(dir, 0700), 0);
	str_fmt(dir, sizeof(dir), "%s/example.org", s.dir);
	CHECK_INT(mkdir(dir, 0700), 0);
	scratch_file(&s, "example.com/passwd", "alice:{PLAIN}com\n");
	scratch_file(&s, "example.org/passwd", "alice:{PLAIN}org\n");
	scratch_file(&s, "passwd", "alice:{PLAIN}top\n");
	str_fmt(args, sizeof(args), "username_format=%%n %s/%%Ld/passwd", s.dir);
	c = chain_of("passwd-file", args);

	CHECK_INT(lookup(c, "alice@Example.COM", "com", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "alice@example.org", "org", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "alice@example.org", "com", NULL, &r), PASSDB_PASSWORD_MISMATCH);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "alice@example.net", "com", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);
	/* a '/' in a value cuts it; ".." from a value is refused */
	CHECK_INT(lookup(c, "alice@example.com/../../etc", "com", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "alice@..", "top", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "alice@example.com\n", "com", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);
	/* as in Dovecot, an empty domain makes "dir//passwd", the top-level file */
	CHECK_INT(lookup(c, "alice@", "top", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* "%%" alone is no variable: the path is fixed */
	scratch_file(&s, "100%", "alice:{PLAIN}pct\n");
	str_fmt(args, sizeof(args), "%s/100%%%%", s.dir);
	c = chain_of("passwd-file", args);
	CHECK_INT(lookup(c, "alice", "pct", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	passdb_chain_free(c);
	scratch_free(&s);

	const char *log = unit_stderr_end();
	CHECK_CONTAINS(log, "example.net/passwd: missing passwd file");
	CHECK_CONTAINS(log, "passwd-file(alice@..,<sEss>): passwd-file path ");
	CHECK_CONTAINS(log, "/../passwd: refused");
	CHECK_CONTAINS(log, "passwd-file(alice@example.com?,<sEss>): passwd-file path ");
	CHECK_CONTAINS(log, "/example.com?/passwd: refused");
}

TEST(static_driver)
{
	/* the expected failures are logged; they must be, and not on the terminal */
	unit_stderr_begin();
	struct passdb_chain *c;
	struct passdb_result r;

	c = chain_of("static", "proxy=y host=%Ld.backend port=993 ssl=any-cert nopassword");
	CHECK_INT(lookup(c, "joe@Example.ORG", "whatever", NULL, &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "proxy"), "y");
	CHECK_STR(passdb_field(&r, "host"), "example.org.backend");
	CHECK_STR(passdb_field(&r, "ssl"), "any-cert");
	CHECK(passdb_field(&r, "nopassword") == NULL);
	CHECK_INT(r.nfields, 4);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "joe", NULL, NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	passdb_chain_free(c);

	c = chain_of("static", "password=secret proxy host=h");
	CHECK_INT(lookup(c, "joe", "secret", NULL, &r), PASSDB_OK);
	CHECK(passdb_field(&r, "password") == NULL);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "joe", "Secret", NULL, &r), PASSDB_PASSWORD_MISMATCH);
	CHECK_INT(r.nfields, 0);
	passdb_result_free(&r);
	passdb_chain_free(c);

	c = chain_of("static", "password={SHA256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=");
	CHECK_INT(lookup(c, "joe", "secret", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* neither password nor nopassword: nothing matches, not even a lookup */
	c = chain_of("static", "proxy host=h");
	CHECK_INT(lookup(c, "joe", "x", NULL, &r), PASSDB_PASSWORD_MISMATCH);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "joe", NULL, NULL, &r), PASSDB_PASSWORD_MISMATCH);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* allow_nets as a static field */
	c = chain_of("static", "nopassword allow_nets=10.0.0.0/8,::1");
	CHECK_INT(lookup(c, "joe", "x", "10.1.2.3", &r), PASSDB_OK);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "joe", "x", "::1", &r), PASSDB_OK);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "joe", "x", "192.0.2.1", &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "joe", "x", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* renames */
	c = chain_of("static", "nopassword domain=new.example");
	CHECK_INT(lookup(c, "joe@old.example", "x", NULL, &r), PASSDB_OK);
	CHECK_STR(r.user, "joe@new.example");
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "joe", "x", NULL, &r), PASSDB_OK);
	CHECK_STR(r.user, "joe@new.example");
	passdb_result_free(&r);
	passdb_chain_free(c);
	c = chain_of("static", "nopassword username=%Un");
	CHECK_INT(lookup(c, "joe@old.example", "x", NULL, &r), PASSDB_OK);
	CHECK_STR(r.user, "JOE@old.example");
	passdb_result_free(&r);
	passdb_chain_free(c);
	c = chain_of("static", "nopassword user=");
	CHECK_INT(lookup(c, "joe", "x", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);
	passdb_chain_free(c);

	const char *log = unit_stderr_end();
	CHECK_CONTAINS(log, "static(joe,<sEss>): No password returned (and no nopassword)");
	CHECK_CONTAINS(log, "static(joe,192.0.2.1,<sEss>): allow_nets check failed: IP 192.0.2.1 not in allowed networks");
	CHECK_CONTAINS(log, "static(joe,<sEss>): allow_nets check failed: Remote IP not known and 'local' missing");
	CHECK_CONTAINS(log, "static(joe,<sEss>): username attempted to be changed to empty");
}

static struct passdb_chain *
chain2(const char *d1, const char *a1, const char *s1, const char *f1, const char *d2,
    const char *a2, const char *s2, const char *f2)
{
	struct passdb_chain *c = passdb_chain_new();
	const char *err;

	if (passdb_chain_add(c, d1, a1, s1, f1, NULL, &err) < 0 ||
	    passdb_chain_add(c, d2, a2, s2, f2, NULL, &err) < 0)
		unit_fail(__FILE__, __LINE__, "passdb_chain_add: %s", err);
	return c;
}

TEST(chain_rules)
{
	/* the expected failures are logged; they must be, and not on the terminal */
	unit_stderr_begin();
	struct scratch s;
	struct passdb_chain *c;
	struct passdb_result r;
	const char *users_path;

	scratch_init(&s);
	users_path = scratch_file(&s, "users",
	    "alice:{PLAIN}alicepw::::::host=file nodelay\n"
	    "bob:{PLAIN}bobpw::::::host=file fail=yes\n");

	/* defaults: a failure continues, a success returns */
	c = chain2("passwd-file", users_path, NULL, NULL,
	    "static", "password=fallback host=static", NULL, NULL);
	CHECK_INT(lookup(c, "alice", "alicepw", NULL, &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "host"), "file");
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "alice", "fallback", NULL, &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "host"), "static");
	CHECK(passdb_field(&r, "nodelay") == NULL);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "nobody", "fallback", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "nobody", "x", NULL, &r), PASSDB_PASSWORD_MISMATCH);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* continue after a success: fields add up, the password is not checked again */
	c = chain2("passwd-file", users_path, "continue", NULL,
	    "static", "password=other host=static proxy", NULL, NULL);
	CHECK_INT(lookup(c, "alice", "alicepw", NULL, &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "host"), "static");
	CHECK_STR(passdb_field(&r, "nodelay"), "");
	CHECK_STR(passdb_field(&r, "proxy"), "");
	CHECK_STR(r.fields[0].key, "host");
	passdb_result_free(&r);
	/* a mismatch in the first continues (the default failure rule) to the second */
	CHECK_INT(lookup(c, "alice", "other", NULL, &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "host"), "static");
	CHECK(passdb_field(&r, "nodelay") == NULL);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "alice", "neither", NULL, &r), PASSDB_PASSWORD_MISMATCH);
	/* the failed passdb's fields are gone, but its nodelay still speaks for the failure */
	CHECK(passdb_field(&r, "host") == NULL);
	CHECK_STR(passdb_field(&r, "nodelay"), "");
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* continue, then a failure: fields of the earlier success stay, and it fails */
	c = chain2("passwd-file", users_path, "continue", NULL,
	    "static", "proxy allow_nets=203.0.113.0/24", NULL, NULL);
	CHECK_INT(lookup(c, "alice", "alicepw", "192.0.2.1", &r), PASSDB_USER_UNKNOWN);
	CHECK_STR(passdb_field(&r, "host"), "file");
	CHECK(passdb_field(&r, "proxy") == NULL);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* continue-ok marks success even if the next one fails */
	c = chain2("passwd-file", users_path, "continue-ok", NULL,
	    "static", "proxy allow_nets=203.0.113.0/24", NULL, NULL);
	CHECK_INT(lookup(c, "alice", "alicepw", "192.0.2.1", &r), PASSDB_OK);
	CHECK(passdb_field(&r, "proxy") == NULL);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* return-fail on success, return-ok on failure */
	c = chain2("passwd-file", users_path, "return-fail", "return-ok",
	    "static", "nopassword", NULL, NULL);
	CHECK_INT(lookup(c, "alice", "alicepw", NULL, &r), PASSDB_PASSWORD_MISMATCH);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "alice", "wrong", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "nobody", "wrong", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* "return" keeps the success state so far: none */
	c = chain2("passwd-file", users_path, "return", NULL,
	    "static", "nopassword", NULL, NULL);
	CHECK_INT(lookup(c, "alice", "alicepw", NULL, &r), PASSDB_PASSWORD_MISMATCH);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* continue-fail, then a success: the success counts */
	c = chain2("passwd-file", users_path, NULL, "continue-fail",
	    "static", "nopassword host=s", NULL, NULL);
	CHECK_INT(lookup(c, "bob", "bobpw", NULL, &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "host"), "s");
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* unknown in all: unknown */
	c = chain2("passwd-file", users_path, NULL, NULL, "passwd-file", users_path, NULL,
	    NULL);
	CHECK_INT(lookup(c, "zed", "x", NULL, &r), PASSDB_USER_UNKNOWN);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* an internal failure on the way wins over a later plain failure */
	scratch_file(&s, "bad", "alice:{PLAIN}x::::::host=%{nosuch}\n");
	c = chain2("passwd-file", s.path[s.n - 1], NULL, NULL, "static", "password=y", NULL,
	    NULL);
	CHECK_INT(lookup(c, "alice", "x", NULL, &r), PASSDB_INTERNAL_FAILURE);
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "alice", "y", NULL, &r), PASSDB_OK);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* :protected keeps an earlier value, :remove drops it */
	c = chain2("static", "nopassword host=first port=1", "continue", NULL,
	    "static", "nopassword host:protected=second port:remove proxy:protected", NULL,
	    NULL);
	CHECK_INT(lookup(c, "joe", "x", NULL, &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "host"), "first");
	CHECK(passdb_field(&r, "port") == NULL);
	CHECK_STR(passdb_field(&r, "proxy"), "");
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* noauthenticate: fields only; the next passdb authenticates */
	c = chain2("static", "noauthenticate host=pre", NULL, NULL,
	    "passwd-file", users_path, NULL, NULL);
	CHECK_INT(lookup(c, "alice", "alicepw", NULL, &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "host"), "file");
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "alice", "wrong", NULL, &r), PASSDB_PASSWORD_MISMATCH);
	CHECK_STR(passdb_field(&r, "host"), "pre");
	passdb_result_free(&r);
	passdb_chain_free(c);
	c = chain_of("static", "noauthenticate host=pre");
	CHECK_INT(lookup(c, "alice", "alicepw", NULL, &r), PASSDB_INTERNAL_FAILURE);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* an empty chain knows nobody */
	c = passdb_chain_new();
	CHECK_INT(lookup(c, "alice", "alicepw", NULL, &r), PASSDB_USER_UNKNOWN);
	CHECK_STR(r.user, "alice");
	passdb_result_free(&r);
	CHECK_INT(passdb_chain_count(c), 0);
	passdb_chain_free(c);
	scratch_free(&s);

	const char *log = unit_stderr_end();
	CHECK_CONTAINS(log, "static(alice,192.0.2.1,<sEss>): allow_nets check failed: IP 192.0.2.1 not in allowed networks");
	CHECK_CONTAINS(log, "passwd-file(alice,<sEss>): Failed to expand extra field host=%{nosuch}: Unknown variable '%nosuch'");
	CHECK_CONTAINS(log, "static(alice,<sEss>): Last passdb had noauthenticate field, cannot authenticate user");
}

TEST(chain_add_errors)
{
	static const struct {
		const char *driver, *args, *rule, *err;
	} t[] = {
		/* the driver table follows the build's features (mk/features.mk) */
		{ "ldap", "", NULL, FEATURE_ON(MTOOL_WITH_LDAP) ?
		    "ldap: Configuration file path not given" :
		    "passdb driver ldap is not supported by this build (profile " MTOOL_PROFILE ")" },
		{ "lua", "", NULL, FEATURE_ON(MTOOL_WITH_SQL) && FEATURE_ON(MTOOL_WITH_LDAP) &&
		    FEATURE_ON(MTOOL_WITH_AUTH_CLIENT) ?
		    "Unknown passdb driver 'lua' (mtool has passwd-file, static, sql, ldap and auth)" :
		    !FEATURE_ON(MTOOL_WITH_SQL) && !FEATURE_ON(MTOOL_WITH_LDAP) &&
		    !FEATURE_ON(MTOOL_WITH_AUTH_CLIENT) ?
		    "Unknown passdb driver 'lua' (mtool has passwd-file and static)" : NULL },
		{ "passwd-file", "", NULL, "passwd-file: Missing args (the file's path)" },
		{ "passwd-file", "scheme=SHA1", NULL,
		    "passwd-file: Missing args (the file's path)" },
		{ "passwd-file", "users.txt", NULL, "passwd-file: Unknown setting: users.txt" },
		{ "passwd-file", "foo=bar /etc/x", NULL, "passwd-file: Unknown setting: foo" },
		{ "passwd-file", "scheme=ARGON2ID /etc/x", NULL,
		    "passwd-file: Unknown scheme: ARGON2ID" },
		{ "passwd-file", "username_format=%q /etc/x", NULL,
		    "passwd-file: username_format=%q: Unknown variable '%q'" },
		{ "passwd-file", "/etc/%{nosuch}/x", NULL,
		    "passwd-file: /etc/%{nosuch}/x: Unknown variable '%nosuch'" },
		{ "static", "=x", NULL, "Invalid passdb template =x - key must not be empty" },
		{ "static", "host=%z", NULL, "static: host=%z: Unknown variable '%z'" },
		{ "static", "", "return-maybe",
		    "Unknown result rule 'return-maybe' (use return, return-ok, return-fail, "
		    "continue, continue-ok or continue-fail)" },
	};
	struct passdb_chain *c = passdb_chain_new();
	const char *err;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].err == NULL)
			continue;	/* a build with only one of sql and ldap */
		int r = passdb_chain_add(c, t[i].driver, t[i].args, t[i].rule, NULL, NULL, &err);
		if (r != -1 || strcmp(err, t[i].err) != 0)
			unit_fail(__FILE__, __LINE__, "%s %s: %d \"%s\"", t[i].driver, t[i].args, r,
			    r < 0 ? err : "");
	}
	CHECK_INT(passdb_chain_count(c), 0);
	CHECK_INT(passdb_chain_add(c, "static", "nopassword", "continue-ok", "return-fail",
	    "return", &err), 0);
	CHECK_INT(passdb_chain_count(c), 1);
	passdb_chain_free(c);
	passdb_chain_free(NULL);
	passdb_result_free(NULL);
}

TEST(passwd_file_table)
{
	/* the expected failures are logged; they must be, and not on the terminal */
	unit_stderr_begin();
	struct scratch s;
	struct passwd_file *pf;
	const struct passwd_entry *e;
	struct strbuf sb;

	/* enough users to grow the index several times */
	scratch_init(&s);
	strbuf_init(&sb, 1 << 20);
	for (int i = 0; i < 5000; i++)
		strbuf_printf(&sb, "user%d:{PLAIN}pw%d::::::n=%d\n", i, i, i);
	strbuf_puts(&sb, "user17:{PLAIN}dup\n");
	pf = passwd_file_new(scratch_file(&s, "many", sb.s), 1);
	strbuf_free(&sb);
	CHECK_INT(passwd_file_sync(pf), 1);
	CHECK_INT(passwd_file_count(pf), 5000);
	e = passwd_file_lookup(pf, "user4321");
	CHECK(e != NULL);
	if (e != NULL) {
		CHECK_STR(e->password, "{PLAIN}pw4321");
		CHECK_STR(e->extra, "n=4321");
		CHECK_INT(e->line, 4322);
	}
	e = passwd_file_lookup(pf, "user17");
	CHECK(e != NULL && strcmp(e->password, "{PLAIN}pw17") == 0);
	CHECK(passwd_file_lookup(pf, "user5000") == NULL);
	CHECK_INT(passwd_file_sync(pf), 1);
	passwd_file_free(pf);

	/* legacy password[NN] suffixes */
	pf = passwd_file_new(scratch_file(&s, "legacy",
	    "a:abc[34]\nb:0123456789abcdef0123456789abcdef[56]\nc:Wc4nUPuP4hteA[13]\n"
	    "d:{PLAIN}x[34]\ne:[34]\n"), 1);
	CHECK_INT(passwd_file_sync(pf), 1);
	e = passwd_file_lookup(pf, "a");
	CHECK(e != NULL && strcmp(e->password, "abc") == 0 && strcmp(e->scheme, "PLAIN-MD5") == 0);
	e = passwd_file_lookup(pf, "b");
	CHECK(e != NULL && strcmp(e->scheme, "DIGEST-MD5") == 0);
	e = passwd_file_lookup(pf, "c");
	CHECK(e != NULL && strcmp(e->password, "Wc4nUPuP4hteA") == 0 &&
	    strcmp(e->scheme, "CRYPT") == 0);
	e = passwd_file_lookup(pf, "d");
	CHECK(e != NULL && e->scheme == NULL);
	e = passwd_file_lookup(pf, "e");
	CHECK(e != NULL && e->scheme == NULL && strcmp(e->password, "[34]") == 0);
	passwd_file_free(pf);

	/* a directory is not a passwd-file */
	pf = passwd_file_new(s.dir, 1);
	CHECK_INT(passwd_file_sync(pf), -1);
	passwd_file_free(pf);
	scratch_free(&s);

	const char *log = unit_stderr_end();
	CHECK_CONTAINS(log, "many: User user17 exists more than once");
	CHECK_CONTAINS(log, ": not a regular file");
}

#include "tests/unit/varexpand_dovecot.h"

TEST(default_and_override_fields)
{
	unit_stderr_begin();
	struct scratch s;
	struct passdb_chain *c;
	struct passdb_result r;
	const char *err;
	char line[256];

	scratch_init(&s);
	str_fmt(line, sizeof(line), "%s:{PLAIN}pw::::::%s host=own\n"
	    "plain:{PLAIN}pw\n", VX_USER, VX_USER_FIELDS);
	c = chain_of("passwd-file", scratch_file(&s, "users", line));
	/* the passdb's own host replaces the default; override replaces both */
	CHECK_INT(passdb_chain_set_fields(c, "proxy=y host=127.0.0.1 port=%{if;%s;eq;imap;143;110} "
	    "seen=%{passdb:x:none} nodelay", "ovr=%{passdb:x:none} port=%{passdb:port}0", &err), 0);
	CHECK_INT(lookup(c, VX_USER, "pw", "192.0.2.10", &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "proxy"), "y");
	CHECK_STR(passdb_field(&r, "host"), "own");
	CHECK_STR(passdb_field(&r, "port"), "1430");
	CHECK_STR(passdb_field(&r, "seen"), "none");
	CHECK_STR(passdb_field(&r, "ovr"), "val12");
	CHECK_STR(passdb_field(&r, "nodelay"), "");
	passdb_result_free(&r);
	CHECK_INT(lookup(c, "plain", "pw", "192.0.2.10", &r), PASSDB_OK);
	CHECK_STR(passdb_field(&r, "host"), "127.0.0.1");
	CHECK_STR(passdb_field(&r, "ovr"), "none");
	passdb_result_free(&r);
	/* a user the passdb does not know keeps none of them */
	CHECK_INT(lookup(c, "nosuch", "pw", "192.0.2.10", &r), PASSDB_USER_UNKNOWN);
	CHECK(passdb_field(&r, "proxy") == NULL);
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* the captured override_fields rows, through the real %{passdb:..} */
	str_fmt(line, sizeof(line), "%s:{PLAIN}pw::::::%s\n", VX_USER, VX_USER_FIELDS);
	c = chain_of("passwd-file", scratch_file(&s, "users2", line));
	for (size_t i = 0; i < sizeof(vx_dovecot) / sizeof(vx_dovecot[0]); i++) {
		char ovr[256];
		if (vx_dovecot[i].where != 'o' && strncmp(vx_dovecot[i].tmpl, "%{passdb:", 9) != 0)
			continue;
		str_fmt(ovr, sizeof(ovr), "t=%s", vx_dovecot[i].tmpl);
		if (!FEATURE_ON(MTOOL_WITH_VAREXPAND_HASH) && (strstr(ovr, "{md5") != NULL ||
		    strstr(ovr, "{sha") != NULL)) {	/* refused when the config loads */
			CHECK_INT(passdb_chain_set_fields(c, NULL, ovr, &err), -1);
			CHECK(strstr(err, "not in this build (feature varexpand_hash)") != NULL);
			continue;
		}
		CHECK_INT(passdb_chain_set_fields(c, vx_dovecot[i].where == 'd' ? ovr : NULL,
		    vx_dovecot[i].where == 'o' ? ovr : NULL, &err), 0);
		CHECK_INT(lookup(c, VX_USER, "pw", "192.0.2.10", &r), PASSDB_OK);
		const char *t = passdb_field(&r, "t");
		if (t == NULL || strcmp(t, vx_dovecot[i].out) != 0)
			unit_fail(__FILE__, __LINE__, "%c %s -> %s, Dovecot: %s", vx_dovecot[i].where,
			    vx_dovecot[i].tmpl, t ? t : "(none)", vx_dovecot[i].out);
		passdb_result_free(&r);
	}

	passdb_chain_free(c);
	c = chain_of("passwd-file", scratch_file(&s, "users3", "u@d:{PLAIN}u-pw\n"));
	/* an expansion that fails at lookup time is an internal failure */
	CHECK_INT(passdb_chain_set_fields(c, "x=%{if;%{passdb:n};>;1;a;b}", NULL, &err), 0);
	CHECK_INT(lookup(c, "u@d", "u-pw", "192.0.2.10", &r), PASSDB_INTERNAL_FAILURE);
	passdb_result_free(&r);
	/* config errors */
	CHECK_INT(passdb_chain_set_fields(c, "a=1 =2", NULL, &err), -1);
	CHECK_STR(err, "default_fields: Invalid passdb template a=1 =2 - key must not be empty");
	CHECK_INT(passdb_chain_set_fields(c, NULL, "host=%{nosuch}", &err), -1);
	CHECK_STR(err, "override_fields: Unknown variable '%nosuch'");
	passdb_chain_free(c);
	scratch_free(&s);
	unit_stderr_end();
}
