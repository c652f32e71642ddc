/* SPDX-License-Identifier: MIT */
#include "core/sql_drv.h"
#include "core/str.h"
static void *
my_parse(const char *host, const struct sql_param *ps, size_t n, char *err, size_t errlen)
{
	(void)host; (void)ps; (void)n;
	str_copy(err, "mysql: not yet", errlen);
	return NULL;
}
const struct sql_driver sql_driver_mysql = { .name = "mysql", .parse = my_parse };
