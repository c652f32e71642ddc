/* SPDX-License-Identifier: MIT */
/* Implementation notes: names are compared in their dotted, lower-cased form, so a CNAME
 * chain is followed by plain string comparison. A compression pointer must point below
 * the lowest position reached by a pointer so far: each hop strictly lowers that bound,
 * so decompression ends after at most len hops whatever the input. */
#include "core/dnspkt.h"

#include <string.h>

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int
dnspkt_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	la -= la > 0 && a[la - 1] == '.';
	lb -= lb > 0 && b[lb - 1] == '.';
	if (la != lb)
		return 0;
	for (size_t i = 0; i < la; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

int
dnspkt_query(uint8_t *buf, size_t len, uint16_t id, const char *name, uint16_t type)
{
	size_t n = strlen(name), o = 12;
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || len < 12 + n + 2 + 4)
		return -1;
	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01;		/* RD: recursion desired */
	buf[5] = 1;		/* one question */
	for (size_t i = 0; i < n;) {
		size_t l = 0;
		while (i + l < n && name[i + l] != '.') {
			unsigned char c = (unsigned char)name[i + l];
			if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9') &&
			    c != '-' && c != '_')
				return -1;
			l++;
		}
		if (l == 0 || l > 63)
			return -1;
		buf[o++] = (uint8_t)l;
		memcpy(buf + o, name + i, l);
		o += l;
		i += l + 1;
	}
	buf[o++] = 0;
	buf[o++] = (uint8_t)(type >> 8);
	buf[o++] = (uint8_t)type;
	buf[o++] = 0;
	buf[o++] = 1;		/* class IN */
	return (int)o;
}

int
dnspkt_name(const uint8_t *p, size_t len, size_t *off, char out[DNSPKT_NAME_MAX + 1])
{
	size_t pos = *off, bound = *off, n = 0;
	int jumped = 0;

	for (;;) {
		if (pos >= len)
			return -1;
		uint8_t l = p[pos];
		if (l == 0) {
			if (!jumped)
				*off = pos + 1;
			break;
		}
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return -1;
			size_t target = (size_t)(l & 0x3f) << 8 | p[pos + 1];
			if (target >= bound)
				return -1;	/* forwards or onto itself: could loop */
			if (!jumped)
				*off = pos + 2;
			jumped = 1;
			bound = pos = target;
			continue;
		}
		if (l & 0xc0)
			return -1;	/* the reserved label types */
		if (pos + 1 + l > len || n + (n > 0) + l > DNSPKT_NAME_MAX - 2)
			return -1;
		if (n > 0)
			out[n++] = '.';
		for (size_t i = 0; i < l; i++) {
			unsigned char c = p[pos + 1 + i];
			if (c <= 0x20 || c >= 0x7f || c == '.')
				return -1;
			out[n++] = (char)lower(c);
		}
		pos += 1 + l;
	}
	out[n] = '\0';
	return 0;
}

/* One resource record's header; *off moves past the whole record. */
struct rr {
	char name[DNSPKT_NAME_MAX + 1];
	uint16_t type, class;
	uint32_t ttl;
	size_t rdata, rdlen;
};

static int
read_rr(const uint8_t *p, size_t len, size_t *off, struct rr *rr)
{
	if (dnspkt_name(p, len, off, rr->name) < 0 || len - *off < 10)
		return -1;
	const uint8_t *h = p + *off;
	rr->type = get16(h);
	rr->class = get16(h + 2);
	rr->ttl = get32(h + 4) & 0x7fffffff;	/* RFC 2181 §8: the top bit means 0 */
	if (get32(h + 4) & 0x80000000)
		rr->ttl = 0;
	rr->rdlen = get16(h + 8);
	rr->rdata = *off + 10;
	if (rr->rdlen > len - rr->rdata)
		return -1;
	*off = rr->rdata + rr->rdlen;
	return 0;
}

