/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "applets/proxyd/imap_parser.h"

/* Feeds s in chunks of step bytes; answers LITERAL by going on. Returns the last status
 * and the number of LITERAL continuations seen. */
static enum imap_parse_status
feed_all(struct imap_parser *p, const char *s, size_t step, int *conts, size_t *rest)
{
	size_t len = strlen(s), off = 0;
	enum imap_parse_status st = IMAP_PARSE_MORE;
	*conts = 0;
	while (off < len) {
		size_t n = len - off < step ? len - off : step, used;
		if (imap_parser_feed(p, s + off, n, &used, &st) < 0)
			return IMAP_PARSE_TOO_LONG;
		off += used;
		if (st == IMAP_PARSE_LITERAL)
			(*conts)++;
		else if (st != IMAP_PARSE_MORE)
			break;
	}
	*rest = len - off;
	return st;
}

TEST(login_quoted_and_atoms)
{
	struct imap_parser p = { 0 };
	int c;
	size_t rest;
	for (size_t step = 1; step <= 64; step *= 2) {
		CHECK_INT(feed_all(&p, "a1 LOGIN \"us\\\"er\" pa\\ss\r\n", step, &c, &rest), IMAP_PARSE_BAD);
		CHECK_INT(feed_all(&p, "a1 LOGIN \"us\\\"er\" \"pa\\\\ss\"\r\n", step, &c, &rest), IMAP_PARSE_DONE);
		CHECK_STR(p.tag, "a1");
		CHECK_STR(p.name, "LOGIN");
		CHECK(imap_args_strings(&p, 2));
		CHECK_STR(p.args[0].str, "us\"er");
		CHECK_STR(p.args[1].str, "pa\\ss");
		CHECK_INT(rest, 0);
		/* the list-wildcards in an atom, as Dovecot takes them (a master login) */
		CHECK_INT(feed_all(&p, "a2 LOGIN joe*admin p%ss*\r\n", step, &c, &rest), IMAP_PARSE_DONE);
		CHECK(imap_args_strings(&p, 2));
		CHECK_STR(p.args[0].str, "joe*admin");
		CHECK_STR(p.args[1].str, "p%ss*");
	}
	imap_parser_reset(&p);
}

TEST(literals_sync_and_nonsync)
{
	struct imap_parser p = { 0 };
	int c;
	size_t rest;
	for (size_t step = 1; step <= 64; step *= 3) {
		CHECK_INT(feed_all(&p, "x LOGIN {5}\r\nuser1 {4+}\r\npass\r\n", step, &c, &rest), IMAP_PARSE_DONE);
		CHECK_INT(c, 1);
		CHECK(imap_args_strings(&p, 2));
		CHECK_STR(p.args[0].str, "user1");
		CHECK_STR(p.args[1].str, "pass");
		CHECK_INT(feed_all(&p, "x LOGIN {0}\r\n {0+}\r\n\r\n", step, &c, &rest), IMAP_PARSE_DONE);
		CHECK_INT(c, 1);
		CHECK(imap_args_strings(&p, 2));
		CHECK_STR(p.args[0].str, "");
	}
	imap_parser_reset(&p);
}

TEST(lists_and_nil)
{
	struct imap_parser p = { 0 };
	int c;
	size_t rest;
	CHECK_INT(feed_all(&p, "i ID (\"name\" \"x\" \"version\" NIL)\r\nnext", 7, &c, &rest), IMAP_PARSE_DONE);
	CHECK_INT(rest, 4);
	CHECK_INT(p.nargs, 6);
	CHECK_INT(p.args[0].type, IMAP_ARG_LIST_START);
	CHECK_STR(p.args[4].str, "NIL");
	CHECK_INT(p.args[4].type, IMAP_ARG_ATOM);
	CHECK_INT(p.args[5].type, IMAP_ARG_LIST_END);
	CHECK_INT(feed_all(&p, "i ID NIL\n", 100, &c, &rest), IMAP_PARSE_DONE);
	CHECK_INT(p.nargs, 1);
	CHECK_INT(feed_all(&p, "i ID (\"a\"\r\n", 100, &c, &rest), IMAP_PARSE_BAD);
	CHECK_STR(p.error, "Missing ')'");
	CHECK_INT(feed_all(&p, "i ID )\r\n", 100, &c, &rest), IMAP_PARSE_BAD);
	imap_parser_reset(&p);
}

