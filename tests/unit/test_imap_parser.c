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
		{ "a LOGIN x%\r\n", "Invalid characters in atom" },
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
