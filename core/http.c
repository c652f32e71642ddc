/* SPDX-License-Identifier: MIT */
/* core/http.c: the /metrics endpoint (see core/http.h for its limits). A connection is
 * one fixed buffer for the request head, read with a deadline, then one answer written
 * with a deadline, then a short linger that reads and drops what the client still sends
 * (closing with unread input would reset the connection and cut the answer short). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/http.h"
#include "core/listen.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/str.h"

#define HTTP_LINGER_MS		1000
#define HTTP_LINGER_BYTES	65536
#define HTTP_METHOD_MAX		16
#define HTTP_EMFILE_PAUSE_MS	1000

/* ---- the parser ---- */

static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* field-content: visible characters, space, tab and obs-text; no other control */
static int
is_fchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
mem_eq_nocase(const char *a, size_t alen, const char *b)
{
	size_t n = strlen(b);
	if (alen != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

static int
mem_has_nocase(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (mem_eq_nocase(s + i, n, needle))
			return 1;
	return 0;
}

static int
parse_request_line(const char *l, size_t n, struct http_request *req)
{
	size_t i = 0, t;
	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i > HTTP_METHOD_MAX || i >= n || l[i] != ' ')
		return -400;
	req->method = i == 3 && memcmp(l, "GET", 3) == 0 ? HTTP_GET :
	    i == 4 && memcmp(l, "HEAD", 4) == 0 ? HTTP_HEAD : HTTP_OTHER;
	t = ++i;
	while (i < n && (unsigned char)l[i] > 0x20 && (unsigned char)l[i] < 0x7f)
		i++;
	if (i == t || i >= n || l[i] != ' ' || l[t] != '/')
		return -400;
	size_t plen = 0;
	while (t + plen < i && l[t + plen] != '?')
		plen++;
	req->metrics_path = plen == 8 && memcmp(l + t, "/metrics", 8) == 0;
	i++;
	if (n - i != 8 || memcmp(l + i, "HTTP/1.", 7) != 0 || (l[i + 7] != '0' && l[i + 7] != '1'))
		return -400;
	req->minor = l[i + 7] - '0';
	return 0;
}

int
http_parse(const char *data, size_t len, struct http_request *req)
{
	size_t pos = 0;
	unsigned int lines = 0, hosts = 0;

	memset(req, 0, sizeof(*req));
	if (len > HTTP_HEAD_MAX)
		len = HTTP_HEAD_MAX;
	for (;;) {
		const char *l = data + pos, *nl = memchr(l, '\n', len - pos);
		if (nl == NULL) {
			/* a line still arriving is judged by what it holds so far: a TLS hello
			 * or a binary probe is answered at once, not at the deadline */
			for (const char *p = l; p < data + len; p++)
				if (!is_fchar((unsigned char)*p) && *p != '\r')
					return -400;
			return len == HTTP_HEAD_MAX ? -431 : 0;
		}
		size_t n = (size_t)(nl - l);
		if (n > 0 && l[n - 1] == '\r')
			n--;
		pos += (size_t)(nl - l) + 1;
		for (size_t i = 0; i < n; i++)
			if (!is_fchar((unsigned char)l[i]))
				return -400;
		if (lines++ == 0) {
			if (parse_request_line(l, n, req) < 0)
				return -400;
			continue;
		}
		if (n == 0)
			break;
		if (lines > HTTP_HEADERS_MAX + 1)
			return -431;
		size_t k = 0;
		while (k < n && is_tchar((unsigned char)l[k]))
			k++;
		/* no name, space before the colon, or a folded line (it starts with space) */
		if (k == 0 || k >= n || l[k] != ':')
			return -400;
		if (mem_eq_nocase(l, k, "host") && ++hosts > 1)
			return -400;
		if (mem_eq_nocase(l, k, "accept") &&
		    mem_has_nocase(l + k + 1, n - k - 1, "application/openmetrics-text"))
			req->openmetrics = 1;
	}
	if (req->minor == 1 && hosts != 1)
		return -400;
	return (int)pos;
}

/* ---- the server's own metrics ---- */

static struct metrics_family http_requests = {
	.name = "mtool_metrics_http_requests", .help = "Requests to the metrics endpoint by HTTP status",
	.type = METRICS_COUNTER, .labels = { "code" },
};
static struct metrics_family http_dropped = {
	.name = "mtool_metrics_http_dropped",
	.help = "Metrics endpoint connections closed without an answer, by reason",
	.type = METRICS_COUNTER, .labels = { "reason" },
};

/* ---- the server ---- */

enum http_state { HC_READ, HC_SEND, HC_LINGER };

struct http_conn {
	struct http_server *srv;
	struct http_conn *prev, *next;
	struct loop_io io;
	struct loop_timer timer;
	enum http_state state;
	size_t inlen, dropped;
	struct buf out;
	char in[HTTP_HEAD_MAX];
};

struct http_listener {
	struct http_server *srv;
	struct loop_io io;
	struct loop_timer pause;	/* out of descriptors: accept again later */
	int fd;
	struct ip_addr ip;
	unsigned int port;
};

struct http_server {
	struct loop *loop;
	struct http_listener l[HTTP_LISTENERS_MAX];
	unsigned int n;
	struct http_conn *conns, *last;		/* oldest first */
	unsigned int nconns;
};

static void
conn_close(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	loop_timer_cancel(srv->loop, &c->timer);
	int fd = c->io.fd;
	loop_io_del(srv->loop, &c->io);
	close(fd);
	buf_release(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		srv->last = c->prev;
	srv->nconns--;
	loop_defer_free(srv->loop, free, c);
}

static void
conn_drop(struct http_conn *c, const char *reason)
{
	METRICS_INC(http_dropped, reason);
	conn_close(c);
}

static void
conn_timeout(struct loop_timer *t, void *arg)
{
	struct http_conn *c = arg;
	(void)t;
	if (c->state == HC_LINGER)
		conn_close(c);
	else
		conn_drop(c, c->state == HC_READ ? "request_timeout" : "send_timeout");
}

static void
conn_linger(struct http_conn *c)
{
	shutdown(c->io.fd, SHUT_WR);
	c->state = HC_LINGER;
	loop_io_set(c->srv->loop, &c->io, EPOLLIN);
	loop_timer_set(c->srv->loop, &c->timer, HTTP_LINGER_MS, conn_timeout, c);
}

static void
conn_flush(struct http_conn *c)
{
	while (buf_len(&c->out) > 0) {
		ssize_t n = send(c->io.fd, buf_data(&c->out), buf_len(&c->out), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			loop_io_set(c->srv->loop, &c->io, EPOLLOUT);
			return;
		}
		if (n <= 0) {
			conn_drop(c, "send_error");
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
	conn_linger(c);
}

static void
conn_answer(struct http_conn *c, int status, const struct http_request *req)
{
	static const struct { int code; const char *text; } texts[] = {
		{ 200, "OK" }, { 400, "Bad Request" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
	};
	struct buf body = { 0 };
	const char *type = "text/plain; charset=utf-8", *text = "";
	char head[256], code[8];
	int openmetrics = req && req->openmetrics;

	if (status == 200 && metrics_render(&body, openmetrics) < 0) {
		buf_release(&body);
		status = 500;
	}
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].code == status)
			text = texts[i].text;
	if (status == 200) {
		type = metrics_content_type(openmetrics);
	} else if (buf_append(&body, text, strlen(text)) < 0 || buf_append(&body, "\n", 1) < 0) {
		buf_release(&body);
		conn_drop(c, "out_of_memory");
		return;
	}
	size_t n = str_fmt(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status, text, type, buf_len(&body),
	    status == 405 ? "Allow: GET, HEAD\r\n" : "");
	str_fmt(code, sizeof(code), "%d", status);
	METRICS_INC(http_requests, code);
	if (buf_append(&c->out, head, n) < 0 || ((!req || req->method != HTTP_HEAD) &&
	    buf_len(&body) && buf_append(&c->out, buf_data(&body), buf_len(&body)) < 0)) {
		buf_release(&body);
		conn_drop(c, "out_of_memory");
		return;
	}
	buf_release(&body);
	c->state = HC_SEND;
	loop_io_set(c->srv->loop, &c->io, 0);
	loop_timer_set(c->srv->loop, &c->timer, HTTP_SEND_MS, conn_timeout, c);
	conn_flush(c);
}

static void
conn_read(struct http_conn *c)
{
	ssize_t n = read(c->io.fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_drop(c, n == 0 ? "closed" : "read_error");
		return;
	}
	size_t old = c->inlen;
	c->inlen += (size_t)n;
	/* parse again only when a line ended, a control character came (no request holds
	 * one) or the buffer is full: a request sent a byte at a time costs no more */
	int again = c->inlen == sizeof(c->in);
	for (size_t i = old; i < c->inlen && !again; i++)
		again = (unsigned char)c->in[i] < 0x20 && c->in[i] != '\t' && c->in[i] != '\r';
	if (!again)
		return;
	struct http_request req;
	int r = http_parse(c->in, c->inlen, &req);
	if (r == 0)
		return;
	if (r < 0)
		conn_answer(c, -r, NULL);
	else if (!req.metrics_path)
		conn_answer(c, 404, &req);
	else if (req.method == HTTP_OTHER)
		conn_answer(c, 405, &req);
	else
		conn_answer(c, 200, &req);
}

static void
conn_event(struct loop_io *io, uint32_t events, void *arg)
{
	struct http_conn *c = arg;
	(void)io;
	if (c->state == HC_READ) {
		conn_read(c);
	} else if (c->state == HC_SEND) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_flush(c);
	} else {
		char tmp[4096];
		ssize_t n = read(c->io.fd, tmp, sizeof(tmp));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		c->dropped += n > 0 ? (size_t)n : 0;
		if (n <= 0 || c->dropped > HTTP_LINGER_BYTES)
			conn_close(c);
	}
}

static void
listener_resume(struct loop_timer *t, void *arg)
{
	struct http_listener *l = arg;
	(void)t;
	loop_io_set(l->srv->loop, &l->io, EPOLLIN);
}

static void
listener_accept(struct loop_io *io, uint32_t events, void *arg)
{
	struct http_listener *l = arg;
	struct http_server *srv = l->srv;
	(void)events;
	for (int i = 0; i < HTTP_CONNS_MAX; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
			/* the connection stays queued: level-triggered epoll would report it
			 * again at once, so stop listening for a while instead of spinning */
			loop_io_set(srv->loop, io, 0);
			loop_timer_set(srv->loop, &l->pause, HTTP_EMFILE_PAUSE_MS, listener_resume, l);
			return;
		}
		if (fd < 0)
			return;
		if (srv->nconns >= HTTP_CONNS_MAX) {
			/* full: the oldest client still sending its request makes room */
			struct http_conn *old = srv->conns;
			while (old && old->state != HC_READ)
				old = old->next;
			if (old == NULL) {
				METRICS_INC(http_dropped, "too_many");
				close(fd);
				continue;
			}
			conn_drop(old, "evicted");
		}
		struct http_conn *c = malloc(sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		memset(c, 0, offsetof(struct http_conn, in));
		c->srv = srv;
		if (loop_io_add(srv->loop, &c->io, fd, EPOLLIN, conn_event, c) < 0 ||
		    loop_timer_set(srv->loop, &c->timer, HTTP_REQUEST_MS, conn_timeout, c) < 0) {
			loop_io_del(srv->loop, &c->io);
			close(fd);
			free(c);
			continue;
		}
		c->prev = srv->last;
		if (srv->last)
			srv->last->next = c;
		else
			srv->conns = c;
		srv->last = c;
		srv->nconns++;
	}
}

/* ---- settings and listeners ---- */

static int
add_addresses(struct http_listen_set *set, const struct conf_node *at, const char *list,
    unsigned int port, FILE *errf)
{
	int bad = 0;
	for (const char *s = list; *s;) {
		s += strspn(s, " \t,");
		size_t n = strcspn(s, " \t,");
		if (n == 0)
			break;
		char tok[64];
		struct ip_addr ip;
		str_fmt(tok, sizeof(tok), "%.*s", (int)n, s);
		s += n;
		if (strcmp(tok, "*") == 0)
			ip_parse("0.0.0.0", &ip);
		else if (n >= sizeof(tok) || ip_parse(tok, &ip) < 0) {
			fprintf(errf, "%s:%u: inet_listener of service stats: '%s' is not an IP address\n",
			    at->file, at->line, tok);
			bad = 1;
			continue;
		}
		if (set->n == HTTP_LISTENERS_MAX) {
			fprintf(errf, "%s:%u: service stats: more than %d listeners\n", at->file, at->line,
			    HTTP_LISTENERS_MAX);
			return -1;
		}
		set->ips[set->n] = ip;
		set->ports[set->n++] = port;
	}
	return bad ? -1 : 0;
}

int
http_conf(const struct conf *conf, const char *listen_default, struct http_listen_set *set,
    FILE *errf)
{
	const struct conf_node *root = conf_root(conf), *svc = NULL, *il;
	int bad = 0;
	memset(set, 0, sizeof(*set));
	while ((svc = conf_next_section(root, svc, "service")) != NULL) {
		if (svc->name == NULL || strcmp(svc->name, "stats") != 0)
			continue;
		for (il = NULL; (il = conf_next_section(svc, il, "inet_listener")) != NULL;) {
			const struct conf_node *pn = conf_find(il, "port"), *an = conf_find(il, "address");
			unsigned long long port = 0;
			if (pn && conf_parse_uint(pn, 65535, &port, errf) < 0) {
				bad = 1;
				continue;
			}
			if (port == 0)
				continue;	/* Dovecot: no port, or 0, disables the listener */
			if (add_addresses(set, an ? an : il, an ? an->value : listen_default,
			    (unsigned int)port, errf) < 0)
				bad = 1;
		}
	}
	return bad ? -1 : 0;
}

struct http_server *
http_server_bind(const struct http_listen_set *set, char *err, size_t errlen)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		str_copy(err, "out of memory", errlen);
		return NULL;
	}
	for (unsigned int i = 0; i < set->n; i++) {
		struct http_listener *l = &srv->l[i];
		char why[128];
		l->srv = srv;
		l->ip = set->ips[i];
		l->port = set->ports[i];
		l->io.fd = -1;
		l->fd = listen_tcp(&l->ip, l->port, 64, LISTEN_V6ONLY, why, sizeof(why));
		srv->n = i + 1;
		if (l->fd < 0) {
			char ip[IP_ADDR_STRLEN];
			str_fmt(err, errlen, "service stats: listen(%s, %u) failed: %s",
			    ip_format(&l->ip, ip, sizeof(ip)), l->port, why);
			http_server_free(srv);
			return NULL;
		}
	}
	return srv;
}

int
http_server_start(struct http_server *srv, struct loop *loop)
{
	srv->loop = loop;
	metrics_register(&http_requests);
	metrics_register(&http_dropped);
	for (unsigned int i = 0; i < srv->n; i++)
		if (loop_io_add(loop, &srv->l[i].io, srv->l[i].fd, EPOLLIN, listener_accept, &srv->l[i]) < 0)
			return -1;
	return 0;
}

void
http_server_log(const struct http_server *srv)
{
	for (unsigned int i = 0; i < srv->n; i++) {
		char ip[IP_ADDR_STRLEN];
		log_info("metrics: listening on %s port %u", ip_format(&srv->l[i].ip, ip, sizeof(ip)),
		    srv->l[i].port);
	}
}

void
http_server_free(struct http_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->conns)
		conn_close(srv->conns);
	for (unsigned int i = 0; i < srv->n; i++) {
		if (srv->loop)
			loop_timer_cancel(srv->loop, &srv->l[i].pause);
		if (srv->loop && srv->l[i].io.fd >= 0)
			loop_io_del(srv->loop, &srv->l[i].io);
		if (srv->l[i].fd >= 0)
			close(srv->l[i].fd);
	}
	free(srv);
}
