/* SPDX-License-Identifier: MIT */
/* Implementation notes: PostgreSQL's protocol 3.0 as the documentation's "Message Flow"
 * and "Message Formats" chapters describe it, for what libpq does in a simple query.
 * Every server message is length-checked before use: a short or overlong message, an
 * unexpected type, or a row that does not match its description ends the connection
 * (and so the query, which the pool then reports). SCRAM-SHA-256 is RFC 5802/7677 with
 * the server's signature checked; SASLprep is left out (ASCII passwords are unchanged by
 * it; libpq also sends a password that does not prepare as it is). */
#include "core/pgsql.h"
#include "core/base64.h"
#include "core/buf.h"
#include "core/conn.h"
#include "core/sql_drv.h"
#include "core/str.h"
#include "core/tls.h"

#include <bearssl.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define PG_PORT			5432
#define PG_SOCKET_DIR		"/var/run/postgresql"
#define PG_PROTOCOL		196608		/* 3.0 */
#define PG_SSL_REQUEST		80877103
#define PG_NONCE_LEN		18

enum pg_sslmode { SSL_DISABLE, SSL_ALLOW, SSL_PREFER, SSL_REQUIRE, SSL_VERIFY_CA, SSL_VERIFY_FULL };
static const char *const sslmode_names[] = {
	"disable", "allow", "prefer", "require", "verify-ca", "verify-full",
};

struct pg_set {
	char *host, *user, *password, *dbname, *options, *sslrootcert;
	unsigned int port;
	enum pg_sslmode sslmode;
	struct sql_addr addr;
	struct tls_client *tls;		/* made at the first TLS connection */
};

enum pg_state { PG_SSL_WAIT, PG_AUTH, PG_READY, PG_QUERY, PG_DEAD };

struct pgsql_conn {
	struct sql_link *link;		/* NULL: a test connection */
	const struct pg_set *set;
	struct conn *conn;
	enum pg_state state;
	int std_strings;		/* standard_conforming_strings = on */
	int query_error;		/* an ErrorResponse came for this query */
	struct sql_rows rows;
	char error[256];
	/* SCRAM */
	char *scram_client_first_bare;
	char *scram_server_first;
	unsigned char scram_server_sig[32];
};

/* ---- settings ---- */

static void
set_free(void *p)
{
	struct pg_set *s = p;

	if (s == NULL)
		return;
	free(s->host);
	free(s->user);
	if (s->password != NULL) {
		memset(s->password, 0, strlen(s->password));
		free(s->password);
	}
	free(s->dbname);
	free(s->options);
	free(s->sslrootcert);
	tls_client_free(s->tls);
	free(s);
}

