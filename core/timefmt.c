/* SPDX-License-Identifier: MIT */
#include "core/timefmt.h"

#include "core/feature.h"
#include "core/str.h"

/* Feature LOCALTIME (mk/features.mk) is the time zone (TZ, /etc/localtime: musl's zone
 * code); without it times are UTC. */
static struct tm *
broken_down(const time_t *t, struct tm *tm)
{
	return FEATURE_IF(MTOOL_WITH_LOCALTIME, localtime_r(t, tm))
	    FEATURE_IF_NOT(MTOOL_WITH_LOCALTIME, gmtime_r(t, tm));
}

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Both return what str_fmt returns; an unrepresentable time gives "". */
size_t
timefmt_log(char *buf, size_t len, time_t t)
{
	struct tm tm;
	if (broken_down(&t, &tm) == NULL || tm.tm_mon < 0 || tm.tm_mon > 11)
		return str_copy(buf, "", len);
	return str_fmt(buf, len, "%s %02d %02d:%02d:%02d", months[tm.tm_mon], tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

size_t
timefmt_iso(char *buf, size_t len, time_t t)
{
	struct tm tm;
	if (broken_down(&t, &tm) == NULL)
		return str_copy(buf, "", len);
	return str_fmt(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
