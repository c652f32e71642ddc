/* SPDX-License-Identifier: MIT */
/* core/dnspkt.h: DNS messages (RFC 1035) for a stub resolver: an A or AAAA query, and the
 * strict reading of its answer. Responses are untrusted input: every read is bounds-
 * checked, compression pointers may only point backwards (so they cannot loop), names
 * are limited to 255 bytes and labels to 63, and a response that does not answer exactly
 * the question asked is refused. No I/O and no allocation here. */
#ifndef CORE_DNSPKT_H
#define CORE_DNSPKT_H

#include <stddef.h>
#include <stdint.h>

#include "core/ip.h"

#define DNSPKT_TYPE_A		1
#define DNSPKT_TYPE_CNAME	5
#define DNSPKT_TYPE_SOA		6
#define DNSPKT_TYPE_AAAA	28

#define DNSPKT_RCODE_OK		0
#define DNSPKT_RCODE_SERVFAIL	2
#define DNSPKT_RCODE_NXDOMAIN	3

#define DNSPKT_NAME_MAX		255	/* dotted form with its NUL fits this */
#define DNSPKT_QUERY_MAX	(12 + DNSPKT_NAME_MAX + 1 + 4)
#define DNSPKT_ADDRS_MAX	8
#define DNSPKT_CNAME_MAX	8	/* CNAMEs followed in one answer */

struct dnspkt_answer {
	int rcode;
	int truncated;			/* TC: ask again over TCP */
	unsigned int naddrs;		/* addresses of the type asked, for the name asked */
	struct ip_addr addrs[DNSPKT_ADDRS_MAX];
	uint32_t ttl;			/* lowest TTL of the records used (addresses, CNAMEs) */
	int neg_ttl_known;		/* an SOA in the authority section gave neg_ttl */
	uint32_t neg_ttl;		/* min(SOA TTL, SOA minimum): how long "no such" holds */
};

/* Writes a recursive query for name (dotted, an optional final dot) into buf. Returns
 * its length, or -1 if the name is not a valid host name or buf is too small. */
int dnspkt_query(uint8_t *buf, size_t len, uint16_t id, const char *name, uint16_t type);

/* Reads the response in p as the answer to the query (id, name, type). Returns 0 with
 * *a filled, or -1 with *error saying why it was refused (malformed, or not an answer to
 * that question: the caller keeps waiting for the right one). */
int dnspkt_parse(const uint8_t *p, size_t len, uint16_t id, const char *name, uint16_t type,
    struct dnspkt_answer *a, const char **error);

/* Reads the possibly compressed name at *off into out (lower case, dotted, "" for the
 * root) and moves *off past it. Returns 0 or -1 (malformed; out is then undefined). */
int dnspkt_name(const uint8_t *p, size_t len, size_t *off, char out[DNSPKT_NAME_MAX + 1]);

/* 1 if a and b are the same name (ASCII case-insensitive, a final dot ignored). */
int dnspkt_name_eq(const char *a, const char *b);

#endif
