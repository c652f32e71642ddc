/* SPDX-License-Identifier: MIT */
/* doveadm's formatters (applets/doveadm/print*.c) with the values a real proxy list cannot
 * easily produce: header flags, right-justified and hidden columns, the shrink pass, the
 * 100-row buffer, flushes in the middle of a table, UTF-8 widths, JSON escapes. The
 * expected bytes follow Dovecot 2.3's doveadm-print*.c; tests/integration/t-doveadm-fake.py
 * checks the same code against the real doveadm for what a proxy list can carry. */
#include <stdlib.h>

#include "applets/doveadm/print.h"
#include "core/feature.h"
#include "tests/unit/unit.h"

#define SP11	"           "
#define SP12	SP11 " "

struct cap {
	FILE *out;	/* the ostream channel */
	FILE *std;	/* the stdio channel */
};

static int
cap_start(struct cap *c, const char *fmt, unsigned int columns, int hide_titles)
{
	c->out = tmpfile();
	c->std = tmpfile();
	if (c->out == NULL || c->std == NULL)
		return -1;
	print_set_hide_titles(hide_titles);
	if (print_init(fmt, fileno(c->out), c->std) < 0)
		return -1;
	print_set_columns(columns);
	return 0;
}

static char *
slurp(FILE *f)
{
	long len;
	char *s;

	fflush(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)len + 1);
	if (s != NULL && len > 0 && fread(s, 1, (size_t)len, f) != (size_t)len)
		s[0] = '\0';
	fclose(f);
	return s;
}

/* ends printing; returns what the ostream and the stdio channel got (free both) */
static void
cap_end(struct cap *c, char **out, char **std)
{
	print_deinit();
	print_set_hide_titles(0);
	*out = slurp(c->out);
	*std = slurp(c->std);
}

static void
values(const char *const *v)
{
	for (; *v != NULL; v++)
		print_value(*v);
}

TEST(table_expand_and_padding)
{
	struct cap c;
	char *out, *std;

	CHECK_INT(cap_start(&c, "table", 80, 0), 0);
	print_header("username", "username", PRINT_EXPAND);
	print_header_simple("pid");
	values((const char *[]){ "user1@example.org", "12", "u2", "12345", NULL });
	cap_end(&c, &out, &std);
	/* 17+5+1 = 23; (80-23)/2 = 28 more for the EXPAND column; the last is padded too */
	CHECK_STR(std, "username                                      pid  \n"
	    "user1@example.org                             12   \n"
	    "u2                                            12345\n");
	CHECK_STR(out, "");
	free(out);
	free(std);
}

TEST(table_no_expand_widens_last_column)
{
	struct cap c;
	char *out, *std;

	CHECK_INT(cap_start(&c, "table", 40, 0), 0);
	print_header_simple("a");
	print_header_simple("b");
	values((const char *[]){ "x", "y", NULL });
	cap_end(&c, &out, &std);
	/* 1+1+1 = 3; (40-3)/2 = 18 more for the last column */
	CHECK_STR(std, "a b                  \nx y                  \n");
	free(out);
	free(std);
}

TEST(table_right_justify_and_titles)
{
	struct cap c;
	char *out, *std;

	CHECK_INT(cap_start(&c, "table", 30, 0), 0);
	print_header("n", "#", PRINT_RIGHT_JUSTIFY);
	print_header("x", "name", PRINT_EXPAND);
	values((const char *[]){ "1", "a", "12", "bb", NULL });
	cap_end(&c, &out, &std);
	/* widths 2 and 4, sum 7: the EXPAND column gets (30-7)/2 = 11 more */
	CHECK_STR(std, " # name           \n 1 a              \n12 bb             \n");
	free(out);
	free(std);

	/* all titles hidden: no title row; one hidden: the row is there */
	CHECK_INT(cap_start(&c, "table", 30, 0), 0);
	print_header("a", "a", PRINT_HIDE_TITLE);
	values((const char *[]){ "v", NULL });
	cap_end(&c, &out, &std);
	CHECK_STR(std, "v              \n");
	free(out);
	free(std);
	CHECK_INT(cap_start(&c, "table", 30, 0), 0);
	print_header("a", "a", PRINT_HIDE_TITLE);
	print_header_simple("b");
	values((const char *[]){ "v", "w", NULL });
	cap_end(&c, &out, &std);
	CHECK_STR(std, "a b             \nv w             \n");
	free(out);
	free(std);

	/* -h */
	CHECK_INT(cap_start(&c, "table", 30, 1), 0);
	print_header_simple("b");
	values((const char *[]){ "w", NULL });
	cap_end(&c, &out, &std);
	CHECK_STR(std, "w              \n");
	free(out);
	free(std);
}

