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

/* Dovecot's log_timestamp: the strftime(3) conversions %Y %y %m %d %e %H %M %S %j %b %h
 * %a %F %T %z %% and Dovecot's %{usecs}, in the C locale, into buf (always terminated;
 * cut at len). Others are left out; timefmt_strf_check() finds them first (the byte
 * after the '%' in *bad). Returns the length written. */
size_t timefmt_strf(char *buf, size_t len, const char *fmt, time_t t, long usecs);
int timefmt_strf_check(const char *fmt, char *bad);

#endif
