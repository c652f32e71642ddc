/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/conf.h"
#include "core/str.h"
#include "config.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Loads text as "t.conf" and returns the config; *errs gets everything printed to errf
 * (caller frees). */
static struct conf *
load(const char *text, char **ov, size_t nov, char **errs)
{
	size_t len;
	FILE *f = open_memstream(errs, &len);
	struct conf *c = conf_load_string("t.conf", text, ov, nov, f);
	fclose(f);
	return c;
}

/* Expects text to fail with exactly these error lines. */
#define CHECK_ERRORS(text, want) \
	do { char *e_; struct conf *c_ = load((text), NULL, 0, &e_); \
	     CHECK(c_ == NULL); CHECK_STR(e_, (want)); conf_free(c_); free(e_); } while (0)

/* Makes a fresh directory under /tmp in dir (at least 32 bytes); rm_tree() removes it. */
static char *
tmpdir(char *dir, size_t len)
{
	str_copy(dir, "/tmp/mtool-conf-XXXXXX", len);
	if (mkdtemp(dir) == NULL) {
		/* nothing below can run without it */
		perror("mkdtemp");
		exit(1);
	}
	return dir;
}

static void
put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;
	str_fmt(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		unit_fail(__FILE__, __LINE__, "cannot create %s", path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static void
rm_tree(const char *dir)
{
	CHECK_INT(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Loads dir/name with conf_load. */
static struct conf *
load_file(const char *dir, const char *name, char **errs)
{
	char path[512];
	size_t len;
	FILE *f = open_memstream(errs, &len);
	str_fmt(path, sizeof(path), "%s/%s", dir, name);
	struct conf *c = conf_load(path, NULL, 0, f);
	fclose(f);
	return c;
}

TEST(settings_and_whitespace)
{
	char *e;
	struct conf *c = load("a = 1\nb=2\n\t c \t=   spaced  value \t\nempty =\nd=\n", NULL, 0, &e);
	CHECK_STR(e, "");
	CHECK(c != NULL);
	const struct conf_node *r = conf_root(c);
	CHECK_STR(conf_get(r, "a", NULL), "1");
	CHECK_STR(conf_get(r, "b", NULL), "2");
	CHECK_STR(conf_get(r, "c", NULL), "spaced  value");
	CHECK_STR(conf_get(r, "empty", "def"), "");
	CHECK_STR(conf_get(r, "d", "def"), "");
	CHECK_STR(conf_get(r, "nope", "def"), "def");
	CHECK_INT(conf_find(r, "c")->line, 3);
	CHECK_STR(conf_find(r, "c")->file, "t.conf");
	CHECK_STR(r->file, "t.conf");
	conf_free(c);
	free(e);
}

TEST(last_setting_wins)
{
	char *e;
	struct conf *c = load("a = 1\na = 2\n", NULL, 0, &e);
	CHECK_STR(conf_get(conf_root(c), "a", NULL), "2");
	CHECK_INT(conf_find(conf_root(c), "a")->line, 2);
	conf_free(c);
	free(e);
}

TEST(quoted_values)
{
	char *e;
	struct conf *c = load("a = \"  x y  \"\n"
	    "b = \"q\\\"uote\\\\back\"\n"
	    "c = 'single # not a comment'\n"
	    "d = \"x\" # a comment\n"
	    "e=\"\"\n"
	    "f = \"$a\"\n", NULL, 0, &e);
	CHECK_STR(e, "");
	const struct conf_node *r = conf_root(c);
	CHECK_STR(conf_get(r, "a", NULL), "  x y  ");
	CHECK_STR(conf_get(r, "b", NULL), "q\"uote\\back");
	CHECK_STR(conf_get(r, "c", NULL), "single # not a comment");
	CHECK_STR(conf_get(r, "d", NULL), "x");
	CHECK_STR(conf_get(r, "e", NULL), "");
	CHECK_STR(conf_get(r, "f", NULL), "$a");	/* quoted: no expansion */
	conf_free(c);
	free(e);
}

TEST(comments)
{
	char *e;
	struct conf *c = load("# a comment\n"
	    "   # indented comment\n"
	    "a = b # trailing\n"
	    "c = d#e\n"
	    "greeting = Dovecot's ready # it's a comment\n"
	    "#x = y\n", NULL, 0, &e);
	CHECK_STR(e, "");
	const struct conf_node *r = conf_root(c);
	CHECK_STR(conf_get(r, "a", NULL), "b");
	CHECK_STR(conf_get(r, "c", NULL), "d#e");
	CHECK_STR(conf_get(r, "greeting", NULL), "Dovecot's ready");
	CHECK(conf_find(r, "x") == NULL);
	conf_free(c);
	free(e);
}

TEST(nested_sections)
{
	char *e;
	struct conf *c = load("service imap-login {\n"
	    "  inet_listener imap {\n"
	    "    port = 143\n"
	    "  }\n"
	    "  inet_listener imaps {\n"
	    "    port = 993\n"
	    "    ssl = yes\n"
	    "  }\n"
	    "  process_limit = 10\n"
	    "}\n"
	    "passdb {\n"
	    "  driver = passwd-file\n"
	    "  args = scheme=CRYPT /etc/passwd\n"
	    "}\n"
	    "passdb {\n"
	    "  driver = pam\n"
	    "}\n", NULL, 0, &e);
	CHECK_STR(e, "");
	const struct conf_node *r = conf_root(c), *svc, *l, *pdb;
	svc = conf_next_section(r, NULL, "service");
	CHECK(svc != NULL);
	CHECK_STR(svc->key, "service");
	CHECK_STR(svc->name, "imap-login");
	CHECK(svc->value == NULL);
	CHECK_INT(svc->line, 1);
	CHECK(svc->parent == r);
	CHECK(conf_next_section(r, svc, "service") == NULL);
	CHECK_STR(conf_get(svc, "process_limit", NULL), "10");
	l = conf_next_section(svc, NULL, "inet_listener");
	CHECK_STR(l->name, "imap");
	CHECK_STR(conf_get(l, "port", NULL), "143");
	CHECK(conf_find(l, "ssl") == NULL);
	l = conf_next_section(svc, l, "inet_listener");
	CHECK_STR(l->name, "imaps");
	CHECK_STR(conf_get(l, "port", NULL), "993");
	CHECK_INT(conf_find(l, "ssl")->line, 7);
	CHECK(conf_next_section(svc, l, "inet_listener") == NULL);
	pdb = conf_next_section(r, NULL, "passdb");
	CHECK(pdb->name == NULL);
	CHECK_STR(conf_get(pdb, "args", NULL), "scheme=CRYPT /etc/passwd");
	pdb = conf_next_section(r, pdb, "passdb");
	CHECK_STR(conf_get(pdb, "driver", NULL), "pam");
	/* any type */
	CHECK(conf_next_section(r, NULL, NULL) == svc);
	conf_free(c);
	free(e);
}

TEST(named_sections_merge)
{
	char *e;
	struct conf *c = load("service \"imap-login\" {\n a = 1\n}\n"
	    "service imap-login{\n b = 2\n}\n"
	    "service 'pop3 login' {\n}\n"
	    "service \"imap-\\login\" {\n c = 3\n}\n"
	    "passdb {\n}\npassdb {\n}\n", NULL, 0, &e);
	CHECK_STR(e, "");
	const struct conf_node *r = conf_root(c), *s;
	s = conf_next_section(r, NULL, "service");
	CHECK_STR(s->name, "imap-login");
	CHECK_STR(conf_get(s, "a", NULL), "1");
	CHECK_STR(conf_get(s, "b", NULL), "2");
	CHECK_STR(conf_get(s, "c", NULL), "3");	/* "imap-\login" is imap-login */
	s = conf_next_section(r, s, "service");
	CHECK_STR(s->name, "pop3 login");
	s = conf_next_section(r, NULL, "passdb");
	CHECK(conf_next_section(r, s, "passdb") != NULL);
	conf_free(c);
	free(e);
}

TEST(continuation_lines)
{
	char *e;
	struct conf *c = load("x = 0\n"
	    "a = one \\\n"
	    "    two\\\n"
	    "# a comment inside\n"
	    "\n"
	    "  three\n"
	    "b = last \\\n", NULL, 0, &e);
	CHECK_STR(e, "");
	const struct conf_node *r = conf_root(c);
	CHECK_STR(conf_get(r, "a", NULL), "one two three");
	CHECK_INT(conf_find(r, "a")->line, 2);
	CHECK_STR(conf_get(r, "b", NULL), "last");
	conf_free(c);
	free(e);
}

TEST(lone_backslash_is_an_empty_line)
{
	char *e;
	struct conf *c = load("a = 1\n\\\n# c\n", NULL, 0, &e);
	CHECK_STR(e, "");
	CHECK(c != NULL);
	conf_free(c);
	free(e);
	/* the same inside a section nested too deeply (found by fuzzing: it used to index
	 * the empty line at -1) */
	struct strbuf sb;
	strbuf_init(&sb, 1 << 16);
	for (int i = 0; i <= CONF_SECTION_DEPTH; i++)
		strbuf_puts(&sb, "s {\n");
	strbuf_puts(&sb, "\\");
	conf_free(load(sb.s, NULL, 0, &e));
	free(e);
	strbuf_free(&sb);
}

TEST(crlf_lines)
{
	char *e;
	struct conf *c = load("a = 1\r\npassdb {\r\n  driver = pam\r\n}\r\n", NULL, 0, &e);
	CHECK_STR(e, "");
	CHECK_STR(conf_get(conf_root(c), "a", NULL), "1");
	CHECK_STR(conf_get(conf_next_section(conf_root(c), NULL, "passdb"), "driver", NULL), "pam");
	conf_free(c);
	free(e);
}

TEST(include_glob_relative)
{
	char dbuf[64], *dir = tmpdir(dbuf, sizeof(dbuf)), *e, sub[512];
	str_fmt(sub, sizeof(sub), "%s/conf.d", dir);
	CHECK_INT(mkdir(sub, 0700), 0);
	put(dir, "main.conf", "a = main\n"
	    "!include conf.d/*.conf\n"
	    "passdb {\n"
	    "  !include passdb.inc\n"
	    "}\n"
	    "last = $b\n");
	put(dir, "conf.d/20-b.conf", "b = 20\norder = $order 20\n");
	put(dir, "conf.d/10-a.conf", "b = 10\norder = 10\n!include sub.inc\n");
	put(dir, "conf.d/30-c.conf", "order = $order 30\nsection {\n  x = $a\n}\n");
	put(dir, "conf.d/sub.inc", "sub = yes\n");
	put(dir, "conf.d/skip.txt", "this is not a config file\n");
	put(dir, "passdb.inc", "driver = passwd-file\n");
	struct conf *c = load_file(dir, "main.conf", &e);
	CHECK_STR(e, "");
	CHECK(c != NULL);
	if (c != NULL) {
		const struct conf_node *r = conf_root(c), *n;
		char want[512];
		CHECK_STR(conf_get(r, "order", NULL), "10 20 30");
		CHECK_STR(conf_get(r, "b", NULL), "20");
		CHECK_STR(conf_get(r, "last", NULL), "20");
		CHECK_STR(conf_get(r, "sub", NULL), "yes");
		CHECK_STR(conf_get(conf_next_section(r, NULL, "section"), "x", NULL), "main");
		n = conf_find(conf_next_section(r, NULL, "passdb"), "driver");
		CHECK_STR(n->value, "passwd-file");
		str_fmt(want, sizeof(want), "%s/passdb.inc", dir);
		CHECK_STR(n->file, want);
		CHECK_INT(n->line, 1);
		n = conf_find(r, "sub");
		str_fmt(want, sizeof(want), "%s/conf.d/sub.inc", dir);
		CHECK_STR(n->file, want);
	}
	conf_free(c);
	free(e);
	rm_tree(dir);
}

/* !include's own matcher: '*' and '?' in the file name only, dot files skipped, names
 * sorted; anything glob(3) would do beyond that is refused with a clear message. */
TEST(include_wildcards)
{
	char dbuf[64], *dir = tmpdir(dbuf, sizeof(dbuf)), *e, sub[512], want[2048];
	str_fmt(sub, sizeof(sub), "%s/d", dir);
	CHECK_INT(mkdir(sub, 0700), 0);
	put(dir, "d/b.conf", "order = $order b\n");
	put(dir, "d/a1.conf", "order = $order a1\n");
	put(dir, "d/a22.conf", "order = $order a22\n");
	put(dir, "d/.hidden.conf", "order = $order hidden\n");
	put(dir, "ok.conf", "order = start\n!include d/*.conf\n!include d/a?.conf\n"
	    "!include d/.*.conf\n");
	struct conf *c = load_file(dir, "ok.conf", &e);
	CHECK_STR(e, "");
	CHECK_STR(conf_get(conf_root(c), "order", NULL), "start a1 a22 b a1 hidden");
	conf_free(c);
	free(e);

	put(dir, "bad.conf", "!include */*.conf\n!include d/[ab].conf\n!include_try nodir/*.conf\n");
	c = load_file(dir, "bad.conf", &e);
	CHECK(c == NULL);
	str_fmt(want, sizeof(want),
	    "%s/bad.conf:1: !include: %s/*/*.conf: wildcards only in the file name\n"
	    "%s/bad.conf:2: !include: %s/d/[ab].conf: '[' classes are not supported, use * and ?\n",
	    dir, dir, dir, dir);
	CHECK_STR(e, want);
	free(e);
	rm_tree(dir);
}

/* A pattern in a directory with no matching file: nothing to sort (qsort(NULL, 0) was
 * undefined behaviour that the sanitizer build aborted on, with Debian's empty conf.d). */
TEST(include_glob_empty_dir)
{
	char dbuf[64], *dir = tmpdir(dbuf, sizeof(dbuf)), *e, sub[512], want[1024];
	str_fmt(sub, sizeof(sub), "%s/empty.d", dir);
	CHECK_INT(mkdir(sub, 0700), 0);
	put(dir, "ok.conf", "!include_try empty.d/*.conf\na = 1\n");
	struct conf *c = load_file(dir, "ok.conf", &e);
	CHECK_STR(e, "");
	CHECK_STR(conf_get(conf_root(c), "a", NULL), "1");
	conf_free(c);
	free(e);

	put(dir, "one.d.conf", "b = 2\n");
	put(dir, "bad.conf", "!include empty.d/*.conf\n!include one.d.c?nf\n");
	c = load_file(dir, "bad.conf", &e);
	CHECK(c == NULL);
	str_fmt(want, sizeof(want), "%s/bad.conf:1: !include: %s/empty.d/*.conf: no file matches\n",
	    dir, dir);
	CHECK_STR(e, want);
	free(e);
	rm_tree(dir);
}

TEST(include_try_and_missing)
{
	char dbuf[64], *dir = tmpdir(dbuf, sizeof(dbuf)), *e, want[1024];
	put(dir, "ok.conf", "!include_try nope.conf\n!include_try nope.d/*.conf\na = 1\n");
	struct conf *c = load_file(dir, "ok.conf", &e);
	CHECK_STR(e, "");
	CHECK_STR(conf_get(conf_root(c), "a", NULL), "1");
	conf_free(c);
	free(e);

	put(dir, "bad.conf", "!include missing.conf\n!include nope.d/*.conf\n!include\n"
	    "!include %s\n");
	c = load_file(dir, "bad.conf", &e);
	CHECK(c == NULL);
	str_fmt(want, sizeof(want),
	    "%s/bad.conf:1: !include: %s/missing.conf: No such file or directory\n"
	    "%s/bad.conf:2: !include: %s/nope.d/*.conf: no file matches\n"
	    "%s/bad.conf:3: !include: missing file name\n"
	    "%s/bad.conf:4: !include: %s/%%s: No such file or directory\n",
	    dir, dir, dir, dir, dir, dir, dir);
	CHECK_STR(e, want);
	free(e);

	str_fmt(want, sizeof(want), "%s/none.conf", dir);
	size_t len;
	FILE *f = open_memstream(&e, &len);
	CHECK(conf_load(want, NULL, 0, f) == NULL);
	fclose(f);
	str_fmt(want, sizeof(want), "%s/none.conf: No such file or directory\n", dir);
	CHECK_STR(e, want);
	free(e);
	rm_tree(dir);
}

TEST(include_errors_carry_file_and_line)
{
	char dbuf[64], *dir = tmpdir(dbuf, sizeof(dbuf)), *e, want[1024];
	put(dir, "main.conf", "a = 1\n!include inc.conf\nb c\n");
	put(dir, "inc.conf", "ok = 1\n\nbroken line\n}\n");
	struct conf *c = load_file(dir, "main.conf", &e);
	CHECK(c == NULL);
	str_fmt(want, sizeof(want),
	    "%s/inc.conf:3: expected 'key = value', got 'broken line'\n"
	    "%s/inc.conf:4: unexpected '}'\n"
	    "%s/main.conf:3: expected 'key = value', got 'b c'\n", dir, dir, dir);
	CHECK_STR(e, want);
	free(e);
	rm_tree(dir);
}

TEST(include_loop)
{
	char dbuf[64], *dir = tmpdir(dbuf, sizeof(dbuf)), *e, want[1024];
	put(dir, "a.conf", "x = 1\n!include b.conf\n");
	put(dir, "b.conf", "y = 2\n!include_try ./a.conf\n");
	put(dir, "self.conf", "!include self.conf\n");
	struct conf *c = load_file(dir, "a.conf", &e);
	CHECK(c == NULL);
	str_fmt(want, sizeof(want), "%s/b.conf:2: !include_try: %s/./a.conf: recursive include\n",
	    dir, dir);
	CHECK_STR(e, want);
	free(e);
	c = load_file(dir, "self.conf", &e);
	CHECK(c == NULL);
	str_fmt(want, sizeof(want), "%s/self.conf:1: !include: %s/self.conf: recursive include\n",
	    dir, dir);
	CHECK_STR(e, want);
	free(e);
	rm_tree(dir);
}

TEST(include_depth_limit)
{
	char dbuf[64], *dir = tmpdir(dbuf, sizeof(dbuf)), *e, want[1024], name[32], text[64];
	for (int i = 0; i <= CONF_INCLUDE_DEPTH + 3; i++) {
		str_fmt(name, sizeof(name), "f%d.conf", i);
		str_fmt(text, sizeof(text), "k%d = %d\n!include f%d.conf\n", i, i, i + 1);
		put(dir, name, text);
	}
	struct conf *c = load_file(dir, "f0.conf", &e);
	CHECK(c == NULL);
	str_fmt(want, sizeof(want), "%s/f%d.conf:2: !include: %s/f%d.conf: "
	    "includes nested too deeply (limit %d)\n", dir, CONF_INCLUDE_DEPTH, dir,
	    CONF_INCLUDE_DEPTH + 1, CONF_INCLUDE_DEPTH);
	CHECK_STR(e, want);
	free(e);
	rm_tree(dir);
}

TEST(value_from_file)
{
	char dbuf[64], *dir = tmpdir(dbuf, sizeof(dbuf)), *e, want[1024];
	put(dir, "cert.pem", "-----BEGIN CERTIFICATE-----\n  abc \n-----END CERTIFICATE-----\n");
	put(dir, "main.conf", "ssl_cert = <cert.pem\nssl_key =< cert.pem\n");
	struct conf *c = load_file(dir, "main.conf", &e);
	CHECK_STR(e, "");
	CHECK_STR(conf_get(conf_root(c), "ssl_cert", NULL),
	    "-----BEGIN CERTIFICATE-----\n  abc \n-----END CERTIFICATE-----\n");
	CHECK_STR(conf_get(conf_root(c), "ssl_key", NULL), conf_get(conf_root(c), "ssl_cert", ""));
	conf_free(c);
	free(e);

	char *big = malloc(CONF_VALUE_FILE_MAX + 2);
	memset(big, 'x', CONF_VALUE_FILE_MAX + 1);
	big[CONF_VALUE_FILE_MAX + 1] = '\0';
	put(dir, "big", big);
	big[CONF_VALUE_FILE_MAX] = '\0';
	put(dir, "max", big);
	free(big);
	put(dir, "bad.conf", "a = <big\nb = <nothere\nc = <\nd = <max\n");
	c = load_file(dir, "bad.conf", &e);
	CHECK(c == NULL);
	str_fmt(want, sizeof(want),
	    "%s/bad.conf:1: a: %s/big: file too large (limit %d bytes)\n"
	    "%s/bad.conf:2: b: %s/nothere: No such file or directory\n"
	    "%s/bad.conf:3: c: '<' without a file name\n",
	    dir, dir, CONF_VALUE_FILE_MAX, dir, dir, dir);
	CHECK_STR(e, want);
	free(e);
	rm_tree(dir);
}

TEST(variable_expansion)
{
	char *e;
	struct conf *c = load("a = x\n"
	    "b = $a y\n"
	    "mail_plugins = quota\n"
	    "protocol imap {\n"
	    "  mail_plugins = $mail_plugins imap_quota\n"
	    "  c = $b,$a\n"
	    "  d = $c\n"
	    "}\n"
	    "e = pre$a $ $$a 100%\n", NULL, 0, &e);
	CHECK_STR(e, "");
	const struct conf_node *r = conf_root(c), *p = conf_next_section(r, NULL, "protocol");
	CHECK_STR(conf_get(r, "b", NULL), "x y");
	CHECK_STR(conf_get(p, "mail_plugins", NULL), "quota imap_quota");
	CHECK_STR(conf_get(r, "mail_plugins", NULL), "quota");
	CHECK_STR(conf_get(p, "c", NULL), "x y,$a");
	CHECK_STR(conf_get(p, "d", NULL), "x y,$a");
	CHECK_STR(conf_get(r, "e", NULL), "pre$a $ $$a 100%");
	conf_free(c);
	free(e);

	setenv("MTOOL_CONF_TEST", "from env", 1);
	c = load("a = $ENV:MTOOL_CONF_TEST!\nb = $ENV:MTOOL_CONF_UNSET_VAR\n", NULL, 0, &e);
	CHECK_STR(e, "");
	CHECK_STR(conf_get(conf_root(c), "a", NULL), "from env!");
	CHECK_STR(conf_get(conf_root(c), "b", NULL), "");
	conf_free(c);
	free(e);
	unsetenv("MTOOL_CONF_TEST");
}

TEST(variable_errors)
{
	CHECK_ERRORS("a = $nope\nsec {\n  x = 1\n}\nb = $x\n",
	    "t.conf:1: undefined variable '$nope'\n"
	    "t.conf:5: undefined variable '$x'\n");
	/* expansion is bounded: doubling a value must stop at the line limit */
	struct strbuf sb;
	strbuf_init(&sb, 1 << 20);
	strbuf_printf(&sb, "a = %0*d\n", 1000, 0);
	for (int i = 0; i < 20; i++)
		strbuf_printf(&sb, "a = $a $a\n");
	char *e;
	struct conf *c = load(sb.s, NULL, 0, &e);
	CHECK(c == NULL);
	CHECK(strstr(e, "t.conf:5: value too long after expanding variables (limit 8192 bytes)\n")
	    == e);
	free(e);
	strbuf_free(&sb);
}

TEST(override_top_level)
{
	char *e, *ov[] = { "a=2", " new = 3 ", "empty=" };
	struct conf *c = load("a = 1\nb = 1\n", ov, 3, &e);
	CHECK_STR(e, "");
	const struct conf_node *r = conf_root(c), *n = conf_find(r, "a");
	CHECK_STR(n->value, "2");
	CHECK_STR(n->file, "-o");
	CHECK_INT(n->line, 1);
	CHECK_STR(conf_get(r, "new", NULL), "3");
	CHECK_INT(conf_find(r, "new")->line, 2);
	CHECK_STR(conf_get(r, "empty", NULL), "");
	CHECK_STR(conf_get(r, "b", NULL), "1");
	conf_free(c);
	free(e);
}

TEST(override_paths)
{
	char *e, *ov[] = {
		"service/imap-login/inet_listener/imap/port=1143",
		"passdb/driver=pam",
		"protocol/imap/login_greeting=hi there",
		"service/pop3-login/inet_listener/pop3/port=1110",
	};
	struct conf *c = load("service imap-login {\n"
	    "  inet_listener imap {\n    port = 143\n  }\n"
	    "}\n", ov, 4, &e);
	CHECK_STR(e, "");
	const struct conf_node *r = conf_root(c), *s, *l, *n;
	s = conf_next_section(r, NULL, "service");
	l = conf_next_section(s, NULL, "inet_listener");
	n = conf_find(l, "port");
	CHECK_STR(n->value, "1143");
	CHECK_STR(n->file, "-o");
	CHECK_INT(n->line, 1);
	CHECK(conf_next_section(s, l, NULL) == NULL);
	n = conf_next_section(r, NULL, "passdb");
	CHECK(n != NULL && n->name == NULL);
	CHECK_STR(conf_get(n, "driver", NULL), "pam");
	CHECK_STR(n->file, "-o");
	CHECK_INT(n->line, 2);
	CHECK_STR(conf_get_proto(c, "imap", "login_greeting", NULL), "hi there");
	s = conf_next_section(r, s, "service");
	CHECK_STR(s->name, "pop3-login");
	l = conf_next_section(s, NULL, "inet_listener");
	CHECK_STR(l->name, "pop3");
	CHECK_STR(conf_get(l, "port", NULL), "1110");
	conf_free(c);
	free(e);
}

TEST(override_errors)
{
	char *e, *ov[] = { "noequals", "/a=1", "a//b=1", "a/=1", "=1", "ok=1" };
	struct conf *c = load("", ov, 6, &e);
	CHECK(c == NULL);
	CHECK_STR(e, "-o:1: expected 'key=value', got 'noequals'\n"
	    "-o:2: invalid setting path '/a'\n"
	    "-o:3: invalid setting path 'a//b'\n"
	    "-o:4: invalid setting path 'a/'\n"
	    "-o:5: invalid setting path ''\n");
	free(e);
}

TEST(protocol_filter)
{
	char *e;
	struct conf *c = load("greeting = top\nlimit = 5\n"
	    "protocol imap {\n  greeting = imap\n}\n"
	    "protocol pop3 {\n}\n", NULL, 0, &e);
	CHECK_STR(e, "");
	CHECK_STR(conf_get_proto(c, "imap", "greeting", NULL), "imap");
	CHECK_STR(conf_get_proto(c, "pop3", "greeting", NULL), "top");
	CHECK_STR(conf_get_proto(c, "submission", "greeting", NULL), "top");
	CHECK_STR(conf_get_proto(c, "imap", "limit", NULL), "5");
	CHECK_STR(conf_get_proto(c, "imap", "none", "d"), "d");
	CHECK_INT(conf_find_proto(c, "imap", "greeting")->line, 4);
	conf_free(c);
	free(e);
}

TEST(error_missing_equals_collects_all)
{
	CHECK_ERRORS("foo bar\n"
	    "ok = 1\n"
	    "justakey\n"
	    "= value\n"
	    "{\n"
	    "a b c {\n",
	    "t.conf:1: expected 'key = value', got 'foo bar'\n"
	    "t.conf:3: expected 'key = value', got 'justakey'\n"
	    "t.conf:4: expected 'key = value', got '= value'\n"
	    "t.conf:5: expected 'key = value', got '{'\n"
	    "t.conf:6: expected 'key = value', got 'a b c {'\n");
}

TEST(error_braces)
{
	CHECK_ERRORS("a = 1\n}\n", "t.conf:2: unexpected '}'\n");
	CHECK_ERRORS("a = 1\nservice imap {\n  x = 1\n  passdb {\n", 
	    "t.conf:4: missing '}' for section 'passdb'\n"
	    "t.conf:2: missing '}' for section 'service imap'\n");
	CHECK_ERRORS("passdb { driver = pam }\n} x\n",
	    "t.conf:1: garbage after '{'\n"
	    "t.conf:2: garbage after '}'\n");
	CHECK_ERRORS("a = \"open\nb = \"x\" y\nsec \"name {\n",
	    "t.conf:1: a: missing closing quote\n"
	    "t.conf:2: b: garbage after closing quote\n"
	    "t.conf:3: missing closing quote\n");
}

TEST(error_line_too_long)
{
	struct strbuf sb;
	strbuf_init(&sb, 4 * CONF_LINE_MAX);
	strbuf_puts(&sb, "ok = 1\nk = ");
	for (size_t i = 4; i < CONF_LINE_MAX; i++)
		strbuf_putc(&sb, 'v');
	strbuf_puts(&sb, "\nlong = ");
	for (size_t i = 7; i <= CONF_LINE_MAX; i++)
		strbuf_putc(&sb, 'v');
	strbuf_puts(&sb, "\nafter = 2\n");
	CHECK(!sb.error);
	char *e;
	struct conf *c = load(sb.s, NULL, 0, &e);
	CHECK(c == NULL);
	CHECK_STR(e, "t.conf:3: line too long (limit 8192 bytes)\n");
	free(e);
	strbuf_free(&sb);
}

static const struct conf_key schema[] = {
	{ "", "a" },
	{ "", "greeting" },
	{ "service", "process_limit" },
	{ "service/inet_listener", "port" },
	{ "passdb", "*" },
	{ "protocol", NULL },
	{ "protocol", "imap_only" },
	{ NULL, NULL },
};

TEST(check_schema)
{
	char *e, *ce;
	size_t len;
	struct conf *c = load("a = 1\n"
	    "b = 2\n"
	    "service imap {\n"
	    "  process_limit = 1\n"
	    "  port = 1\n"
	    "  inet_listener imap {\n"
	    "    port = 143\n"
	    "    ssl = yes\n"
	    "    deeper {\n"
	    "      x = 1\n"
	    "    }\n"
	    "  }\n"
	    "}\n"
	    "passdb {\n  anything = goes\n}\n"
	    "userdb {\n  x = 1\n}\n"
	    "protocol imap {\n  greeting = hi\n  imap_only = 1\n  b = 1\n  passdb {\n  x = 1\n  }\n}\n"
	    "imap_only = 1\n", NULL, 0, &e);
	CHECK_STR(e, "");
	FILE *f = open_memstream(&ce, &len);
	CHECK_INT(conf_check(c, schema, f), 7);
	fclose(f);
	CHECK_STR(ce, "t.conf:2: unknown setting 'b'\n"
	    "t.conf:5: unknown setting 'port' in section 'service'\n"
	    "t.conf:8: unknown setting 'ssl' in section 'service/inet_listener'\n"
	    "t.conf:9: unknown section 'deeper' in section 'service/inet_listener'\n"
	    "t.conf:17: unknown section 'userdb'\n"
	    "t.conf:23: unknown setting 'b' in section 'protocol'\n"
	    "t.conf:28: unknown setting 'imap_only'\n");
	free(ce);
	conf_free(c);
	free(e);
}

TEST(check_filters_need_a_row)
{
	static const struct conf_key plain[] = { { "", "a" }, { NULL, NULL } };
	char *e;
	struct conf *c = load("protocol imap {\n  a = 1\n}\nlocal 10.0.0.1 {\n}\n", NULL, 0, &e);
	CHECK_INT(conf_check(c, plain, NULL), 2);
	CHECK_INT(conf_check(c, schema, NULL), 1);
	conf_free(c);
	free(e);
}

/* Loads "k = value" and returns the node's config (one setting named k). */
static struct conf *
one(const char *value)
{
	char text[256], *e;
	str_fmt(text, sizeof(text), "k = %s\n", value);
	struct conf *c = load(text, NULL, 0, &e);
	free(e);
	return c;
}

TEST(parse_bool)
{
	const char *yes[] = { "yes", "YES", "y", "1" }, *no[] = { "no", "No", "n", "0" };
	int v;
	for (size_t i = 0; i < 4; i++) {
		struct conf *c = one(yes[i]);
		v = 0;
		CHECK_INT(conf_parse_bool(conf_find(conf_root(c), "k"), &v, NULL), 0);
		CHECK_INT(v, 1);
		conf_free(c);
		c = one(no[i]);
		CHECK_INT(conf_parse_bool(conf_find(conf_root(c), "k"), &v, NULL), 0);
		CHECK_INT(v, 0);
		conf_free(c);
	}
	char *e;
	size_t len;
	FILE *f = open_memstream(&e, &len);
	struct conf *c = one("true");
	v = 7;
	CHECK_INT(conf_parse_bool(conf_find(conf_root(c), "k"), &v, f), -1);
	CHECK_INT(v, 7);
	fclose(f);
	CHECK_STR(e, "t.conf:1: k: invalid boolean 'true' (use yes or no)\n");
	free(e);
	conf_free(c);
}

/* Runs a typed getter on "k = value"; returns its result and the error text in err. */
static int
typed(int kind, const char *value, unsigned long long *out, char *err, size_t errlen)
{
	char *e;
	size_t len;
	FILE *f = open_memstream(&e, &len);
	struct conf *c = one(value);
	const struct conf_node *n = conf_find(conf_root(c), "k");
	int rc = kind == 0 ? conf_parse_uint(n, 1000000, out, f) :
	    kind == 1 ? conf_parse_time_ms(n, out, f) : conf_parse_size(n, out, f);
	fclose(f);
	str_copy(err, e, errlen);
	free(e);
	conf_free(c);
	return rc;
}

TEST(parse_uint)
{
	unsigned long long v;
	char err[256];
	CHECK_INT(typed(0, "0", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 0);
	CHECK_INT(typed(0, "1000000", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 1000000);
	CHECK_INT(typed(0, "1000001", &v, err, sizeof(err)), -1);
	CHECK_STR(err, "t.conf:1: k: number '1000001' is too large (max 1000000)\n");
	CHECK_INT(typed(0, "99999999999999999999999", &v, err, sizeof(err)), -1);
	CHECK_STR(err, "t.conf:1: k: number '99999999999999999999999' is too large (max 1000000)\n");
	CHECK_INT(typed(0, "-1", &v, err, sizeof(err)), -1);
	CHECK_STR(err, "t.conf:1: k: invalid number '-1'\n");
	CHECK_INT(typed(0, "12abc", &v, err, sizeof(err)), -1);
	CHECK_INT(typed(0, "", &v, err, sizeof(err)), -1);
	CHECK_STR(err, "t.conf:1: k: invalid number ''\n");
}

TEST(parse_time)
{
	static const struct { const char *s; unsigned long long ms; } ok[] = {
		{ "30", 30000 }, { "30s", 30000 }, { "30 secs", 30000 }, { "1 sec", 1000 },
		{ "5 mins", 300000 }, { "5m", 300000 }, { "2 minutes", 120000 },
		{ "1h", 3600000 }, { "1 hours", 3600000 }, { "2 days", 172800000 },
		{ "1 weeks", 604800000 }, { "1w", 604800000 }, { "100 ms", 100 },
		{ "100ms", 100 }, { "250 msecs", 250 }, { "7 milliseconds", 7 }, { "0", 0 },
		{ "3 D", 259200000 },
	};
	unsigned long long v;
	char err[256];
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 1;
		CHECK_INT(typed(1, ok[i].s, &v, err, sizeof(err)), 0);
		if (v != ok[i].ms)
			unit_fail(__FILE__, __LINE__, "'%s' gave %llu ms", ok[i].s, v);
	}
	CHECK_INT(typed(1, "5 fortnights", &v, err, sizeof(err)), -1);
	CHECK_STR(err, "t.conf:1: k: invalid time interval '5 fortnights'\n");
	CHECK_INT(typed(1, "1 secsx", &v, err, sizeof(err)), -1);
	CHECK_INT(typed(1, "s", &v, err, sizeof(err)), -1);
	CHECK_INT(typed(1, "-1s", &v, err, sizeof(err)), -1);
	CHECK_INT(typed(1, "99999999999999999 weeks", &v, err, sizeof(err)), -1);
	CHECK_STR(err, "t.conf:1: k: time interval '99999999999999999 weeks' is too large\n");
}

TEST(parse_size)
{
	static const struct { const char *s; unsigned long long v; } ok[] = {
		{ "0", 0 }, { "100", 100 }, { "100 B", 100 }, { "100b", 100 },
		{ "512k", 524288 }, { "512 KB", 524288 }, { "1 kiB", 1024 },
		{ "10M", 10485760 }, { "1 G", 1073741824ULL }, { "2T", 2199023255552ULL },
		{ "3 mib", 3145728 },
	};
	unsigned long long v;
	char err[256];
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 1;
		CHECK_INT(typed(2, ok[i].s, &v, err, sizeof(err)), 0);
		if (v != ok[i].v)
			unit_fail(__FILE__, __LINE__, "'%s' gave %llu", ok[i].s, v);
	}
	CHECK_INT(typed(2, "10 X", &v, err, sizeof(err)), -1);
	CHECK_STR(err, "t.conf:1: k: invalid size '10 X'\n");
	CHECK_INT(typed(2, "1 BB", &v, err, sizeof(err)), -1);
	CHECK_INT(typed(2, "1 MBx", &v, err, sizeof(err)), -1);
	CHECK_INT(typed(2, "M", &v, err, sizeof(err)), -1);
	CHECK_INT(typed(2, "99999999999 T", &v, err, sizeof(err)), -1);
	CHECK_STR(err, "t.conf:1: k: size '99999999999 T' is too large\n");
}

TEST(parse_strings)
{
	unsigned long long v = 7;
	CHECK_INT(conf_parse_time_string_ms("90 secs", &v), 0);
	CHECK_INT(v, 90000);
	CHECK_INT(conf_parse_time_string_ms("2m", &v), 0);
	CHECK_INT(v, 120000);
	CHECK_INT(conf_parse_time_string_ms("15", &v), 0);
	CHECK_INT(v, 15000);
	v = 7;
	CHECK_INT(conf_parse_time_string_ms("", &v), -1);
	CHECK_INT(conf_parse_time_string_ms("2 x", &v), -1);
	CHECK_INT(conf_parse_time_string_ms("99999999999999999999", &v), -1);
	CHECK_INT(v, 7);
	CHECK_INT(conf_parse_size_string("4 KiB", &v), 0);
	CHECK_INT(v, 4096);
	CHECK_INT(conf_parse_size_string("4 Q", &v), -1);
	CHECK_INT(v, 4096);
}

TEST(deep_nesting_is_an_error)
{
	struct strbuf sb;
	char *e, want[256];
	strbuf_init(&sb, 1 << 20);
	for (int i = 0; i < 10000; i++)
		strbuf_puts(&sb, "s {\n");
	strbuf_puts(&sb, "k = v\n");
	for (int i = 0; i < 10000; i++)
		strbuf_puts(&sb, "}\n");
	strbuf_puts(&sb, "after = 1\n");
	struct conf *c = load(sb.s, NULL, 0, &e);
	CHECK(c == NULL);
	str_fmt(want, sizeof(want), "t.conf:%d: sections nested too deeply (limit %d)\n",
	    CONF_SECTION_DEPTH + 1, CONF_SECTION_DEPTH);
	CHECK_STR(e, want);
	free(e);

	/* the same never closed: one error for the ignored part, one per real section */
	strbuf_truncate(&sb, 4 * 10000);
	c = load(sb.s, NULL, 0, &e);
	CHECK(c == NULL);
	int lines = 0;
	for (const char *p = e; *p; p++)
		lines += *p == '\n';
	CHECK_INT(lines, 1 + 1 + CONF_SECTION_DEPTH);
	free(e);

	/* exactly at the limit is fine */
	strbuf_truncate(&sb, 0);
	for (int i = 0; i < CONF_SECTION_DEPTH; i++)
		strbuf_puts(&sb, "s {\n");
	for (int i = 0; i < CONF_SECTION_DEPTH; i++)
		strbuf_puts(&sb, "}\n");
	c = load(sb.s, NULL, 0, &e);
	CHECK(c != NULL);
	CHECK_STR(e, "");
	conf_free(c);
	free(e);
	strbuf_free(&sb);
}

TEST(nasty_inputs_do_not_crash)
{
	static const char *nasty[] = {
		"\"", "'", "a = \"", "a = '", "{", "}", "{{{", "}}}", "= = =", "\\", "\\\n\\\n",
		"a = \\", "#", "!include", "!include_try", "a = <", "a = $", "a = $$$$", "$a",
		"a = \"\\", "s \"\\\" {", "s '' {\n}", "\t\r\n\t\r", "a=b=c", "}\n}\n{\n{",
		"!include_try /nonexistent/*/[", "a = $ENV:", "x { y { z {", "a = \"x\\\"",
		"\\", "\\\n# c\n", " \\\n\n\n", "x {\n\\\n",
	};
	char *e;
	for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++) {
		conf_free(load(nasty[i], NULL, 0, &e));
		free(e);
	}
	/* a very long token, with and without spaces */
	char *big = malloc(200001);
	memset(big, 'a', 200000);
	big[200000] = '\0';
	conf_free(load(big, NULL, 0, &e));
	free(e);
	big[100] = '=';
	conf_free(load(big, NULL, 0, &e));
	free(e);
	free(big);
	/* random bytes from a small alphabet of syntax characters and any other byte */
	static const char alpha[] = "{}\"'\\#=$<!/ \t\n\rab_";
	unsigned long long x = 12345;	/* 64 bits on 32-bit targets too */
	char buf[256];
	for (int round = 0; round < 3000; round++) {
		size_t n = round % 255;
		for (size_t i = 0; i < n; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			unsigned b = (unsigned)(x >> 33);
			buf[i] = b % 4 ? alpha[b % (sizeof(alpha) - 1)] : (char)(b % 255 + 1);
		}
		buf[n] = '\0';
		char *ov[] = { buf };
		struct conf *c = load(buf, ov, 1, &e);
		if (c != NULL)
			conf_check(c, schema, NULL);
		conf_free(c);
		free(e);
	}
}

TEST(get_uint_default_range_and_file_line)
{
	char *e, *errs;
	size_t len;
	unsigned int v;
	struct conf *c = load("a = 5\nb = 0\nc = 70000\nd = x\n", NULL, 0, &e);
	CHECK(c != NULL);
	free(e);
	FILE *f = open_memstream(&errs, &len);
	CHECK_INT(conf_get_uint(c, "unset", 7, 1, 100, &v, f), 0);
	CHECK_INT(v, 7);
	CHECK_INT(conf_get_uint(c, "a", 7, 1, 100, &v, f), 0);
	CHECK_INT(v, 5);
	CHECK_INT(conf_get_uint(c, "b", 7, 1, 100, &v, f), -1);
	CHECK_INT(conf_get_uint(c, "c", 7, 1, 65535, &v, f), -1);
	CHECK_INT(conf_get_uint(c, "d", 7, 1, 100, &v, f), -1);
	fclose(f);
	CHECK(strstr(errs, "t.conf:2: b: must be at least 1\n") != NULL);
	CHECK(strstr(errs, "t.conf:3: ") != NULL);
	CHECK(strstr(errs, "t.conf:4: ") != NULL);
	free(errs);
	conf_free(c);
}

TEST(get_ms_and_size)
{
	char *e, *errs;
	size_t len;
	unsigned int ms;
	unsigned long long sz;
	struct conf *c = load("a = 5 mins\nb = 8 days\nc = 10M\nd = 10 X\n", NULL, 0, &e);
	CHECK(c != NULL);
	free(e);
	FILE *f = open_memstream(&errs, &len);
	CHECK_INT(conf_get_ms(c, "unset", 30000, 0, 7 * 86400000U, &ms, f), 0);
	CHECK_INT(ms, 30000);
	CHECK_INT(conf_get_ms(c, "a", 0, 1000, 7 * 86400000U, &ms, f), 0);
	CHECK_INT(ms, 300000);
	CHECK_INT(conf_get_ms(c, "b", 0, 100, 7 * 86400000U, &ms, f), -1);
	CHECK_INT(conf_get_size(c, "c", 0, &sz, f), 0);
	CHECK_INT(sz, 10 << 20);
	CHECK_INT(conf_get_size(c, "unset", 42, &sz, f), 0);
	CHECK_INT(sz, 42);
	CHECK_INT(conf_get_size(c, "d", 0, &sz, f), -1);
	fclose(f);
	CHECK_STR(errs, "t.conf:2: b: must be between 100 ms and 7 days\n"
	    "t.conf:4: d: invalid size '10 X'\n");
	free(errs);
	conf_free(c);
}