#define FAIL(msg)	do { *error = (msg); return -1; } while (0)

int
dnspkt_parse(const uint8_t *p, size_t len, uint16_t id, const char *name, uint16_t type,
    struct dnspkt_answer *a, const char **error)
{
	char cur[DNSPKT_NAME_MAX + 1], qname[DNSPKT_NAME_MAX + 1];
	size_t off = 12;
	struct rr rr;

	memset(a, 0, sizeof(*a));
	if (len < 12)
		FAIL("shorter than a header");
	if (get16(p) != id)
		FAIL("not our id");
	uint16_t flags = get16(p + 2);
	if (!(flags & 0x8000) || ((flags >> 11) & 0xf) != 0)
		FAIL("not a response to a standard query");
	a->rcode = flags & 0xf;
	a->truncated = (flags & 0x0200) != 0;
	unsigned int qd = get16(p + 4), an = get16(p + 6), ns = get16(p + 8);
	if (qd == 0 && a->rcode != DNSPKT_RCODE_OK && a->rcode != DNSPKT_RCODE_NXDOMAIN)
		return 0;	/* a server error without the question: still an answer */
	if (qd != 1)
		FAIL("not one question");
	if (dnspkt_name(p, len, &off, qname) < 0 || len - off < 4)
		FAIL("malformed question");
	if (!dnspkt_name_eq(qname, name) || get16(p + off) != type || get16(p + off + 2) != 1)
		FAIL("not our question");
	off += 4;
	if (a->truncated)
		return 0;

	if (strlen(name) > DNSPKT_NAME_MAX)
		FAIL("name too long");
	memcpy(cur, qname, sizeof(cur));
	unsigned int cnames = 0;
	a->ttl = UINT32_MAX;
	for (unsigned int i = 0; i < an; i++) {
		if (read_rr(p, len, &off, &rr) < 0)
			FAIL("malformed answer record");
		if (rr.class != 1 || !dnspkt_name_eq(rr.name, cur))
			continue;
		if (rr.type == DNSPKT_TYPE_CNAME) {
			size_t r = rr.rdata;
			if (++cnames > DNSPKT_CNAME_MAX)
				FAIL("too many CNAMEs");
			if (dnspkt_name(p, len, &r, cur) < 0 || r != rr.rdata + rr.rdlen)
				FAIL("malformed CNAME");
		} else if (rr.type == type) {
			if (rr.rdlen != (type == DNSPKT_TYPE_A ? 4u : 16u))
				FAIL("malformed address record");
			if (a->naddrs >= DNSPKT_ADDRS_MAX)
				continue;
			struct ip_addr *ip = &a->addrs[a->naddrs++];
			memset(ip, 0, sizeof(*ip));
			if (type == DNSPKT_TYPE_A) {
				ip->family = AF_INET;
				memcpy(&ip->u.v4, p + rr.rdata, 4);
			} else {
				ip->family = AF_INET6;
				memcpy(&ip->u.v6, p + rr.rdata, 16);
			}
		} else {
			continue;
		}
		if (rr.ttl < a->ttl)
			a->ttl = rr.ttl;
	}
	if (a->naddrs == 0)
		a->ttl = 0;
	for (unsigned int i = 0; i < ns; i++) {
		if (read_rr(p, len, &off, &rr) < 0)
			FAIL("malformed authority record");
		if (rr.type != DNSPKT_TYPE_SOA || rr.class != 1)
			continue;
		char skip[DNSPKT_NAME_MAX + 1];
		size_t r = rr.rdata;
		if (dnspkt_name(p, len, &r, skip) < 0 || dnspkt_name(p, len, &r, skip) < 0 ||
		    r + 20 != rr.rdata + rr.rdlen)
			FAIL("malformed SOA");
		uint32_t minimum = get32(p + r + 16);
		a->neg_ttl = minimum < rr.ttl ? minimum : rr.ttl;
		a->neg_ttl_known = 1;
	}
	return 0;
}
