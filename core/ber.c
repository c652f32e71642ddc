/* SPDX-License-Identifier: MIT */
/* Implementation notes: X.690 section 8.1 (identifier, length) as RFC 4511 section 5.1
 * restricts it for LDAP: definite lengths only. The long length form is accepted with
 * leading zero bytes (some servers pad), the short form always written when it fits. */
#include "core/ber.h"

#include <string.h>

static int
header(const uint8_t *p, size_t n, unsigned int *tag, size_t *hlen, size_t *clen)
{
	size_t len = 0, i, nb;

	if (n < 2)
		return 0;
	if ((p[0] & 0x1f) == 0x1f)
		return -1;	/* multi-byte tag: nothing in LDAP uses one */
	*tag = p[0];
	if (p[1] < 0x80) {
		*hlen = 2;
		*clen = p[1];
		return 1;
	}
	nb = p[1] & 0x7f;
	if (nb == 0 || nb > 4)
		return -1;	/* indefinite (forbidden in LDAP) or absurdly long */
	if (n < 2 + nb)
		return 0;
	for (i = 0; i < nb; i++)
		len = len << 8 | p[2 + i];
	*hlen = 2 + nb;
	*clen = len;
	return 1;
}

int
ber_frame(const uint8_t *p, size_t n, size_t max, size_t *total)
{
	unsigned int tag;
	size_t hlen, clen;
	int r = header(p, n, &tag, &hlen, &clen);

	if (r <= 0)
		return r;
	if (clen > max || hlen + clen > max)
		return -1;
	*total = hlen + clen;
	return n >= *total ? 1 : 0;
}

int
ber_next(struct ber *b, unsigned int *tag, struct ber *val)
{
	size_t hlen, clen;

	if (header(b->p, b->len, tag, &hlen, &clen) != 1 || clen > b->len - hlen)
		return -1;
	val->p = b->p + hlen;
	val->len = clen;
	b->p += hlen + clen;
	b->len -= hlen + clen;
	return 0;
}

int
ber_expect(struct ber *b, unsigned int tag, struct ber *val)
{
	unsigned int t;
	struct ber save = *b;

	if (ber_next(b, &t, val) < 0 || t != tag) {
		*b = save;
		return -1;
	}
	return 0;
}

int
ber_get_int(struct ber *b, unsigned int tag, long *v)
{
	struct ber c;
	unsigned long u;

	if (ber_expect(b, tag, &c) < 0 || c.len == 0 || c.len > 4)
		return -1;
	u = (c.p[0] & 0x80) ? ~0UL : 0;	/* two's complement: sign-extend */
	for (size_t i = 0; i < c.len; i++)
		u = u << 8 | c.p[i];
	*v = (long)u;
	return 0;
}

size_t
ber_begin(struct strbuf *sb, unsigned int tag)
{
	size_t start = sb->len;
	uint8_t h[2] = { (uint8_t)tag, 0 };

	strbuf_append(sb, h, 2);
	return start;
}

void
ber_end(struct strbuf *sb, size_t start)
{
	size_t clen, nb = 0;

	if (sb->error || start + 2 > sb->len)
		return;
	clen = sb->len - start - 2;
	if (clen < 0x80) {
		sb->s[start + 1] = (char)clen;
		return;
	}
	for (size_t l = clen; l > 0; l >>= 8)
		nb++;
	strbuf_append(sb, "\0\0\0\0", nb);	/* grow by the length bytes */
	if (sb->error)
		return;
	memmove(sb->s + start + 2 + nb, sb->s + start + 2, clen);
	sb->s[start + 1] = (char)(0x80 | nb);
	for (size_t i = 0; i < nb; i++)
		sb->s[start + 2 + i] = (char)(clen >> (8 * (nb - 1 - i)));
}

void
ber_put_int(struct strbuf *sb, unsigned int tag, long v)
{
	uint8_t b[4];
	size_t n = 4, start;

	for (int i = 3; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	/* the shortest two's complement form */
	while (n > 1 && ((b[4 - n] == 0 && !(b[5 - n] & 0x80)) ||
	    (b[4 - n] == 0xff && (b[5 - n] & 0x80))))
		n--;
	start = ber_begin(sb, tag);
	strbuf_append(sb, b + 4 - n, n);
	ber_end(sb, start);
}

void
ber_put_octets(struct strbuf *sb, unsigned int tag, const void *s, size_t len)
{
	size_t start = ber_begin(sb, tag);

	strbuf_append(sb, s, len);
	ber_end(sb, start);
}