static void *
set_parse(const char *host, const struct sql_param *ps, size_t n, char *err, size_t errlen)
{
	struct pg_set *s = calloc(1, sizeof(*s));
	int bad = s == NULL;

	if (bad)
		str_copy(err, "out of memory", errlen);
	else {
		s->port = PG_PORT;
		s->sslmode = SSL_PREFER;	/* libpq's default */
	}
	for (size_t i = 0; i < n && !bad; i++) {
		const char *k = ps[i].key, *v = ps[i].value;
		char **dst = NULL;
		if (strcmp(k, "user") == 0)
			dst = &s->user;
		else if (strcmp(k, "password") == 0)
			dst = &s->password;
		else if (strcmp(k, "dbname") == 0)
			dst = &s->dbname;
		else if (strcmp(k, "options") == 0)
			dst = &s->options;
		else if (strcmp(k, "sslrootcert") == 0)
			dst = &s->sslrootcert;
		else if (strcmp(k, "port") == 0) {
			long long p;
			const char *e;
			if (str_to_num(v, 1, 65535, &p, &e) < 0) {
				str_fmt(err, errlen, "pgsql: Invalid port: %s", v);
				bad = 1;
			}
			s->port = (unsigned int)p;
		} else if (strcmp(k, "sslmode") == 0) {
			size_t m;
			for (m = 0; m < sizeof(sslmode_names) / sizeof(sslmode_names[0]); m++)
				if (strcmp(v, sslmode_names[m]) == 0)
					break;
			if (m == sizeof(sslmode_names) / sizeof(sslmode_names[0])) {
				str_fmt(err, errlen, "pgsql: invalid sslmode value: \"%s\"", v);
				bad = 1;
			}
			s->sslmode = (enum pg_sslmode)m;
		} else if (strcmp(k, "connect_timeout") == 0 || strcmp(k, "application_name") == 0 ||
		    strcmp(k, "hostaddr") == 0) {
			/* accepted as libpq does; the pool's connect timeout applies */
			if (strcmp(k, "hostaddr") == 0 && host == NULL)
				host = v;
		} else {
			str_fmt(err, errlen, "pgsql: invalid connection option \"%s\"", k);
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
	if (!bad && s->user == NULL) {
		str_copy(err, "pgsql: user= is needed in connect", errlen);
		bad = 1;
	}
	if (!bad && ((s->host = strdup(host != NULL ? host : PG_SOCKET_DIR)) == NULL ||
	    (s->dbname == NULL && (s->dbname = strdup(s->user)) == NULL))) {
		str_copy(err, "out of memory", errlen);
		bad = 1;
	}
	if (!bad) {
		char sock[32];
		str_fmt(sock, sizeof(sock), ".s.PGSQL.%u", s->port);
		bad = sql_addr_parse(s->host, s->port, sock, &s->addr, err, errlen) < 0;
	}
	if (!bad && s->addr.is_unix && s->sslmode >= SSL_REQUIRE) {
		/* libpq does not use TLS on a UNIX socket */
		s->sslmode = SSL_DISABLE;
	}
	if (bad) {
		set_free(s);
		return NULL;
	}
	return s;
}

static const char *
set_host_name(const void *p)
{
	return ((const struct pg_set *)p)->addr.name;
}

/* ---- output ---- */

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A message with type (0: the untyped startup ones) and body parts a, b. */
static void
pg_send(struct pgsql_conn *pg, char type, const void *a, size_t alen, const void *b, size_t blen)
{
	unsigned char hdr[5];
	size_t h = 0;

	if (type != 0)
		hdr[h++] = (unsigned char)type;
	put32(hdr + h, (uint32_t)(4 + alen + blen));
	sql_write(pg->conn, hdr, h + 4, a, alen, b, blen);
}

static void
pg_fail(struct pgsql_conn *pg, const char *fmt, const char *arg)
{
	if (pg->state == PG_DEAD)
		return;
	pg->state = PG_DEAD;
	str_fmt(pg->error, sizeof(pg->error), fmt, arg);
	sql_one_line(pg->error);
	if (pg->link != NULL)
		sql_link_failed(pg->link, pg->error);
}

static void
send_startup(struct pgsql_conn *pg)
{
	struct strbuf sb;
	unsigned char v[4];

	strbuf_init(&sb, 4096);
	put32(v, PG_PROTOCOL);
	strbuf_append(&sb, v, 4);
	strbuf_append(&sb, "user", 5);
	strbuf_append(&sb, pg->set->user, strlen(pg->set->user) + 1);
	strbuf_append(&sb, "database", 9);
	strbuf_append(&sb, pg->set->dbname, strlen(pg->set->dbname) + 1);
	if (pg->set->options != NULL) {
		strbuf_append(&sb, "options", 8);
		strbuf_append(&sb, pg->set->options, strlen(pg->set->options) + 1);
	}
	strbuf_putc(&sb, '\0');
	if (!sb.error)
		pg_send(pg, 0, sb.s, sb.len, NULL, 0);
	strbuf_free(&sb);
	pg->state = PG_AUTH;
}

/* ---- authentication ---- */

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
auth_md5(struct pgsql_conn *pg, const unsigned char *salt)
{
	br_md5_context md;
	unsigned char d[16];
	char inner[33], outer[36];
	const char *pw = pg->set->password != NULL ? pg->set->password : "";

	br_md5_init(&md);
	br_md5_update(&md, pw, strlen(pw));
	br_md5_update(&md, pg->set->user, strlen(pg->set->user));
	br_md5_out(&md, d);
	hex(d, 16, inner);
	br_md5_init(&md);
	br_md5_update(&md, inner, 32);
	br_md5_update(&md, salt, 4);
	br_md5_out(&md, d);
	memcpy(outer, "md5", 3);
	hex(d, 16, outer + 3);
	pg_send(pg, 'p', outer, 36, NULL, 0);
	memset(inner, 0, sizeof(inner));
}

static void
hmac256(const void *key, size_t klen, const void *a, size_t alen, const void *b, size_t blen,
    const void *c, size_t clen, unsigned char out[32])
{
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_sha256_vtable, key, klen);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, a, alen);
	if (blen > 0)
		br_hmac_update(&hc, b, blen);
	if (clen > 0)
		br_hmac_update(&hc, c, clen);
	br_hmac_out(&hc, out);
}

