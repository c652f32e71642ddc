/* SPDX-License-Identifier: MIT */
/* applets/doveadm/print_text.c: doveadm's "flow", "tab" and "pager" formatters
 * (doveadm-print-{flow,tab,pager}.c). None of them escapes anything: a TAB or LF inside
 * a value is printed as it is, as doveadm does. All write to the ostream channel. */
#include <stdlib.h>

#include "applets/doveadm/print.h"

/* The column of the next value, for the formatters that need nothing else. */
struct text {
	size_t idx;
	int header_written;	/* tab: the title row's LF is out */
	int first_page;		/* pager: no form feed before the first record */
};

static int
text_init(struct print *p)
{
	struct text *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	t->first_page = 1;
	p->state = t;
	return 0;
}

static void
text_deinit(struct print *p)
{
	free(p->state);
}

static void
text_no_header(struct print *p, const struct print_hdr *h)
{
	(void)p;
	(void)h;
}

/* flow: "title=value" joined by spaces, LF after the last column. */
static void
flow_value(struct print *p, const char *value)
{
	struct text *t = p->state;
	const struct print_hdr *h = &p->hdrs[t->idx % p->nhdrs];

	if ((h->flags & PRINT_HIDE_TITLE) == 0) {
		print_out(p, h->title);
		print_out(p, "=");
	}
	print_out(p, value);
	if (++t->idx < p->nhdrs) {
		print_out(p, " ");
	} else {
		t->idx = 0;
		print_out(p, "\n");
	}
}

/* flow and pager end a partly printed record at a flush */
static void
text_flush_record(struct print *p)
{
	struct text *t = p->state;

	if (t->idx != 0) {
		print_out(p, "\n");
		t->idx = 0;
	}
}

/* tab: the titles are written as the headers are added; their LF only when the first
 * value (or a flush) comes, so an empty result is "titles LF". */
static void
tab_header(struct print *p, const struct print_hdr *h)
{
	if (p->hide_titles)
		return;
	if (p->nhdrs > 1)
		print_out(p, "\t");
	print_out(p, h->title);
}

static void
tab_flush_header(struct print *p)
{
	struct text *t = p->state;

	if (!t->header_written) {
		if (!p->hide_titles)
			print_out(p, "\n");
		t->header_written = 1;
	}
}

static void
tab_value(struct print *p, const char *value)
{
	struct text *t = p->state;

	tab_flush_header(p);
	if (t->idx > 0)
		print_out(p, "\t");
	print_out(p, value);
	if (++t->idx == p->nhdrs) {
		t->idx = 0;
		print_out(p, "\n");
	}
}

/* pager: "title: value" lines, "\f\n" before every record but the first. */
static void
pager_value(struct print *p, const char *value)
{
	struct text *t = p->state;
	const struct print_hdr *h = &p->hdrs[t->idx % p->nhdrs];

	if (t->idx == 0 && !t->first_page)
		print_out(p, "\f\n");
	t->first_page = 0;
	if ((h->flags & PRINT_HIDE_TITLE) == 0) {
		print_out(p, h->title);
		print_out(p, ": ");
	}
	print_out(p, value);
	print_out(p, "\n");
	if (++t->idx == p->nhdrs)
		t->idx = 0;
}

const struct print_fmt print_fmt_flow = {
	"flow", text_init, text_no_header, flow_value, text_flush_record, text_deinit,
};

const struct print_fmt print_fmt_tab = {
	"tab", text_init, tab_header, tab_value, tab_flush_header, text_deinit,
};

const struct print_fmt print_fmt_pager = {
	"pager", text_init, text_no_header, pager_value, text_flush_record, text_deinit,
};
