/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/dnspkt.h"

#include <arpa/inet.h>

/* A response to "mail.example.org" A, id 0x1234, built piece by piece. */
struct msg {
	uint8_t b[1024];
	size_t n;
};

static void
put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
put16(struct msg *m, unsigned int v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(m, b, 2);
}

static void
put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static const uint8_t qname[] = "\4mail\7example\3org";	/* with its final 0 */

static void
header(struct msg *m, unsigned int flags, unsigned int qd, unsigned int an, unsigned int ns)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, 0);
	if (qd) {
		put(m, qname, sizeof(qname));
		put16(m, DNSPKT_TYPE_A);
		put16(m, 1);
	}
}

static void
rr(struct msg *m, const void *owner, size_t olen, unsigned int type, uint32_t ttl, const void *rdata, size_t rdlen)
{
	put(m, owner, olen);
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, (unsigned int)rdlen);
	put(m, rdata, rdlen);
}

static const uint8_t ptr_q[] = { 0xc0, 12 };	/* the question's name */

TEST(dnspkt_query_bytes)
{
	uint8_t b[DNSPKT_QUERY_MAX];
	static const uint8_t want[] = {
		0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		4, 'm', 'a', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
		0, 28, 0, 1,
	};
	int n = dnspkt_query(b, sizeof(b), 0xabcd, "mail.example.org.", DNSPKT_TYPE_AAAA);
	CHECK_MEM(b, (size_t)n, want, sizeof(want));
	CHECK_INT(dnspkt_query(b, sizeof(b), 1, "", 1), -1);
	CHECK_INT(dnspkt_query(b, sizeof(b), 1, "a..b", 1), -1);
	CHECK_INT(dnspkt_query(b, sizeof(b), 1, "a b", 1), -1);
	CHECK_INT(dnspkt_query(b, 20, 1, "mail.example.org", 1), -1);
	char label[80];
	memset(label, 'x', 64);
	label[64] = '\0';
	CHECK_INT(dnspkt_query(b, sizeof(b), 1, label, 1), -1);
	label[63] = '\0';
	CHECK(dnspkt_query(b, sizeof(b), 1, label, 1) > 0);
}

TEST(dnspkt_answer_with_cname)
{
	struct msg m;
	struct dnspkt_answer a;
	const char *err = NULL;
	static const uint8_t target[] = "\2mx\7example\3net";
	static const uint8_t ip1[] = { 192, 0, 2, 7 }, ip2[] = { 192, 0, 2, 8 };
	header(&m, 0x8180, 1, 4, 0);
	size_t target_off = m.n + 12;	/* where the CNAME's rdata will begin */
	rr(&m, ptr_q, 2, DNSPKT_TYPE_CNAME, 300, target, sizeof(target));
	uint8_t ptr_t[] = { 0xc0, (uint8_t)target_off };
	rr(&m, ptr_t, 2, DNSPKT_TYPE_A, 60, ip1, 4);
	rr(&m, ptr_q, 2, DNSPKT_TYPE_A, 5, ip2, 4);		/* the old name: not used */
	rr(&m, ptr_t, 2, DNSPKT_TYPE_A, 120, ip2, 4);
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1234, "MAIL.example.org.", DNSPKT_TYPE_A, &a, &err), 0);
	CHECK_INT(a.rcode, 0);
	CHECK_INT(a.naddrs, 2);
	CHECK_INT(a.ttl, 60);
	char s[IP_ADDR_STRLEN];
	CHECK_STR(ip_format(&a.addrs[0], s, sizeof(s)), "192.0.2.7");
	CHECK_STR(ip_format(&a.addrs[1], s, sizeof(s)), "192.0.2.8");
	/* another id, another question: not ours */
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1235, "mail.example.org", DNSPKT_TYPE_A, &a, &err), -1);
	CHECK_STR(err, "not our id");
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1234, "mail.example.com", DNSPKT_TYPE_A, &a, &err), -1);
	CHECK_STR(err, "not our question");
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1234, "mail.example.org", DNSPKT_TYPE_AAAA, &a, &err), -1);
	/* every truncation of it is refused, never read past */
	for (size_t n = 0; n < m.n; n++)
		CHECK_INT(dnspkt_parse(m.b, n, 0x1234, "mail.example.org", DNSPKT_TYPE_A, &a, &err), -1);
}

