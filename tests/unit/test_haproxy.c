/* SPDX-License-Identifier: MIT */
/* core/haproxy.c: PROXY v1/v2 headers, whole, cut at every byte, and broken. */
#include "tests/unit/unit.h"
#include "core/haproxy.h"

#include <stdint.h>

static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

static const char *
src(const struct haproxy_hdr *h)
{
	static char b[IP_ADDR_STRLEN];
	return ip_format(&h->src, b, sizeof(b));
}

/* Every proper prefix of a valid header must ask for more (0), never fail or succeed. */
static void
check_prefixes(const uint8_t *buf, size_t len)
{
	struct haproxy_hdr h;
	for (size_t i = 0; i < len; i++) {
		int r = haproxy_parse(buf, i, &h);
		if (r != 0)
			unit_fail(__FILE__, __LINE__, "prefix of %zu of %zu bytes gave %d", i, len, r);
	}
}

TEST(v1_tcp4_tcp6_unknown)
{
	struct haproxy_hdr h;
	const char *l = "PROXY TCP4 192.0.2.7 127.0.0.1 56324 143\r\nA1 LOGIN";
	size_t n = strlen("PROXY TCP4 192.0.2.7 127.0.0.1 56324 143\r\n");
	CHECK_INT(haproxy_parse((const uint8_t *)l, strlen(l), &h), n);
	CHECK_INT(h.version, 1);
	CHECK_INT(h.proxied, 1);
	CHECK_STR(src(&h), "192.0.2.7");
	CHECK_INT(h.src_port, 56324);
	CHECK_INT(h.dst_port, 143);
	check_prefixes((const uint8_t *)l, n);

	l = "PROXY TCP6 2001:db8::1 ::1 65535 993\r\n";
	CHECK_INT(haproxy_parse((const uint8_t *)l, strlen(l), &h), strlen(l));
	CHECK_STR(src(&h), "2001:db8::1");
	CHECK_INT(h.src_port, 65535);
	check_prefixes((const uint8_t *)l, strlen(l));

	l = "PROXY UNKNOWN\r\n";
	CHECK_INT(haproxy_parse((const uint8_t *)l, strlen(l), &h), strlen(l));
	CHECK_INT(h.proxied, 0);
	l = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
	CHECK_INT(haproxy_parse((const uint8_t *)l, strlen(l), &h), strlen(l));
	CHECK_INT(h.proxied, 0);
}

static void
v1_bad(const char *l, const char *error)
{
	struct haproxy_hdr h;
	int r = haproxy_parse((const uint8_t *)l, strlen(l), &h);
	if (r != -1 || h.error == NULL || strcmp(h.error, error) != 0)
		unit_fail(__FILE__, __LINE__, "\"%s\": %d %s, expected -1 %s", l, r,
		    h.error ? h.error : "(none)", error);
}