static void
scram_start(struct pgsql_conn *pg, const unsigned char *mechs, size_t len)
{
	unsigned char raw[PG_NONCE_LEN];
	char nonce[32], first[80];
	int found = 0;

	for (size_t i = 0; i < len;) {
		const unsigned char *z = memchr(mechs + i, '\0', len - i);
		if (z == NULL)
			break;
		if ((size_t)(z - (mechs + i)) == 13 && memcmp(mechs + i, "SCRAM-SHA-256", 13) == 0)
			found = 1;
		i = (size_t)(z - mechs) + 1;
	}
	if (!found) {
		pg_fail(pg, "%s", "none of the server's SASL mechanisms is SCRAM-SHA-256");
		return;
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		pg_fail(pg, "%s", "getrandom() failed");
		return;
	}
	base64_encode(raw, sizeof(raw), nonce, sizeof(nonce));
	size_t n = str_fmt(first, sizeof(first), "n,,n=,r=%s", nonce);
	free(pg->scram_client_first_bare);
	if ((pg->scram_client_first_bare = strdup(first + 3)) == NULL) {
		pg_fail(pg, "%s", "out of memory");
		return;
	}
	unsigned char l[4];
	put32(l, (uint32_t)n);
	struct strbuf sb;
	strbuf_init(&sb, 256);
	strbuf_append(&sb, "SCRAM-SHA-256", 14);
	strbuf_append(&sb, l, 4);
	strbuf_append(&sb, first, n);
	pg_send(pg, 'p', sb.s, sb.len, NULL, 0);
	strbuf_free(&sb);
}

/* The value of "k=" in a SCRAM message (a copy), or NULL. */
static char *
scram_attr(const char *msg, size_t len, char k)
{
	for (size_t i = 0; i < len;) {
		size_t n = 0;
		while (i + n < len && msg[i + n] != ',')
			n++;
		if (n >= 2 && msg[i] == k && msg[i + 1] == '=')
			return strndup(msg + i + 2, n - 2);
		i += n + 1;
	}
	return NULL;
}