TEST(dnspkt_nxdomain_soa_and_truncated)
{
	struct msg m;
	struct dnspkt_answer a;
	const char *err;
	uint8_t soa[64];
	size_t n = 0;
	soa[n++] = 0;
	soa[n++] = 0;
	static const uint32_t f[5] = { 1, 2, 3, 4, 42 };
	for (int i = 0; i < 5; i++) {
		uint32_t v = htonl(f[i]);
		memcpy(soa + n, &v, 4);
		n += 4;
	}
	header(&m, 0x8183, 1, 0, 1);
	rr(&m, ptr_q, 2, DNSPKT_TYPE_SOA, 300, soa, n);
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1234, "mail.example.org", DNSPKT_TYPE_A, &a, &err), 0);
	CHECK_INT(a.rcode, DNSPKT_RCODE_NXDOMAIN);
	CHECK_INT(a.naddrs, 0);
	CHECK(a.neg_ttl_known);
	CHECK_INT(a.neg_ttl, 42);
	/* an SOA whose rdata length disagrees with its content */
	header(&m, 0x8183, 1, 0, 1);
	rr(&m, ptr_q, 2, DNSPKT_TYPE_SOA, 300, soa, n - 1);
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1234, "mail.example.org", DNSPKT_TYPE_A, &a, &err), -1);

	header(&m, 0x8380, 1, 0, 0);	/* TC */
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1234, "mail.example.org", DNSPKT_TYPE_A, &a, &err), 0);
	CHECK(a.truncated);
	header(&m, 0x8182, 0, 0, 0);	/* SERVFAIL without the question */
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1234, "mail.example.org", DNSPKT_TYPE_A, &a, &err), 0);
	CHECK_INT(a.rcode, DNSPKT_RCODE_SERVFAIL);
	header(&m, 0x0100, 1, 0, 0);	/* a query, not a response */
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1234, "mail.example.org", DNSPKT_TYPE_A, &a, &err), -1);
}

TEST(dnspkt_hostile_names)
{
	struct msg m;
	struct dnspkt_answer a;
	const char *err;
	static const uint8_t ip[] = { 10, 0, 0, 1 };
	char out[DNSPKT_NAME_MAX + 1];

	/* a pointer to itself, a pointer forwards, a reserved label type */
	header(&m, 0x8180, 1, 1, 0);
	uint8_t self[] = { 0xc0, (uint8_t)m.n };
	rr(&m, self, 2, DNSPKT_TYPE_A, 60, ip, 4);
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1234, "mail.example.org", DNSPKT_TYPE_A, &a, &err), -1);
	header(&m, 0x8180, 1, 1, 0);
	uint8_t fwd[] = { 0xc0, (uint8_t)(m.n + 2) };
	rr(&m, fwd, 2, DNSPKT_TYPE_A, 60, ip, 4);
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1234, "mail.example.org", DNSPKT_TYPE_A, &a, &err), -1);
	header(&m, 0x8180, 1, 1, 0);
	static const uint8_t ext[] = { 0x41, 0 };
	rr(&m, ext, 2, DNSPKT_TYPE_A, 60, ip, 4);
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1234, "mail.example.org", DNSPKT_TYPE_A, &a, &err), -1);
	/* an address record of the wrong length */
	header(&m, 0x8180, 1, 1, 0);
	rr(&m, ptr_q, 2, DNSPKT_TYPE_A, 60, ip, 3);
	CHECK_INT(dnspkt_parse(m.b, m.n, 0x1234, "mail.example.org", DNSPKT_TYPE_A, &a, &err), -1);

	/* two pointers that point at each other: the second must go below the first */
	uint8_t loop[] = { 0xc0, 2, 0xc0, 0 };
	size_t off = 2;
	CHECK_INT(dnspkt_name(loop, sizeof(loop), &off, out), -1);
	/* a name of 256 bytes, made of 63-byte labels */
	uint8_t big[300];
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		big[n++] = 63;
		memset(big + n, 'a', 63);
		n += 63;
	}
	big[n++] = 0;
	off = 0;
	CHECK_INT(dnspkt_name(big, n, &off, out), -1);
	big[192] = 61;	/* 63+1+63+1+63+1+61 = 253: the longest */
	big[192 + 62] = 0;
	off = 0;
	CHECK_INT(dnspkt_name(big, 192 + 63, &off, out), 0);
	CHECK_INT(strlen(out), 253);
	CHECK_INT(off, 192 + 63);
	/* a dot or a control byte inside a label */
	static const uint8_t dot[] = { 3, 'a', '.', 'b', 0 }, ctl[] = { 2, 'a', '\n', 0 };
	off = 0;
	CHECK_INT(dnspkt_name(dot, sizeof(dot), &off, out), -1);
	off = 0;
	CHECK_INT(dnspkt_name(ctl, sizeof(ctl), &off, out), -1);
	CHECK(dnspkt_name_eq("Mail.Example.ORG.", "mail.example.org"));
	CHECK(!dnspkt_name_eq("mail.example.org", "mail.example.or"));
}
