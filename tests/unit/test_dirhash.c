/* SPDX-License-Identifier: MIT */
/* tests/unit/test_dirhash.c: the director hash against values of the real Dovecot 2.3
 * (doveadm director map -u, and the director's Hashed answers). */
#include <stdint.h>

#include "core/dirhash.h"
#include "tests/unit/unit.h"

TEST(dirhash_user_known)
{
	uint32_t h;
	/* doveadm director map -u test / user@example.com, Debian's 2.3.19 */
	CHECK_INT(dirhash_user("test", "%Lu", &h), 0);
	CHECK_INT(h, 160394189);
	CHECK_INT(dirhash_user("Test", "%Lu", &h), 0);
	CHECK_INT(h, 160394189);
	CHECK_INT(dirhash_user("user@example.com", "%Lu", &h), 0);
	CHECK_INT(h, 3045693125u);
	CHECK_INT(dirhash_user("Test", "%u", &h), 0);
	CHECK(h != 160394189);
	/* %n: the part before '@', so the domain does not matter */
	uint32_t a, b;
	CHECK_INT(dirhash_user("test@one.example", "%n", &a), 0);
	CHECK_INT(dirhash_user("test", "%u", &b), 0);
	CHECK_INT(a, b);
	CHECK_INT(dirhash_user("x@Example.COM", "%Ld", &a), 0);
	CHECK_INT(dirhash_user("example.com", "%u", &b), 0);
	CHECK_INT(a, b);
	CHECK_INT(dirhash_user("x", "%z", &a), -1);
}

TEST(dirhash_vhost_known)
{
	CHECK_INT(dirhash_vhost("10.0.0.1", 0), 1014535201);
	CHECK_INT(dirhash_vhost("10.0.0.1", 1), 3096594127u);
	CHECK_INT(dirhash_vhost("10.0.0.1", 2), 2719269830u);
}

TEST(dirhash_ring_lookup)
{
	struct dirhash_ring r = { 0 };
	struct ip_addr a, b;
	int ha = 1, hb = 2;
	ip_parse("127.0.0.2", &a);
	ip_parse("127.0.0.3", &b);
	CHECK(dirhash_ring_lookup(&r, 5) == NULL);
	CHECK_INT(dirhash_ring_add(&r, &ha, &a, "127.0.0.2", 100), 0);
	CHECK_INT(dirhash_ring_add(&r, &hb, &b, "127.0.0.3", 100), 0);
	dirhash_ring_sort(&r);
	CHECK_INT(r.n, 200);
	for (size_t i = 1; i < r.n; i++)
		CHECK(r.points[i - 1].hash <= r.points[i].hash);
	/* exact point, between points, past the last point (wraps to the first) */
	CHECK(dirhash_ring_lookup(&r, r.points[7].hash) == r.points[7].host);
	CHECK(dirhash_ring_lookup(&r, r.points[7].hash + 1) == r.points[8].host);
	CHECK(dirhash_ring_lookup(&r, 0xffffffffu) == r.points[0].host);
	CHECK(dirhash_ring_lookup(&r, 0) == r.points[0].host);
	/* the real Dovecot 2.3.19 director's "Initial config" (these two hosts at 100 vhosts)
	 * (shared/lab/golden/director: status-user, status-user-unknown, map) */
	uint32_t h;
	dirhash_user("user10@example.org", "%Lu", &h);
	CHECK_INT(h, 3937388976u);
	CHECK(dirhash_ring_lookup(&r, h) == &hb);
	dirhash_user("nobody@example.org", "%Lu", &h);
	CHECK(dirhash_ring_lookup(&r, h) == &ha);
	dirhash_user("user50@example.org", "%Lu", &h);
	CHECK_INT(h, 4092738889u);
	dirhash_user("user14@example.org", "%Lu", &h);
	CHECK_INT(h, 255156136);
	dirhash_ring_free(&r);
}

TEST(dirhash_hosts_hash)
{
	struct ip_addr a, b;
	ip_parse("10.0.0.1", &a);
	ip_parse("10.0.0.2", &b);
	uint32_t c = dirhash_hosts_hash_add(0, &a, 100, 0, "");
	CHECK_INT(dirhash_hosts_hash_final(c), 691642842);
	c = dirhash_hosts_hash_add(c, &b, 100, 0, "");
	CHECK_INT(dirhash_hosts_hash_final(c), 697653630);
}
