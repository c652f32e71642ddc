/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include <stdlib.h>

#include "core/feature.h"
#include "core/varexpand.h"

/* Without VAREXPAND_HASH a template with %{md5..}/%{sha..} is this error instead. */
static int
hash_left_out(const char *tmpl, int r, const char *err)
{
	if (FEATURE_ON(MTOOL_WITH_VAREXPAND_HASH) ||
	    (strstr(tmpl, "{md5") == NULL && strstr(tmpl, "{sha") == NULL))
		return 0;
	if (r != -1 || strstr(err, "hash functions are not in this build (feature varexpand_hash)") == NULL)
		unit_fail(__FILE__, __LINE__, "\"%s\" -> %d, expected: not in this build", tmpl, r);
	return 1;
}

static const struct var_client client = {
	.user = "John.Doe@Example.COM",
	.password = "pw\"1",
	.service = "imap",
	.rip = "192.0.2.10",
	.lip = "10.0.0.1",
	.rport = 51234,
	.lport = 143,
	.session = "Abc123",
};

TEST(expand_known_answers)
{
	static const struct {
		const char *tmpl, *out;	/* out NULL: the error message is err */
		const char *err;
	} t[] = {
		{ "", "", NULL },
		{ "plain text", "plain text", NULL },
		{ "%u", "John.Doe@Example.COM", NULL },
		{ "%n", "John.Doe", NULL },
		{ "%d", "Example.COM", NULL },
		{ "%s/%r/%l/%a/%b", "imap/192.0.2.10/10.0.0.1/143/51234", NULL },
		{ "%w", "pw\"1", NULL },
		{ "%%u=%u", "%u=John.Doe@Example.COM", NULL },
		{ "100%%", "100%", NULL },
		{ "%{user}", "John.Doe@Example.COM", NULL },
		{ "%{username}@%{domain}", "John.Doe@Example.COM", NULL },
		{ "%{service} %{rip} %{lip} %{rport} %{lport}",
		    "imap 192.0.2.10 10.0.0.1 51234 143", NULL },
		{ "%{remote_ip}:%{remote_port} %{local_ip}:%{local_port}",
		    "192.0.2.10:51234 10.0.0.1:143", NULL },
		{ "<%{session}>", "<Abc123>", NULL },
		{ "%Lu", "john.doe@example.com", NULL },
		{ "%Uu", "JOHN.DOE@EXAMPLE.COM", NULL },
		{ "%Ld", "example.com", NULL },
		{ "%L{user}", "john.doe@example.com", NULL },
		{ "%U{domain}", "EXAMPLE.COM", NULL },
		{ "%LUn", "JOHN.DOE", NULL },
		{ "%ULn", "john.doe", NULL },
		{ "/var/users/%Ld/passwd", "/var/users/example.com/passwd", NULL },
		/* widths and offsets */
		{ "%1n", "J", NULL },
		{ "%1Ln/%Ln", "j/john.doe", NULL },
		{ "%3d", "Exa", NULL },
		{ "%100n", "John.Doe", NULL },
		{ "%2.3n", "hn.", NULL },
		{ "%-3.0d", "COM", NULL },
		{ "%-3.2d", "CO", NULL },
		{ "%0.-4n", "John", NULL },
		{ "%5.-100n", "Doe", NULL },	/* Dovecot: cutting more than all cuts nothing */
		{ "%-100.0n", "John.Doe", NULL },
		{ "%05a", "00143", NULL },
		{ "%02a", "143", NULL },
		{ "%-3n", "Joh", NULL },	/* '-' without '.' is ignored, as in Dovecot */
		/* Dovecot: a trailing '%' or modifier expands to nothing */
		{ "abc%", "abc", NULL },
		{ "abc%L", "abc", NULL },
		/* nested braces belong to the name */
		{ "%{us{er}}", NULL, "Unknown variable '%us{er}'" },
		/* errors in Dovecot's words */
		{ "%x", NULL, "Unknown variable '%x'" },
		{ "a%Lzb", NULL, "Unknown variable '%z'" },
		{ "%{nosuch}", NULL, "Unknown variable '%nosuch'" },
		{ "%{nosuch:HOME}", NULL, "Unknown variable '%nosuch'" },
		{ "%{user", NULL, "Unknown variable '%{'" },
		{ "%Q{user}", NULL, "Unknown variable '%Q'" },
		{ "%{if;a;eq;b}", NULL, "if: requires four or five parameters, got 3" },
		{ "%{if;a;=;b;c;d}", NULL, "if: Unsupported comparator '='" },
		{ "%{if;a;==;1;c;d}", NULL, "if: a (lhs) is not a number" },
		{ "%{if;1;>;;c;d}", NULL, "if:  (rhs) is not a number" },
		{ "%{if;a;~;a.*;c;d}", NULL,
		    "if: regular expressions (~, !~) are not supported by this build" },
		{ "%{sha1;rounds=x:user}", NULL,
		    "Cannot parse hash arguments:'x' is not number for rounds" },
		{ "%{sha1;rounds=0:user}", NULL,
		    "Cannot parse hash arguments:rounds must be at least 1 and at most 100000" },
		{ "%{sha1;format=b32:user}", NULL,
		    "Cannot parse hash arguments:'b32' is not supported format" },
		{ "%{sha1:nosuch}", NULL, "Unknown variable '%nosuch'" },
		{ "%{md4:user}", NULL, "Unknown variable '%md4'" },
		{ "%{if;%{if;%{if;%{if;%{if;%{if;%{if;%{if;%{if;1;==;1;a;b};==;1;a;b};==;1;a;b};"
		    "==;1;a;b};==;1;a;b};==;1;a;b};==;1;a;b};==;1;a;b};==;1;a;b}", NULL,
		    "if: nested too deeply" },
		/* not in Dovecot 2.3, whose hexuc is lower case */
		{ "%{sha1;truncate=8,format=hexuc:user}", "AC", NULL },
	};
	struct var_std std;
	const char *err;

	CHECK_INT(var_std_init(&std, &client), 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct strbuf sb;
		strbuf_init(&sb, 1024);
		int r = var_expand(&sb, t[i].tmpl, std.tab, &err);
		if (hash_left_out(t[i].tmpl, r, err))
			;
		else if (t[i].out != NULL) {
			if (r != 0 || strcmp(sb.s, t[i].out) != 0)
				unit_fail(__FILE__, __LINE__, "\"%s\" -> %d \"%s\", expected \"%s\"",
				    t[i].tmpl, r, r == 0 ? sb.s : err, t[i].out);
		} else {
			if (r != -1 || strcmp(err, t[i].err) != 0)
				unit_fail(__FILE__, __LINE__,
				    "\"%s\" -> %d \"%s\", expected error \"%s\"",
				    t[i].tmpl, r, r == 0 ? sb.s : err, t[i].err);
		}
		strbuf_free(&sb);
	}
	var_std_free(&std);
}

