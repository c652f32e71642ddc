/* SPDX-License-Identifier: MIT */
/* core/printf.c: vfprintf() for size-first builds (feature SMALL_PRINTF, the router
 * profile). musl's vfprintf carries floating point formatting (about 10 KiB with what it
 * pulls in) that mtool never uses; printf, fprintf, dprintf, snprintf and vsnprintf all
 * end in vfprintf, so defining it here, in the executable, keeps libc's out of the link.
 * Output goes through fwrite(), so every kind of FILE works (snprintf's, open_memstream's),
 * gathered first, so that a short line reaches an unbuffered stderr in one write as with
 * musl's.
 *
 * Conversions: d i u x X o c s p m %; flags - 0 + space #; width and precision, also *;
 * lengths hh h l ll j z t. Anything else (floating point, %n) is written out as it
 * stands: tests/unit/test_printf.c pins the behaviour to the C library's. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct pf {
	FILE *f;
	size_t total, len;
	int failed;
	char buf[256];
};

static void
pf_flush(struct pf *p)
{
	if (p->len > 0 && !p->failed && fwrite(p->buf, 1, p->len, p->f) != p->len)
		p->failed = 1;
	p->len = 0;
}

static void
pf_out(struct pf *p, const char *s, size_t n)
{
	p->total += n;
	while (n > 0) {
		size_t k = sizeof(p->buf) - p->len < n ? sizeof(p->buf) - p->len : n;
		memcpy(p->buf + p->len, s, k);
		p->len += k;
		s += k;
		n -= k;
		if (p->len == sizeof(p->buf))
			pf_flush(p);
	}
}

static void
pf_pad(struct pf *p, char c, size_t n)
{
	char b[32];

	memset(b, c, sizeof(b));
	for (size_t k; n > 0; n -= k)
		pf_out(p, b, k = n < sizeof(b) ? n : sizeof(b));
}

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16 };

/* One field: prefix (sign, 0x), zeros up to the precision, body; padded to width. */
static void
pf_field(struct pf *p, int flags, size_t width, const char *prefix, size_t zeros,
    const char *body, size_t len)
{
	size_t plen = strlen(prefix), n = plen + zeros + len;
	size_t fill = width > n ? width - n : 0;

	if (!(flags & (F_LEFT | F_ZERO)))
		pf_pad(p, ' ', fill);
	pf_out(p, prefix, plen);
	if (!(flags & F_LEFT) && (flags & F_ZERO))
		pf_pad(p, '0', fill);
	pf_pad(p, '0', zeros);
	pf_out(p, body, len);
	if (flags & F_LEFT)
		pf_pad(p, ' ', fill);
}

