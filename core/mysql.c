/* SPDX-License-Identifier: MIT */
/* Implementation notes: the MySQL client/server protocol (protocol 41) as MariaDB's and
 * MySQL's documentation describe it: HandshakeV10, SSLRequest and TLS on core/tls,
 * HandshakeResponse41, AuthSwitchRequest, mysql_native_password and
 * caching_sha2_password (its fast path, and the full path where the password may travel
 * in clear: over TLS or a UNIX socket; MySQL's RSA key exchange for plain TCP is not
 * implemented and fails with a clear error), COM_QUERY with text result sets, EOF packets
 * (CLIENT_DEPRECATE_EOF is not asked for) and further result sets (CALL) read and dropped.
 * Every packet is length-checked before use; sequence numbers are checked too. */
#include "core/mysql.h"
#include "core/conn.h"
#include "core/sql_drv.h"
#include "core/str.h"
#include "core/tls.h"

#include <bearssl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MY_PORT			3306
#define MY_SOCKET		"/run/mysqld/mysqld.sock"
#define MY_CHARSET_UTF8MB4	45
#define MY_SCRAMBLE_LEN		20

#define CLIENT_LONG_PASSWORD	0x00000001u
#define CLIENT_LONG_FLAG	0x00000004u
#define CLIENT_CONNECT_WITH_DB	0x00000008u
#define CLIENT_PROTOCOL_41	0x00000200u
#define CLIENT_SSL		0x00000800u
#define CLIENT_TRANSACTIONS	0x00002000u
#define CLIENT_SECURE_CONN	0x00008000u
#define CLIENT_MULTI_RESULTS	0x00020000u
#define CLIENT_PLUGIN_AUTH	0x00080000u

#define STATUS_MORE_RESULTS	0x0008u
#define STATUS_NO_BACKSLASH	0x0200u

struct my_set {
	char *host, *user, *password, *dbname;
	char *ssl_ca, *ssl_ca_path, *ssl_cert, *ssl_key;
	int ssl_verify;
	unsigned int port, read_timeout_s;
	struct sql_addr addr;
	struct tls_client *tls;
};

enum my_state {
	MY_GREETING, MY_AUTH, MY_READY, MY_RESULT, MY_COLUMNS, MY_COLUMNS_EOF, MY_ROWS,
	MY_MORE, MY_DEAD,
};

struct mysql_conn {
	struct sql_link *link;		/* NULL: a test connection */
	const struct my_set *set;
	struct conn *conn;
	enum my_state state;
	unsigned char seq;		/* the next packet's sequence number */
	unsigned int status;		/* the server's status flags */
	unsigned int ncols_left;
	int query_error;
	int skipping;			/* a further result set: read, not kept */
	struct sql_rows rows;
	unsigned char scramble[MY_SCRAMBLE_LEN];
	char plugin[32];
	char error[256];
};

/* ---- settings ---- */

static void
set_free(void *p)
{
	struct my_set *s = p;

	if (s == NULL)
		return;
	free(s->host);
	free(s->user);
	if (s->password != NULL) {
		memset(s->password, 0, strlen(s->password));
		free(s->password);
	}
	free(s->dbname);
	free(s->ssl_ca);
	free(s->ssl_ca_path);
	free(s->ssl_cert);
	free(s->ssl_key);
	tls_client_free(s->tls);
	free(s);
}

