/* SPDX-License-Identifier: MIT */
#include "core/smtpdot.h"

#include <string.h>

enum {
	DOT_BOL,	/* at the start of a line */
	DOT_MID,	/* inside a line */
	DOT_DOT,	/* a line started with "." (held back) */
	DOT_DOTCR,	/* ".\r" held back */
};

size_t
smtpdot_data_scan(struct smtpdot *d, const char *in, size_t len, smtpdot_out_fn *out, void *arg,
    int *done)
{
	size_t i = 0, run = 0;	/* in[run..i) is to be kept and not yet given out */

	*done = 0;
	while (i < len && !*done) {
		switch (d->state) {
		case DOT_BOL:
			if (in[i] != '.') {
				d->state = DOT_MID;
				break;
			}
			if (i > run && out(arg, in + run, i - run) < 0)
				return (size_t)-1;
			d->state = DOT_DOT;
			run = ++i;
			break;
		case DOT_MID: {
			const char *lf = memchr(in + i, '\n', len - i);
			i = lf ? (size_t)(lf - in) + 1 : len;
			if (lf)
				d->state = DOT_BOL;
			break;
		}
		case DOT_DOT:
		case DOT_DOTCR:
			if (in[i] == '\n') {
				*done = 1;
				d->state = DOT_BOL;
				i++;
				run = i;
			} else if (in[i] == '\r' && d->state == DOT_DOT) {
				d->state = DOT_DOTCR;
				run = ++i;
			} else {
				/* a stuffed (or plain) line starting with '.': kept as sent */
				const char *held = d->state == DOT_DOT ? "." : ".\r";
				if (out(arg, held, strlen(held)) < 0)
					return (size_t)-1;
				d->state = DOT_MID;
			}
			break;
		}
	}
	if (!*done && i > run && out(arg, in + run, i - run) < 0)
		return (size_t)-1;
	return i;
}

int
smtpdot_stuff(struct smtpdot *d, const char *in, size_t len, smtpdot_out_fn *out, void *arg)
{
	size_t i = 0;
	while (i < len) {
		if (d->state == DOT_BOL && in[i] == '.' && out(arg, ".", 1) < 0)
			return -1;
		const char *lf = memchr(in + i, '\n', len - i);
		size_t end = lf ? (size_t)(lf - in) + 1 : len;
		if (out(arg, in + i, end - i) < 0)
			return -1;
		d->state = lf ? DOT_BOL : DOT_MID;
		i = end;
	}
	return 0;
}

int
smtpdot_in_line(const struct smtpdot *d)
{
	return d->state != DOT_BOL;
}
