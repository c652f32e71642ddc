/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/varexpand.h"

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
		{ "%5.-100n", "", NULL },
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
		{ "%{env:HOME}", NULL, "Unknown variable '%env'" },
		{ "%{user", NULL, "Unknown variable '%{'" },
		{ "%E{user}", NULL, "Unknown variable '%E'" },
	};
	struct var_std std;
	const char *err;

	CHECK_INT(var_std_init(&std, &client), 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct strbuf sb;
		strbuf_init(&sb, 1024);
		int r = var_expand(&sb, t[i].tmpl, std.tab, &err);
		if (t[i].out != NULL) {
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