TEST(bad_lines_are_skipped_whole)
{
	static const struct { const char *in; const char *error; } cases[] = {
		{ "\r\n", "Empty command" },
		{ "a\r\n", "Invalid tag" },
		{ "a \r\n", "Missing command name" },
		{ "a LOGIN \"open\r\n", "Missing '\"'" },
		{ "a LOGIN {-1}\r\n", "Invalid literal size" },
		{ "a LOGIN {abc}\r\n", "Invalid literal size" },
		{ "a LOGIN {3} x\r\n", "Literal must end the line" },
		{ "a LOGIN \"x\\y\"\r\n", "Invalid escape in quoted string" },
		{ "a LOGIN x\ry\r\n", "Expected LF after CR" },
		{ "a LOGIN x\x01\r\n", "Invalid characters in atom" },
	};
	struct imap_parser p = { 0 };
	int c;
	size_t rest;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256];
		snprintf(buf, sizeof(buf), "%sb NOOP\r\n", cases[i].in);
		CHECK_INT(feed_all(&p, buf, 5, &c, &rest), IMAP_PARSE_BAD);
		CHECK_STR(p.error, cases[i].error);
		CHECK_INT(rest, 8);
		/* the next command parses cleanly */
		CHECK_INT(feed_all(&p, "b NOOP\r\n", 3, &c, &rest), IMAP_PARSE_DONE);
		CHECK_STR(p.name, "NOOP");
	}
	imap_parser_reset(&p);
}

TEST(nul_in_literal_refused)
{
	struct imap_parser p = { 0 };
	size_t used;
	enum imap_parse_status st;
	const char in[] = "a LOGIN {3+}\r\nu\0x p\r\n";
	CHECK_INT(imap_parser_feed(&p, in, sizeof(in) - 1, &used, &st), 0);
	CHECK_INT(st, IMAP_PARSE_BAD);
	CHECK_STR(p.error, "NUL in literal");
	CHECK_INT(used, sizeof(in) - 1);
	imap_parser_reset(&p);
}

TEST(too_long_and_too_many)
{
	struct imap_parser p = { 0 };
	int c;
	size_t rest;
	static char big[70000];
	memset(big, 'x', sizeof(big) - 1);
	memcpy(big, "a LOGIN ", 8);
	CHECK_INT(feed_all(&p, big, 4096, &c, &rest), IMAP_PARSE_TOO_LONG);
	CHECK_INT(feed_all(&p, "a LOGIN {9000+}\r\n", 4096, &c, &rest), IMAP_PARSE_TOO_LONG);
	CHECK_STR(p.error, "Literal too large");
	/* a synchronizing one too: the client would send it anyway after a BAD */
	CHECK_INT(feed_all(&p, "a LOGIN {8190}\r\n", 4096, &c, &rest), IMAP_PARSE_TOO_LONG);
	CHECK_STR(p.error, "Literal too large");
	CHECK_INT(feed_all(&p, "a LOGIN {99999999999999999999}\r\n", 4096, &c, &rest), IMAP_PARSE_TOO_LONG);
	char many[600] = "a ID";
	for (int i = 0; i < 70; i++)
		strcat(many, " x");
	strcat(many, "\r\n");
	CHECK_INT(feed_all(&p, many, 4096, &c, &rest), IMAP_PARSE_BAD);
	CHECK_STR(p.error, "Too many arguments");
	imap_parser_reset(&p);
}

