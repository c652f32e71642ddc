/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a PostgreSQL server's answer to a query (core/pgsql's message parser),
 * fed whole, then in pieces the way a socket may split it. */
#include "core/pgsql.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgsql_conn *pg = pgsql_test_new();
	size_t have = 0, used = 0;

	if (pg == NULL)
		return 0;
	(void)pgsql_test_feed(pg, data, size);
	(void)pgsql_test_state(pg);
	pgsql_test_free(pg);

	/* the same bytes arriving in pieces: the parser sees each prefix it has not used */
	if ((pg = pgsql_test_new()) == NULL)
		return 0;
	while (have < size) {
		have += 1 + (size - have) / 3;
		long r = pgsql_test_feed(pg, data + used, have - used);
		if (r < 0)
			break;
		used += (size_t)r;
	}
	pgsql_test_free(pg);
	return 0;
}
