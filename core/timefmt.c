/* SPDX-License-Identifier: MIT */
#include "core/timefmt.h"

#include "core/str.h"

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Both return what str_fmt returns; an unrepresentable time gives "". */
size_t
timefmt_log(char *buf, size_t len, time_t t)
{
	struct tm tm;
	if (localtime_r(&t, &tm) == NULL || tm.tm_mon < 0 || tm.tm_mon > 11)
		return str_copy(buf, "", len);
	return str_fmt(buf, len, "%s %02d %02d:%02d:%02d", months[tm.tm_mon], tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

size_t
timefmt_iso(char *buf, size_t len, time_t t)
{
	struct tm tm;
	if (localtime_r(&t, &tm) == NULL)
		return str_copy(buf, "", len);
	/* the year in long long: tm_year + 1900 overflows an int for the last years a
	 * time_t can give (a time read from a peer) */
	return str_fmt(buf, len, "%04lld-%02d-%02d %02d:%02d:%02d", (long long)tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
