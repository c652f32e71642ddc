/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a MySQL or MariaDB server's answer to a query (core/mysql's packet parser),
 * fed whole, then in pieces the way a socket may split it. */
#include "core/mysql.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mysql_conn *my = mysql_test_new();
	size_t have = 0, used = 0;

	if (my == NULL)
		return 0;
	(void)mysql_test_feed(my, data, size);
	(void)mysql_test_state(my);
	mysql_test_free(my);

	/* the same bytes arriving in pieces: the parser sees each prefix it has not used */
	if ((my = mysql_test_new()) == NULL)
		return 0;
	while (have < size) {
		have += 1 + (size - have) / 3;
		long r = mysql_test_feed(my, data + used, have - used);
		if (r < 0)
			break;
		used += (size_t)r;
	}
	mysql_test_free(my);
	return 0;
}
