/* SPDX-License-Identifier: MIT */
/* Implementation notes: Dovecot's driver-sqlpool.c with its drivers' reconnect rules.
 * Everything that calls a query's callback runs from the loop: sql_query() only queues
 * and arms a zero timer (the "kick"), so callers never see their callback inside their
 * own call. Links (connections) are freed after the current batch of events, since a
 * driver reports a failure from inside its connection's callback. */
#include "core/sql.h"
#include "core/sql_drv.h"
#include "core/ip.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/str.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/tls.h"

#define SQL_CONNECT_MIN_DELAY_S		1
#define SQL_CONNECT_MAX_DELAY_S		(30 * 60)
#define SQL_CONNECT_RESET_DELAY_MS	15000
#define SQL_CONNECT_TIMEOUT_MS		5000
#define SQL_DEFAULT_CONNECTION_LIMIT	5
#define SQL_HOSTS_MAX			16
#define SQL_QUERY_MAX			(64 * 1024)
#define SQL_PEM_FILE_MAX		(1024 * 1024)

enum link_state { LINK_CONNECTING, LINK_IDLE, LINK_BUSY };

struct sql_host {
	void *set;
	unsigned int nlinks;
	unsigned int delay_s;	/* the next failed connect waits this long; 0: none yet */
	uint64_t retry_at;	/* loop_now() ms */
};

struct sql_link {
	struct sql_db *db;
	const struct sql_driver *drv;	/* link_free() may run after the db is gone */
	int gone;		/* unlisted: whatever its driver reports now is dropped */
	struct sql_host *host;
	struct sql_link *next;
	void *dc;		/* the driver's connection */
	enum link_state state;
	struct sql_query *q;	/* sent, waiting for its answer */
	uint64_t ready_at;
	struct loop_timer timer;	/* connect timeout */
	char name[160];
};

struct sql_query {
	struct sql_db *db;
	struct sql_query *next;	/* db->queue */
	struct sql_link *link;	/* sent on it */
	sql_build_fn *build;
	void *build_arg;
	sql_query_cb *cb;	/* NULL: aborted, the answer is thrown away */
	void *arg;
	int retried;
};

struct sql_db {
	const struct sql_driver *drv;
	struct loop *loop;
	struct sql_host hosts[SQL_HOSTS_MAX];
	unsigned int nhosts, maxconns, next_host;
	struct sql_link *links;
	struct sql_query *queue, **queue_tail;
	struct loop_timer kick;
};

static void db_kick(struct sql_db *db);

/* ---- connect string (libpq's quoting: 'a b', with \' and \\) ---- */

static int
parse_connect(const char *s, struct sql_param **out, size_t *n, char *err, size_t errlen)
{
	struct sql_param *ps = NULL;
	size_t np = 0;

	*out = NULL;
	*n = 0;
	while (*s != '\0') {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		size_t klen = strcspn(s, "= \t");
		if (s[klen] != '=' || klen == 0) {
			str_fmt(err, errlen, "Invalid connect string: %.*s (key=value expected)",
			    (int)strcspn(s, " \t"), s);
			goto fail;
		}
		struct strbuf v;
		strbuf_init(&v, 4096);
		const char *p = s + klen + 1;
		if (*p == '\'') {
			for (p++; *p != '\0' && *p != '\''; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				strbuf_putc(&v, *p);
			}
			if (*p != '\'') {
				strbuf_free(&v);
				str_fmt(err, errlen, "Invalid connect string: unterminated quote");
				goto fail;
			}
			p++;
		} else {
			size_t vlen = strcspn(p, " \t");
			strbuf_append(&v, p, vlen);
			p += vlen;
		}
		struct sql_param *nps = realloc(ps, (np + 1) * sizeof(*ps));
		char *key = strndup(s, klen);
		if (nps == NULL || key == NULL || v.error || v.s == NULL) {
			if (nps != NULL)
				ps = nps;
			free(key);
			strbuf_free(&v);
			str_copy(err, "out of memory or value too long", errlen);
			goto fail;
		}
		ps = nps;
		ps[np].key = key;
		ps[np++].value = v.s;
		s = p;
	}
	*out = ps;
	*n = np;
	return 0;
fail:
	for (size_t i = 0; i < np; i++) {
		free(ps[i].key);
		free(ps[i].value);
	}
	free(ps);
	return -1;
}