static void
scram_continue(struct pgsql_conn *pg, const unsigned char *data, size_t len)
{
	char *nonce = NULL, *salt64 = NULL, *iter = NULL;
	unsigned char salt[128], salted[32], ckey[32], skey[32], stored[32], csig[32], proof[32];
	size_t saltlen;
	long long iters;
	const char *e, *pw = pg->set->password != NULL ? pg->set->password : "";
	struct strbuf fin;

	if (pg->scram_client_first_bare == NULL || pg->scram_server_first != NULL ||
	    memchr(data, '\0', len) != NULL) {
		pg_fail(pg, "%s", "unexpected SCRAM message");
		return;
	}
	nonce = scram_attr((const char *)data, len, 'r');
	salt64 = scram_attr((const char *)data, len, 's');
	iter = scram_attr((const char *)data, len, 'i');
	/* our nonce must start the server's */
	const char *mine = strstr(pg->scram_client_first_bare, ",r=") + 3;
	if (nonce == NULL || salt64 == NULL || iter == NULL ||
	    strncmp(nonce, mine, strlen(mine)) != 0 || strlen(nonce) <= strlen(mine) ||
	    base64_decode(salt64, strlen(salt64), salt, sizeof(salt) - 4, &saltlen) < 0 ||
	    str_to_num(iter, 1, 1000000, &iters, &e) < 0) {
		pg_fail(pg, "%s", "invalid SCRAM server-first message");
		goto out;
	}
	if ((pg->scram_server_first = strndup((const char *)data, len)) == NULL) {
		pg_fail(pg, "%s", "out of memory");
		goto out;
	}
	/* Hi(): PBKDF2 with HMAC-SHA-256, one block */
	unsigned char u[32], one[4] = { 0, 0, 0, 1 };
	hmac256(pw, strlen(pw), salt, saltlen, one, 4, NULL, 0, u);
	memcpy(salted, u, 32);
	for (long long i = 1; i < iters; i++) {
		hmac256(pw, strlen(pw), u, 32, NULL, 0, NULL, 0, u);
		for (int j = 0; j < 32; j++)
			salted[j] ^= u[j];
	}
	hmac256(salted, 32, "Client Key", 10, NULL, 0, NULL, 0, ckey);
	hmac256(salted, 32, "Server Key", 10, NULL, 0, NULL, 0, skey);
	br_sha256_context sh;
	br_sha256_init(&sh);
	br_sha256_update(&sh, ckey, 32);
	br_sha256_out(&sh, stored);

	strbuf_init(&fin, 1024);
	strbuf_printf(&fin, "c=biws,r=%s", nonce);
	struct strbuf am;
	strbuf_init(&am, 2048);
	strbuf_printf(&am, "%s,%s,%s", pg->scram_client_first_bare, pg->scram_server_first,
	    fin.s != NULL ? fin.s : "");
	if (fin.error || am.error) {
		strbuf_free(&fin);
		strbuf_free(&am);
		pg_fail(pg, "%s", "SCRAM message too long");
		goto out;
	}
	hmac256(stored, 32, am.s, am.len, NULL, 0, NULL, 0, csig);
	hmac256(skey, 32, am.s, am.len, NULL, 0, NULL, 0, pg->scram_server_sig);
	for (int j = 0; j < 32; j++)
		proof[j] = ckey[j] ^ csig[j];
	char p64[48];
	base64_encode(proof, 32, p64, sizeof(p64));
	strbuf_printf(&fin, ",p=%s", p64);
	pg_send(pg, 'p', fin.s, fin.len, NULL, 0);
	strbuf_free(&fin);
	strbuf_free(&am);
	memset(salted, 0, sizeof(salted));
	memset(ckey, 0, sizeof(ckey));
	memset(u, 0, sizeof(u));
out:
	free(nonce);
	free(salt64);
	free(iter);
}

static void
scram_final(struct pgsql_conn *pg, const unsigned char *data, size_t len)
{
	char *v = pg->scram_server_first != NULL ? scram_attr((const char *)data, len, 'v') : NULL;
	unsigned char sig[64];
	size_t n;

	if (v == NULL || base64_decode(v, strlen(v), sig, sizeof(sig), &n) < 0 ||
	    !str_eq_consttime(sig, n, pg->scram_server_sig, 32))
		pg_fail(pg, "%s", "the server's SCRAM signature is wrong");
	free(v);
}