static void *
set_parse(const char *host, const struct sql_param *ps, size_t n, char *err, size_t errlen)
{
	struct my_set *s = calloc(1, sizeof(*s));
	int bad = s == NULL;

	if (bad)
		str_copy(err, "out of memory", errlen);
	else {
		s->port = MY_PORT;
		s->ssl_verify = 1;	/* Dovecot's default */
		s->read_timeout_s = 30;
	}
	for (size_t i = 0; i < n && !bad; i++) {
		const char *k = ps[i].key, *v = ps[i].value;
		char **dst = NULL;
		long long num;
		const char *e;
		if (strcmp(k, "user") == 0)
			dst = &s->user;
		else if (strcmp(k, "password") == 0)
			dst = &s->password;
		else if (strcmp(k, "dbname") == 0)
			dst = &s->dbname;
		else if (strcmp(k, "ssl_ca") == 0)
			dst = &s->ssl_ca;
		else if (strcmp(k, "ssl_ca_path") == 0)
			dst = &s->ssl_ca_path;
		else if (strcmp(k, "ssl_cert") == 0)
			dst = &s->ssl_cert;
		else if (strcmp(k, "ssl_key") == 0)
			dst = &s->ssl_key;
		else if (strcmp(k, "port") == 0 || strcmp(k, "read_timeout") == 0 ||
		    strcmp(k, "connect_timeout") == 0 || strcmp(k, "write_timeout") == 0 ||
		    strcmp(k, "client_flags") == 0) {
			if (str_to_num(v, 0, k[0] == 'p' ? 65535 : 1000000, &num, &e) < 0) {
				str_fmt(err, errlen, "mysql: Invalid %s: %s", k, v);
				bad = 1;
			} else if (k[0] == 'p' && num != 0)
				s->port = (unsigned int)num;
			else if (k[0] == 'r' && num != 0)
				s->read_timeout_s = (unsigned int)num;
		} else if (strcmp(k, "ssl_verify_server_cert") == 0) {
			if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
				str_fmt(err, errlen, "mysql: Invalid ssl_verify_server_cert: %s", v);
				bad = 1;
			}
			s->ssl_verify = v[0] == 'y';
		} else if (strcmp(k, "hostaddr") == 0) {
			if (host == NULL)
				host = v;
		} else if (strcmp(k, "ssl_cipher") != 0 && strcmp(k, "option_file") != 0 &&
		    strcmp(k, "option_group") != 0) {
			str_fmt(err, errlen, "mysql: Unknown connect string: %s", k);
			bad = 1;
		}
		if (dst != NULL) {
			free(*dst);
			if ((*dst = strdup(v)) == NULL) {
				str_copy(err, "out of memory", errlen);
				bad = 1;
			}
		}
	}
	/* libmysqlclient: no host or "localhost" is the UNIX socket */
	if (host == NULL || strcmp(host, "localhost") == 0)
		host = MY_SOCKET;
	if (!bad && ((s->host = strdup(host)) == NULL ||
	    (s->user == NULL && (s->user = strdup("")) == NULL))) {
		str_copy(err, "out of memory", errlen);
		bad = 1;
	}
	if (!bad)
		bad = sql_addr_parse(s->host, s->port, NULL, &s->addr, err, errlen) < 0;
	if (bad) {
		set_free(s);
		return NULL;
	}
	return s;
}

static const char *
set_host_name(const void *p)
{
	return ((const struct my_set *)p)->addr.name;
}

/* ---- packets ---- */