TEST(expand_unknown_parts_are_empty)
{
	struct var_client c = { 0 };
	struct var_std std;
	struct strbuf sb;
	const char *err;

	c.user = "nodomain";
	CHECK_INT(var_std_init(&std, &c), 0);
	strbuf_init(&sb, 256);
	CHECK_INT(var_expand(&sb, "[%n][%d][%s][%r][%a][%w][%{session}]", std.tab, &err), 0);
	CHECK_STR(sb.s, "[nodomain][][][][0][][]");
	strbuf_free(&sb);
	var_std_free(&std);

	/* only the first '@' splits, as Dovecot's %n and %d */
	c.user = "a@b@c";
	CHECK_INT(var_std_init(&std, &c), 0);
	strbuf_init(&sb, 256);
	CHECK_INT(var_expand(&sb, "%n|%d", std.tab, &err), 0);
	CHECK_STR(sb.s, "a|b@c");
	strbuf_free(&sb);
	var_std_free(&std);
}

TEST(expand_appends_and_errors_keep_prefix)
{
	static const struct var_tab tab[] = {
		{ 'x', "ex", "X" },
		{ '\0', "long", "L" },
		{ '%', NULL, "pct" },	/* a table entry for '%' wins over the literal */
		{ '\0', NULL, NULL },
	};
	struct strbuf sb;
	const char *err;

	strbuf_init(&sb, 64);
	strbuf_puts(&sb, "pre:");
	CHECK_INT(var_expand(&sb, "%x%{long}%%", tab, &err), 0);
	CHECK_STR(sb.s, "pre:XLpct");
	CHECK_INT(var_expand(&sb, "-%q", tab, &err), -1);
	CHECK_STR(err, "Unknown variable '%q'");
	CHECK(strncmp(sb.s, "pre:XLpct", 9) == 0);
	CHECK(err == sb.s + 9);
	strbuf_free(&sb);

	CHECK_INT(var_expand(&sb, "%x", NULL, &err), -1);
	CHECK_STR(err, "Unknown variable '%x'");
	strbuf_free(&sb);
}