TEST(table_shrink)
{
	struct cap c;
	char *out, *std;

	CHECK_INT(cap_start(&c, "table", 30, 0), 0);
	print_header("a", "a", PRINT_EXPAND);
	print_header_simple("b");
	print_header_simple("c");
	values((const char *[]){ "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbb", "cc", NULL });
	values((const char *[]){ "", "", "c", NULL });
	cap_end(&c, &out, &std);
	/* 20+15+2+2 = 39 > 30: from the last column, c gives 1 (it has slack 2-1... its
	 * min is 1), then b can absorb the rest (9) and the pass ends; values are never cut */
	CHECK_STR(std, "a                    b      c\n"
	    "aaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbb cc\n"
	    "                            c\n");
	free(out);
	free(std);
}

TEST(table_utf8_width)
{
	struct cap c;
	char *out, *std;

	CHECK_INT(cap_start(&c, "table", 30, 0), 0);
	print_header_simple("name");
	print_header_simple("x");
	values((const char *[]){ "j\xc3\xbcrgen", "1", "\xe2\x82\xac", "2", NULL });
	cap_end(&c, &out, &std);
	/* "jürgen" is 6 characters, 7 bytes: padded by characters */
	CHECK_STR(std, "name   x           \nj\xc3\xbcrgen 1           \n\xe2\x82\xac      2           \n");
	free(out);
	free(std);
	CHECK_INT(print_utf8_strlen("j\xc3\xbcrgen"), 6);
	CHECK_INT(print_utf8_strlen("\xc3"), 0);	/* cut short: not counted */
	CHECK_INT(print_utf8_strlen("\xff\x80"), 2);	/* invalid bytes count one each */
	CHECK_INT(print_utf8_contbytes("\xe2\x82\xac"), 2);
}

TEST(table_widths_from_first_100_rows)
{
	struct cap c;
	char *out, *std;
	char buf[16];

	CHECK_INT(cap_start(&c, "table", 20, 0), 0);
	print_header_simple("n");
	for (int i = 0; i < 100; i++)
		print_value("ab");
	print_value("abcdefghijklmnopqrstuvwxyz");
	print_value("c");
	cap_end(&c, &out, &std);
	/* width 2 + (20-2)/2 = 11 from the first 100 rows; row 101 is longer, not cut */
	CHECK(strncmp(std, "n          \nab         \n", 24) == 0);
	snprintf(buf, sizeof(buf), "%s", std + 12 * 101);
	CHECK_STR(buf, "abcdefghijklmno");
	CHECK(strstr(std, "\nabcdefghijklmnopqrstuvwxyz\nc          \n") != NULL);
	free(out);
	free(std);
}

TEST(table_flush_sets_widths)
{
	struct cap c;
	char *out, *std;

	/* who flushes after every user: the first row alone decides the widths */
	CHECK_INT(cap_start(&c, "table", 30, 0), 0);
	print_header_simple("user");
	print_header_simple("n");
	values((const char *[]){ "ab", "1", NULL });
	print_flush();
	values((const char *[]){ "abcdef", "22", NULL });
	cap_end(&c, &out, &std);
	/* 4+1+1 = 6: (30-6)/2 = 12 more for the last column, n */
	CHECK_STR(std, "user n" SP12 "\nab   1" SP12 "\nabcdef 22" SP11 "\n");
	free(out);
	free(std);
}

