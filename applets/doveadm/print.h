/* SPDX-License-Identifier: MIT */
/* applets/doveadm/print.h: doveadm's output formatters (flow, tab, table, pager, json,
 * formatted), byte for byte as Dovecot 2.3's doveadm-print*.c. Not a general printf
 * layer: a command declares headers, then feeds values one at a time; a record ends
 * after one value per header.
 *
 * Two output channels, because doveadm has two and their bytes interleave by timing:
 * "ostream" (flow, tab, pager, json, formatted) is buffered here and written to the
 * output fd only by print_flush() and print_deinit(), as doveadm's corked ostream; the
 * table formatter and print_stdio() write through C stdio (fully buffered on a pipe,
 * written at exit), as doveadm's printf(). So `kick` prints its user list before its
 * "kicked connections ..." line when stdout is a pipe, as doveadm does. */
#ifndef DOVEADM_PRINT_H
#define DOVEADM_PRINT_H

#include <stdio.h>

#include "core/str.h"

/* Header flags, with doveadm's values. */
#define PRINT_RIGHT_JUSTIFY	0x01
#define PRINT_HIDE_TITLE	0x04
#define PRINT_EXPAND		0x08

struct print_hdr {
	char *key;	/* json and formatted use the key */
	char *title;	/* flow, tab, table, pager use the title */
	int flags;
};

struct print;

/* One formatter. Each function gets the print context; state is the formatter's own
 * (allocated by init, freed by deinit). */
struct print_fmt {
	const char *name;
	int (*init)(struct print *);
	void (*header)(struct print *, const struct print_hdr *);
	void (*value)(struct print *, const char *);
	void (*flush)(struct print *);
	void (*deinit)(struct print *);
};

struct print {
	const struct print_fmt *fmt;
	struct print_hdr *hdrs;
	size_t nhdrs, caphdrs;
	struct strbuf out;	/* the "ostream": written at flush */
	int out_fd;
	FILE *std;		/* the "stdio" channel */
	int hide_titles;	/* global -h */
	unsigned int columns;	/* table: terminal width */
	char *format;		/* formatted: "%{count} connections kicked\n" */
	void *state;
};

extern const struct print_fmt print_fmt_flow, print_fmt_tab, print_fmt_table,
    print_fmt_pager, print_fmt_json, print_fmt_formatted;

/* The formatter called name, or NULL ("server" is not one: doveadm has it only in
 * server mode). */
const struct print_fmt *print_fmt_find(const char *name);

/* Starts printing with the formatter called name, writing the ostream channel to
 * out_fd and the stdio channel to std. If printing already started (doveadm's -f), this
 * does nothing and returns 0, as doveadm ignores a command's own choice then. Returns
 * -1 for an unknown name or out of memory (nothing started). */
int print_init(const char *name, int out_fd, FILE *std);
int print_started(void);

/* The table formatter's width instead of the terminal's (80 when stdout is none);
 * for tests: doveadm has no such option. Call after print_init. */
void print_set_columns(unsigned int columns);

/* -h: no title rows (tab, table). Call before print_init or any header. */
void print_set_hide_titles(int);

/* The formatted formatter's format: %{key} is the value of the header with that key,
 * %% a percent sign. Kept even if another formatter prints (as doveadm). */
void print_set_format(const char *format);

void print_header(const char *key, const char *title, int flags);
void print_header_simple(const char *key_title);
void print_value(const char *value);

/* doveadm_print_flush(): the formatter's flush, then the ostream buffer is written. */
void print_flush(void);

/* The end of a successful command: flush, write, free. Safe without print_init. */
void print_deinit(void);

/* Frees without writing anything: what a fatal error leaves of doveadm's buffers. */
void print_discard(void);

/* printf() on the stdio channel (doveadm's own printf calls). */
void print_stdio(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For formatters: the ostream channel and the stdio channel. */
void print_out(struct print *, const char *s);
void print_out_n(struct print *, const void *s, size_t len);
void print_std(struct print *, const char *s);
void print_std_n(struct print *, const void *s, size_t len);

/* Writes the ostream buffer to out_fd now (doveadm's uncork). */
void print_out_write(struct print *);

/* UTF-8 helpers with Dovecot's rules (lib/unichar.c): the number of characters as
 * uni_utf8_strlen() counts them (by lead bytes; a truncated last character is not
 * counted), and the number of continuation bytes (10xxxxxx). */
size_t print_utf8_strlen(const char *s);
size_t print_utf8_contbytes(const char *s);

#endif
