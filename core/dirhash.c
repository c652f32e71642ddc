/* SPDX-License-Identifier: MIT */
/* core/dirhash.c: the director's consistent hashing, bit for bit as Dovecot 2.3
 * (src/lib-mail/mail-user-hash.c, src/director/mail-host.c): a fleet must be able to
 * swap Dovecot directors for mtool without moving a single user. */
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "core/dirhash.h"
#include "core/str.h"
#include "core/varexpand.h"

static uint32_t
md5_prefix(const void *data, size_t len)
{
	br_md5_context ctx;
	unsigned char md5[16];
	br_md5_init(&ctx);
	br_md5_update(&ctx, data, len);
	br_md5_out(&ctx, md5);
	return (uint32_t)md5[0] << 24 | (uint32_t)md5[1] << 16 | (uint32_t)md5[2] << 8 | md5[3];
}

int
dirhash_user(const char *user, const char *format, uint32_t *hash)
{
	int ret = 0;
	uint32_t h;

	if (strcmp(format, "%u") == 0)
		h = md5_prefix(user, strlen(user));
	else if (strcmp(format, "%Lu") == 0) {
		size_t len = strlen(user);
		char *low = malloc(len + 1);
		if (low == NULL) {
			*hash = 1;
			return -1;
		}
		for (size_t i = 0; i <= len; i++)
			low[i] = user[i] >= 'A' && user[i] <= 'Z' ? (char)(user[i] + 32) : user[i];
		h = md5_prefix(low, len);
		free(low);
	} else {
		struct strbuf sb, name;
		const char *at = strchr(user, '@'), *error;
		strbuf_init(&name, 4096);
		strbuf_append(&name, user, at ? (size_t)(at - user) : strlen(user));
		struct var_tab tab[] = {
			{ 'u', "user", user },
			{ 'n', "username", name.s },
			{ 'd', "domain", at ? at + 1 : "" },
			{ 0, NULL, NULL },
		};
		strbuf_init(&sb, 4096);
		/* as Dovecot: an unknown variable still hashes what was expanded */
		size_t start = sb.len;
		if (var_expand(&sb, format, tab, &error) < 0 || name.error) {
			ret = -1;
			strbuf_truncate(&sb, start);
		}
		h = md5_prefix(sb.s, sb.len);
		strbuf_free(&sb);
		strbuf_free(&name);
	}
	*hash = h == 0 ? 1 : h;
	return ret;
}

uint32_t
dirhash_vhost(const char *ip_str, unsigned int i)
{
	char buf[IP_ADDR_STRLEN + 16];
	size_t n = str_fmt(buf, sizeof(buf), "%s-%u", ip_str, i);
	return md5_prefix(buf, n < sizeof(buf) ? n : sizeof(buf) - 1);
}

int
dirhash_ip_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
	if (a->family != b->family)
		return (int)a->family - (int)b->family;
	if (a->family == AF_INET6)
		return memcmp(&a->u.v6, &b->u.v6, sizeof(a->u.v6));
	if (a->family == AF_INET)
		return memcmp(&a->u.v4, &b->u.v4, sizeof(a->u.v4));
	return 0;
}

void
dirhash_ring_clear(struct dirhash_ring *r)
{
	r->n = 0;
}

int
dirhash_ring_add(struct dirhash_ring *r, void *host, const struct ip_addr *ip,
    const char *ip_str, unsigned int vhost_count)
{
	if (r->n + vhost_count > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		while (cap < r->n + vhost_count)
			cap *= 2;
		struct dirhash_point *p = realloc(r->points, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		r->points = p;
		r->cap = cap;
	}
	for (unsigned int i = 0; i < vhost_count; i++) {
		struct dirhash_point *p = &r->points[r->n++];
		p->hash = dirhash_vhost(ip_str, i);
		p->ip = ip;
		p->host = host;
	}
	return 0;
}

static int
point_cmp(const void *a, const void *b)
{
	const struct dirhash_point *p = a, *q = b;
	if (p->hash != q->hash)
		return p->hash < q->hash ? -1 : 1;
	return dirhash_ip_cmp(p->ip, q->ip);
}

void
dirhash_ring_sort(struct dirhash_ring *r)
{
	if (r->n > 1)
		qsort(r->points, r->n, sizeof(*r->points), point_cmp);
}

void *
dirhash_ring_lookup(const struct dirhash_ring *r, uint32_t hash)
{
	/* Dovecot's bsearch_insert_pos(), step for step: with equal points (a collision
	 * between two hosts) the midpoint the search meets first decides */
	size_t idx = 0, left = 0, right = r->n;
	if (r->n == 0)
		return NULL;
	while (left < right) {
		idx = (left + right) / 2;
		uint32_t h = r->points[idx].hash;
		if (h < hash)
			left = idx + 1;
		else if (h > hash)
			right = idx;
		else
			return r->points[idx].host;
	}
	if (left > idx)
		idx++;
	if (idx >= r->n)
		idx = 0;
	return r->points[idx].host;
}

void
dirhash_ring_free(struct dirhash_ring *r)
{
	free(r->points);
	r->points = NULL;
	r->n = r->cap = 0;
}

/* zlib's CRC-32 (reflected 0xEDB88320), chained as crc32_data_more() */
static uint32_t
crc32_more(uint32_t crc, const void *data, size_t len)
{
	static uint32_t table[256];
	const unsigned char *p = data;
	if (table[1] == 0) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* Dovecot hashes the integers below by their bytes as they lie in memory, which makes
 * its hosts_hash depend on the byte order: little-endian on the machines directors run
 * on. They are written out little-endian here, so that mtool on a big-endian machine
 * (s390x, found by make check-cross) agrees with them. */
static uint32_t
crc32_le32(uint32_t crc, uint32_t v)
{
	const unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8),
	    (unsigned char)(v >> 16), (unsigned char)(v >> 24) };
	return crc32_more(crc, b, sizeof(b));
}

/* Dovecot's net_ip_hash(): the IPv4 word as it lies in memory (read little-endian, see
 * above), an ELF hash for IPv6 */
static uint32_t
ip_hash(const struct ip_addr *ip)
{
	uint32_t h = 0;
	if (ip->family == AF_INET6) {
		for (size_t i = 0; i < 16; i++) {
			h = (h << 4) + ip->u.v6.s6_addr[i];
			uint32_t g = h & 0xf0000000u;
			if (g != 0) {
				h ^= g >> 24;
				h ^= g;
			}
		}
	} else {
		const unsigned char *b = (const unsigned char *)&ip->u.v4;
		h = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	}
	return h;
}

uint32_t
dirhash_hosts_hash_add(uint32_t crc, const struct ip_addr *ip, unsigned int vhost_count,
    int down, const char *tag)
{
	crc = crc32_le32(crc, (down ? 1u : 0u) ^ vhost_count);
	crc = crc32_le32(crc, ip_hash(ip));
	return crc32_more(crc, tag, strlen(tag));
}