static void
put32le(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void
my_fail(struct mysql_conn *my, const char *fmt, const char *arg)
{
	if (my->state == MY_DEAD)
		return;
	my->state = MY_DEAD;
	str_fmt(my->error, sizeof(my->error), fmt, arg);
	sql_one_line(my->error);
	if (my->link != NULL)
		sql_link_failed(my->link, my->error);
}

static void
my_send(struct mysql_conn *my, const void *a, size_t alen, const void *b, size_t blen)
{
	unsigned char hdr[4];
	size_t len = alen + blen;

	hdr[0] = (unsigned char)len;
	hdr[1] = (unsigned char)(len >> 8);
	hdr[2] = (unsigned char)(len >> 16);
	hdr[3] = my->seq++;
	sql_write(my->conn, hdr, 4, a, alen, b, blen);
}

/* A length-encoded integer at *p (advanced); -1 when it does not fit or is NULL (0xfb). */
static int
lenenc(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	unsigned int n;

	if (*p >= end)
		return -1;
	unsigned char c = *(*p)++;
	if (c < 0xfb) {
		*v = c;
		return 0;
	}
	n = c == 0xfc ? 2 : c == 0xfd ? 3 : c == 0xfe ? 8 : 0;
	if (n == 0 || (size_t)(end - *p) < n)
		return -1;
	*v = 0;
	for (unsigned int i = 0; i < n; i++)
		*v |= (uint64_t)(*p)[i] << (8 * i);
	*p += n;
	return 0;
}

/* ERR packet: "message (code)" as libmysqlclient's mysql_error() says the message */
static void
err_text(const unsigned char *b, size_t len, char *out, size_t outlen)
{
	size_t i = 3;	/* 0xff, code */

	if (len > 3 && b[3] == '#')
		i = len >= 9 ? 9 : len;
	str_fmt(out, outlen, "%.*s", (int)(len > i ? len - i : 0), (const char *)b + i);
	sql_one_line(out);
}

/* ---- authentication ---- */

/* SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))) */
static size_t
scramble_native(const char *pw, const unsigned char *scr, unsigned char out[32])
{
	br_sha1_context h;
	unsigned char s1[20], s2[20], s3[20];

	if (*pw == '\0')
		return 0;
	br_sha1_init(&h);
	br_sha1_update(&h, pw, strlen(pw));
	br_sha1_out(&h, s1);
	br_sha1_init(&h);
	br_sha1_update(&h, s1, 20);
	br_sha1_out(&h, s2);
	br_sha1_init(&h);
	br_sha1_update(&h, scr, MY_SCRAMBLE_LEN);
	br_sha1_update(&h, s2, 20);
	br_sha1_out(&h, s3);
	for (int i = 0; i < 20; i++)
		out[i] = s1[i] ^ s3[i];
	return 20;
}

/* SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble) */
static size_t
scramble_sha2(const char *pw, const unsigned char *scr, unsigned char out[32])
{
	br_sha256_context h;
	unsigned char s1[32], s2[32], s3[32];

	if (*pw == '\0')
		return 0;
	br_sha256_init(&h);
	br_sha256_update(&h, pw, strlen(pw));
	br_sha256_out(&h, s1);
	br_sha256_init(&h);
	br_sha256_update(&h, s1, 32);
	br_sha256_out(&h, s2);
	br_sha256_init(&h);
	br_sha256_update(&h, s2, 32);
	br_sha256_update(&h, scr, MY_SCRAMBLE_LEN);
	br_sha256_out(&h, s3);
	for (int i = 0; i < 32; i++)
		out[i] = s1[i] ^ s3[i];
	return 32;
}

size_t
mysql_scramble(const char *plugin, const char *password, const unsigned char *scramble,
    unsigned char out[32])
{
	if (strcmp(plugin, "caching_sha2_password") == 0)
		return scramble_sha2(password, scramble, out);
	return scramble_native(password, scramble, out);
}

static int
plugin_known(const char *p)
{
	return strcmp(p, "mysql_native_password") == 0 || strcmp(p, "caching_sha2_password") == 0;
}

static int
clear_ok(const struct mysql_conn *my)
{
	return my->set->addr.is_unix || (my->conn != NULL && conn_tls_active(my->conn));
}

static void
send_response(struct mysql_conn *my, uint32_t caps)
{
	unsigned char auth[32];
	size_t alen = mysql_scramble(my->plugin, my->set->password ? my->set->password : "",
	    my->scramble, auth);
	struct strbuf sb;
	unsigned char head[32] = { 0 };

	put32le(head, caps);
	put32le(head + 4, 16 * 1024 * 1024);
	head[8] = MY_CHARSET_UTF8MB4;
	strbuf_init(&sb, 4096);
	strbuf_append(&sb, head, 32);
	strbuf_append(&sb, my->set->user, strlen(my->set->user) + 1);
	strbuf_putc(&sb, (char)alen);
	strbuf_append(&sb, auth, alen);
	if (my->set->dbname != NULL)
		strbuf_append(&sb, my->set->dbname, strlen(my->set->dbname) + 1);
	strbuf_append(&sb, my->plugin, strlen(my->plugin) + 1);
	if (!sb.error)
		my_send(my, sb.s, sb.len, NULL, 0);
	strbuf_free(&sb);
	memset(auth, 0, sizeof(auth));
}

static void
on_greeting(struct mysql_conn *my, const unsigned char *b, size_t len)
{
	const unsigned char *p = b, *end = b + len, *z;
	uint32_t caps, want;

	if (len < 1 || b[0] == 0xff) {
		char msg[200];
		err_text(b, len, msg, sizeof(msg));
		my_fail(my, "%s", len < 1 ? "empty greeting" : msg);
		return;
	}
	if (b[0] != 10 || (z = memchr(b + 1, '\0', len - 1)) == NULL ||
	    (size_t)(end - (z + 1)) < 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10 + 12) {
		my_fail(my, "%s", "unsupported server greeting");
		return;
	}
	p = z + 1 + 4;				/* connection id */
	memcpy(my->scramble, p, 8);
	p += 8 + 1;
	caps = (uint32_t)p[0] | (uint32_t)p[1] << 8;
	p += 2 + 1;				/* charset */
	my->status = (unsigned int)p[0] | (unsigned int)p[1] << 8;
	p += 2;
	caps |= (uint32_t)p[0] << 16 | (uint32_t)p[1] << 24;
	p += 2 + 1 + 10;			/* auth data length, reserved */
	memcpy(my->scramble + 8, p, 12);
	p += 12;
	p += p < end && *p == '\0';
	str_copy(my->plugin, "mysql_native_password", sizeof(my->plugin));
	if ((caps & CLIENT_PLUGIN_AUTH) && p < end && (z = memchr(p, '\0', (size_t)(end - p))) != NULL &&
	    (size_t)(z - p) < sizeof(my->plugin)) {
		memcpy(my->plugin, p, (size_t)(z - p));
		my->plugin[z - p] = '\0';
		if (!plugin_known(my->plugin))
			str_copy(my->plugin, "mysql_native_password", sizeof(my->plugin));
	}
	if (!(caps & CLIENT_PROTOCOL_41) || !(caps & CLIENT_SECURE_CONN)) {
		my_fail(my, "%s", "the server does not speak protocol 4.1");
		return;
	}
	want = CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS |
	    CLIENT_SECURE_CONN | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH |
	    (my->set->dbname != NULL ? CLIENT_CONNECT_WITH_DB : 0);
	want &= caps | CLIENT_LONG_PASSWORD;
	my->state = MY_AUTH;
	if (my->set->ssl_ca != NULL || my->set->ssl_ca_path != NULL) {
		/* Dovecot asks for TLS when a CA is configured */
		struct my_set *set = (struct my_set *)my->set;
		char err[256];
		if (!(caps & CLIENT_SSL)) {
			my_fail(my, "%s", "the server does not support TLS");
			return;
		}
		unsigned char req[32] = { 0 };
		put32le(req, want | CLIENT_SSL);
		put32le(req + 4, 16 * 1024 * 1024);
		req[8] = MY_CHARSET_UTF8MB4;
		my_send(my, req, 32, NULL, 0);
		if (set->tls == NULL && (set->tls = sql_tls_client(set->ssl_ca, set->ssl_ca_path,
		    set->ssl_cert, set->ssl_key, err, sizeof(err))) == NULL) {
			my_fail(my, "%s", err);
			return;
		}
		struct tls *t = tls_new_client(set->tls, set->ssl_verify ? set->host : NULL, 1);
		if (my->conn != NULL && (t == NULL || conn_start_tls(my->conn, t) < 0)) {
			my_fail(my, "%s", "TLS initialization failed");
			return;
		}
		if (my->conn == NULL)
			tls_free(t);
		want |= CLIENT_SSL;
	}
	send_response(my, want);
}

static void
on_auth_packet(struct mysql_conn *my, const unsigned char *b, size_t len)
{
	char msg[200];

	if (len == 0) {
		my_fail(my, "%s", "empty packet");
		return;
	}
	switch (b[0]) {
	case 0x00:	/* OK */
		if (len >= 5) {
			const unsigned char *p = b + 1, *end = b + len;
			uint64_t v;
			if (lenenc(&p, end, &v) == 0 && lenenc(&p, end, &v) == 0 && end - p >= 2)
				my->status = (unsigned int)p[0] | (unsigned int)p[1] << 8;
		}
		my->state = MY_READY;
		if (my->link != NULL)
			sql_link_ready(my->link);
		return;
	case 0xff:
		err_text(b, len, msg, sizeof(msg));
		my_fail(my, "%s", msg);
		return;
	case 0xfe: {	/* AuthSwitchRequest */
		const unsigned char *z = memchr(b + 1, '\0', len - 1);
		if (z == NULL || (size_t)(z - (b + 1)) >= sizeof(my->plugin)) {
			my_fail(my, "%s", "invalid AuthSwitchRequest");
			return;
		}
		memcpy(my->plugin, b + 1, (size_t)(z - (b + 1)));
		my->plugin[z - (b + 1)] = '\0';
		if (!plugin_known(my->plugin)) {
			my_fail(my, "authentication plugin %s is not supported", my->plugin);
			return;
		}
		size_t dl = len - (size_t)(z + 1 - b);
		if (dl > 0 && b[len - 1] == '\0')
			dl--;
		if (dl != MY_SCRAMBLE_LEN) {
			my_fail(my, "%s", "invalid AuthSwitchRequest scramble");
			return;
		}
		memcpy(my->scramble, z + 1, MY_SCRAMBLE_LEN);
		unsigned char auth[32];
		size_t alen = mysql_scramble(my->plugin, my->set->password ? my->set->password : "",
		    my->scramble, auth);
		my_send(my, auth, alen, NULL, 0);
		return;
	}
	case 0x01:	/* AuthMoreData: caching_sha2_password */
		if (len == 2 && b[1] == 3)
			return;		/* fast auth worked: OK follows */
		if (len == 2 && b[1] == 4) {
			const char *pw = my->set->password ? my->set->password : "";
			if (!clear_ok(my)) {
				my_fail(my, "%s", "caching_sha2_password wants the full authentication, "
				    "which mtool does only over TLS or a UNIX socket");
				return;
			}
			my_send(my, pw, strlen(pw) + 1, NULL, 0);
			return;
		}
		/* fall through */
	default:
		my_fail(my, "%s", "unexpected packet during authentication");
	}
}

/* ---- results ---- */

static int
is_eof(const unsigned char *b, size_t len)
{
	return len > 0 && len < 9 && b[0] == 0xfe;
}

static void
result_done(struct mysql_conn *my)
{
	struct sql_result res;

	if (my->status & STATUS_MORE_RESULTS) {
		my->state = MY_MORE;	/* CALL: the rest is read and dropped */
		return;
	}
	sql_rows_result(&my->rows, &res);
	if (my->query_error)
		res.error = my->error;
	if (my->conn != NULL)
		conn_set_timeout(my->conn, 0);
	my->skipping = 0;
	my->state = MY_READY;
	my->query_error = 0;
	if (my->link != NULL)
		sql_link_result(my->link, &res);
	sql_rows_clear(&my->rows);
}

static void
status_from_ok(struct mysql_conn *my, const unsigned char *b, size_t len)
{
	const unsigned char *p = b + 1, *end = b + len;
	uint64_t v;

	if (lenenc(&p, end, &v) == 0 && lenenc(&p, end, &v) == 0 && end - p >= 2)
		my->status = (unsigned int)p[0] | (unsigned int)p[1] << 8;
	else
		my->status = 0;
}

static int
on_column(struct mysql_conn *my, const unsigned char *b, size_t len)
{
	const unsigned char *p = b, *end = b + len;
	uint64_t n;
	const char *error;

	/* catalog, schema, table, org_table, then name */
	for (int i = 0; i < 5; i++) {
		if (lenenc(&p, end, &n) < 0 || n > (uint64_t)(end - p))
			return -1;
		if (i == 4 && sql_rows_field(&my->rows, (const char *)p, (size_t)n, &error) < 0) {
			my_fail(my, "%s", error);
			return 0;
		}
		p += n;
	}
	return 0;
}

static int
on_row(struct mysql_conn *my, const unsigned char *b, size_t len)
{
	const unsigned char *p = b, *end = b + len;
	const char *error;

	for (unsigned int f = 0; f < my->rows.nfields; f++) {
		uint64_t n;
		if (p < end && *p == 0xfb) {
			p++;
			if (sql_rows_value(&my->rows, f, NULL, 0, &error) < 0)
				goto bad;
			continue;
		}
		if (lenenc(&p, end, &n) < 0 || n > (uint64_t)(end - p))
			return -1;
		if (sql_rows_value(&my->rows, f, (const char *)p, (size_t)n, &error) < 0)
			goto bad;
		p += n;
	}
	if (p != end)
		return -1;
	sql_rows_end_row(&my->rows);
	return 0;
bad:
	my_fail(my, "%s", error);
	return 0;
}

/* One packet of a query's answer. 0, or -1 for a protocol violation. */
static int
on_result_packet(struct mysql_conn *my, const unsigned char *b, size_t len)
{
	uint64_t n;
	const unsigned char *p = b;

	if (len == 0)
		return -1;
	if (b[0] == 0xff && my->state != MY_COLUMNS) {
		/* an error instead of a result, or in the middle of the rows */
		if (!my->query_error)
			err_text(b, len, my->error, sizeof(my->error));
		my->query_error = 1;
		my->status &= ~STATUS_MORE_RESULTS;
		result_done(my);
		return 0;
	}
	switch (my->state) {
	case MY_RESULT:
	case MY_MORE:
		if (b[0] == 0x00) {	/* OK: a statement without rows */
			status_from_ok(my, b, len);
			result_done(my);
			return 0;
		}
		if (b[0] == 0xfb)
			return -1;	/* LOCAL INFILE: never */
		if (lenenc(&p, b + len, &n) < 0 || p != b + len || n == 0)
			return -1;
		if (n > SQL_FIELDS_MAX) {
			my_fail(my, "%s", "Too many columns in the result");
			return 0;
		}
		my->skipping = my->state == MY_MORE;
		my->ncols_left = (unsigned int)n;
		my->state = MY_COLUMNS;
		return 0;
	case MY_COLUMNS:
		if (b[0] == 0xff || is_eof(b, len))
			return -1;
		if (!my->skipping && on_column(my, b, len) < 0)
			return -1;
		if (--my->ncols_left == 0)
			my->state = MY_COLUMNS_EOF;
		return 0;
	case MY_COLUMNS_EOF:
		if (!is_eof(b, len))
			return -1;
		my->state = MY_ROWS;
		return 0;
	case MY_ROWS:
		if (is_eof(b, len)) {
			my->status = len >= 5 ? (unsigned int)b[3] | (unsigned int)b[4] << 8 : 0;
			result_done(my);
			return 0;
		}
		return my->skipping ? 0 : on_row(my, b, len);
	default:
		return -1;
	}
}

static long
feed(struct mysql_conn *my, const unsigned char *data, size_t len)
{
	size_t used = 0;

	while (my->state != MY_DEAD && len - used >= 4) {
		size_t pl = (size_t)data[used] | (size_t)data[used + 1] << 8 |
		    (size_t)data[used + 2] << 16;
		unsigned char seq = data[used + 3];
		if (pl > SQL_MSG_MAX) {
			my_fail(my, "%s", "a packet from the server is too large");
			return -1;
		}
		if (len - used - 4 < pl)
			break;
		if (seq != my->seq) {
			my_fail(my, "%s", "packets out of order");
			return -1;
		}
		my->seq++;
		const unsigned char *b = data + used + 4;
		used += 4 + pl;
		switch (my->state) {
		case MY_GREETING:
			on_greeting(my, b, pl);
			break;
		case MY_AUTH:
			on_auth_packet(my, b, pl);
			break;
		case MY_RESULT:
		case MY_COLUMNS:
		case MY_COLUMNS_EOF:
		case MY_ROWS:
		case MY_MORE:
			if (on_result_packet(my, b, pl) < 0) {
				my_fail(my, "%s", "malformed result from the server");
				return -1;
			}
			break;
		case MY_READY:
		case MY_DEAD:
			my_fail(my, "%s", "unexpected packet from the server");
			return -1;
		}
	}
	return my->state == MY_DEAD ? -1 : (long)used;
}

/* ---- the connection ---- */

static void
my_conn_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct mysql_conn *my = arg;
	size_t len;
	const char *data;

	switch (ev) {
	case CONN_EV_CONNECTED:
	case CONN_EV_DRAINED:
		return;
	case CONN_EV_DATA: {
		data = conn_peek(c, &len);
		long used = feed(my, (const unsigned char *)data, len);
		if (used > 0 && my->state != MY_DEAD)
			conn_consume(c, (size_t)used);
		return;
	}
	default:
		if (sql_conn_failure(c, ev) != NULL)
			my_fail(my, "%s", sql_conn_failure(c, ev));
		return;
	}
}

