/* SPDX-License-Identifier: MIT */
/* core/logconf.h: a daemon's logging as its dovecot.conf says: log_path, info_log_path,
 * debug_log_path, log_timestamp and instance_name (the syslog tag) (core/log.h does the
 * writing). */
#ifndef CORE_LOGCONF_H
#define CORE_LOGCONF_H

#include <stdio.h>

struct conf;

/* log_open(prefix, log_path, debug), then the other settings of conf's top level.
 * Returns 0, or -1 with "<file>:<line>: <setting>: <why>" written to errf. */
int logconf_open(const char *prefix, const struct conf *conf, int debug, FILE *errf);

#endif