static void
on_auth(struct pgsql_conn *pg, const unsigned char *b, size_t len)
{
	uint32_t code;

	if (len < 4 || pg->state != PG_AUTH) {
		pg_fail(pg, "%s", "unexpected authentication message");
		return;
	}
	code = get32(b);
	switch (code) {
	case 0:		/* AuthenticationOk */
		break;
	case 3: {	/* cleartext */
		const char *pw = pg->set->password != NULL ? pg->set->password : "";
		pg_send(pg, 'p', pw, strlen(pw) + 1, NULL, 0);
		break;
	}
	case 5:
		if (len != 8)
			pg_fail(pg, "%s", "invalid MD5 authentication request");
		else
			auth_md5(pg, b + 4);
		break;
	case 10:
		scram_start(pg, b + 4, len - 4);
		break;
	case 11:
		scram_continue(pg, b + 4, len - 4);
		break;
	case 12:
		scram_final(pg, b + 4, len - 4);
		break;
	default: {
		char c[16];
		str_fmt(c, sizeof(c), "%u", code);
		pg_fail(pg, "authentication method %s not supported", c);
	}
	}
}

/* ---- query results ---- */

static int
on_row_description(struct pgsql_conn *pg, const unsigned char *b, size_t len)
{
	const char *error;

	if (len < 2 || pg->rows.nfields != 0)
		return -1;
	unsigned int n = (unsigned int)b[0] << 8 | b[1];
	size_t i = 2;
	for (unsigned int f = 0; f < n; f++) {
		const unsigned char *z = i < len ? memchr(b + i, '\0', len - i) : NULL;
		if (z == NULL || (size_t)(z - b) + 1 + 18 > len)
			return -1;
		if (sql_rows_field(&pg->rows, (const char *)b + i, (size_t)(z - (b + i)), &error) < 0) {
			pg_fail(pg, "%s", error);
			return 0;
		}
		i = (size_t)(z - b) + 1 + 18;
	}
	return i == len ? 1 : -1;
}

static int
on_data_row(struct pgsql_conn *pg, const unsigned char *b, size_t len)
{
	const char *error;

	if (len < 2)
		return -1;
	unsigned int n = (unsigned int)b[0] << 8 | b[1];
	if (n != pg->rows.nfields)
		return -1;
	size_t i = 2;
	for (unsigned int f = 0; f < n; f++) {
		if (len - i < 4)
			return -1;
		uint32_t vl = get32(b + i);
		i += 4;
		if (vl == 0xffffffffu) {
			if (sql_rows_value(&pg->rows, f, NULL, 0, &error) < 0)
				goto bad;
			continue;
		}
		if (vl > len - i)
			return -1;
		if (sql_rows_value(&pg->rows, f, (const char *)b + i, vl, &error) < 0)
			goto bad;
		i += vl;
	}
	sql_rows_end_row(&pg->rows);
	return i == len ? 1 : -1;
bad:
	pg_fail(pg, "%s", error);
	return 0;
}

static void
query_done(struct pgsql_conn *pg)
{
	struct sql_result res;

	sql_rows_result(&pg->rows, &res);
	if (pg->query_error)
		res.error = pg->error;
	pg->state = PG_READY;
	pg->query_error = 0;
	if (pg->link != NULL)
		sql_link_result(pg->link, &res);
	sql_rows_clear(&pg->rows);
}

/* ErrorResponse's 'M' field, with the severity before it as libpq shows it */
static void
on_error(const unsigned char *b, size_t len, char *out, size_t outlen)
{
	const char *sev = "ERROR", *msg = "(no message)";

	for (size_t i = 0; i < len && b[i] != 0;) {
		const unsigned char *z = memchr(b + i + 1, '\0', len - i - 1);
		if (z == NULL)
			break;
		if (b[i] == 'S')
			sev = (const char *)b + i + 1;
		else if (b[i] == 'M')
			msg = (const char *)b + i + 1;
		i = (size_t)(z - b) + 1;
	}
	str_fmt(out, outlen, "%s:  %s", sev, msg);
	sql_one_line(out);
}