static void *
my_open(struct sql_link *link, const void *setp, struct loop *loop)
{
	const struct my_set *set = setp;
	struct mysql_conn *my = calloc(1, sizeof(*my));

	if (my == NULL)
		return NULL;
	my->link = link;
	my->set = set;
	my->state = MY_GREETING;
	if ((my->conn = sql_connect(loop, &set->addr, my_conn_cb, my)) == NULL) {
		free(my);
		return NULL;
	}
	return my;
}

static int
my_query(void *p, const char *sql, size_t len)
{
	struct mysql_conn *my = p;
	unsigned char cmd = 0x03;	/* COM_QUERY */

	my->state = MY_RESULT;
	my->query_error = 0;
	my->seq = 0;
	sql_rows_clear(&my->rows);
	my_send(my, &cmd, 1, sql, len);
	/* libmysqlclient's read_timeout: a server that stops answering */
	if (my->conn != NULL)
		conn_set_timeout(my->conn, my->set->read_timeout_s * 1000);
	return 0;
}

/* mysql_real_escape_string() for utf8mb4, and its NO_BACKSLASH_ESCAPES form */
static void
escape_backslash(struct strbuf *out, const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = v[i], e = 0;
		switch (c) {
		case '\0': e = '0'; break;
		case '\n': e = 'n'; break;
		case '\r': e = 'r'; break;
		case '\032': e = 'Z'; break;
		case '\\': case '\'': case '"': e = c; break;
		}
		if (e != 0) {
			strbuf_putc(out, '\\');
			strbuf_putc(out, e);
		} else
			strbuf_putc(out, c);
	}
}