int
sql_addr_parse(const char *host, unsigned int port, const char *unix_name,
    struct sql_addr *a, char *err, size_t errlen)
{
	struct ip_addr ip;

	memset(a, 0, sizeof(*a));
	if (*host == '/') {
		struct sockaddr_un *sun = (struct sockaddr_un *)&a->ss;
		size_t n;
		if (unix_name != NULL)
			n = str_fmt(sun->sun_path, sizeof(sun->sun_path), "%s/%s", host, unix_name);
		else
			n = str_copy(sun->sun_path, host, sizeof(sun->sun_path));
		if (n >= sizeof(sun->sun_path)) {
			str_fmt(err, errlen, "host=%s: socket path too long", host);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		a->len = (socklen_t)sizeof(*sun);
		a->is_unix = 1;
		str_copy(a->name, sun->sun_path, sizeof(a->name));
		return 0;
	}
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (ip_parse(host, &ip) < 0 || ip_to_sockaddr(&ip, port, &a->ss, &a->len) < 0) {
		str_fmt(err, errlen, "host=%s: an IP address, localhost or a socket path is "
		    "needed (mtool has no resolver for database hosts)", host);
		return -1;
	}
	char ipbuf[IP_ADDR_STRLEN];
	str_fmt(a->name, sizeof(a->name), "%s:%u", ip_format(&ip, ipbuf, sizeof(ipbuf)), port);
	return 0;
}

struct sql_db *
sql_db_new(const char *driver, const char *connect, char *err, size_t errlen)
{
	struct sql_param *ps;
	size_t np, nrest = 0;
	struct sql_db *db;
	const char *hosts[SQL_HOSTS_MAX];
	unsigned int nhosts = 0;

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		str_copy(err, "out of memory", errlen);
		return NULL;
	}
	db->queue_tail = &db->queue;
	db->maxconns = SQL_DEFAULT_CONNECTION_LIMIT;
	if (strcmp(driver, "pgsql") == 0)
		db->drv = &pgsql_sql_driver;
	else if (strcmp(driver, "mysql") == 0)
		db->drv = &mysql_sql_driver;
	else {
		str_fmt(err, errlen, "Unknown database driver '%s' (mtool has pgsql and mysql)",
		    driver);
		free(db);
		return NULL;
	}
	if (parse_connect(connect, &ps, &np, err, errlen) < 0) {
		free(db);
		return NULL;
	}
	/* host= and maxconns= are the pool's; the rest is every host's */
	struct sql_param *rest = calloc(np + 1, sizeof(*rest));
	int bad = rest == NULL;
	if (bad)
		str_copy(err, "out of memory", errlen);
	for (size_t i = 0; i < np && !bad; i++) {
		if (strcmp(ps[i].key, "host") == 0) {
			if (nhosts == SQL_HOSTS_MAX) {
				str_fmt(err, errlen, "Too many host= (at most %d)", SQL_HOSTS_MAX);
				bad = 1;
			} else
				hosts[nhosts++] = ps[i].value;
		} else if (strcmp(ps[i].key, "maxconns") == 0) {
			long long v;
			const char *e;
			if (str_to_num(ps[i].value, 1, 1000, &v, &e) < 0) {
				str_fmt(err, errlen, "Invalid value for maxconns: %s", ps[i].value);
				bad = 1;
			}
			db->maxconns = (unsigned int)v;
		} else
			rest[nrest++] = ps[i];
	}
	if (nhosts == 0)
		hosts[nhosts++] = NULL;
	for (unsigned int i = 0; i < nhosts && !bad; i++) {
		db->hosts[i].set = db->drv->parse(hosts[i], rest, nrest, err, errlen);
		if (db->hosts[i].set == NULL)
			bad = 1;
		else
			db->nhosts++;
	}
	for (size_t i = 0; i < np; i++) {
		free(ps[i].key);
		free(ps[i].value);
	}
	free(ps);
	free(rest);
	if (bad) {
		sql_db_free(db);
		return NULL;
	}
	return db;
}

