/* SPDX-License-Identifier: MIT */
/* applets/doveadm/who.h: what `who` and `kick` share: one connection as anvil lists it,
 * and the user/network filter with doveadm's parsing and matching rules (doveadm-who.c,
 * who_filter.c). The anvil client is anvilclient.h's. */
#ifndef DOVEADM_WHO_H
#define DOVEADM_WHO_H

#include <sys/types.h>

#include "applets/doveadm/doveadm.h"
#include "core/ip.h"

/* One CONNECT-DUMP line. Strings point into the reader's buffer: valid until the next
 * anvilclient_dump_next() call. */
struct who_line {
	const char *username;
	const char *service;
	struct ip_addr ip;		/* client; family 0 if none (lmtp) */
	pid_t pid;
	unsigned int refcount;		/* version 1; 1 in version 2 */
	/* version 2 only */
	const char *conn_guid;		/* 32 hex digits */
	struct ip_addr dest_ip;		/* backend; family 0 if none */
	char **alt;			/* alt usernames, one per anvil_alt_field; NULL-terminated */
	size_t nalt;			/* may be fewer than the fields: missing ones are empty */
};

struct who_filter {
	const char *username;		/* wildcard mask, or NULL */
	struct ip_addr net_ip;		/* network mask, used when net_bits > 0 */
	unsigned int net_bits;
	/* version 2 only */
	const char *alt_field;		/* -f: the mask applies to this passdb field */
	size_t alt_idx;			/* its column in the dump, or (size_t)-1 if unknown */
	struct ip_addr dest_ip;		/* kick -h */
};

/* doveadm's who_parse_args(): an argument that is not all digits and parses as ip or
 * ip/bits is the network mask, anything else the username mask; a second of either is
 * an error ("Multiple network masks not supported", printed) and returns -1 (exit 64).
 * A /0 network sets no filter, as in doveadm (net_bits 0 means none). */
int who_parse_masks(struct who_filter *, char *const *masks, size_t n);

/* who_line_filter_match(): the username mask (case-insensitive wildcards; against the
 * alt field's value when alt_field is set), the network, the destination. */
int who_line_match(const struct who_line *, const struct who_filter *);

/* Dovecot's net_addr2ip(): also "127.1" and "[::1]" forms (inet_aton, brackets). */
int who_addr2ip(const char *s, struct ip_addr *);
/* Dovecot's net_is_in_network(): an IPv4-mapped IPv6 address counts as IPv4. */
int who_in_network(const struct ip_addr *ip, const struct ip_addr *net, unsigned int bits);
/* Dovecot's net_ip2addr() (glibc's inet_ntop): "" for an unset address. */
const char *who_ip2addr(const struct ip_addr *, char *buf, size_t len);
int who_ip_equal(const struct ip_addr *, const struct ip_addr *);

#endif