TEST(flow_tab_pager)
{
	struct cap c;
	char *out, *std;

	CHECK_INT(cap_start(&c, "flow", 80, 1), 0);
	print_header_simple("a");
	print_header("b", "b", PRINT_HIDE_TITLE);
	values((const char *[]){ "1", "x y=z", "2", NULL });
	cap_end(&c, &out, &std);
	/* no escaping; -h does not apply; a cut record ends with LF at the flush */
	CHECK_STR(out, "a=1 x y=z\na=2 \n");
	CHECK_STR(std, "");
	free(out);
	free(std);

	CHECK_INT(cap_start(&c, "tab", 80, 0), 0);
	print_header_simple("a");
	print_header("b", "B", PRINT_HIDE_TITLE);
	cap_end(&c, &out, &std);
	/* titles when the headers are added (HIDE_TITLE ignored), their LF at the flush */
	CHECK_STR(out, "a\tB\n");
	free(out);
	free(std);
	CHECK_INT(cap_start(&c, "tab", 80, 1), 0);
	print_header_simple("a");
	values((const char *[]){ "t\tab", NULL });
	cap_end(&c, &out, &std);
	CHECK_STR(out, "t\tab\n");
	free(out);
	free(std);

	CHECK_INT(cap_start(&c, "pager", 80, 0), 0);
	print_header_simple("a");
	print_header("b", "b", PRINT_HIDE_TITLE);
	values((const char *[]){ "1", "2", "3", "4", "5", NULL });
	cap_end(&c, &out, &std);
	CHECK_STR(out, "a: 1\n2\n\f\na: 3\n4\n\f\na: 5\n\n");
	free(out);
	free(std);
}

TEST(json)
{
	struct cap c;
	char *out, *std;

	if (!FEATURE_ON(MTOOL_WITH_DOVEADM_JSON)) {	/* a feature: -f json is unknown */
		CHECK(print_fmt_find("json") == NULL && print_fmt_find("formatted") == NULL);
		return;
	}

	CHECK_INT(cap_start(&c, "json", 80, 0), 0);
	print_header("k\"ey", "title", 0);
	cap_end(&c, &out, &std);
	CHECK_STR(out, "[]");
	free(out);
	free(std);

	CHECK_INT(cap_start(&c, "json", 80, 0), 0);
	print_header("k\"ey", "title", 0);
	print_header_simple("v");
	values((const char *[]){ "a\"\\\b\f\n\r\t\x01\x7f", "\xe2\x80\xa8\xed\xa0\x80\xc3\xbc\xc3", NULL });
	print_flush();
	values((const char *[]){ "2", "3", NULL });
	cap_end(&c, &out, &std);
	/* keys, not titles; the first flush closes the array for good (doveadm's quirk) */
	CHECK_STR(out, "[{\"k\\\"ey\":\"a\\\"\\\\\\b\\f\\n\\r\\t\\u0001\x7f\","
	    "\"v\":\"\\u2028\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xc3\xbc\xef\xbf\xbd\"}],"
	    "{\"k\\\"ey\":\"2\",\"v\":\"3\"}");
	free(out);
	free(std);
}

TEST(formatted)
{
	struct cap c;
	char *out, *std;

	if (!FEATURE_ON(MTOOL_WITH_DOVEADM_JSON))
		return;	/* print_json.c's, feature DOVEADM_JSON: see TEST(json) */

	CHECK_INT(cap_start(&c, "formatted", 80, 0), 0);
	print_set_format("%{count} connections kicked (100%%)\n");
	print_header_simple("count");
	values((const char *[]){ "3", "(null)", NULL });
	cap_end(&c, &out, &std);
	CHECK_STR(out, "3 connections kicked (100%)\n(null) connections kicked (100%)\n");
	free(out);
	free(std);

	CHECK_INT(print_init("nosuch", 1, stdout), -1);
	CHECK(!print_started());
	CHECK(print_fmt_find("server") == NULL);
}
