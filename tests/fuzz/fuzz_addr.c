/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_addr.c: IP addresses, CIDR networks, network lists and host:port as
 * they come from config files, passdb fields (host=, source_ip=) and XCLIENT ADDR=. */
#include <stdlib.h>
#include <string.h>

#include "core/ip.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	char buf[IP_ADDR_STRLEN];
	struct ip_addr ip, again;
	if (ip_parse(s, &ip) == 0) {
		/* what parses formats and parses back to the same address */
		if (ip_parse(ip_format(&ip, buf, sizeof(buf)), &again) != 0 || !ip_equal(&ip, &again))
			abort();
		struct sockaddr_storage ss;
		socklen_t sslen;
		unsigned int port;
		if (ip_to_sockaddr(&ip, 143, &ss, &sslen) != 0 ||
		    ip_from_sockaddr((struct sockaddr *)&ss, &again, &port) != 0 ||
		    !ip_equal(&ip, &again) || port != 143)
			abort();
		(void)ip_is_loopback(&ip);
	} else if (ip.family != 0) {
		abort();
	}
	struct ip_net net;
	if (ip_net_parse(s, &net) == 0) {
		if (net.bits > (net.ip.family == AF_INET ? 32u : 128u))
			abort();
		if (!ip_net_match(&net, &net.ip))
			abort();
	}
	struct ip_addr probe;
	(void)ip_parse("10.1.2.3", &probe);
	const char *bad = NULL;
	int r = ip_net_list_match(s, &probe, &bad);
	if (r < 0 && (bad == NULL || bad < s || bad > s + strlen(s)))
		abort();
	if (r >= 0 && ip_net_list_match(s, NULL, NULL) < 0)
		abort();
	const char *host;
	unsigned int port;
	if (ip_hostport_parse(s, &host, &port, 0) == 0 && (port > 65535 || *host == '\0'))
		abort();
	free(s);
	return 0;
}