int
vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap)
{
	struct pf p = { .f = f };
	int saved_errno = errno;

	while (*fmt != '\0') {
		const char *pct = strchr(fmt, '%');
		if (pct == NULL)
			pct = fmt + strlen(fmt);
		pf_out(&p, fmt, (size_t)(pct - fmt));
		if (*pct == '\0')
			break;
		const char *spec = pct;
		fmt = pct + 1;

		int flags = 0;
		for (;; fmt++) {
			int fl = *fmt == '-' ? F_LEFT : *fmt == '0' ? F_ZERO : *fmt == '+' ? F_PLUS :
			    *fmt == ' ' ? F_SPACE : *fmt == '#' ? F_ALT : 0;
			if (fl == 0)
				break;
			flags |= fl;
		}
		size_t width = 0;
		if (*fmt == '*') {
			int w = va_arg(ap, int);
			if (w < 0) {
				flags |= F_LEFT;
				w = w == INT_MIN ? INT_MAX : -w;
			}
			width = (size_t)w;
			fmt++;
		} else
			for (; *fmt >= '0' && *fmt <= '9'; fmt++)
				width = width * 10 + (size_t)(*fmt - '0');
		int has_prec = 0;
		size_t prec = 0;
		if (*fmt == '.') {
			has_prec = 1;
			fmt++;
			if (*fmt == '*') {
				int pr = va_arg(ap, int);
				has_prec = pr >= 0;
				prec = pr >= 0 ? (size_t)pr : 0;
				fmt++;
			} else
				for (; *fmt >= '0' && *fmt <= '9'; fmt++)
					prec = prec * 10 + (size_t)(*fmt - '0');
		}
		/* length: h and hh read an int (promoted) and narrow it below */
		int len = 0;	/* 'H' hh, 'h', 'l', 'L' ll and j, 'z', 't' */
		if (*fmt == 'h' || *fmt == 'l') {
			len = fmt[1] == fmt[0] ? (fmt[0] == 'h' ? 'H' : 'L') : fmt[0];
			fmt += fmt[1] == fmt[0] ? 2 : 1;
		} else if (*fmt == 'j') {
			len = 'L';
			fmt++;
		} else if (*fmt == 'z' || *fmt == 't')
			len = *fmt++;

		char conv = *fmt, num[3 * sizeof(unsigned long long) + 1];
		const char *s;
		if (conv == '\0') {
			pf_out(&p, spec, (size_t)(fmt - spec));
			break;
		}
		fmt++;
		switch (conv) {
		case '%':
			pf_out(&p, "%", 1);
			continue;
		case 'c':
			num[0] = (char)va_arg(ap, int);
			pf_field(&p, flags & F_LEFT, width, "", 0, num, 1);
			continue;
		case 's':
		case 'm':
			s = conv == 'm' ? strerror(saved_errno) : va_arg(ap, const char *);
			if (s == NULL)
				s = "(null)";
			pf_field(&p, flags & F_LEFT, width, "", 0, s, has_prec ? strnlen(s, prec) :
			    strlen(s));
			continue;
		case 'd': case 'i': case 'u': case 'x': case 'X': case 'o': case 'p':
			break;
		default:	/* not one mtool uses: as it stands */
			pf_out(&p, spec, (size_t)(fmt - spec));
			continue;
		}

		unsigned long long v;
		const char *prefix = "";
		if (conv == 'd' || conv == 'i') {
			long long sv = len == 'L' ? va_arg(ap, long long) : len == 'l' ?
			    va_arg(ap, long) : len == 'z' ? (long long)va_arg(ap, ptrdiff_t) :
			    len == 't' ? va_arg(ap, ptrdiff_t) : va_arg(ap, int);
			if (len == 'h')
				sv = (short)sv;
			else if (len == 'H')
				sv = (signed char)sv;
			v = sv < 0 ? -(unsigned long long)sv : (unsigned long long)sv;
			prefix = sv < 0 ? "-" : (flags & F_PLUS) ? "+" : (flags & F_SPACE) ? " " : "";
		} else {
			if (conv == 'p') {
				v = (uintptr_t)va_arg(ap, void *);
				flags |= F_ALT;
				conv = 'x';
			} else
				v = len == 'L' ? va_arg(ap, unsigned long long) : len == 'l' ?
				    va_arg(ap, unsigned long) : len == 'z' ? va_arg(ap, size_t) :
				    len == 't' ? (unsigned long long)va_arg(ap, ptrdiff_t) :
				    va_arg(ap, unsigned int);
			if (len == 'h')
				v = (unsigned short)v;
			else if (len == 'H')
				v = (unsigned char)v;
			if ((flags & F_ALT) && v != 0 && conv != 'o')
				prefix = conv == 'X' ? "0X" : "0x";
		}
		unsigned int base = conv == 'o' ? 8 : conv == 'x' || conv == 'X' ? 16 : 10;
		const char *digits = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
		char *e = num + sizeof(num), *b = e;
		for (; v != 0; v /= base)
			*--b = digits[v % base];
		size_t n = (size_t)(e - b);
		if (!has_prec)
			prec = 1;
		else
			flags &= ~F_ZERO;
		if (conv == 'o' && (flags & F_ALT) && prec <= n)
			prec = n + 1;	/* octal's # is a leading zero */
		pf_field(&p, flags, width, prefix, prec > n ? prec - n : 0, b, n);
	}
	pf_flush(&p);
	if (p.failed)
		return -1;
	if (p.total > INT_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	return (int)p.total;
}