TEST(managesieve_modes)
{
	struct imap_parser p = { .mode = IMAP_PARSE_UNTAGGED };
	int c;
	size_t rest;
	for (size_t step = 1; step <= 64; step *= 2) {
		CHECK_INT(feed_all(&p, "AUTHENTICATE \"PLAIN\" {4+}\r\nabcd\r\n", step, &c, &rest), IMAP_PARSE_DONE);
		CHECK(p.tag == NULL);
		CHECK_STR(p.name, "AUTHENTICATE");
		CHECK(imap_args_strings(&p, 2));
		CHECK_INT(p.args[0].type, IMAP_ARG_STRING);
		CHECK_STR(p.args[1].str, "abcd");
		CHECK_INT(c, 0);
		CHECK_INT(feed_all(&p, "NOOP\r\n", step, &c, &rest), IMAP_PARSE_DONE);
		CHECK_STR(p.name, "NOOP");
		CHECK_INT(p.nargs, 0);
		CHECK_INT(feed_all(&p, "\r\n", step, &c, &rest), IMAP_PARSE_BAD);
		CHECK_INT(feed_all(&p, "\"NOOP\"\r\n", step, &c, &rest), IMAP_PARSE_BAD);
	}
	imap_parser_reset(&p);
	CHECK_INT(p.mode, IMAP_PARSE_UNTAGGED);
	imap_parser_reset(&p);

	p.mode = IMAP_PARSE_ARGS;
	for (size_t step = 1; step <= 64; step *= 2) {
		CHECK_INT(feed_all(&p, "\"QUJD\"\r\n", step, &c, &rest), IMAP_PARSE_DONE);
		CHECK(p.tag == NULL && p.name == NULL);
		CHECK(imap_args_strings(&p, 1));
		CHECK_STR(p.args[0].str, "QUJD");
		CHECK_INT(feed_all(&p, "{4}\r\nQUJD\r\n", step, &c, &rest), IMAP_PARSE_DONE);
		CHECK_INT(c, 1);
		CHECK_STR(p.args[0].str, "QUJD");
		CHECK_INT(feed_all(&p, "\r\n", step, &c, &rest), IMAP_PARSE_DONE);
		CHECK_INT(p.nargs, 0);
	}
	imap_parser_reset(&p);
}

/* Dovecot's imap-login limits (docs/dovecot-login-behaviour.md §7) */
TEST(dovecot_limits_tokens_and_line)
{
	struct imap_parser p = { .dovecot_limits = 1, .sasl_cmd = "AUTHENTICATE" };
	static char buf[20000];
	int c;
	size_t rest;

	/* an atom of 1025 bytes passes, 1026 fill the 1026-byte buffer with its end */
	for (size_t n = 1025; n <= 1026; n++) {
		memcpy(buf, "a NOOP ", 7);
		memset(buf + 7, 'x', n);
		strcpy(buf + 7 + n, "\r\n");
		CHECK_INT(feed_all(&p, buf, 100, &c, &rest), n == 1025 ? IMAP_PARSE_DONE : IMAP_PARSE_TOO_LONG);
	}
	CHECK_STR(p.error, "Input buffer full");
	/* a quoted string: 1026 bytes with its quotes */
	for (size_t n = 1024; n <= 1025; n++) {
		memcpy(buf, "a NOOP \"", 8);
		memset(buf + 8, 'x', n);
		strcpy(buf + 8 + n, "\"\r\n");
		CHECK_INT(feed_all(&p, buf, 77, &c, &rest), n == 1024 ? IMAP_PARSE_DONE : IMAP_PARSE_TOO_LONG);
	}
	/* many small arguments: an argument may start at byte 8192, not later; the rest of
	 * the line is skipped and the next command parses */
	for (int k = 4093; k <= 4094; k++) {
		size_t n = 6;
		memcpy(buf, "a NOOP", 6);
		for (int i = 0; i < k; i++, n += 2)
			memcpy(buf + n, " x", 2);
		strcpy(buf + n, "\r\nb NOOP\r\n");
		CHECK_INT(feed_all(&p, buf, 1000, &c, &rest), k == 4093 ? IMAP_PARSE_DONE : IMAP_PARSE_BAD);
		CHECK_INT(rest, 8);
		if (k == 4094) {
			CHECK_STR(p.error, "IMAP command line too large");
			CHECK(p.bad_reply);
		} else {
			CHECK(!imap_args_strings(&p, 1));	/* more than LOGIN_MAX_ARGS: counted, dropped */
		}
	}
	/* a literal may reach byte 8192 */
	CHECK_INT(feed_all(&p, "a NOOP {8179}\r\n", 100, &c, &rest), IMAP_PARSE_LITERAL);
	CHECK_INT(c, 1);
	imap_parser_reset(&p);
	CHECK_INT(feed_all(&p, "a NOOP {8180}\r\n", 100, &c, &rest), IMAP_PARSE_TOO_LONG);
	CHECK_STR(p.error, "Literal too large");
	/* lists nest one deep; an unknown escape loses its backslash */
	CHECK_INT(feed_all(&p, "a NOOP ((x))\r\n", 100, &c, &rest), IMAP_PARSE_BAD);
	CHECK_STR(p.error, "Too many '('");
	CHECK_INT(feed_all(&p, "a LOGIN u \"p\\ss\"\r\n", 100, &c, &rest), IMAP_PARSE_DONE);
	CHECK_STR(p.args[1].str, "pss");
	/* AUTHENTICATE's initial response: 8192 bytes with its CR */
	for (size_t n = 8191; n <= 8192; n++) {
		memcpy(buf, "a AUTHENTICATE PLAIN ", 21);
		memset(buf + 21, 'A', n);
		strcpy(buf + 21 + n, "\r\n");
		CHECK_INT(feed_all(&p, buf, 999, &c, &rest), n == 8191 ? IMAP_PARSE_DONE : IMAP_PARSE_TOO_LONG);
	}
	CHECK_STR(p.error, "Authentication response too large");
	imap_parser_reset(&p);
}

