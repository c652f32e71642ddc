/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/smtpdot.h"

struct sink {
	char buf[256];
	size_t len;
	int fail_at;	/* out() fails once this many bytes are kept; 0: never */
};

static int
sink_out(void *arg, const char *data, size_t len)
{
	struct sink *s = arg;
	if (s->fail_at && s->len + len >= (size_t)s->fail_at)
		return -1;
	if (s->len + len > sizeof(s->buf))
		return -1;
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return 0;
}

static const struct {
	const char *in;
	const char *kept;	/* what goes to out() */
	int done;
	size_t consumed;	/* with done: where the message ended */
} data_cases[] = {
	{ "a\r\n.\r\nNOOP\r\n", "a\r\n", 1, 6 },
	{ ".\r\n", "", 1, 3 },
	{ "..\r\n.x\r\n.\r\n", "..\r\n.x\r\n", 1, 11 },
	{ "a\n.\nQUIT\n", "a\n", 1, 4 },
	{ ".\rx\r\n.\r\n", ".\rx\r\n", 1, 8 },
	{ ".\r\r\n.\r\n", ".\r\r\n", 1, 7 },
	{ "x.\r\n.\r\n", "x.\r\n", 1, 7 },
	{ "\r\n.\r\n", "\r\n", 1, 5 },
	{ "a\r\n. \r\n.\r\n", "a\r\n. \r\n", 1, 10 },
	{ "abc\r\n.", "abc\r\n", 0, 0 },
	{ "abc\r\n.\r", "abc\r\n", 0, 0 },
	{ "no end", "no end", 0, 0 },
};

/* every case fed in two pieces split at every point, and byte by byte */
TEST(smtpdot_data_scan_splits)
{
	for (size_t c = 0; c < sizeof(data_cases) / sizeof(data_cases[0]); c++) {
		const char *in = data_cases[c].in;
		size_t len = strlen(in);
		for (size_t split = 0; split <= len + 1; split++) {
			struct smtpdot d = { 0 };
			struct sink s = { .len = 0 };
			size_t pos = 0;
			int done = 0;
			while (pos < len && !done) {
				/* split == len + 1: one byte at a time */
				size_t n = split == len + 1 ? 1 : pos < split ? split - pos : len - pos;
				if (n == 0)
					n = len - pos;
				size_t used = smtpdot_data_scan(&d, in + pos, n, sink_out, &s, &done);
				CHECK(used != (size_t)-1);
				CHECK(used <= n);
				CHECK(done || used == n);
				pos += used;
			}
			CHECK_INT(done, data_cases[c].done);
			CHECK_MEM(s.buf, s.len, data_cases[c].kept, strlen(data_cases[c].kept));
			if (data_cases[c].done)
				CHECK_INT(pos, data_cases[c].consumed);
		}
	}
}

TEST(smtpdot_data_scan_out_error)
{
	struct smtpdot d = { 0 };
	struct sink s = { .fail_at = 2 };
	int done;
	CHECK(smtpdot_data_scan(&d, "abc\r\n.\r\n", 8, sink_out, &s, &done) == (size_t)-1);
}

TEST(smtpdot_stuff_table)
{
	static const struct {
		const char *in, *out;
		int in_line;
	} t[] = {
		{ "", "", 0 },
		{ ".", "..", 1 },
		{ ".\r\n", "..\r\n", 0 },
		{ "a\r\n.\r\n..\r\nb.c\r\n", "a\r\n..\r\n...\r\nb.c\r\n", 0 },
		{ "x\n.y", "x\n..y", 1 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = strlen(t[i].in);
		/* whole, and byte by byte (a line start across pieces) */
		for (int bytewise = 0; bytewise < 2; bytewise++) {
			struct smtpdot d = { 0 };
			struct sink s = { .len = 0 };
			if (bytewise) {
				for (size_t j = 0; j < len; j++)
					CHECK_INT(smtpdot_stuff(&d, t[i].in + j, 1, sink_out, &s), 0);
			} else {
				CHECK_INT(smtpdot_stuff(&d, t[i].in, len, sink_out, &s), 0);
			}
			CHECK_MEM(s.buf, s.len, t[i].out, strlen(t[i].out));
			CHECK_INT(smtpdot_in_line(&d), t[i].in_line);
		}
	}
	/* stuffed text scans back to itself */
	struct smtpdot d = { 0 }, e = { 0 };
	struct sink s = { .len = 0 }, r = { .len = 0 };
	int done;
	const char *raw = ".\r\n..\r\nend\r\n";
	CHECK_INT(smtpdot_stuff(&d, raw, strlen(raw), sink_out, &s), 0);
	CHECK_INT(sink_out(&s, ".\r\n", 3), 0);
	CHECK_INT(smtpdot_data_scan(&e, s.buf, s.len, sink_out, &r, &done), s.len);
	CHECK_INT(done, 1);
	CHECK_MEM(r.buf, r.len, "..\r\n...\r\nend\r\n", 14);
}
