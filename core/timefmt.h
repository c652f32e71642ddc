/* SPDX-License-Identifier: MIT */
/* core/timefmt.h: the two local-time stamps mtool prints, as Dovecot prints them, without
 * strftime(3) (which brings the locale's tables into a static binary). C locale only. */
#ifndef CORE_TIMEFMT_H
#define CORE_TIMEFMT_H

#include <stddef.h>
#include <time.h>

/* Log lines: "Nov 02 09:05:01" (strftime's "%b %d %H:%M:%S"). */
size_t timefmt_log(char *buf, size_t len, time_t t);
/* doveadm and auth texts: "2026-11-02 09:05:01" ("%Y-%m-%d %H:%M:%S"). */
size_t timefmt_iso(char *buf, size_t len, time_t t);

#endif