TEST(expand_output_limit)
{
	static const struct var_tab tab[] = {
		{ 'x', NULL, "0123456789" },
		{ '\0', NULL, NULL },
	};
	struct strbuf sb;
	const char *err;

	strbuf_init(&sb, 40);
	CHECK_INT(var_expand(&sb, "%x%x%x", tab, &err), 0);
	CHECK_INT(sb.len, 30);
	strbuf_truncate(&sb, 0);
	CHECK_INT(var_expand(&sb, "%x%x%x%x%x", tab, &err), -1);
	CHECK_STR(err, "Expanded value too long");
	CHECK(!sb.error);
	strbuf_truncate(&sb, 0);
	CHECK_INT(var_expand(&sb, "%0999999x", tab, &err), -1);
	CHECK_STR(err, "Expanded value too long");
	strbuf_free(&sb);
}

TEST(expand_escapes)
{
	static const struct var_tab tab[] = {
		{ 'u', "user", "../etc/x@dom" },
		{ 'q', NULL, "a\"b'c\\d" },
		{ '\0', NULL, NULL },
	};
	struct strbuf sb;
	const char *err;

	strbuf_init(&sb, 256);
	CHECK_INT(var_expand_escape(&sb, "/u/%u/%%/f", tab, var_escape_path, &err), 0);
	CHECK_STR(sb.s, "/u/../%/f");
	strbuf_truncate(&sb, 0);
	CHECK_INT(var_expand_escape(&sb, "%q|%Uq", tab, var_escape_str, &err), 0);
	CHECK_STR(sb.s, "a\\\"b\\'c\\\\d|A\\\"B\\'C\\\\D");
	strbuf_free(&sb);
}

#include "tests/unit/varexpand_dovecot.h"

/* %{passdb:name[:default]} over VX_USER_FIELDS, for the 'o' rows (core/passdb_req.c has
 * the real one; test_passdb.c runs these rows through it) */
static int
vx_func(struct strbuf *out, const char *name, size_t namelen, const char *data,
    size_t datalen, var_escape_fn *escape, void *ctx)
{
	const char *fields = ctx, *colon = memchr(data, ':', datalen);
	size_t flen = colon != NULL ? (size_t)(colon - data) : datalen;

	(void)escape;
	if (namelen != 6 || (strncmp(name, "passdb", 6) != 0 && strncmp(name, "userdb", 6) != 0))
		return 0;
	if (fields != NULL && name[0] == 'p') {
		for (const char *f = fields; *f != '\0';) {
			size_t n = strcspn(f, " ");
			if (n > flen && strncmp(f, data, flen) == 0 && f[flen] == '=') {
				strbuf_append(out, f + flen + 1, n - flen - 1);
				return 1;
			}
			f += n + (f[n] == ' ');
		}
	}
	if (flen < datalen)
		strbuf_append(out, data + flen + 1, datalen - flen - 1);
	return 1;
}

TEST(expand_as_dovecot_2_3_does)
{
	struct var_client c = client;
	struct var_std std;
	const char *err;

	c.user = VX_USER;
	c.mech = "PLAIN";
	c.secured = "";
	c.real_rip = "192.0.2.99";
	c.real_lip = "10.0.0.9";
	c.real_rport = 40000;
	c.real_lport = 10143;
	CHECK_INT(setenv(VX_ENV_NAME, VX_ENV_VALUE, 1), 0);
	CHECK_INT(var_std_init(&std, &c), 0);
	for (size_t i = 0; i < sizeof(vx_dovecot) / sizeof(vx_dovecot[0]); i++) {
		struct var_expand_params p = { std.tab, NULL, vx_func,
		    vx_dovecot[i].where == 'o' ? (void *)VX_USER_FIELDS : NULL };
		struct strbuf sb;
		strbuf_init(&sb, 1024);
		int r = var_expand_params(&sb, vx_dovecot[i].tmpl, &p, &err);
		if (!hash_left_out(vx_dovecot[i].tmpl, r, err) &&
		    (r != 0 || strcmp(sb.s, vx_dovecot[i].out) != 0))
			unit_fail(__FILE__, __LINE__, "\"%s\" -> %d \"%s\", Dovecot: \"%s\"",
			    vx_dovecot[i].tmpl, r, r == 0 ? sb.s : err, vx_dovecot[i].out);
		strbuf_free(&sb);
	}
	var_std_free(&std);
	unsetenv(VX_ENV_NAME);
}