const char *
sql_db_driver(const struct sql_db *db)
{
	return db->drv->name;
}

/* ---- links ---- */

const char *
sql_link_name(const struct sql_link *l)
{
	return l->name;
}

static void
link_free(void *p)
{
	struct sql_link *l = p;

	if (l->dc != NULL)
		l->drv->close(l->dc);
	free(l);
}

static void
link_unlist(struct sql_link *l)
{
	struct sql_db *db = l->db;

	l->gone = 1;
	for (struct sql_link **lp = &db->links; *lp != NULL; lp = &(*lp)->next)
		if (*lp == l) {
			*lp = l->next;
			break;
		}
	l->host->nlinks--;
	if (db->loop != NULL)
		loop_timer_cancel(db->loop, &l->timer);
	loop_defer_free(db->loop, link_free, l);
}

static void
query_free(struct sql_query *q)
{
	free(q);
}

static void
query_fail(struct sql_query *q, const char *error)
{
	struct sql_result res = { .error = error };
	sql_query_cb *cb = q->cb;
	void *arg = q->arg;

	query_free(q);
	if (cb != NULL)
		cb(&res, arg);
}

void
sql_link_failed(struct sql_link *l, const char *error)
{
	struct sql_db *db = l->db;
	struct sql_host *h = l->host;
	struct sql_query *q = l->q;
	uint64_t now = loop_now(db->loop);

	if (l->gone)
		return;
	if (l->state == LINK_CONNECTING) {
		h->delay_s = h->delay_s == 0 ? SQL_CONNECT_MIN_DELAY_S :
		    h->delay_s * 2 > SQL_CONNECT_MAX_DELAY_S ? SQL_CONNECT_MAX_DELAY_S :
		    h->delay_s * 2;
		h->retry_at = now + (uint64_t)h->delay_s * 1000;
		log_errorx("%s: Connect failed: %s (next try in %u s)", l->name, error,
		    h->delay_s);
	} else {
		if (now - l->ready_at >= SQL_CONNECT_RESET_DELAY_MS)
			h->delay_s = 0;
		else if (h->delay_s == 0)
			h->delay_s = SQL_CONNECT_MIN_DELAY_S;
		log_errorx("%s: Connection lost: %s", l->name, error);
	}
	l->q = NULL;
	link_unlist(l);
	if (q != NULL) {
		q->link = NULL;
		if (q->cb != NULL && !q->retried) {
			/* sqlpool's retry: once, on whatever connection comes next */
			q->retried = 1;
			q->next = db->queue;
			db->queue = q;
			if (db->queue_tail == &db->queue)
				db->queue_tail = &q->next;
		} else
			query_fail(q, error);
	}
	db_kick(db);
}

void
sql_link_ready(struct sql_link *l)
{
	if (l->gone)
		return;
	l->state = LINK_IDLE;
	l->ready_at = loop_now(l->db->loop);
	loop_timer_cancel(l->db->loop, &l->timer);
	log_debug("%s: Connected", l->name);
	db_kick(l->db);
}

void
sql_link_result(struct sql_link *l, const struct sql_result *res)
{
	struct sql_query *q = l->q;

	if (l->gone)
		return;
	l->q = NULL;
	l->state = LINK_IDLE;
	if (res->error != NULL && res->nfields == 0 && res->values == NULL)
		log_debug("%s: query failed: %s", l->name, res->error);
	db_kick(l->db);
	if (q != NULL) {
		sql_query_cb *cb = q->cb;
		void *arg = q->arg;
		query_free(q);
		if (cb != NULL)
			cb(res, arg);
	}
}

