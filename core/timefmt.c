/* SPDX-License-Identifier: MIT */
#include "core/timefmt.h"

#include <string.h>

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
	/* the year in long long: tm_year + 1900 overflows an int for the last years a
	 * time_t can give (a time read from a peer) */
	return str_fmt(buf, len, "%04lld-%02d-%02d %02d:%02d:%02d", (long long)tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* One conversion of timefmt_strf's subset into out (at most 31 bytes); -1 if unknown. */
static int
conv(char c, const struct tm *tm, long usecs, char *out)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	int mon = tm->tm_mon >= 0 && tm->tm_mon < 12 ? tm->tm_mon : 0;
	int wday = tm->tm_wday >= 0 && tm->tm_wday < 7 ? tm->tm_wday : 0;
	long off = tm->tm_gmtoff;

	switch (c) {
	case 'Y': return (int)str_fmt(out, 32, "%d", tm->tm_year + 1900);
	case 'y': return (int)str_fmt(out, 32, "%02d", (tm->tm_year + 1900) % 100);
	case 'm': return (int)str_fmt(out, 32, "%02d", tm->tm_mon + 1);
	case 'd': return (int)str_fmt(out, 32, "%02d", tm->tm_mday);
	case 'e': return (int)str_fmt(out, 32, "%2d", tm->tm_mday);
	case 'H': return (int)str_fmt(out, 32, "%02d", tm->tm_hour);
	case 'M': return (int)str_fmt(out, 32, "%02d", tm->tm_min);
	case 'S': return (int)str_fmt(out, 32, "%02d", tm->tm_sec);
	case 'j': return (int)str_fmt(out, 32, "%03d", tm->tm_yday + 1);
	case 'b': case 'h': return (int)str_copy(out, months[mon], 32);
	case 'a': return (int)str_copy(out, days[wday], 32);
	case 'F': return (int)str_fmt(out, 32, "%d-%02d-%02d", tm->tm_year + 1900,
	    tm->tm_mon + 1, tm->tm_mday);
	case 'T': return (int)str_fmt(out, 32, "%02d:%02d:%02d", tm->tm_hour, tm->tm_min,
	    tm->tm_sec);
	case 'z': return (int)str_fmt(out, 32, "%c%02ld%02ld", off < 0 ? '-' : '+',
	    (off < 0 ? -off : off) / 3600, (off < 0 ? -off : off) / 60 % 60);
	case 'u': return (int)str_fmt(out, 32, "%06ld", usecs);	/* %{usecs} */
	case '%': return (int)str_copy(out, "%", 32);
	}
	return -1;
}

int
timefmt_strf_check(const char *fmt, char *bad)
{
	struct tm tm = { .tm_mday = 1 };
	char tmp[32];

	for (const char *p = fmt; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		if (strncmp(p, "%{usecs}", 8) == 0) {
			p += 7;
			continue;
		}
		if (p[1] == 'u' || conv(p[1], &tm, 0, tmp) < 0) {
			*bad = p[1];
			return -1;
		}
		p++;
	}
	return 0;
}

size_t
timefmt_strf(char *buf, size_t len, const char *fmt, time_t t, long usecs)
{
	struct tm tm;
	size_t n = 0;
	char tmp[32];

	if (len == 0)
		return 0;
	buf[0] = '\0';
	if (broken_down(&t, &tm) == NULL)
		return 0;
	for (const char *p = fmt; *p != '\0' && n + 1 < len; p++) {
		int k;
		if (*p != '%' || p[1] == '\0') {
			buf[n++] = *p;
			continue;
		}
		if (strncmp(p, "%{usecs}", 8) == 0) {
			k = conv('u', &tm, usecs, tmp);
			p += 7;
		} else if (p[1] == 'u' || (k = conv(*++p, &tm, usecs, tmp)) < 0) {
			continue;
		}
		if (n + (size_t)k >= len)
			break;
		memcpy(buf + n, tmp, (size_t)k);
		n += (size_t)k;
	}
	buf[n] = '\0';
	return n;
}
