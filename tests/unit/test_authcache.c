/* SPDX-License-Identifier: MIT */
/* core/authcache: hits and misses, ttl and negative ttl, replacement, the byte limit
 * (least recently used first), flushing by user; and var_template_vars, which makes the
 * keys' templates. */
#include "tests/unit/unit.h"
#include "core/authcache.h"
#include "core/varexpand.h"

#include <stdio.h>

TEST(authcache_hits_ttl_and_flush)
{
	struct authcache *c = authcache_new(1024 * 1024, 60, 10);
	const struct authcache_field f[] = { { "password", "{PLAIN}x" }, { "nopassword", NULL } };
	const struct authcache_entry *e;

	CHECK(authcache_new(0, 1, 1) == NULL);
	CHECK(authcache_get(c, "P0\tu1\t", 100) == NULL);
	authcache_put(c, "P0\tu1\t", "u1", 0, 1, f, 2, 100);
	authcache_put(c, "P0\tu2\t", "u2", 1, 0, NULL, 0, 100);
	e = authcache_get(c, "P0\tu1\t", 159);
	CHECK(e != NULL && !e->negative && e->last_success && !e->expired && e->nfields == 2);
	if (e != NULL && e->nfields == 2) {
		CHECK_STR(e->fields[0].key, "password");
		CHECK_STR(e->fields[0].value, "{PLAIN}x");
		CHECK(e->fields[1].value == NULL);
	}
	e = authcache_get(c, "P0\tu1\t", 160);
	CHECK(e != NULL && e->expired);
	e = authcache_get(c, "P0\tu2\t", 109);
	CHECK(e != NULL && e->negative && !e->expired);
	e = authcache_get(c, "P0\tu2\t", 110);
	CHECK(e != NULL && e->expired);
	authcache_set_failed(c, "P0\tu1\t");
	e = authcache_get(c, "P0\tu1\t", 100);
	CHECK(e != NULL && !e->last_success);
	/* replacing keeps one entry */
	authcache_put(c, "P0\tu1\t", "u1", 0, 1, f, 1, 200);
	e = authcache_get(c, "P0\tu1\t", 200);
	CHECK(e != NULL && e->nfields == 1 && e->last_success);
	const char *users[] = { "u2", "nobody" };
	CHECK_INT(authcache_flush(c, users, 2), 1);
	CHECK(authcache_get(c, "P0\tu2\t", 100) == NULL);
	CHECK_INT(authcache_flush(c, NULL, 0), 1);
	CHECK_INT(authcache_bytes(c), 0);
	authcache_free(c);
}

TEST(authcache_size_limit)
{
	struct authcache *c = authcache_new(20000, 60, 60);
	const struct authcache_field f[] = { { "password", "{PLAIN}secret" } };
	char key[32], user[16];

	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "P0\tuser%d\t", i);
		snprintf(user, sizeof(user), "user%d", i);
		authcache_put(c, key, user, 0, 1, f, 1, 0);
		if (i == 500)
			(void)authcache_get(c, "P0\tuser10\t", 0);	/* an old one in use */
	}
	CHECK(authcache_bytes(c) <= 20000);
	CHECK(authcache_get(c, "P0\tuser999\t", 0) != NULL);
	CHECK(authcache_get(c, "P0\tuser0\t", 0) == NULL);
	/* an entry over a tenth of the cache is not kept */
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const struct authcache_field bf[] = { { "password", big } };
	authcache_put(c, "P0\tbig\t", "big", 0, 1, bf, 1, 0);
	CHECK(authcache_get(c, "P0\tbig\t", 0) == NULL);
	authcache_free(c);
}

TEST(var_template_vars_for_cache_keys)
{
	struct strbuf sb;

	strbuf_init(&sb, 1024);
	var_template_vars(&sb, "SELECT x FROM t WHERE u = '%u' AND d = '%Ld' AND s LIKE 'a%%' "
	    "AND r = '%{rip}' AND n = '%1.2n' AND tail = '%");
	CHECK_STR(sb.s, "%u\t%Ld\t%{rip}\t%1.2n\t");
	strbuf_free(&sb);
}
