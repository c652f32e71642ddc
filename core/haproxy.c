/* SPDX-License-Identifier: MIT */
/* core/haproxy.c: the PROXY protocol header parser (haproxy's doc/proxy-protocol.txt).
 * Stricter than Dovecot where Dovecot reads past a short header or trusts a length;
 * its log words are kept so that operators' log searches still work. */
#include <string.h>

#include "core/haproxy.h"
#include "core/str.h"

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};
#define V2_FIXED	16

static int
fail(struct haproxy_hdr *h, const char *tag, const char *error)
{
	h->tag = tag;
	h->error = error;
	return -1;
}

/* A port as Dovecot's net_str2port takes it, but digits only: 1..65535. */
static int
parse_port(const char *s, unsigned int *port)
{
	unsigned long v = 0;
	size_t n = strlen(s);
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned int)v;
	return 0;
}

/* One address of the family the protocol field names; no brackets, no names. */
static int
parse_v1_addr(const char *s, sa_family_t family, struct ip_addr *ip)
{
	if (*s == '[' || ip_parse(s, ip) < 0 || ip->family != family)
		return -1;
	return 0;
}

static int
parse_v1(const uint8_t *buf, size_t len, struct haproxy_hdr *h)
{
	static const char *const tag = "haproxy(v1)";
	size_t lim = len < HAPROXY_V1_MAX ? len : HAPROXY_V1_MAX, end = 0;

	for (size_t i = 0; i < lim && end == 0; i++) {
		if (buf[i] == '\r') {
			if (i + 2 > HAPROXY_V1_MAX)
				return fail(h, tag, "Header line is too long");
			if (i + 1 == len)
				return 0;
			if (buf[i + 1] != '\n')
				return fail(h, tag, "Header line has a CR without LF");
			end = i;
		} else if (buf[i] < 0x20 || buf[i] > 0x7e) {
			return fail(h, tag, "Header line has a control or 8-bit character");
		}
	}
	if (end == 0)
		return len < HAPROXY_V1_MAX ? 0 : fail(h, tag, "Header line is too long");

	char line[HAPROXY_V1_MAX], *f[8];
	size_t nf = 0;
	memcpy(line, buf, end);
	line[end] = '\0';
	/* single spaces between fields, as the spec writes them; an empty field is an error */
	for (char *p = line; nf < 8;) {
		f[nf++] = p;
		char *sp = strchr(p, ' ');
		if (sp == NULL)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	h->version = 1;
	if (nf < 2 || *f[1] == '\0')
		return fail(h, tag, "Field for proxied protocol is missing");
	sa_family_t family;
	if (strcmp(f[1], "TCP4") == 0) {
		family = AF_INET;
	} else if (strcmp(f[1], "TCP6") == 0) {
		family = AF_INET6;
	} else if (strcmp(f[1], "UNKNOWN") == 0) {
		/* the spec: anything may follow up to CRLF, and is ignored */
		h->proxied = 0;
		return (int)end + 2;
	} else {
		str_fmt(h->detail, sizeof(h->detail), "protocol=`%.64s'", f[1]);
		return fail(h, tag, "Unknown proxied protocol");
	}
	static const char *const missing[4] = {
		"Field for proxied remote address is missing", "Field for proxied local address is missing",
		"Field for proxied remote port is missing", "Field for proxied local port is missing",
	};
	for (size_t i = 2; i < 6; i++)
		if (nf <= i || *f[i] == '\0')
			return fail(h, tag, missing[i - 2]);
	if (nf > 6) {
		str_fmt(h->detail, sizeof(h->detail), "field=`%.64s'", f[6]);
		return fail(h, tag, "Header line has spurious extra field");
	}
	if (parse_v1_addr(f[2], family, &h->src) < 0) {
		str_fmt(h->detail, sizeof(h->detail), "address=`%.64s'", f[2]);
		return fail(h, tag, "Proxied remote address is invalid");
	}
	if (parse_v1_addr(f[3], family, &h->dst) < 0) {
		str_fmt(h->detail, sizeof(h->detail), "address=`%.64s'", f[3]);
		return fail(h, tag, "Proxied local address is invalid");
	}
	if (parse_port(f[4], &h->src_port) < 0) {
		str_fmt(h->detail, sizeof(h->detail), "port=`%.64s'", f[4]);
		return fail(h, tag, "Proxied remote port is invalid");
	}
	if (parse_port(f[5], &h->dst_port) < 0) {
		str_fmt(h->detail, sizeof(h->detail), "port=`%.64s'", f[5]);
		return fail(h, tag, "Proxied local port is invalid");
	}
	h->proxied = 1;
	return (int)end + 2;
}

/* TLVs: type, 16-bit length, value; each must lie inside [p, p + len). The SSL TLV (0x20)
 * holds a client byte, a 32-bit verify and TLVs of its own; of all of them only the
 * client byte's SSL bit is used (as Dovecot uses it: the client counts as secured). */
static int
check_tlvs(const uint8_t *p, size_t len, int depth, struct haproxy_hdr *h)
{
	for (size_t i = 0; i < len;) {
		if (len - i < 3) {
			str_fmt(h->detail, sizeof(h->detail), "get_tlv(%zu) failed: Truncated data", i);
			return -1;
		}
		size_t vlen = (size_t)p[i + 1] << 8 | p[i + 2];
		if (vlen > len - i - 3) {
			str_fmt(h->detail, sizeof(h->detail), "get_tlv(%zu) failed: Truncated data", i);
			return -1;
		}
		if (p[i] == 0x20 && depth == 0) {
			if (vlen < 5) {
				str_fmt(h->detail, sizeof(h->detail), "get_ssl_tlv(%zu) failed: Truncated data", i);
				return -1;
			}
			h->ssl = p[i + 3] & 0x01;	/* PP2_CLIENT_SSL */
			if (check_tlvs(p + i + 3 + 5, vlen - 5, 1, h) < 0)
				return -1;
		}
		i += 3 + vlen;
	}
	return 0;
}

static int
parse_v2(const uint8_t *buf, size_t len, struct haproxy_hdr *h)
{
	static const char *const tag = "haproxy(v2)";
	if (len < V2_FIXED)
		return 0;
	h->version = 2;
	if ((buf[12] & 0xf0) != 0x20) {
		str_fmt(h->detail, sizeof(h->detail), "version=%02x", (unsigned int)(buf[12] >> 4));
		return fail(h, "haproxy", "Unsupported protocol version");
	}
	size_t alen = (size_t)buf[14] << 8 | buf[15], total = V2_FIXED + alen;
	if (total > HAPROXY_V2_MAX)
		return fail(h, "haproxy", "Too long header");
	unsigned int cmd = buf[12] & 0x0f, fam = buf[13] >> 4, type = buf[13] & 0x0f;
	if (cmd > 1) {
		str_fmt(h->detail, sizeof(h->detail), "cmd=%02x", cmd);
		return fail(h, tag, "Invalid command");
	}
	if (cmd == 1 && fam > 3) {
		str_fmt(h->detail, sizeof(h->detail), "family=%02x", fam);
		return fail(h, tag, "Unknown address family");
	}
	/* Dovecot refuses any transport but TCP; UNSPEC/UNSPEC is what the spec gives for
	 * "unknown", and it means: keep the socket's addresses */
	if (cmd == 1 && type != 1 && !(fam == 0 && type == 0)) {
		str_fmt(h->detail, sizeof(h->detail), "type=%02x", type);
		return fail(h, tag, "Not using TCP");
	}
	if (len < total)
		return 0;

	const uint8_t *a = buf + V2_FIXED;
	size_t used = 0;
	h->proxied = 0;
	if (cmd == 0) {
		/* LOCAL (haproxy's own health checks): the rest is skipped unread */
		return (int)total;
	}
	if (fam == 1) {
		if (alen < 12)
			return fail(h, tag, "IPv4 data is incomplete");
		h->src.family = h->dst.family = AF_INET;
		memcpy(&h->src.u.v4, a, 4);
		memcpy(&h->dst.u.v4, a + 4, 4);
		h->src_port = (unsigned int)a[8] << 8 | a[9];
		h->dst_port = (unsigned int)a[10] << 8 | a[11];
		used = 12;
		h->proxied = 1;
	} else if (fam == 2) {
		if (alen < 36)
			return fail(h, tag, "IPv6 data is incomplete");
		h->src.family = h->dst.family = AF_INET6;
		memcpy(&h->src.u.v6, a, 16);
		memcpy(&h->dst.u.v6, a + 16, 16);
		h->src_port = (unsigned int)a[32] << 8 | a[33];
		h->dst_port = (unsigned int)a[34] << 8 | a[35];
		used = 36;
		h->proxied = 1;
	} else if (fam == 3) {
		/* AF_UNIX: 216 bytes of paths, then TLVs; the socket's addresses stay */
		if (alen < 216)
			return fail(h, tag, "UNIX data is incomplete");
		used = 216;
	}
	if (check_tlvs(a + used, alen - used, 0, h) < 0) {
		memset(&h->src, 0, sizeof(h->src));
		memset(&h->dst, 0, sizeof(h->dst));
		h->proxied = h->ssl = 0;
		return fail(h, tag, "Invalid TLV");
	}
	return (int)total;
}

int
haproxy_parse(const uint8_t *buf, size_t len, struct haproxy_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len == 0)
		return 0;
	if (buf[0] == 'P') {
		size_t n = len < 6 ? len : 6;
		if (memcmp(buf, "PROXY ", n) != 0)
			return fail(h, "haproxy", "Failed to read valid HAproxy data");
		return len < 6 ? 0 : parse_v1(buf, len, h);
	}
	size_t n = len < sizeof(v2_sig) ? len : sizeof(v2_sig);
	if (memcmp(buf, v2_sig, n) != 0)
		return fail(h, "haproxy", "Failed to read valid HAproxy data");
	return parse_v2(buf, len, h);
}