TEST(dovecot_limits_id_streamed)
{
	struct imap_parser p = { .dovecot_limits = 1, .stream_cmd = "ID" };
	static char buf[40000];
	size_t n = 0, used, off = 0;
	enum imap_parse_status st;
	unsigned int args = 0, lists = 0;

	n += (size_t)sprintf(buf, "t id (");
	for (int i = 0; i < 30; i++) {
		n += (size_t)sprintf(buf + n, "\"k%d\" \"", i);
		memset(buf + n, 'v', 1024);
		n += 1024;
		buf[n++] = '"';
		buf[n++] = ' ';
	}
	n += (size_t)sprintf(buf + n, "NIL)\r\nu NOOP\r\n");
	/* 31 KB through a parser whose storage holds one argument at a time */
	for (;;) {
		CHECK_INT(imap_parser_feed(&p, buf + off, n - off > 512 ? 512 : n - off, &used, &st), 0);
		off += used;
		if (st == IMAP_PARSE_ARG) {
			args++;
			CHECK_INT(p.nargs, 1);
			lists += p.args[0].type == IMAP_ARG_LIST_START || p.args[0].type == IMAP_ARG_LIST_END;
			if (args == 2)
				CHECK_STR(p.args[0].str, "k0");
			continue;
		}
		if (st != IMAP_PARSE_MORE)
			break;
	}
	CHECK_INT(st, IMAP_PARSE_DONE);
	CHECK_STR(p.tag, "t");
	CHECK_INT(args, 2 + 61);
	CHECK_INT(lists, 2);
	CHECK_INT(n - off, 8);
	/* the owner may give up on the rest of the line */
	CHECK_INT(imap_parser_feed(&p, "x ID (\"a\" b c d)\r\n", 18, &used, &st), 0);
	CHECK_INT(st, IMAP_PARSE_ARG);
	imap_parser_skip_line(&p);
	size_t u2;
	CHECK_INT(imap_parser_feed(&p, "x ID (\"a\" b c d)\r\n" + used, 18 - used, &u2, &st), 0);
	CHECK_INT(st, IMAP_PARSE_SKIPPED);
	CHECK_INT(used + u2, 18);
	imap_parser_reset(&p);
}
