/* SPDX-License-Identifier: MIT */
/* core/hostres.c: see core/hostres.h. */
#include "core/hostres.h"

#include <netdb.h>
#include <sys/socket.h>

int
hostres_lookup(const char *name, struct ip_addr *ips, size_t max, const char **error)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int n = 0, gai;

	if (max > 0 && ip_parse(name, &ips[0]) == 0)
		return 1;
	if ((gai = getaddrinfo(name, NULL, &hints, &res)) != 0) {
		*error = gai_strerror(gai);
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL && (size_t)n < max; ai = ai->ai_next)
		if (ip_from_sockaddr(ai->ai_addr, &ips[n], NULL) == 0)
			n++;
	freeaddrinfo(res);
	if (n == 0)
		*error = "no address";
	return n > 0 ? n : -1;
}