static void
link_connect_timeout(struct loop_timer *t, void *arg)
{
	struct sql_link *l = arg;

	(void)t;
	l->drv->close(l->dc);
	l->dc = NULL;
	sql_link_failed(l, "Connect timed out");
}

static struct sql_link *
link_open(struct sql_db *db, struct sql_host *h)
{
	struct sql_link *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->db = db;
	l->drv = db->drv;
	l->host = h;
	l->state = LINK_CONNECTING;
	str_fmt(l->name, sizeof(l->name), "%s(%s)", db->drv->name, db->drv->host_name(h->set));
	if ((l->dc = db->drv->open(l, h->set, db->loop)) == NULL) {
		free(l);
		h->delay_s = h->delay_s == 0 ? SQL_CONNECT_MIN_DELAY_S : h->delay_s;
		h->retry_at = loop_now(db->loop) + (uint64_t)h->delay_s * 1000;
		return NULL;
	}
	loop_timer_set(db->loop, &l->timer, SQL_CONNECT_TIMEOUT_MS, link_connect_timeout, l);
	h->nlinks++;
	l->next = db->links;
	db->links = l;
	return l;
}

/* A host that may take one more connection now, round robin. */
static struct sql_host *
host_pick(struct sql_db *db)
{
	uint64_t now = loop_now(db->loop);

	for (unsigned int k = 0; k < db->nhosts; k++) {
		struct sql_host *h = &db->hosts[(db->next_host + k) % db->nhosts];
		if (h->nlinks < db->maxconns && now >= h->retry_at) {
			db->next_host = (db->next_host + k + 1) % db->nhosts;
			return h;
		}
	}
	return NULL;
}

/* Sends q on l; a query that cannot be built fails here (its callback runs). */
static void
link_send(struct sql_link *l, struct sql_query *q)
{
	struct strbuf sb;
	const char *error = NULL;

	strbuf_init(&sb, SQL_QUERY_MAX);
	if (q->build(&sb, l->db->drv->escape(l->dc), q->build_arg, &error) < 0 || sb.error) {
		strbuf_free(&sb);
		query_fail(q, error != NULL ? error : "Query too long");
		return;
	}
	/* the passdb logs the query (its values made safe for a log line) */
	l->q = q;
	q->link = l;
	l->state = LINK_BUSY;
	if (l->db->drv->query(l->dc, sb.s, sb.len) < 0)
		log_debug("%s: the query could not be sent", l->name);
	strbuf_free(&sb);
}

static void
db_dispatch(struct loop_timer *t, void *arg)
{
	struct sql_db *db = arg;
	unsigned int connecting = 0, links = 0, waiting = 0;

	(void)t;
	for (struct sql_link *l = db->links; l != NULL; l = l->next) {
		links++;
		if (l->state == LINK_CONNECTING)
			connecting++;
	}
	while (db->queue != NULL) {
		struct sql_link *idle = NULL;
		for (struct sql_link *l = db->links; l != NULL && idle == NULL; l = l->next)
			if (l->state == LINK_IDLE)
				idle = l;
		if (idle == NULL)
			break;
		struct sql_query *q = db->queue;
		if ((db->queue = q->next) == NULL)
			db->queue_tail = &db->queue;
		link_send(idle, q);
	}
	for (struct sql_query *q = db->queue; q != NULL; q = q->next)
		waiting++;
	/* one new connection per waiting query that no connecting one will take */
	while (waiting > connecting) {
		struct sql_host *h = host_pick(db);
		if (h == NULL || link_open(db, h) == NULL)
			break;
		connecting++;
		links++;
	}
	if (links == 0 && db->queue != NULL) {
		/* every host waits for its next try: fail now, as Dovecot does */
		while (db->queue != NULL) {
			struct sql_query *q = db->queue;
			if ((db->queue = q->next) == NULL)
				db->queue_tail = &db->queue;
			query_fail(q, "Not connected to database");
		}
	}
}