static var_escape_fn *
my_escape(void *p)
{
	return ((struct mysql_conn *)p)->status & STATUS_NO_BACKSLASH ? sql_escape_quotes :
	    escape_backslash;
}

static void
my_close(void *p)
{
	struct mysql_conn *my = p;

	if (my == NULL)
		return;
	if (my->conn != NULL) {
		if (my->state == MY_READY) {
			unsigned char quit = 0x01;	/* COM_QUIT */
			my->seq = 0;
			my_send(my, &quit, 1, NULL, 0);
		}
		conn_free(my->conn);
	}
	sql_rows_clear(&my->rows);
	free(my);
}

const struct sql_driver mysql_sql_driver = {
	.name = "mysql",
	.parse = set_parse,
	.parse_free = set_free,
	.host_name = set_host_name,
	.open = my_open,
	.query = my_query,
	.escape = my_escape,
	.close = my_close,
};

/* ---- for the fuzz target and unit tests ---- */

struct mysql_conn *
mysql_test_new(void)
{
	struct mysql_conn *my = calloc(1, sizeof(*my));

	if (my != NULL) {
		my->state = MY_RESULT;
		my->seq = 1;
	}
	return my;
}

long
mysql_test_feed(struct mysql_conn *my, const unsigned char *data, size_t len)
{
	return feed(my, data, len);
}

const char *
mysql_test_state(struct mysql_conn *my)
{
	static char buf[300];

	if (my->state == MY_DEAD) {
		str_fmt(buf, sizeof(buf), "failed: %s", my->error);
		return buf;
	}
	return my->state == MY_READY ? "ready" : "query";
}

void
mysql_test_free(struct mysql_conn *my)
{
	my_close(my);
}