TEST(v1_broken)
{
	v1_bad("GET / HTTP/1.0\r\n", "Failed to read valid HAproxy data");
	v1_bad("PROXYTCP4", "Failed to read valid HAproxy data");
	v1_bad("PROXY \r\n", "Field for proxied protocol is missing");
	v1_bad("PROXY UDP4 1.2.3.4 1.2.3.5 1 2\r\n", "Unknown proxied protocol");
	v1_bad("PROXY TCP4\r\n", "Field for proxied remote address is missing");
	v1_bad("PROXY TCP4 1.2.3.4 1.2.3.5 1\r\n", "Field for proxied local port is missing");
	v1_bad("PROXY TCP4  1.2.3.4 1.2.3.5 1 2\r\n", "Field for proxied remote address is missing");
	v1_bad("PROXY TCP4 1.2.3.4 1.2.3.5 1 2 \r\n", "Header line has spurious extra field");
	v1_bad("PROXY TCP4 1.2.3.4 1.2.3.5 1 2 3\r\n", "Header line has spurious extra field");
	v1_bad("PROXY TCP4 ::1 1.2.3.5 1 2\r\n", "Proxied remote address is invalid");
	v1_bad("PROXY TCP6 ::1 1.2.3.5 1 2\r\n", "Proxied local address is invalid");
	v1_bad("PROXY TCP6 [::1] ::1 1 2\r\n", "Proxied remote address is invalid");
	v1_bad("PROXY TCP4 1.2.3.4 1.2.3.5 0 2\r\n", "Proxied remote port is invalid");
	v1_bad("PROXY TCP4 1.2.3.4 1.2.3.5 1 65536\r\n", "Proxied local port is invalid");
	v1_bad("PROXY TCP4 1.2.3.4 1.2.3.5 1 +2\r\n", "Proxied local port is invalid");
	v1_bad("PROXY TCP4 1.2.3.4 1.2.3.5 1 2\n", "Header line has a control or 8-bit character");
	v1_bad("PROXY TCP4 1.2.3.4 1.2.3.5 1 2\rX", "Header line has a CR without LF");
	v1_bad("PROXY TCP4 1.2.3.4\t1.2.3.5 1 2\r\n", "Header line has a control or 8-bit character");

	/* 107 bytes at most, CRLF included: 105 then CRLF is fine, 106 is not */
	char l[200] = "PROXY UNKNOWN ";
	while (strlen(l) < 105)
		strcat(l, "x");
	strcat(l, "\r\n");
	struct haproxy_hdr h;
	CHECK_INT(haproxy_parse((const uint8_t *)l, strlen(l), &h), 107);
	memmove(l + 1, l, strlen(l) + 1);
	l[0] = 'P';
	memcpy(l, "PROXY UNKNOWN x", 15);
	CHECK_INT(haproxy_parse((const uint8_t *)l, strlen(l), &h), -1);
	CHECK_STR(h.error, "Header line is too long");
	/* and without any CR, it stops at 107 bytes, not later */
	memset(l, 'x', sizeof(l));
	memcpy(l, "PROXY ", 6);
	CHECK_INT(haproxy_parse((const uint8_t *)l, 106, &h), 0);
	CHECK_INT(haproxy_parse((const uint8_t *)l, 107, &h), -1);
}

static size_t
v2(uint8_t *b, uint8_t ver_cmd, uint8_t fam, const uint8_t *addr, size_t alen)
{
	memcpy(b, sig, 12);
	b[12] = ver_cmd;
	b[13] = fam;
	b[14] = (uint8_t)(alen >> 8);
	b[15] = (uint8_t)alen;
	memcpy(b + 16, addr, alen);
	return 16 + alen;
}

TEST(v2_inet_inet6_local)
{
	uint8_t b[1600], a[300];
	struct haproxy_hdr h;
	static const uint8_t a4[12] = { 192, 0, 2, 9, 127, 0, 0, 1, 0xdb, 0xf4, 0, 143 };
	size_t n = v2(b, 0x21, 0x11, a4, sizeof(a4));
	b[n] = 'x';	/* the client's first byte is not part of it */
	CHECK_INT(haproxy_parse(b, n + 1, &h), 28);
	CHECK_INT(h.version, 2);
	CHECK_INT(h.proxied, 1);
	CHECK_STR(src(&h), "192.0.2.9");
	CHECK_INT(h.ssl, 0);
	CHECK_INT(h.src_port, 56308);
	CHECK_INT(h.dst_port, 143);
	check_prefixes(b, n);

	memset(a, 0, sizeof(a));
	a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8, a[15] = 5;
	a[31] = 1;
	a[32] = 0x12, a[33] = 0x34, a[35] = 110;
	/* with TLVs: ALPN "imap", SSL with a CN sub-TLV, NOOP */
	uint8_t *t = a + 36;
	memcpy(t, "\x01\x00\x04imap", 7), t += 7;
	memcpy(t, "\x20\x00\x0a\x01\x00\x00\x00\x00\x22\x00\x02" "cn", 13), t += 13;
	memcpy(t, "\x04\x00\x00", 3), t += 3;
	n = v2(b, 0x21, 0x21, a, (size_t)(t - a));
	CHECK_INT(haproxy_parse(b, n, &h), n);
	CHECK_STR(src(&h), "2001:db8::5");
	CHECK_INT(h.src_port, 0x1234);
	CHECK_INT(h.ssl, 1);
	check_prefixes(b, n);

	/* LOCAL: haproxy's health check; addresses and TLVs are skipped */
	n = v2(b, 0x20, 0x00, a, 5);
	CHECK_INT(haproxy_parse(b, n, &h), n);
	CHECK_INT(h.proxied, 0);
	/* PROXY with UNSPEC/UNSPEC: keep the socket's */
	n = v2(b, 0x21, 0x00, a, 0);
	CHECK_INT(haproxy_parse(b, n, &h), 16);
	CHECK_INT(h.proxied, 0);
}