static void
db_kick(struct sql_db *db)
{
	if (db->loop != NULL && !loop_timer_armed(&db->kick))
		loop_timer_set(db->loop, &db->kick, 0, db_dispatch, db);
}

void
sql_db_set_loop(struct sql_db *db, struct loop *loop)
{
	db->loop = loop;
	/* Dovecot connects at start-up: one connection per host */
	for (unsigned int i = 0; i < db->nhosts; i++)
		(void)link_open(db, &db->hosts[i]);
	db_kick(db);
}

struct sql_query *
sql_query(struct sql_db *db, sql_build_fn *build, void *build_arg, sql_query_cb *cb,
    void *arg)
{
	struct sql_query *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->db = db;
	q->build = build;
	q->build_arg = build_arg;
	q->cb = cb;
	q->arg = arg;
	*db->queue_tail = q;
	db->queue_tail = &q->next;
	db_kick(db);
	return q;
}

void
sql_query_abort(struct sql_query *q, int close_conn)
{
	struct sql_db *db = q->db;

	if (q->link == NULL) {
		for (struct sql_query **qp = &db->queue; *qp != NULL; qp = &(*qp)->next)
			if (*qp == q) {
				*qp = q->next;
				if (db->queue_tail == &q->next)
					db->queue_tail = qp;
				break;
			}
		query_free(q);
		return;
	}
	q->cb = NULL;
	q->build_arg = NULL;
	if (close_conn) {
		struct sql_link *l = q->link;
		l->q = NULL;
		query_free(q);
		log_warnx("%s: closing the connection of a query that took too long", l->name);
		link_unlist(l);
		db_kick(db);
	}
}

void
sql_db_free(struct sql_db *db)
{
	if (db == NULL)
		return;
	while (db->queue != NULL) {
		struct sql_query *q = db->queue;
		db->queue = q->next;
		query_fail(q, "Not connected to database");
	}
	while (db->links != NULL) {
		struct sql_link *l = db->links;
		db->links = l->next;
		if (l->q != NULL)
			query_fail(l->q, "Not connected to database");
		if (db->loop != NULL)
			loop_timer_cancel(db->loop, &l->timer);
		link_free(l);
	}
	if (db->loop != NULL)
		loop_timer_cancel(db->loop, &db->kick);
	for (unsigned int i = 0; i < db->nhosts; i++)
		db->drv->parse_free(db->hosts[i].set);
	free(db);
}

/* ---- connections, for the drivers ---- */

struct conn *
sql_connect(struct loop *loop, const struct sql_addr *a, conn_cb *cb, void *arg)
{
	int one = 1;
	struct conn *c = conn_connect(loop, (const struct sockaddr *)&a->ss, a->len, NULL, 0,
	    SQL_MSG_MAX + 8, cb, arg);

	if (c != NULL && !a->is_unix)
		(void)setsockopt(conn_fd(c), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return c;
}

const char *
sql_conn_failure(struct conn *c, enum conn_event ev)
{
	switch (ev) {
	case CONN_EV_EOF:
		return "the server closed the connection";
	case CONN_EV_TIMEOUT:
		return "read timeout";
	case CONN_EV_ERROR:
		return conn_error_str(c);
	default:
		return NULL;
	}
}

void
sql_write(struct conn *c, const void *head, size_t hlen, const void *a, size_t alen,
    const void *b, size_t blen)
{
	struct strbuf sb;

	if (c == NULL)
		return;
	strbuf_init(&sb, SQL_MSG_MAX);
	strbuf_append(&sb, head, hlen);
	if (alen > 0)
		strbuf_append(&sb, a, alen);
	if (blen > 0)
		strbuf_append(&sb, b, blen);
	if (!sb.error)
		(void)conn_write(c, sb.s, sb.len);
	strbuf_free(&sb);
}

void
sql_one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

void
sql_escape_quotes(struct strbuf *out, const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\'')
			strbuf_putc(out, '\'');
		strbuf_putc(out, v[i]);
	}
}