/* One message. Returns 0, or -1 for a protocol violation. */
static int
on_message(struct pgsql_conn *pg, unsigned char type, const unsigned char *b, size_t len)
{
	int r;

	switch (type) {
	case 'R':
		on_auth(pg, b, len);
		return 0;
	case 'S': {	/* ParameterStatus */
		const unsigned char *z = memchr(b, '\0', len);
		if (z == NULL || b[len - 1] != '\0')
			return -1;
		if (strcmp((const char *)b, "standard_conforming_strings") == 0)
			pg->std_strings = strcmp((const char *)z + 1, "on") == 0;
		return 0;
	}
	case 'K':	/* BackendKeyData */
	case 'N':	/* NoticeResponse */
	case 'C':	/* CommandComplete */
	case 'I':	/* EmptyQueryResponse */
		return 0;
	case 'E': {
		char msg[200];
		on_error(b, len, msg, sizeof(msg));
		if (pg->state == PG_QUERY) {
			if (!pg->query_error)
				str_copy(pg->error, msg, sizeof(pg->error));
			pg->query_error = 1;
			return 0;
		}
		pg_fail(pg, "%s", msg);
		return 0;
	}
	case 'Z':
		if (len != 1)
			return -1;
		if (pg->state == PG_AUTH) {
			pg->state = PG_READY;
			if (pg->link != NULL)
				sql_link_ready(pg->link);
			return 0;
		}
		if (pg->state != PG_QUERY)
			return -1;
		query_done(pg);
		return 0;
	case 'T':
		if (pg->state != PG_QUERY)
			return -1;
		r = on_row_description(pg, b, len);
		return r < 0 ? -1 : 0;
	case 'D':
		if (pg->state != PG_QUERY)
			return -1;
		r = on_data_row(pg, b, len);
		return r < 0 ? -1 : 0;
	default:
		return -1;
	}
}

static long
feed(struct pgsql_conn *pg, const unsigned char *data, size_t len)
{
	size_t used = 0;

	while (pg->state != PG_DEAD && len - used >= 5) {
		uint32_t ml = get32(data + used + 1);
		if (ml < 4 || ml > SQL_MSG_MAX) {
			pg_fail(pg, "%s", ml < 4 ? "invalid message length" :
			    "a message from the server is too large");
			return -1;
		}
		if (len - used - 1 < ml)
			break;
		unsigned char type = data[used];
		if (on_message(pg, type, data + used + 5, ml - 4) < 0) {
			char t[8];
			str_fmt(t, sizeof(t), "%c", type >= 0x20 && type < 0x7f ? type : '?');
			pg_fail(pg, "unexpected or malformed message '%s' from the server", t);
			return -1;
		}
		used += 1 + ml;
	}
	return pg->state == PG_DEAD ? -1 : (long)used;
}

/* ---- the connection ---- */

static int
start_tls(struct pgsql_conn *pg)
{
	struct pg_set *set = (struct pg_set *)pg->set;
	char err[256];

	if (set->tls == NULL &&
	    (set->tls = sql_tls_client(set->sslrootcert, NULL, NULL, NULL, err, sizeof(err))) == NULL) {
		pg_fail(pg, "%s", err);
		return -1;
	}
	int verify = set->sslmode >= SSL_VERIFY_CA;
	struct tls *t = tls_new_client(set->tls,
	    set->sslmode == SSL_VERIFY_FULL ? set->host : NULL, verify);
	if (t == NULL || conn_start_tls(pg->conn, t) < 0) {
		pg_fail(pg, "%s", "TLS initialization failed");
		return -1;
	}
	return 0;
}

