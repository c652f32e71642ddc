/* SPDX-License-Identifier: MIT */
/* core/sql, core/pgsql, core/mysql and the sql passdb: the connect string, the wire
 * parsers on good and bad server input, the escaping, the scrambles, and an asynchronous
 * lookup against a server that never answers (timeout, cancel). */
#include "tests/unit/unit.h"
#include "core/loop.h"
#include "core/mysql.h"
#include "core/passdb.h"
#include "core/pgsql.h"
#include "core/sql.h"
#include "core/sql_drv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- connect strings ---- */

TEST(sql_connect_string_errors)
{
	static const struct { const char *driver, *connect, *want; } cases[] = {
		{ "oracle", "host=127.0.0.1", "Unknown database driver 'oracle' (mtool has pgsql and mysql)" },
		{ "pgsql", "host=127.0.0.1 user=u bogus=1", "pgsql: invalid connection option \"bogus\"" },
		{ "pgsql", "host=127.0.0.1 user=u maxconns=0", "Invalid value for maxconns: 0" },
		{ "pgsql", "host=db.example.org user=u", NULL },
		{ "pgsql", "host=127.0.0.1 user=u sslmode=sometimes", "pgsql: invalid sslmode value: \"sometimes\"" },
		{ "pgsql", "host=127.0.0.1 user=u password='unterminated", "Invalid connect string: unterminated quote" },
		{ "pgsql", "host=127.0.0.1 dbname=x", "pgsql: user= is needed in connect" },
		{ "mysql", "host=127.0.0.1 user=u colour=blue", "mysql: Unknown connect string: colour" },
		{ "mysql", "host=127.0.0.1 port=99999", "mysql: Invalid port: 99999" },
		{ "pgsql", "justaword", "Invalid connect string: justaword (key=value expected)" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		struct sql_db *db = sql_db_new(cases[i].driver, cases[i].connect, err, sizeof(err));
		CHECK(db == NULL);
		if (cases[i].want != NULL)
			CHECK_STR(err, cases[i].want);
		else
			CHECK(strstr(err, "no resolver") != NULL);
		sql_db_free(db);
	}
	char err[256];
	struct sql_db *db = sql_db_new("pgsql", "host=127.0.0.1 host=/run/pg port=5433 "
	    "user=u password='a \\'b\\' c' maxconns=3", err, sizeof(err));
	CHECK(db != NULL);
	if (db != NULL)
		CHECK_STR(sql_db_driver(db), "pgsql");
	sql_db_free(db);
}

/* ---- PostgreSQL messages ---- */

static size_t
pg_msg(unsigned char *out, char type, const void *body, size_t len)
{
	out[0] = (unsigned char)type;
	out[1] = (unsigned char)((len + 4) >> 24);
	out[2] = (unsigned char)((len + 4) >> 16);
	out[3] = (unsigned char)((len + 4) >> 8);
	out[4] = (unsigned char)(len + 4);
	memcpy(out + 5, body, len);
	return 5 + len;
}

static const char *
pg_run(const unsigned char *data, size_t len, long *used)
{
	static char state[300];
	struct pgsql_conn *pg = pgsql_test_new();

	*used = pgsql_test_feed(pg, data, len);
	str_copy(state, pgsql_test_state(pg), sizeof(state));
	pgsql_test_free(pg);
	return state;
}

TEST(pgsql_result_parsing)
{
	unsigned char buf[1024];
	size_t n = 0;
	long used;
	/* two columns "password", "proxy"; a row with a NULL; CommandComplete; Ready */
	static const unsigned char rowdesc[] = {
		0, 2,
		'p', 'a', 's', 's', 'w', 'o', 'r', 'd', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25, 255, 255,
		255, 255, 255, 255, 0, 0,
		'p', 'r', 'o', 'x', 'y', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25, 255, 255, 255, 255, 255,
		255, 0, 0,
	};
	static const unsigned char row[] = { 0, 2, 0, 0, 0, 3, 'a', 'b', 'c', 255, 255, 255, 255 };
	n += pg_msg(buf + n, 'T', rowdesc, sizeof(rowdesc));
	n += pg_msg(buf + n, 'D', row, sizeof(row));
	n += pg_msg(buf + n, 'C', "SELECT 1", 9);
	n += pg_msg(buf + n, 'Z', "I", 1);
	CHECK_STR(pg_run(buf, n, &used), "ready");
	CHECK_INT(used, (long)n);
	/* a partial message waits */
	CHECK_STR(pg_run(buf, n - 2, &used), "query");
	CHECK_INT(used, (long)(n - 6));

	/* a row with more values than columns */
	static const unsigned char row3[] = { 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	n = pg_msg(buf, 'T', rowdesc, sizeof(rowdesc));
	n += pg_msg(buf + n, 'D', row3, sizeof(row3));
	CHECK(strncmp(pg_run(buf, n, &used), "failed: unexpected or malformed message 'D'", 43) == 0);
	/* a value length past the message */
	static const unsigned char rowlong[] = { 0, 2, 0, 0, 0, 50, 'x', 255, 255, 255, 255 };
	n = pg_msg(buf, 'T', rowdesc, sizeof(rowdesc));
	n += pg_msg(buf + n, 'D', rowlong, sizeof(rowlong));
	CHECK(strncmp(pg_run(buf, n, &used), "failed:", 7) == 0);
	/* a huge length is refused before any byte of it is waited for */
	static const unsigned char huge[] = { 'D', 0x7f, 0xff, 0xff, 0xff };
	CHECK_STR(pg_run(huge, sizeof(huge), &used), "failed: a message from the server is too large");
	CHECK_INT(used, -1);
	static const unsigned char tiny[] = { 'D', 0, 0, 0, 2 };
	CHECK_STR(pg_run(tiny, sizeof(tiny), &used), "failed: invalid message length");
	/* an unknown message type, an authentication request in the middle of a query */
	n = pg_msg(buf, '!', "", 0);
	CHECK(strncmp(pg_run(buf, n, &used), "failed: unexpected or malformed message '!'", 43) == 0);
	n = pg_msg(buf, 'R', "\0\0\0\0", 4);
	CHECK_STR(pg_run(buf, n, &used), "failed: unexpected authentication message");
	/* an error is the query's, the connection goes on */
	n = pg_msg(buf, 'E', "SERROR\0C42P01\0Mrelation \"x\" does not exist\0", 44);
	n += pg_msg(buf + n, 'Z', "I", 1);
	CHECK_STR(pg_run(buf, n, &used), "ready");
	/* 65 columns */
	unsigned char big[65 * 20 + 2];
	size_t bl = 2;
	big[0] = 0;
	big[1] = 65;
	for (int i = 0; i < 65; i++) {
		memcpy(big + bl, "c\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
		bl += 20;
	}
	n = pg_msg(buf, 'T', big, bl > 1000 ? 1000 : bl);
	CHECK(strncmp(pg_run(buf, n, &used), "failed:", 7) == 0);
}

TEST(pgsql_escape)
{
	struct pgsql_conn *pg = pgsql_test_new();
	struct strbuf sb;
	const char in[] = "a'b\\c";

	/* before the server said standard_conforming_strings=on, backslashes double too */
	strbuf_init(&sb, 100);
	pgsql_sql_driver.escape(pg)(&sb, in, strlen(in));
	CHECK_STR(sb.s, "a''b\\\\c");
	strbuf_free(&sb);
	unsigned char buf[64];
	size_t n = pg_msg(buf, 'S', "standard_conforming_strings\0on", 31);
	CHECK_INT(pgsql_test_feed(pg, buf, n), (long)n);
	strbuf_init(&sb, 100);
	pgsql_sql_driver.escape(pg)(&sb, in, strlen(in));
	CHECK_STR(sb.s, "a''b\\c");
	strbuf_free(&sb);
	pgsql_test_free(pg);
}

/* ---- MySQL packets ---- */

static size_t
my_pkt(unsigned char *out, unsigned char seq, const void *body, size_t len)
{
	out[0] = (unsigned char)len;
	out[1] = (unsigned char)(len >> 8);
	out[2] = (unsigned char)(len >> 16);
	out[3] = seq;
	memcpy(out + 4, body, len);
	return 4 + len;
}

static size_t
my_column(unsigned char *out, unsigned char seq, const char *name)
{
	unsigned char b[128];
	size_t n = 0, l = strlen(name);

	memcpy(b, "\3def\0\0\0", 7);	/* catalog "def", schema, table, org_table empty */
	n = 7;
	b[n++] = (unsigned char)l;
	memcpy(b + n, name, l);
	n += l;
	b[n++] = 0;			/* org_name */
	memcpy(b + n, "\x0c\x21\0\0\1\0\0\xfd\0\0\0\0\0", 13);
	n += 13;
	return my_pkt(out, seq, b, n);
}

static const char *
my_run(const unsigned char *data, size_t len, long *used)
{
	static char state[300];
	struct mysql_conn *my = mysql_test_new();

	*used = mysql_test_feed(my, data, len);
	str_copy(state, mysql_test_state(my), sizeof(state));
	mysql_test_free(my);
	return state;
}

TEST(mysql_result_parsing)
{
	unsigned char buf[1024];
	size_t n = 0;
	long used;
	static const unsigned char eof[] = { 0xfe, 0, 0, 2, 0 };

	n += my_pkt(buf + n, 1, "\2", 1);
	n += my_column(buf + n, 2, "password");
	n += my_column(buf + n, 3, "proxy");
	n += my_pkt(buf + n, 4, eof, sizeof(eof));
	n += my_pkt(buf + n, 5, "\3abc\xfb", 5);
	n += my_pkt(buf + n, 6, eof, sizeof(eof));
	CHECK_STR(my_run(buf, n, &used), "ready");
	CHECK_INT(used, (long)n);
	/* out of order */
	n = my_pkt(buf, 2, "\2", 1);
	CHECK_STR(my_run(buf, n, &used), "failed: packets out of order");
	/* a row value longer than its packet */
	n = my_pkt(buf, 1, "\1", 1);
	n += my_column(buf + n, 2, "password");
	n += my_pkt(buf + n, 3, eof, sizeof(eof));
	n += my_pkt(buf + n, 4, "\x20" "abc", 4);
	CHECK_STR(my_run(buf, n, &used), "failed: malformed result from the server");
	/* an error packet instead of a result: the connection goes on */
	static const char errpkt[] = "\xff\x7a\x04#42S02Table 'x' doesn't exist";
	n = my_pkt(buf, 1, errpkt, sizeof(errpkt) - 1);
	CHECK_STR(my_run(buf, n, &used), "ready");
	/* an error in the middle of the rows */
	n = my_pkt(buf, 1, "\1", 1);
	n += my_column(buf + n, 2, "password");
	n += my_pkt(buf + n, 3, eof, sizeof(eof));
	static const char errmid[] = "\xff\x10\x04#HY000Lost";
	n += my_pkt(buf + n, 4, errmid, sizeof(errmid) - 1);
	CHECK_STR(my_run(buf, n, &used), "ready");
	/* a huge packet length, LOCAL INFILE, too many columns, a zero-column result */
	static const unsigned char huge[] = { 0xff, 0xff, 0xff, 1 };
	CHECK_STR(my_run(huge, sizeof(huge), &used), "failed: a packet from the server is too large");
	n = my_pkt(buf, 1, "\xfb/etc/passwd", 12);
	CHECK_STR(my_run(buf, n, &used), "failed: malformed result from the server");
	n = my_pkt(buf, 1, "\x41", 1);
	CHECK_STR(my_run(buf, n, &used), "failed: Too many columns in the result");
	n = my_pkt(buf, 1, "\xfc\0\0", 3);
	CHECK_STR(my_run(buf, n, &used), "failed: malformed result from the server");
	/* a statement without rows (OK) */
	n = my_pkt(buf, 1, "\0\0\0\2\0\0\0", 7);
	CHECK_STR(my_run(buf, n, &used), "ready");
}

TEST(mysql_escape_and_scramble)
{
	struct mysql_conn *my = mysql_test_new();
	struct strbuf sb;
	const char in[] = "a'b\\c\"d\n\r\032";
	unsigned char scr[20], out[32];

	strbuf_init(&sb, 100);
	mysql_sql_driver.escape(my)(&sb, in, strlen(in));
	CHECK_STR(sb.s, "a\\'b\\\\c\\\"d\\n\\r\\Z");
	strbuf_free(&sb);
	strbuf_init(&sb, 100);
	mysql_sql_driver.escape(my)(&sb, "x\0y", 3);
	CHECK_MEM(sb.s, sb.len, "x\\0y", 4);
	strbuf_free(&sb);
	/* NO_BACKSLASH_ESCAPES in an OK packet's status */
	unsigned char buf[32];
	size_t n = my_pkt(buf, 1, "\0\0\0\0\2\0\0", 7);
	CHECK_INT(mysql_test_feed(my, buf, n), (long)n);
	strbuf_init(&sb, 100);
	mysql_sql_driver.escape(my)(&sb, "a'b\\c", 5);
	CHECK_STR(sb.s, "a''b\\c");
	strbuf_free(&sb);
	mysql_test_free(my);

	for (int i = 0; i < 20; i++)
		scr[i] = (unsigned char)(i + 1);
	static const unsigned char native[20] = {
		0xb3, 0x2b, 0xb3, 0xa5, 0x83, 0xe1, 0x34, 0x0c, 0x0a, 0x11, 0x08, 0xd5, 0x8b, 0x1b,
		0xe4, 0x97, 0x81, 0xad, 0x8c, 0x2f,
	};
	static const unsigned char sha2[32] = {
		0x74, 0x6e, 0xbe, 0x20, 0x5d, 0x56, 0xa0, 0x70, 0x7a, 0xcb, 0x3e, 0x79, 0x6e, 0x83,
		0x4e, 0x0d, 0xd7, 0xb1, 0xd6, 0x17, 0x43, 0xb2, 0x6b, 0xd5, 0x20, 0x2c, 0x7a, 0x62,
		0x32, 0x30, 0xc7, 0xc9,
	};
	CHECK_MEM(out, mysql_scramble("mysql_native_password", "secret", scr, out), native, 20);
	CHECK_MEM(out, mysql_scramble("caching_sha2_password", "secret", scr, out), sha2, 32);
	CHECK_INT(mysql_scramble("mysql_native_password", "", scr, out), 0);
}

/* ---- the sql passdb on the loop, against a server that accepts and says nothing ---- */

struct wait {
	int called;
	struct passdb_result res;
	struct loop *loop;
};

static void
lookup_done(struct passdb_result *res, void *arg)
{
	struct wait *w = arg;
	w->called++;
	w->res = *res;
	loop_stop(w->loop);
}

static void
stop_loop(struct loop_timer *t, void *arg)
{
	(void)t;
	loop_stop(arg);
}

TEST(passdb_sql_timeout_and_cancel)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	CHECK(bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == 0 && listen(ls, 16) == 0 &&
	    getsockname(ls, (struct sockaddr *)&sin, &sl) == 0);
	char path[] = "/tmp/mtool-unit-sql.XXXXXX";
	int fd = mkstemp(path);
	char text[512];
	size_t tl = str_fmt(text, sizeof(text), "driver = mysql\nconnect = host=127.0.0.1 port=%u "
	    "user=u\npassword_query = SELECT password FROM users WHERE u = '%%u'\n",
	    ntohs(sin.sin_port));
	CHECK(write(fd, text, tl) == (ssize_t)tl);
	close(fd);

	struct passdb_chain *chain = passdb_chain_new();
	const char *error;
	CHECK(passdb_chain_add(chain, "sql", path, NULL, NULL, NULL, &error) == 0);
	struct wait w = { 0 };
	w.loop = loop_new();
	passdb_chain_set_loop(chain, w.loop, 200);
	struct passdb_request req = { .user = "u1", .password = "p", .service = "imap" };

	/* the callback comes from the loop, after the timeout, as a temporary failure */
	unit_stderr_begin();
	unsigned int id = passdb_chain_lookup_start(chain, &req, lookup_done, &w);
	CHECK(id != 0);
	CHECK_INT(w.called, 0);
	loop_run(w.loop);
	const char *log = unit_stderr_end();
	CHECK_INT(w.called, 1);
	CHECK_INT(w.res.status, PASSDB_INTERNAL_FAILURE);
	CHECK(strstr(log, "sql(u1): Lookup timed out after 200 msecs") != NULL);
	passdb_result_free(&w.res);

	/* a cancelled lookup never calls back */
	w.called = 0;
	id = passdb_chain_lookup_start(chain, &req, lookup_done, &w);
	CHECK(id != 0);
	passdb_chain_cancel(chain, id);
	struct loop_timer t = { 0 };
	loop_timer_set(w.loop, &t, 300, stop_loop, w.loop);
	unit_stderr_begin();
	loop_run(w.loop);
	(void)unit_stderr_end();
	CHECK_INT(w.called, 0);

	/* the synchronous form cannot wait: a temporary failure at once */
	struct passdb_result r;
	CHECK_INT(passdb_chain_lookup(chain, &req, &r), 0);
	CHECK_INT(r.status, PASSDB_INTERNAL_FAILURE);
	passdb_result_free(&r);

	/* pending lookups go with the chain */
	id = passdb_chain_lookup_start(chain, &req, lookup_done, &w);
	CHECK(id != 0);
	passdb_chain_free(chain);
	CHECK_INT(w.called, 0);
	loop_free(w.loop);
	close(ls);
	unlink(path);
}

TEST(passdb_sql_file_errors)
{
	char path[] = "/tmp/mtool-unit-sql.XXXXXX";
	int fd = mkstemp(path);
	const char text[] = "driver = pgsql\nconnect = host=127.0.0.1 user=u\npassword_quer = x\n";
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	struct passdb_chain *chain = passdb_chain_new();
	const char *error;
	CHECK(passdb_chain_add(chain, "sql", path, NULL, NULL, NULL, &error) < 0);
	CHECK(strstr(error, ":3: Unknown setting: password_quer") != NULL);
	CHECK(passdb_chain_add(chain, "sql", "/nonexistent/dovecot-sql.conf.ext", NULL, NULL, NULL,
	    &error) < 0);
	CHECK(strncmp(error, "sql /nonexistent/dovecot-sql.conf.ext: ", 39) == 0);
	CHECK(passdb_chain_add(chain, "sql", "", NULL, NULL, NULL, &error) < 0);
	CHECK_STR(error, "sql: Configuration file path not given");
	passdb_chain_free(chain);
	unlink(path);
}
