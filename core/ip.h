/* SPDX-License-Identifier: MIT */
/* core/ip.h: IPv4/IPv6 addresses, CIDR networks, Dovecot network lists, host:port.
 * Not a resolver: no DNS and no allocation here; host names pass through as strings. */
#ifndef CORE_IP_H
#define CORE_IP_H

#include <netinet/in.h>
#include <sys/socket.h>

/* Enough for any address ip_format() writes, NUL included. */
#define IP_ADDR_STRLEN	INET6_ADDRSTRLEN

/* family is AF_INET, AF_INET6 or 0 (unset: no address, or a UNIX socket peer).
 * Zero-initialised is a valid unset address. */
struct ip_addr {
	sa_family_t family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
};

/* bits is at most 32 for IPv4 and 128 for IPv6; host bits of ip are zero. */
struct ip_net {
	struct ip_addr ip;
	unsigned int bits;
};

/* Parses "1.2.3.4", "::1" or "[::1]" (brackets for IPv6 only). Nothing else: no
 * host names, no zone ids, no surrounding spaces, no short forms like "127.1".
 * Returns 0, or -1 with *out unset (family 0). */
int ip_parse(const char *s, struct ip_addr *out);

/* Writes the address in its usual text form (IPv6 compressed as inet_ntop does, without
 * brackets) and returns buf, so that it can go straight into a format argument. An
 * unset address, or a buffer too small for the address (never one of IP_ADDR_STRLEN),
 * gives "". len must be > 0. */
const char *ip_format(const struct ip_addr *, char *buf, size_t len);

/* Returns 1 if both are the same address, an IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * being the same as a.b.c.d; two unset addresses are equal. Otherwise 0. */
int ip_equal(const struct ip_addr *, const struct ip_addr *);

/* The address as per-client tables key it: an IPv4-mapped IPv6 address as IPv4, an IPv6
 * address cut to its first v6_bits bits (the rest zero: one holder of a /48 or /64 is
 * one client), IPv4 as it is. Returns out. Also a hash of it for a table. */
struct ip_addr *ip_prefix(const struct ip_addr *, unsigned int v6_bits, struct ip_addr *out);
unsigned int ip_table_hash(const struct ip_addr *);

/* Returns 1 for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104, else 0 (also when unset). */
int ip_is_loopback(const struct ip_addr *);

/* Parses "10.0.0.0/8", "fe80::/10", "[::1]/128"; a bare address is a host network (/32
 * or /128). Set host bits are accepted and cleared ("10.1.2.3/8" = 10.0.0.0/8). Returns 0,
 * or -1 if the address or the prefix length (decimal, within the family's range) is bad. */
int ip_net_parse(const char *s, struct ip_net *);

/* Returns 1 if ip is inside net, else 0. An IPv4-mapped IPv6 address matches IPv4
 * networks; an IPv4 address matches IPv6 networks as its mapped form. Unset never matches. */
int ip_net_match(const struct ip_net *, const struct ip_addr *ip);

/* Matches ip against a Dovecot network list such as login_trusted_networks:
 * "127.0.0.0/8 ::1, 192.168.0.0/16", tokens separated by any run of spaces, tabs and
 * commas. The whole list is always checked, so the result does not depend on ip:
 * returns -1 with *bad pointing into list at the first malformed token (it ends at the
 * next separator or at the NUL), else 1 on a match and 0 otherwise. An empty list
 * matches nothing; ip may be NULL to only check the list. bad may be NULL. */
int ip_net_list_match(const char *list, const struct ip_addr *ip, const char **bad);

/* Fills *ss and *sslen for connect()/bind(). Returns 0, or -1 if ip is unset or port
 * is above 65535 (port 0 is allowed: bind to any port). */
int ip_to_sockaddr(const struct ip_addr *, unsigned int port, struct sockaddr_storage *,
    socklen_t *sslen);

/* Reads an address as accept()/getpeername() return it: sa must point to storage as
 * large as its family implies (a sockaddr_storage always is). AF_UNIX gives an unset
 * address and port 0 and returns 0, as Dovecot treats local peers; any other family
 * returns -1 with *ip unset. port may be NULL. */
int ip_from_sockaddr(const struct sockaddr *sa, struct ip_addr *ip, unsigned int *port);

/* Splits "host", "host:143", "1.2.3.4:143", "[::1]:143", "[::1]" or "::1" in place: a
 * bare address with more than one colon is IPv6 without a port. *host points into s
 * (brackets removed); *port is 1..65535, or default_port when none is given (pass 0 to
 * detect that). Returns 0, or -1 for an empty host, an empty, non-numeric or
 * out-of-range port, a missing ']' or text after it; s may then have been modified. */
int ip_hostport_parse(char *s, const char **host, unsigned int *port, unsigned int default_port);

#endif