static void
v2_bad(uint8_t ver_cmd, uint8_t fam, const uint8_t *a, size_t alen, const char *error, const char *detail)
{
	uint8_t b[1600];
	struct haproxy_hdr h;
	size_t n = v2(b, ver_cmd, fam, a, alen);
	int r = haproxy_parse(b, n, &h);
	if (r != -1 || h.error == NULL || strcmp(h.error, error) != 0 || strcmp(h.detail, detail) != 0)
		unit_fail(__FILE__, __LINE__, "%02x %02x %zu: %d %s (%s), expected %s (%s)", ver_cmd, fam,
		    alen, r, h.error ? h.error : "(none)", h.detail, error, detail);
}

TEST(v2_broken)
{
	uint8_t a[1600] = { 0 };
	v2_bad(0x11, 0x11, a, 12, "Unsupported protocol version", "version=01");
	v2_bad(0x22, 0x11, a, 12, "Invalid command", "cmd=02");
	v2_bad(0x21, 0x12, a, 12, "Not using TCP", "type=02");
	v2_bad(0x21, 0x41, a, 12, "Unknown address family", "family=04");
	v2_bad(0x21, 0x11, a, 11, "IPv4 data is incomplete", "");
	v2_bad(0x21, 0x21, a, 35, "IPv6 data is incomplete", "");
	v2_bad(0x21, 0x11, a, 1500 - 16 + 1, "Too long header", "");
	/* a TLV longer than what is left, a TLV cut in its header, a short SSL TLV, and
	 * an SSL sub-TLV running past its parent */
	memcpy(a + 12, "\x01\x00\x05imap", 7);
	v2_bad(0x21, 0x11, a, 19, "Invalid TLV", "get_tlv(0) failed: Truncated data");
	memcpy(a + 12, "\x04\x00\x00\x01\x00", 5);
	v2_bad(0x21, 0x11, a, 17, "Invalid TLV", "get_tlv(3) failed: Truncated data");
	memcpy(a + 12, "\x20\x00\x04\x01\x00\x00\x00", 7);
	v2_bad(0x21, 0x11, a, 19, "Invalid TLV", "get_ssl_tlv(0) failed: Truncated data");
	memcpy(a + 12, "\x20\x00\x08\x01\x00\x00\x00\x00\x22\x00\x09", 11);
	v2_bad(0x21, 0x11, a, 23, "Invalid TLV", "get_tlv(0) failed: Truncated data");

	/* the too-long check comes before waiting for the rest */
	uint8_t b[16];
	struct haproxy_hdr h;
	memcpy(b, sig, 12);
	b[12] = 0x21, b[13] = 0x11, b[14] = 0xff, b[15] = 0xff;
	CHECK_INT(haproxy_parse(b, 16, &h), -1);
	CHECK_STR(h.error, "Too long header");
	/* a broken signature fails at its first wrong byte */
	b[3] = 'x';
	CHECK_INT(haproxy_parse(b, 4, &h), -1);
	CHECK_INT(haproxy_parse(b, 3, &h), 0);
}
