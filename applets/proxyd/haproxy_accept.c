/* SPDX-License-Identifier: MIT */
/* applets/proxyd/haproxy_accept.c: the wait for a PROXY header on a haproxy = yes
 * listener. The header may come in pieces; input is peeked and only the header's own
 * bytes are taken from the socket, so a TLS ClientHello or pipelined command sent right
 * behind it stays there for the protocol. Dovecot's log words (lib-master's
 * master-service-haproxy.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "applets/proxyd/haproxy_accept.h"
#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/settings.h"
#include "core/haproxy.h"
#include "core/log.h"

struct haproxy_accept {
	struct proxyd *pd;
	const struct listener_set *ls;
	struct loop_io io;
	struct loop_timer timer;
	struct sockaddr_storage peer, local;
	char rip[IP_ADDR_STRLEN];	/* the sender's address, for log lines */
	struct haproxy_accept *prev, *next;
	size_t have;
	uint8_t buf[HAPROXY_V2_MAX];
};

static void
pending_end(struct haproxy_accept *w, int close_fd)
{
	struct proxyd *pd = w->pd;
	int fd = w->io.fd;
	loop_timer_cancel(pd->loop, &w->timer);
	loop_io_del(pd->loop, &w->io);
	if (close_fd)
		close(fd);
	if (w->prev)
		w->prev->next = w->next;
	else
		pd->haproxy_pending = w->next;
	if (w->next)
		w->next->prev = w->prev;
	loop_defer_free(pd->loop, free, w);
}

static void
on_timeout(struct loop_timer *t, void *arg)
{
	struct haproxy_accept *w = arg;
	(void)t;
	log_set_prefix(w->ls->proto->log_prefix);
	log_errorx("haproxy: Client timed out (rip=%s)", w->rip);
	pending_end(w, 1);
}

/* The header's addresses replace the socket's; ports too (the session id and
 * proxy list show them). */
static void
set_addr(struct sockaddr_storage *ss, const struct ip_addr *ip, unsigned int port)
{
	socklen_t len;
	ip_to_sockaddr(ip, port, ss, &len);
}

static void
on_input(struct loop_io *io, uint32_t events, void *arg)
{
	struct haproxy_accept *w = arg;
	struct haproxy_hdr h;
	int fd = io->fd;
	(void)events;
	ssize_t n;
	do
		n = recv(fd, w->buf + w->have, sizeof(w->buf) - w->have, MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	log_set_prefix(w->ls->proto->log_prefix);
	if (n <= 0) {
		log_info("haproxy: Client disconnected (rip=%s): %s", w->rip,
		    n == 0 ? strerror(ECONNRESET) : strerror(errno));
		pending_end(w, 1);
		return;
	}
	int r = haproxy_parse(w->buf, w->have + (size_t)n, &h);
	if (r < 0) {
		log_errorx("%s: Client disconnected: %s (%s%srip=%s)", h.tag, h.error, h.detail,
		    h.detail[0] ? ", " : "", w->rip);
		pending_end(w, 1);
		return;
	}
	/* take what belongs to the header: all of it (r == 0), or up to its end */
	size_t take = r == 0 ? (size_t)n : (size_t)r - w->have;
	if (recv(fd, w->buf + w->have, take, 0) != (ssize_t)take) {
		log_info("haproxy: Client disconnected: Failed to read full header (rip=%s)", w->rip);
		pending_end(w, 1);
		return;
	}
	w->have += take;
	if (r == 0)
		return;
	if (h.proxied) {
		set_addr(&w->peer, &h.src, h.src_port);
		set_addr(&w->local, &h.dst, h.dst_port);
	}
	pending_end(w, 0);
	/* as Dovecot: any header makes the connection a proxied one, LOCAL and UNKNOWN too */
	proxyd_admit(w->pd, w->ls, fd, (struct sockaddr *)&w->peer, (struct sockaddr *)&w->local,
	    (w->ls->ssl ? CLIENT_TLS : 0) | CLIENT_PROXIED | (h.ssl ? CLIENT_PROXIED_TLS : 0));
}

void
haproxy_accept_start(struct proxyd *pd, const struct listener_set *ls, int fd,
    const struct sockaddr *peer, const struct sockaddr *local)
{
	struct ip_addr rip;
	char ip[IP_ADDR_STRLEN];
	const char *bad;

	ip_from_sockaddr(peer, &rip, NULL);
	ip_format(&rip, ip, sizeof(ip));
	if (ip_net_list_match(pd->set->haproxy_trusted_networks, &rip, &bad) != 1) {
		log_set_prefix(ls->proto->log_prefix);
		log_warnx("haproxy: Client not trusted (rip=%s)", ip);
		close(fd);
		return;
	}
	struct haproxy_accept *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		close(fd);
		return;
	}
	w->pd = pd;
	w->ls = ls;
	w->io.fd = -1;
	memcpy(&w->peer, peer, sizeof(w->peer));
	memcpy(&w->local, local, sizeof(w->local));
	memcpy(w->rip, ip, sizeof(ip));
	if (loop_io_add(pd->loop, &w->io, fd, EPOLLIN, on_input, w) < 0 ||
	    loop_timer_set(pd->loop, &w->timer, pd->set->haproxy_timeout_ms, on_timeout, w) < 0) {
		loop_io_del(pd->loop, &w->io);
		close(fd);
		free(w);
		return;
	}
	w->next = pd->haproxy_pending;
	if (w->next)
		w->next->prev = w;
	pd->haproxy_pending = w;
}

void
haproxy_accept_close_all(struct proxyd *pd)
{
	while (pd->haproxy_pending)
		pending_end(pd->haproxy_pending, 1);
}
