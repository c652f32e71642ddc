/* SPDX-License-Identifier: MIT */
/* applets/doveadm/who_filter.c: `who`/`kick` masks with doveadm's parsing and matching
 * (doveadm-who.c, lib/net.c): which argument is a network, how Dovecot parses and
 * prints addresses (inet_aton forms, glibc's "::a.b.c.d"), and when a line matches.
 * Not core/addr: its parser is stricter and its matching maps IPv4 into IPv6 nets,
 * which doveadm does not. */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "applets/doveadm/who.h"
#include "core/str.h"
#include "core/wildcard.h"

static int
is_numeric(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
	}
	return 1;
}

/* str_parse_uint(): decimal digits into an unsigned int, *end after them */
static int
parse_uint(const char *s, unsigned int *num, const char **end)
{
	unsigned long long n = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (unsigned int)(*s - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	*num = (unsigned int)n;
	*end = s;
	return 0;
}

/* net_addr2ip_inet4_fast(): "N" (one 32-bit number) or "a.b.c.d" in decimal */
static int
addr2ip_inet4_fast(const char *s, struct ip_addr *ip)
{
	unsigned char b[4];
	unsigned int num;

	if (parse_uint(s, &num, &s) < 0)
		return 0;
	if (*s == '\0') {
		ip->family = AF_INET;
		ip->u.v4.s_addr = htonl(num);
		return 1;
	}
	for (int i = 0;; i++) {
		if (num >= 256)
			return 0;
		b[i] = (unsigned char)num;
		if (i == 3)
			break;
		if (*s != '.' || parse_uint(s + 1, &num, &s) < 0)
			return 0;
	}
	if (*s != '\0')
		return 0;
	ip->family = AF_INET;
	memcpy(&ip->u.v4, b, 4);
	return 1;
}

int
who_addr2ip(const char *s, struct ip_addr *ip)
{
	struct ip_addr tmp;

	memset(&tmp, 0, sizeof(tmp));
	if (addr2ip_inet4_fast(s, &tmp)) {
		*ip = tmp;
		return 0;
	}
	if (strchr(s, ':') != NULL) {
		char buf[INET6_ADDRSTRLEN + 8];
		size_t len = strlen(s);
		if (s[0] == '[' && s[len - 1] == ']') {
			if (len - 2 >= sizeof(buf))
				return -1;
			memcpy(buf, s + 1, len - 2);
			buf[len - 2] = '\0';
		} else if (str_copy(buf, s, sizeof(buf)) >= sizeof(buf)) {
			return -1;
		}
		if (inet_pton(AF_INET6, buf, &tmp.u.v6) != 1)
			return -1;
		tmp.family = AF_INET6;
	} else {
		if (inet_aton(s, &tmp.u.v4) == 0)
			return -1;
		tmp.family = AF_INET;
	}
	*ip = tmp;
	return 0;
}

/* net_parse_range(): "ip" (all bits) or "ip/bits" */
static int
parse_range(const char *s, struct ip_addr *ip, unsigned int *bits)
{
	char buf[256];
	const char *slash = strchr(s, '/'), *end;
	unsigned int max;

	if (str_copy(buf, s, sizeof(buf)) >= sizeof(buf))
		return -1;
	if (slash != NULL)
		buf[slash - s] = '\0';
	if (who_addr2ip(buf, ip) < 0)
		return -1;
	max = ip->family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		*bits = max;
		return 0;
	}
	if (parse_uint(slash + 1, bits, &end) < 0 || *end != '\0' || *bits > max)
		return -1;
	return 0;
}

int
who_parse_masks(struct who_filter *f, char *const *masks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ip_addr ip;
		unsigned int bits;
		if (!is_numeric(masks[i]) && parse_range(masks[i], &ip, &bits) == 0) {
			if (f->net_bits != 0) {
				dv_error("Multiple network masks not supported");
				return -1;
			}
			f->net_ip = ip;
			f->net_bits = bits;
		} else {
			if (f->username != NULL) {
				dv_error("Multiple username masks not supported");
				return -1;
			}
			f->username = masks[i];
		}
	}
	return 0;
}

int
who_ip_equal(const struct ip_addr *a, const struct ip_addr *b)
{
	if (a->family != b->family)
		return 0;
	if (a->family == AF_INET)
		return memcmp(&a->u.v4, &b->u.v4, 4) == 0;
	if (a->family == AF_INET6)
		return memcmp(&a->u.v6, &b->u.v6, 16) == 0;
	return 1;
}

int
who_in_network(const struct ip_addr *ip, const struct ip_addr *net, unsigned int bits)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct ip_addr tmp;
	const unsigned char *a, *b;

	if (ip->family == AF_INET6 && memcmp(ip->u.v6.s6_addr, mapped, 12) == 0) {
		memset(&tmp, 0, sizeof(tmp));
		tmp.family = AF_INET;
		memcpy(&tmp.u.v4, ip->u.v6.s6_addr + 12, 4);
		ip = &tmp;
	}
	if (ip->family == 0 || net->family == 0 || ip->family != net->family)
		return 0;
	a = ip->family == AF_INET ? (const unsigned char *)&ip->u.v4 : ip->u.v6.s6_addr;
	b = net->family == AF_INET ? (const unsigned char *)&net->u.v4 : net->u.v6.s6_addr;
	for (unsigned int i = 0; i < bits; i++) {
		unsigned char m = (unsigned char)(0x80 >> (i % 8));
		if ((a[i / 8] & m) != (b[i / 8] & m))
			return 0;
	}
	return 1;
}

const char *
who_ip2addr(const struct ip_addr *ip, char *buf, size_t len)
{
	const unsigned char *a = ip->u.v6.s6_addr;
	static const unsigned char zero[12];

	buf[0] = '\0';
	if (ip->family == AF_INET6 && memcmp(a, zero, 12) == 0 && (a[12] | a[13]) != 0) {
		/* glibc prints IPv4-compatible addresses dotted; musl does not */
		str_fmt(buf, len, "::%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
		return buf;
	}
	if (ip->family != AF_INET && ip->family != AF_INET6)
		return buf;
	if (inet_ntop(ip->family, ip->family == AF_INET ? (const void *)&ip->u.v4 :
	    (const void *)&ip->u.v6, buf, (socklen_t)len) == NULL)
		buf[0] = '\0';
	return buf;
}

int
who_line_match(const struct who_line *line, const struct who_filter *f)
{
	if (f->username != NULL) {
		const char *name = line->username;
		if (f->alt_field != NULL) {
			if (f->alt_idx >= line->nalt)
				return 0;
			name = line->alt[f->alt_idx];
		}
		if (!wildcard_match_icase(name, f->username))
			return 0;
	}
	if (f->net_bits > 0 && !who_in_network(&line->ip, &f->net_ip, f->net_bits))
		return 0;
	if (f->dest_ip.family != 0 && !who_ip_equal(&line->dest_ip, &f->dest_ip))
		return 0;
	return 1;
}
