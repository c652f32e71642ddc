/* SPDX-License-Identifier: MIT */
#include "core/ip.h"
#include "core/str.h"

#include <arpa/inet.h>
#include <string.h>

/* Longest network list token: "[" address "]/128". */
#define NET_TOKEN_MAX	(IP_ADDR_STRLEN + 6)
#define NET_LIST_SEPS	" \t,"

static const unsigned char v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* The IPv4 address of ip if it is one, natively or IPv4-mapped. */
static int
ip_get_v4(const struct ip_addr *ip, struct in_addr *v4)
{
	if (ip->family == AF_INET) {
		*v4 = ip->u.v4;
		return 1;
	}
	if (ip->family == AF_INET6 &&
	    memcmp(ip->u.v6.s6_addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		memcpy(&v4->s_addr, ip->u.v6.s6_addr + 12, 4);
		return 1;
	}
	return 0;
}

int
ip_parse(const char *s, struct ip_addr *out)
{
	char tmp[IP_ADDR_STRLEN];
	size_t n;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		/* brackets only make sense around IPv6, as in URLs */
		n = strnlen(s, sizeof(tmp) + 2);
		if (n < 3 || n > sizeof(tmp) + 1 || s[n - 1] != ']')
			return -1;
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, &out->u.v6) != 1)
			goto fail;
		out->family = AF_INET6;
		return 0;
	}
	if (inet_pton(AF_INET, s, &out->u.v4) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &out->u.v6) == 1) {
		out->family = AF_INET6;
		return 0;
	}
fail:
	memset(out, 0, sizeof(*out));
	return -1;
}

const char *
ip_format(const struct ip_addr *ip, char *buf, size_t len)
{
	socklen_t sl = len > IP_ADDR_STRLEN ? IP_ADDR_STRLEN : (socklen_t)len;

	buf[0] = '\0';
	if ((ip->family == AF_INET || ip->family == AF_INET6) &&
	    inet_ntop(ip->family, &ip->u, buf, sl) == NULL)
		buf[0] = '\0';
	return buf;
}

int
ip_equal(const struct ip_addr *a, const struct ip_addr *b)
{
	struct in_addr a4, b4;
	int a_is4 = ip_get_v4(a, &a4), b_is4 = ip_get_v4(b, &b4);

	if (a_is4 || b_is4)
		return a_is4 && b_is4 && a4.s_addr == b4.s_addr;
	if (a->family != b->family)
		return 0;
	if (a->family == AF_INET6)
		return memcmp(&a->u.v6, &b->u.v6, sizeof(a->u.v6)) == 0;
	return a->family == 0;
}

struct ip_addr *
ip_prefix(const struct ip_addr *ip, unsigned int v6_bits, struct ip_addr *out)
{
	struct in_addr v4;
	memset(out, 0, sizeof(*out));
	if (ip_get_v4(ip, &v4)) {
		out->family = AF_INET;
		out->u.v4 = v4;
	} else if (ip->family == AF_INET6) {
		out->family = AF_INET6;
		for (unsigned int i = 0; i < 16 && i * 8 < v6_bits; i++)
			out->u.v6.s6_addr[i] = ip->u.v6.s6_addr[i] &
			    (unsigned char)(v6_bits - i * 8 >= 8 ? 0xff : 0xff << (8 - (v6_bits - i * 8)));
	}
	return out;
}