/* ---- TLS for the drivers ---- */

static char *
pem_read(const char *path, const char *what, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text = fd >= 0 ? malloc(SQL_PEM_FILE_MAX) : NULL;
	ssize_t n = -1;
	size_t len = 0;

	while (text != NULL && len < SQL_PEM_FILE_MAX - 1 &&
	    (n = read(fd, text + len, SQL_PEM_FILE_MAX - 1 - len)) > 0)
		len += (size_t)n;
	if (fd >= 0)
		close(fd);
	if (text == NULL || n < 0) {
		str_fmt(err, errlen, "%s: cannot read %s", what, path);
		free(text);
		return NULL;
	}
	text[len] = '\0';
	return text;
}

struct tls_client *
sql_tls_client(const char *ca_file, const char *ca_dir, const char *cert_file,
    const char *key_file, char *err, size_t errlen)
{
	char *ca = NULL, *cert = NULL, *key = NULL;
	struct tls_client *cl = NULL;
	struct tls_params params;

	if ((ca_file != NULL && (ca = pem_read(ca_file, "CA file", err, errlen)) == NULL) ||
	    (cert_file != NULL && (cert = pem_read(cert_file, "certificate", err, errlen)) == NULL) ||
	    (key_file != NULL && (key = pem_read(key_file, "key", err, errlen)) == NULL))
		goto out;
	tls_params_default(&params);
	cl = tls_client_new(ca, ca_dir, cert, key, &params, err, errlen);
out:
	free(ca);
	free(cert);
	if (key != NULL) {
		memset(key, 0, strlen(key));
		free(key);
	}
	return cl;
}

/* ---- result rows, for the drivers ---- */

int
sql_rows_field(struct sql_rows *r, const char *name, size_t len, const char **error)
{
	if (r->nfields == SQL_FIELDS_MAX) {
		*error = "Too many columns in the result";
		return -1;
	}
	if ((r->names[r->nfields] = strndup(name, len)) == NULL) {
		*error = "Out of memory";
		return -1;
	}
	r->nfields++;
	return 0;
}

int
sql_rows_value(struct sql_rows *r, unsigned int col, const char *value, size_t len,
    const char **error)
{
	if (col >= r->nfields) {
		*error = "A row has more values than the result has columns";
		return -1;
	}
	if (r->nrows > 0 || value == NULL)
		return 0;	/* only the first row is kept */
	if (memchr(value, '\0', len) != NULL) {
		*error = "A value has a NUL byte";
		return -1;
	}
	r->row_bytes += len;
	if (r->row_bytes > SQL_ROW_MAX) {
		*error = "The row is too large";
		return -1;
	}
	free(r->values[col]);
	if ((r->values[col] = strndup(value, len)) == NULL) {
		*error = "Out of memory";
		return -1;
	}
	return 0;
}

void
sql_rows_end_row(struct sql_rows *r)
{
	r->have_row = 1;
	r->nrows++;
}

void
sql_rows_result(const struct sql_rows *r, struct sql_result *res)
{
	memset(res, 0, sizeof(*res));
	res->nfields = r->nfields;
	res->names = (const char *const *)r->names;
	res->values = r->have_row ? (const char *const *)r->values : NULL;
	res->nrows = r->nrows;
}

void
sql_rows_clear(struct sql_rows *r)
{
	for (unsigned int i = 0; i < r->nfields; i++) {
		free(r->names[i]);
		free(r->values[i]);
	}
	memset(r, 0, sizeof(*r));
}
