/* SPDX-License-Identifier: MIT */
/* The conversions mtool uses, as the C library writes them: the same expectations hold
 * for musl's vfprintf (full profile) and core/printf.c (feature SMALL_PRINTF). */
#include "tests/unit/unit.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* through vsnprintf, so that the compiler cannot work the answer out itself */
static int __attribute__((noinline, format(printf, 3, 4)))
fmt(char *b, size_t n, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int r = vsnprintf(b, n, f, ap);
	va_end(ap);
	return r;
}

#define FMT(want, ...) do { \
	char b_[256]; \
	int n_ = fmt(b_, sizeof(b_), __VA_ARGS__); \
	CHECK_STR(b_, want); \
	CHECK_INT(n_, (long long)strlen(want)); \
} while (0)

TEST(printf_integers)
{
	FMT("0 -1 42 2147483647 -2147483648", "%d %d %i %d %d", 0, -1, 42, INT_MAX, INT_MIN);
	FMT("4294967295 ffffffff FFFFFFFF 37777777777", "%u %x %X %o", UINT_MAX, UINT_MAX,
	    UINT_MAX, UINT_MAX);
	FMT("-9223372036854775808 18446744073709551615", "%lld %llu", LLONG_MIN, ULLONG_MAX);
	FMT("-5 7 123456789012 -3", "%ld %lu %zu %td", -5L, 7UL, (size_t)123456789012ULL,
	    (ptrdiff_t)-3);
	FMT("-1 255 -1 65535 9", "%hhd %hhu %hd %hu %jd", (signed char)-1, (unsigned char)255,
	    (short)-1, (unsigned short)65535, (intmax_t)9);
}

TEST(printf_width_precision_flags)
{
	FMT("07 007 0042 000000000000002a", "%02d %03u %04d %016llx", 7, 7u, 42, 42ULL);
	FMT("[   42][42   ][+42][ 42][-0042]", "[%5d][%-5d][%+d][% d][%05d]", 42, 42, 42, 42,
	    -42);
	FMT("[  007][0x1f][0X1F][017][0]", "[%5.3d][%#x][%#X][%#o][%#x]", 7, 31, 31, 15, 0);
	FMT("[][0][   ]", "[%.0d][%.0d%.1d][%3.0u]", 0, 0, 0, 0u);
	FMT("0a 00ff", "%02x %04x", 10, 255);
	FMT("[    7][7    ]", "[%*d][%*d]", 5, 7, -5, 7);
}

TEST(printf_strings_chars)
{
	FMT("abc|ab|ab   |   ab|x|%", "%s|%.2s|%-5s|%5s|%c|%%", "abc", "abc", "ab", "ab", 'x');
	FMT("[abc][ab]", "[%.*s][%-*.*s]", 3, "abcdef", 0, 2, "abc");
	FMT("[  a][b  ]", "[%3c][%-3c]", 'a', 'b');
	const char *volatile null = NULL;
	FMT("(null)", "%s", null);
	FMT("", "%s", "");
}

TEST(printf_pointer_errno_truncation)
{
	char b[8];
	FMT("0x1234", "%p", (void *)(uintptr_t)0x1234);
	errno = ENOENT;
	FMT("No such file or directory", "%m");
	CHECK_INT(fmt(b, sizeof(b), "%s-%d", "abcdef", 12345), 12);
	CHECK_STR(b, "abcdef-");
	CHECK_INT(fmt(NULL, 0, "%u", 1000u), 4);
}

TEST(printf_to_streams)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	CHECK(f != NULL);
	CHECK_INT(fprintf(f, "%s:%u: %s\n", "a.conf", 12u, "bad"), 15);
	/* longer than core/printf.c gathers at once */
	CHECK_INT(fprintf(f, "%-700s|%s", "x", "end"), 704);
	fclose(f);
	CHECK_INT(len, 15 + 704);
	CHECK(strncmp(mem, "a.conf:12: bad\nx ", 17) == 0);
	CHECK_STR(mem + 15 + 700, "|end");
	free(mem);
}
