/* SPDX-License-Identifier: MIT */
/* core/hostres.h: blocking host name lookups (libc's getaddrinfo) for start-up and
 * command-line use: proxyd's login_source_ips, doveadm's host:port targets. Daemons
 * answering logins use the asynchronous core/dns.h instead. Feature DNS (mk/features.mk):
 * when it is out, IP addresses still work and a name is refused with a reason. */
#ifndef CORE_HOSTRES_H
#define CORE_HOSTRES_H

#include <stddef.h>

#include "core/ip.h"

#define HOSTRES_NO_DNS "host names are not in this build (feature dns): give an IP address"

#ifdef MTOOL_WITH_DNS
/* The addresses of name (an IP address or a host name), at most max of them, in the
 * resolver's order. Returns how many (at least 1), or -1 with the reason in *error. */
int hostres_lookup(const char *name, struct ip_addr *ips, size_t max, const char **error);
#else
static inline int
hostres_lookup(const char *name, struct ip_addr *ips, size_t max, const char **error)
{
	if (max > 0 && ip_parse(name, &ips[0]) == 0)
		return 1;
	*error = HOSTRES_NO_DNS;
	return -1;
}
#endif

#endif
