/* SPDX-License-Identifier: MIT */
/* applets/doveadm/who.h: what `who` and `kick` share: one connection as anvil lists it,
 * the user/network filter with doveadm's parsing and matching rules (doveadm-who.c),
 * and the anvil client (anvil.c) that speaks version 1 (Dovecot 2.3) or version 2
 * (Dovecot 2.4, mtool proxyd; docs/anvil-protocol.md), whichever the server does. */
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

/* How long a silent anvil is given to greet before it is taken for version 1. A version
 * 2 server writes its VERSION line as it accepts; a version 1 server never writes
 * first. Waiting is what every `who` against Dovecot 2.3 costs; a slower version 2
 * server is still recognised afterwards, by its VERSION line in reply. */
#define ANVIL_GREETING_WAIT_MS	250

/* The anvil client. */
struct anvil {
	const char *path;
	int version;			/* 1 or 2 */
	struct dline_reader r;
	char *header;			/* version 2: the dump's header line (storage) */
	char **alt_fields;		/* version 2: passdb field names of the alt columns */
	size_t nalt_fields;
	char **fields;			/* the current line's fields (freed by the next) */
	int hello_sent;			/* version 2: our VERSION and handshake lines */
	char *pending;			/* version 1: the first dump line, read by anvil_open */
	char *pending_used;		/* ... once anvilclient_dump_next() returned it */
	int done;			/* the dump's empty line was read */
	int failed;			/* version 2: an error was printed; exit 75 */
};

/* Connects (fatal on failure, with doveadm's texts) and finds out the version: a
 * version 2 server greets first ("VERSION\tanvil-server\t2\t0"); one that says nothing
 * for ANVIL_GREETING_WAIT_MS gets version 1's CONNECT-DUMP request (its only use here),
 * and its first reply line decides: a late greeting means version 2 after all. */
void anvilclient_open(struct anvil *, const char *path);

/* Sends CONNECT-DUMP (and the version 1 handshake, in one write as doveadm does);
 * for version 2 also reads the header line. Failures are fatal. */
void anvilclient_dump_start(struct anvil *);

/* The next connection: 1, or 0 at the end of the dump. Version 1 lines that do not
 * parse are reported ("Error: Invalid input: LINE") and skipped, as doveadm 2.3 does;
 * in version 2 they end the dump with an error (exit 75, as doveadm 2.4). */
int anvilclient_dump_next(struct anvil *, struct who_line *);

/* Version 2: sends each command line (KICK-USER/KICK-ALT-USER; after the dump or
 * without one) and adds up the counts anvil replies; errors are printed ("Error:
 * ...") and set *failed. Commands are pipelined, ANVIL_KICK_PIPELINE at a time. */
unsigned int anvilclient_kick(struct anvil *, char **cmds, size_t n, int *failed);

void anvilclient_close(struct anvil *);

#endif