static void
pg_conn_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct pgsql_conn *pg = arg;
	size_t len;
	const char *data;

	switch (ev) {
	case CONN_EV_CONNECTED:
		if (pg->set->sslmode >= SSL_PREFER) {
			unsigned char req[8];
			put32(req, 8);
			put32(req + 4, PG_SSL_REQUEST);
			sql_write(pg->conn, req, 8, NULL, 0, NULL, 0);
			pg->state = PG_SSL_WAIT;
		} else
			send_startup(pg);
		return;
	case CONN_EV_DATA:
		data = conn_peek(c, &len);
		if (pg->state == PG_SSL_WAIT) {
			if (len < 1)
				return;
			char answer = data[0];
			conn_consume(c, 1);
			if (answer == 'S') {
				if (start_tls(pg) < 0)
					return;
			} else if (answer != 'N' || pg->set->sslmode >= SSL_REQUIRE) {
				pg_fail(pg, "%s", answer == 'N' ? "the server does not support SSL, "
				    "but sslmode requires it" : "invalid answer to SSLRequest");
				return;
			}
			send_startup(pg);
			return;
		}
		long used = feed(pg, (const unsigned char *)data, len);
		if (used > 0 && pg->state != PG_DEAD)
			conn_consume(c, (size_t)used);
		return;
	default:
		if (sql_conn_failure(c, ev) != NULL)
			pg_fail(pg, "%s", sql_conn_failure(c, ev));
		return;
	}
}

static void *
pg_open(struct sql_link *link, const void *setp, struct loop *loop)
{
	const struct pg_set *set = setp;
	struct pgsql_conn *pg = calloc(1, sizeof(*pg));

	if (pg == NULL)
		return NULL;
	pg->link = link;
	pg->set = set;
	pg->state = PG_AUTH;
	if ((pg->conn = sql_connect(loop, &set->addr, pg_conn_cb, pg)) == NULL) {
		free(pg);
		return NULL;
	}
	return pg;
}

static int
pg_query(void *p, const char *sql, size_t len)
{
	struct pgsql_conn *pg = p;

	pg->state = PG_QUERY;
	pg->query_error = 0;
	sql_rows_clear(&pg->rows);
	pg_send(pg, 'Q', sql, len + 1, NULL, 0);
	return 0;
}

/* PQescapeStringConn: quotes doubled; backslashes too unless the server said
 * standard_conforming_strings = on (or before it said anything: doubling is then safe
 * either way) */
static void
escape_nonstd(struct strbuf *out, const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\'' || v[i] == '\\')
			strbuf_putc(out, v[i]);
		strbuf_putc(out, v[i]);
	}
}

static var_escape_fn *
pg_escape(void *p)
{
	return ((struct pgsql_conn *)p)->std_strings ? sql_escape_quotes : escape_nonstd;
}

static void
pg_close(void *p)
{
	struct pgsql_conn *pg = p;

	if (pg == NULL)
		return;
	if (pg->conn != NULL) {
		/* Terminate, best effort: one write is tried at once */
		if (pg->state == PG_READY)
			pg_send(pg, 'X', NULL, 0, NULL, 0);
		conn_free(pg->conn);
	}
	sql_rows_clear(&pg->rows);
	free(pg->scram_client_first_bare);
	free(pg->scram_server_first);
	free(pg);
}

const struct sql_driver pgsql_sql_driver = {
	.name = "pgsql",
	.parse = set_parse,
	.parse_free = set_free,
	.host_name = set_host_name,
	.open = pg_open,
	.query = pg_query,
	.escape = pg_escape,
	.close = pg_close,
};

/* ---- for the fuzz target and unit tests ---- */

struct pgsql_conn *
pgsql_test_new(void)
{
	struct pgsql_conn *pg = calloc(1, sizeof(*pg));

	if (pg != NULL)
		pg->state = PG_QUERY;
	return pg;
}

long
pgsql_test_feed(struct pgsql_conn *pg, const unsigned char *data, size_t len)
{
	return feed(pg, data, len);
}

const char *
pgsql_test_state(struct pgsql_conn *pg)
{
	static char buf[300];

	if (pg->state == PG_DEAD) {
		str_fmt(buf, sizeof(buf), "failed: %s", pg->error);
		return buf;
	}
	return pg->state == PG_QUERY ? "query" : pg->state == PG_READY ? "ready" : "auth";
}

void
pgsql_test_free(struct pgsql_conn *pg)
{
	pg->conn = NULL;
	pg_close(pg);
}
