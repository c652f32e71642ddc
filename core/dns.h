/* SPDX-License-Identifier: MIT */
/* core/dns.h: host names to addresses on the event loop, never blocking it: /etc/hosts,
 * then the nameservers of /etc/resolv.conf over UDP (TCP when an answer is truncated),
 * A and AAAA asked together (an IPv4 address is preferred), a cache that keeps answers
 * for their TTL and "no such name" for a bounded time, per-try timeouts and retries
 * across the servers (resolv.conf's options timeout: and attempts:), the search list as the
 * C library applies it. Lookups of the same name share one query. A failure is temporary
 * and says why. Both files are read again when they change (looked at once a second at
 * most, on lookups). */
#ifndef CORE_DNS_H
#define CORE_DNS_H

#include "core/ip.h"
#include "core/loop.h"

#define DNS_CACHE_MAX		1024	/* names cached; the oldest answers make room */
#define DNS_TTL_MAX		86400	/* seconds an answer is kept at most */
#define DNS_NEG_TTL_MAX		60	/* seconds "no such name" is kept at most */
#define DNS_NEG_TTL_DEFAULT	5	/* ... when the answer carries no SOA */

struct dns;
struct dns_query;

/* ip is the address, or NULL when the lookup failed and error says why. */
typedef void dns_cb(const struct ip_addr *ip, const char *error, void *arg);

#ifdef MTOOL_WITH_DNS
/* Reads resolv_conf and hosts (NULL: /etc/resolv.conf, /etc/hosts); a missing or
 * unreadable file is an empty one (no servers: 127.0.0.1, as the C library). Returns
 * NULL if out of memory. */
struct dns *dns_new(struct loop *, const char *resolv_conf, const char *hosts);
/* Fails the lookups still waiting (their callbacks are not called) and frees all. */
void dns_free(struct dns *);

/* Looks name up. Returns 1 with *ip set when the answer is known now (an IP address,
 * /etc/hosts, a fresh cache entry); -1 with *error set when it is known to fail now (a
 * cached "no such name", an invalid name, out of memory); 0 when it is on its way: cb
 * follows on a later loop turn, unless dns_cancel(*q) is called first. */
int dns_lookup(struct dns *, const char *name, struct ip_addr *ip, const char **error,
    dns_cb *cb, void *arg, struct dns_query **q);
/* Forgets a waiting lookup: its callback will not be called. */
void dns_cancel(struct dns_query *);
#else
/* Feature DNS is out (mk/features.mk): a host must be an IP address, and a name is an
 * error that says why. The handle is never looked at: any non-NULL pointer does. */
static inline struct dns *
dns_new(struct loop *loop, const char *resolv_conf, const char *hosts)
{
	(void)resolv_conf, (void)hosts;
	return (struct dns *)(void *)loop;
}
static inline void dns_free(struct dns *dns) { (void)dns; }
static inline int
dns_lookup(struct dns *dns, const char *name, struct ip_addr *ip, const char **error,
    dns_cb *cb, void *arg, struct dns_query **q)
{
	(void)dns, (void)cb, (void)arg;
	*q = NULL;
	if (ip_parse(name, ip) == 0)
		return 1;
	*error = "host names are not in this build (feature dns): host= must be an IP address";
	return -1;
}
static inline void dns_cancel(struct dns_query *q) { (void)q; }
#endif

#endif
