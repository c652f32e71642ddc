/* SPDX-License-Identifier: MIT */
/* applets/doveadm/print_table.c: doveadm's "table" formatter (doveadm-print-table.c).
 * Column widths come from the first 100 records (or from what is buffered at the first
 * flush: `who` flushes after every user, so its widths are those of the first row);
 * later rows reuse them and are never truncated. It writes through stdio, as doveadm's
 * printf() does. Its quirks are kept on purpose: every column is padded, also the last;
 * the spare width goes half to the first EXPAND column (else the last one); the shrink
 * pass runs once over the columns and gives up. */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "applets/doveadm/doveadm.h"
#include "applets/doveadm/print.h"

#define TABLE_DEFAULT_COLUMNS	80	/* stdout is not a terminal */
#define TABLE_MIN_COLUMNS	30
#define TABLE_BUFFER_LINES	100

struct table_col {
	size_t min_length, max_length, length;
};

struct table {
	struct table_col *cols;
	char **buffered;	/* values of the first lines, owned */
	size_t nbuffered, capbuffered;
	size_t idx;		/* column of the next value once lengths are set */
	int lengths_set;
};

static int
table_init(struct print *p)
{
	struct winsize ws;

	p->state = calloc(1, sizeof(struct table));
	if (p->state == NULL)
		return -1;
	p->columns = TABLE_DEFAULT_COLUMNS;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		p->columns = ws.ws_col < TABLE_MIN_COLUMNS ? TABLE_MIN_COLUMNS : ws.ws_col;
	return 0;
}

static void
table_header(struct print *p, const struct print_hdr *h)
{
	struct table *t = p->state;
	struct table_col *c = realloc(t->cols, p->nhdrs * sizeof(*c));

	if (c == NULL)
		dv_fatal("Out of memory");
	t->cols = c;
	/* titles are measured in bytes, values in characters (as doveadm) */
	c[p->nhdrs - 1].min_length = c[p->nhdrs - 1].max_length =
	    c[p->nhdrs - 1].length = strlen(h->title);
}

static void
table_calc_lengths(struct print *p)
{
	struct table *t = p->state;
	struct table_col *c = t->cols;
	size_t n = p->nhdrs, max_length = 0, i;

	t->lengths_set = 1;
	for (size_t v = 0; v < t->nbuffered; v++) {
		size_t len = print_utf8_strlen(t->buffered[v]);
		i = v % n;
		if (c[i].min_length > len)
			c[i].min_length = len;
		if (c[i].max_length < len)
			c[i].max_length = c[i].length = len;
	}
	for (i = 0; i < n; i++)
		max_length += c[i].max_length + 1;
	max_length--;

	while (max_length > p->columns) {
		size_t orig_length = max_length;
		for (i = n - 1;; i--) {
			size_t diff = c[i].length - c[i].min_length;
			if (max_length - diff <= p->columns) {
				diff = max_length - p->columns;
				c[i].length -= diff;
				max_length -= diff;
				break;
			}
			if (diff > 0)
				c[i].length -= diff == 1 ? 1 : diff / 2;
			if (i == 0)
				break;
		}
		if (max_length == orig_length)
			break;	/* doveadm's loop only ends early by the branch above */
	}
	if (max_length < p->columns) {
		for (i = 0; i < n; i++) {
			if (p->hdrs[i].flags & PRINT_EXPAND) {
				i++;
				break;
			}
		}
		c[i - 1].length += (p->columns - max_length) / 2;
	}
}

/* printf("%-*s") / printf("%*s") with a width in bytes. */
static void
table_pad(struct print *p, const char *s, size_t width, int right)
{
	size_t len = strlen(s);

	if (right)
		for (; width > len; width--)
			print_std(p, " ");
	print_std_n(p, s, len);
	if (!right)
		for (; width > len; width--)
			print_std(p, " ");
}

static void
table_print_next(struct print *p, const char *value)
{
	struct table *t = p->state;
	size_t i = t->idx;

	table_pad(p, value, t->cols[i].length + print_utf8_contbytes(value),
	    p->hdrs[i].flags & PRINT_RIGHT_JUSTIFY);
	if (++t->idx == p->nhdrs) {
		t->idx = 0;
		print_std(p, "\n");
	} else {
		print_std(p, " ");
	}
}

static void
table_print_titles(struct print *p)
{
	struct table *t = p->state;
	size_t i;

	if (p->hide_titles)
		return;
	for (i = 0; i < p->nhdrs; i++) {
		if ((p->hdrs[i].flags & PRINT_HIDE_TITLE) == 0)
			break;
	}
	if (i == p->nhdrs)
		return;
	for (i = 0; i < p->nhdrs; i++) {
		if (i > 0)
			print_std(p, " ");
		table_pad(p, p->hdrs[i].title, t->cols[i].length,
		    p->hdrs[i].flags & PRINT_RIGHT_JUSTIFY);
	}
	print_std(p, "\n");
}

static void
table_buffer_flush(struct print *p)
{
	struct table *t = p->state;

	table_calc_lengths(p);
	table_print_titles(p);
	for (size_t v = 0; v < t->nbuffered; v++) {
		table_print_next(p, t->buffered[v]);
		free(t->buffered[v]);
	}
	t->nbuffered = 0;
}

static void
table_value(struct print *p, const char *value)
{
	struct table *t = p->state;

	if (!t->lengths_set) {
		if (t->nbuffered / p->nhdrs < TABLE_BUFFER_LINES) {
			if (t->nbuffered == t->capbuffered) {
				size_t cap = t->capbuffered ? t->capbuffered * 2 : 64;
				char **b = realloc(t->buffered, cap * sizeof(*b));
				if (b == NULL)
					dv_fatal("Out of memory");
				t->buffered = b;
				t->capbuffered = cap;
			}
			if ((t->buffered[t->nbuffered] = strdup(value)) == NULL)
				dv_fatal("Out of memory");
			t->nbuffered++;
			return;
		}
		table_buffer_flush(p);
	}
	table_print_next(p, value);
}

static void
table_flush(struct print *p)
{
	struct table *t = p->state;

	if (!t->lengths_set && p->nhdrs > 0)
		table_buffer_flush(p);
	/* a row cut short (rows longer or shorter than the header, where doveadm
	 * asserts) still ends its line */
	if (t->idx != 0) {
		print_std(p, "\n");
		t->idx = 0;
	}
}

static void
table_deinit(struct print *p)
{
	struct table *t = p->state;

	for (size_t v = 0; v < t->nbuffered; v++)
		free(t->buffered[v]);
	free(t->buffered);
	free(t->cols);
	free(t);
}

const struct print_fmt print_fmt_table = {
	"table", table_init, table_header, table_value, table_flush, table_deinit,
};
