/* SPDX-License-Identifier: MIT */
/* core/haproxy.h: HAProxy's PROXY protocol header (v1 text, v2 binary), as a sender in
 * front of a listener puts it before the client's first byte. A pure parser over bytes:
 * no socket, no allocation; the caller reads and decides. */
#ifndef CORE_HAPROXY_H
#define CORE_HAPROXY_H

#include <stddef.h>
#include <stdint.h>

#include "core/ip.h"

/* v1: the spec's 107 bytes, CRLF included. v2: Dovecot's limit on the whole header
 * (16 fixed bytes, addresses, TLVs); the format itself would allow 64 KiB. */
#define HAPROXY_V1_MAX	107
#define HAPROXY_V2_MAX	1500

struct haproxy_hdr {
	int version;		/* 1 or 2 */
	/* 1: src/dst are the client's and the address it connected to. 0: keep the
	 * socket's (v1 UNKNOWN, v2 LOCAL or an unspecified family, e.g. health checks) */
	int proxied;
	struct ip_addr src, dst;
	unsigned int src_port, dst_port;
	/* v2 SSL TLV (haproxy's send-proxy-v2-ssl): the client spoke TLS to the sender */
	int ssl;
	/* on failure: Dovecot's log words: tag "haproxy", "haproxy(v1)" or "haproxy(v2)",
	 * what is wrong, and details (may be "") such as "protocol=`FOO'" */
	const char *tag;
	const char *error;
	char detail[96];
};

/* Reads the header at the start of buf[0..len); never reads beyond len.
 * Returns its length (> 0) when it is complete and valid, with *h filled.
 * Returns 0 when buf is a valid beginning that needs more bytes: then all len bytes
 * belong to the header, so a reader may consume them without taking any of the client's.
 * Returns -1 when buf cannot start a valid header (h->tag, error, detail say why). */
int haproxy_parse(const uint8_t *buf, size_t len, struct haproxy_hdr *h);

#endif
