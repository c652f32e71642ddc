/* SPDX-License-Identifier: MIT */
/* core/http.h: the /metrics endpoint: a small HTTP/1.1 server that answers GET (and
 * HEAD) /metrics with metrics_render() and nothing else: 404 for another path, 405 for
 * another method, 400 for a malformed request, 431 for a request head over
 * HTTP_HEAD_MAX. One request per connection (Connection: close). Its listeners are
 * Dovecot's spelling: service stats { inet_listener http { address port } }.
 *
 * Limits, so that a slow or hostile client cannot stall the daemon: the request head
 * must arrive whole within HTTP_REQUEST_MS of the accept (a timer, not an idle timeout:
 * a byte a second does not keep it alive), the answer must be taken within HTTP_SEND_MS,
 * at most HTTP_CONNS_MAX connections are open (a new one then replaces the oldest still
 * sending its request, or is closed at once), no request body is read. */
#ifndef CORE_HTTP_H
#define CORE_HTTP_H

#include <stddef.h>
#include <stdio.h>

#include "core/ip.h"

struct conf;
struct loop;

#define HTTP_HEAD_MAX		4096
#define HTTP_HEADERS_MAX	64
#define HTTP_CONNS_MAX		16
#define HTTP_REQUEST_MS		5000
#define HTTP_SEND_MS		10000
#define HTTP_LISTENERS_MAX	4

/* ---- the request parser (untrusted input; tests/fuzz/fuzz_http.c) ---- */

enum http_method { HTTP_OTHER, HTTP_GET, HTTP_HEAD };

struct http_request {
	enum http_method method;
	int metrics_path;	/* the target is /metrics (a query string is ignored) */
	int openmetrics;	/* Accept names application/openmetrics-text */
	int minor;		/* HTTP/1.minor */
};

/* Parses the request head at the start of data: "METHOD SP TARGET SP HTTP/1.x", header
 * lines, an empty line; lines end in CRLF or LF. Strict: tokens as RFC 9110 spells them,
 * no control characters, no space before a header's colon, no folded lines, at most
 * HTTP_HEADERS_MAX headers, HTTP/1.1 needs one Host. Returns the length of the head
 * (> 0) with *req filled, 0 if more bytes are needed (len < HTTP_HEAD_MAX), or
 * -400 / -431 (head longer than HTTP_HEAD_MAX) for the status to answer. */
int http_parse(const char *data, size_t len, struct http_request *req);

/* ---- the server ---- */

struct http_listen_set {
	struct ip_addr ips[HTTP_LISTENERS_MAX];
	unsigned int ports[HTTP_LISTENERS_MAX];
	unsigned int n;		/* 0: no endpoint */
};

#ifdef MTOOL_WITH_METRICS
/* Reads service stats { inet_listener NAME { address port } } (every inet_listener of
 * that service; port 0 or none disables one, as in Dovecot; address is a list of IPs,
 * "*" and "::" included, default listen_default). Errors go to errf as file:line.
 * Returns 0, or -1 after errors. */
int http_conf(const struct conf *, const char *listen_default, struct http_listen_set *,
    FILE *errf);

struct http_server;
/* Binds the listeners (start-up, before privileges go). Returns NULL with err set. An
 * empty set gives a server that serves nothing. */
struct http_server *http_server_bind(const struct http_listen_set *, char *err, size_t errlen);
/* Starts accepting (after the privilege drop). Returns 0, or -1 (errno set). */
int http_server_start(struct http_server *, struct loop *);
/* Logs "metrics: listening on IP port N" per listener. */
void http_server_log(const struct http_server *);
/* Closes everything; NULL is allowed. */
void http_server_free(struct http_server *);
#else
/* Feature METRICS is out (mk/features.mk): an enabled listener (port not 0) of service
 * stats is an error with file:line; the server is a handle nobody looks at. */
#include <string.h>

#include "core/conf.h"

static inline int
http_conf(const struct conf *conf, const char *listen_default, struct http_listen_set *set,
    FILE *errf)
{
	const struct conf_node *svc = NULL, *il, *pn;
	int bad = 0;

	(void)listen_default;
	set->n = 0;
	while ((svc = conf_next_section(conf_root(conf), svc, "service")) != NULL)
		for (il = NULL; svc->name != NULL && strcmp(svc->name, "stats") == 0 &&
		    (il = conf_next_section(svc, il, "inet_listener")) != NULL;)
			if ((pn = conf_find(il, "port")) != NULL && strcmp(pn->value, "0") != 0) {
				fprintf(errf, "%s:%u: service stats: inet_listener: the metrics "
				    "endpoint is not in this build (feature metrics)\n", pn->file,
				    pn->line);
				bad = -1;
			}
	return bad;
}
static inline struct http_server *
http_server_bind(const struct http_listen_set *set, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	return (struct http_server *)(void *)set;
}
static inline int
http_server_start(struct http_server *s, struct loop *loop) { (void)s, (void)loop; return 0; }
static inline void http_server_log(const struct http_server *s) { (void)s; }
static inline void http_server_free(struct http_server *s) { (void)s; }
#endif

#endif
