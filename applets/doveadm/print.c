/* SPDX-License-Identifier: MIT */
/* applets/doveadm/print.c: the formatter-independent part of doveadm's printing
 * (doveadm-print.c): choosing the formatter, the header list, the two output channels.
 * The formatters live in print_table.c, print_text.c and print_json.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/doveadm/doveadm.h"
#include "applets/doveadm/print.h"
#include "core/feature.h"

/* A formatter's output is bounded only by what the command prints; this caps one
 * unflushed ostream buffer (a proxy list of millions of sessions). */
#define PRINT_OUT_MAX	(256u * 1024 * 1024)

static struct print *pr;	/* one formatter per process, as in doveadm */
static int hide_titles;
static char *format;

static const struct print_fmt *const fmts[] = {
	&print_fmt_flow, &print_fmt_tab, &print_fmt_table, &print_fmt_pager,
	FEATURE_IF(MTOOL_WITH_DOVEADM_JSON, &print_fmt_json, &print_fmt_formatted,) NULL,
};

const struct print_fmt *
print_fmt_find(const char *name)
{
	for (size_t i = 0; fmts[i] != NULL; i++) {
		if (strcmp(fmts[i]->name, name) == 0)
			return fmts[i];
	}
	return NULL;
}

int
print_init(const char *name, int out_fd, FILE *std)
{
	if (pr != NULL)
		return 0;
	const struct print_fmt *f = print_fmt_find(name);
	if (f == NULL)
		return -1;
	struct print *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -1;
	p->fmt = f;
	p->out_fd = out_fd;
	p->std = std;
	p->hide_titles = hide_titles;
	p->format = format;
	strbuf_init(&p->out, PRINT_OUT_MAX);
	if (f->init != NULL && f->init(p) < 0) {
		free(p);
		return -1;
	}
	pr = p;
	return 0;
}

int
print_started(void)
{
	return pr != NULL;
}

void
print_set_columns(unsigned int columns)
{
	if (pr != NULL)
		pr->columns = columns;
}

void
print_set_hide_titles(int on)
{
	hide_titles = on;
	if (pr != NULL)
		pr->hide_titles = on;
}

void
print_set_format(const char *fmt)
{
	char *f = strdup(fmt);
	if (f == NULL)
		dv_fatal("Out of memory");
	free(format);
	format = f;
	if (pr != NULL)
		pr->format = format;
}

void
print_header(const char *key, const char *title, int flags)
{
	if (pr == NULL)
		return;
	if (pr->nhdrs == pr->caphdrs) {
		size_t cap = pr->caphdrs ? pr->caphdrs * 2 : 8;
		struct print_hdr *h = realloc(pr->hdrs, cap * sizeof(*h));
		if (h == NULL)
			dv_fatal("Out of memory");
		pr->hdrs = h;
		pr->caphdrs = cap;
	}
	struct print_hdr *h = &pr->hdrs[pr->nhdrs];
	h->key = strdup(key);
	h->title = strdup(title);
	h->flags = flags;
	if (h->key == NULL || h->title == NULL)
		dv_fatal("Out of memory");
	pr->nhdrs++;
	pr->fmt->header(pr, h);
}

void
print_header_simple(const char *key_title)
{
	print_header(key_title, key_title, 0);
}

void
print_value(const char *value)
{
	/* doveadm would index past its header array (or divide by zero) here */
	if (pr != NULL && pr->nhdrs > 0)
		pr->fmt->value(pr, value);
}

void
print_out_write(struct print *p)
{
	size_t off = 0;

	if (p->out.error)
		dv_fatal("Out of memory");
	while (off < p->out.len) {
		ssize_t n = write(p->out_fd, p->out.s + off, p->out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* doveadm ignores stdout errors (no_error_handling) */
		off += (size_t)n;
	}
	strbuf_truncate(&p->out, 0);
}

void
print_flush(void)
{
	if (pr == NULL)
		return;
	if (pr->fmt->flush != NULL)
		pr->fmt->flush(pr);
	print_out_write(pr);
}

static void
print_free(void)
{
	if (pr->fmt->deinit != NULL)
		pr->fmt->deinit(pr);
	for (size_t i = 0; i < pr->nhdrs; i++) {
		free(pr->hdrs[i].key);
		free(pr->hdrs[i].title);
	}
	free(pr->hdrs);
	strbuf_free(&pr->out);
	free(pr);
	pr = NULL;
	free(format);
	format = NULL;
}

void
print_deinit(void)
{
	if (pr == NULL)
		return;
	print_flush();
	print_free();
}

void
print_discard(void)
{
	if (pr != NULL)
		print_free();
}

void
print_out(struct print *p, const char *s)
{
	strbuf_puts(&p->out, s);
}

void
print_out_n(struct print *p, const void *s, size_t len)
{
	strbuf_append(&p->out, s, len);
}

void
print_std(struct print *p, const char *s)
{
	fputs(s, p->std);
}

void
print_std_n(struct print *p, const void *s, size_t len)
{
	fwrite(s, 1, len, p->std);
}

void
print_stdio(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
}

/* Dovecot's uni_utf8_char_bytes(): 0x00-0xc1 count as one byte (ASCII or invalid). */
static unsigned int
utf8_char_bytes(unsigned char c)
{
	if (c < 0xc2)
		return 1;
	if (c < 0xe0)
		return 2;
	if (c < 0xf0)
		return 3;
	if (c < 0xf8)
		return 4;
	if (c < 0xfc)
		return 5;
	if (c < 0xfe)
		return 6;
	return 1;
}

size_t
print_utf8_strlen(const char *s)
{
	size_t size = strlen(s), i = 0, len = 0;

	while (i < size) {
		unsigned int n = utf8_char_bytes((unsigned char)s[i]);
		if (i + n > size)
			break;
		i += n;
		len++;
	}
	return len;
}

size_t
print_utf8_contbytes(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) == 0x80)
			n++;
	}
	return n;
}
