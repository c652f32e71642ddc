/* SPDX-License-Identifier: MIT */
/* applets/proxyd/haproxy_accept.h: listeners with haproxy = yes: the PROXY header is read
 * (core/haproxy.h) before the protocol starts, and its client address becomes the
 * connection's for everything after (logs, limits, proxy list, ID/XCLIENT). */
#ifndef PROXYD_HAPROXY_ACCEPT_H
#define PROXYD_HAPROXY_ACCEPT_H

#include <sys/socket.h>
#include <unistd.h>

struct proxyd;
struct listener_set;

#ifdef MTOOL_WITH_HAPROXY

/* Takes fd, just accepted on ls: refuses a sender outside haproxy_trusted_networks, then
 * waits (on the loop, at most haproxy_timeout) for the header and hands the connection
 * to proxyd_admit() with the header's addresses. Every failure closes fd with a log line. */
void haproxy_accept_start(struct proxyd *, const struct listener_set *ls, int fd,
    const struct sockaddr *peer, const struct sockaddr *local);
/* Closes every connection still waiting for its header (shutdown). */
void haproxy_accept_close_all(struct proxyd *);
#else
/* Feature HAPROXY is out (mk/features.mk): the haproxy settings are refused, so no
 * listener asks for this. */
static inline void
haproxy_accept_start(struct proxyd *pd, const struct listener_set *ls, int fd,
    const struct sockaddr *peer, const struct sockaddr *local)
{
	(void)pd, (void)ls, (void)peer, (void)local;
	close(fd);
}
static inline void haproxy_accept_close_all(struct proxyd *pd) { (void)pd; }
#endif

#endif
