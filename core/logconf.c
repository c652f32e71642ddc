/* SPDX-License-Identifier: MIT */
#include "core/logconf.h"

#include <errno.h>
#include <string.h>

#include "core/conf.h"
#include "core/log.h"

static int
bad(FILE *errf, const struct conf_node *n, const char *key, const char *why)
{
	if (n != NULL)
		fprintf(errf, "%s:%u: ", n->file, n->line);
	fprintf(errf, "%s: %s\n", key, why);
	return -1;
}

int
logconf_open(const char *prefix, const struct conf *conf, int debug, FILE *errf)
{
	const struct conf_node *root = conf_root(conf);
	const struct conf_node *info = conf_find(root, "info_log_path");
	const struct conf_node *dbg = conf_find(root, "debug_log_path");
	const struct conf_node *ts = conf_find(root, "log_timestamp");
	char c;

	if (log_open(prefix, conf_get(root, "log_path", ""), debug) < 0)
		return bad(errf, conf_find(root, "log_path"), "log_path", strerror(errno));
	if (log_open_levels(info ? info->value : NULL, dbg ? dbg->value : NULL) < 0)
		return bad(errf, info != NULL ? info : dbg, info != NULL ? "info_log_path" :
		    "debug_log_path", errno == ENOTSUP ? "syslog here needs log_path = syslog "
		    "too" : strerror(errno));
	log_set_ident(conf_get(root, "instance_name", NULL));
	if (ts != NULL && log_set_timestamp(ts->value, &c) < 0) {
		char why[64];
		snprintf(why, sizeof(why), c != '\0' ? "%%%c is not supported" :
		    "longer than 63 bytes", c);
		return bad(errf, ts, "log_timestamp", why);
	}
	return 0;
}