unsigned int
ip_table_hash(const struct ip_addr *ip)
{
	const unsigned char *p = ip->family == AF_INET6 ? ip->u.v6.s6_addr : (const unsigned char *)&ip->u.v4;
	size_t n = ip->family == AF_INET6 ? 16 : ip->family == AF_INET ? 4 : 0;
	unsigned int h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

int
ip_is_loopback(const struct ip_addr *ip)
{
	struct in_addr v4;

	if (ip_get_v4(ip, &v4))
		return (ntohl(v4.s_addr) >> 24) == 127;
	return ip->family == AF_INET6 &&
	    memcmp(&ip->u.v6, &in6addr_loopback, sizeof(ip->u.v6)) == 0;
}

/* Compares the first bits bits of two big-endian byte strings. */
static int
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned int bits)
{
	unsigned int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static void
prefix_clear_host_bits(unsigned char *a, size_t len, unsigned int bits)
{
	for (size_t i = 0; i < len; i++) {
		if (bits >= 8)
			bits -= 8;
		else {
			a[i] &= (0xff << (8 - bits)) & 0xff;
			bits = 0;
		}
	}
}

int
ip_net_parse(const char *s, struct ip_net *net)
{
	char tmp[NET_TOKEN_MAX];
	const char *slash = strchr(s, '/'), *err;
	size_t n = slash != NULL ? (size_t)(slash - s) : strnlen(s, sizeof(tmp));
	long long bits, max;

	memset(net, 0, sizeof(*net));
	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (ip_parse(tmp, &net->ip) < 0)
		return -1;
	max = net->ip.family == AF_INET ? 32 : 128;
	if (slash == NULL)
		bits = max;
	else if (str_to_num(slash + 1, 0, max, &bits, &err) < 0) {
		memset(net, 0, sizeof(*net));
		return -1;
	}
	net->bits = (unsigned int)bits;
	if (net->ip.family == AF_INET)
		prefix_clear_host_bits((unsigned char *)&net->ip.u.v4, 4, net->bits);
	else
		prefix_clear_host_bits(net->ip.u.v6.s6_addr, 16, net->bits);
	return 0;
}

int
ip_net_match(const struct ip_net *net, const struct ip_addr *ip)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (net->ip.family == AF_INET) {
		if (net->bits > 32 || !ip_get_v4(ip, &v4))
			return 0;
		return prefix_equal((const unsigned char *)&net->ip.u.v4,
		    (const unsigned char *)&v4, net->bits);
	}
	if (net->ip.family != AF_INET6 || net->bits > 128)
		return 0;
	if (ip->family == AF_INET6)
		v6 = ip->u.v6;
	else if (ip->family == AF_INET) {
		memcpy(v6.s6_addr, v4mapped_prefix, sizeof(v4mapped_prefix));
		memcpy(v6.s6_addr + 12, &ip->u.v4, 4);
	} else
		return 0;
	return prefix_equal(net->ip.u.v6.s6_addr, v6.s6_addr, net->bits);
}

int
ip_net_list_match(const char *list, const struct ip_addr *ip, const char **bad)
{
	char tok[NET_TOKEN_MAX];
	struct ip_net net;
	int matched = 0;
	size_t n;

	for (const char *p = list + strspn(list, NET_LIST_SEPS); *p != '\0';
	    p += n, p += strspn(p, NET_LIST_SEPS)) {
		n = strcspn(p, NET_LIST_SEPS);
		if (n < sizeof(tok)) {
			memcpy(tok, p, n);
			tok[n] = '\0';
		}
		if (n >= sizeof(tok) || ip_net_parse(tok, &net) < 0) {
			if (bad != NULL)
				*bad = p;
			return -1;
		}
		if (ip != NULL && ip_net_match(&net, ip))
			matched = 1;
	}
	return matched;
}

int
ip_to_sockaddr(const struct ip_addr *ip, unsigned int port, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	if (port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	switch (ip->family) {
	case AF_INET:
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr = ip->u.v4;
		memcpy(ss, &sin, sizeof(sin));
		*sslen = sizeof(sin);
		return 0;
	case AF_INET6:
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)port);
		sin6.sin6_addr = ip->u.v6;
		memcpy(ss, &sin6, sizeof(sin6));
		*sslen = sizeof(sin6);
		return 0;
	}
	return -1;
}

int
ip_from_sockaddr(const struct sockaddr *sa, struct ip_addr *ip, unsigned int *port)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	unsigned int p = 0;
	int ret = 0;

	memset(ip, 0, sizeof(*ip));
	/* copies, because sa need not be aligned for the family's structure */
	switch (sa->sa_family) {
	case AF_INET:
		memcpy(&sin, sa, sizeof(sin));
		ip->family = AF_INET;
		ip->u.v4 = sin.sin_addr;
		p = ntohs(sin.sin_port);
		break;
	case AF_INET6:
		memcpy(&sin6, sa, sizeof(sin6));
		ip->family = AF_INET6;
		ip->u.v6 = sin6.sin6_addr;
		p = ntohs(sin6.sin6_port);
		break;
	case AF_UNIX:
		break;
	default:
		ret = -1;
		break;
	}
	if (port != NULL)
		*port = p;
	return ret;
}

int
ip_hostport_parse(char *s, const char **host, unsigned int *port, unsigned int default_port)
{
	char *portstr = NULL, *p;
	const char *err;
	long long v;

	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL)
			return -1;
		*p = '\0';
		if (p[1] == ':')
			portstr = p + 2;
		else if (p[1] != '\0')
			return -1;
		*host = s + 1;
	} else {
		/* a second colon means a bare IPv6 address, which cannot carry a port */
		if ((p = strchr(s, ':')) != NULL && strchr(p + 1, ':') == NULL) {
			*p = '\0';
			portstr = p + 1;
		}
		*host = s;
	}
	if (**host == '\0')
		return -1;
	if (portstr == NULL) {
		*port = default_port;
		return 0;
	}
	if (str_to_num(portstr, 1, 65535, &v, &err) < 0)
		return -1;
	*port = (unsigned int)v;
	return 0;
}
