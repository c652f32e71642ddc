/* SPDX-License-Identifier: MIT */
/* applets/doveadm/print_json.c: doveadm's "json" and "formatted" formatters
 * (doveadm-print-{json,formatted}.c), both keyed by header keys, not titles.
 * json keeps doveadm's flush quirk: the first flush closes the array, so a command that
 * flushes per record (`who`) prints `[{...}],{...},{...}`; nothing closes it again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "applets/doveadm/doveadm.h"
#include "applets/doveadm/print.h"

struct json {
	size_t idx;
	int first_row;
	int flushed;
	struct strbuf str;	/* the record being built */
};

/* Dovecot's json_append_escaped_char() for one byte below 0x80 */
static void
json_escape_ascii(struct strbuf *sb, unsigned char c)
{
	switch (c) {
	case '\b': strbuf_puts(sb, "\\b"); break;
	case '\f': strbuf_puts(sb, "\\f"); break;
	case '\n': strbuf_puts(sb, "\\n"); break;
	case '\r': strbuf_puts(sb, "\\r"); break;
	case '\t': strbuf_puts(sb, "\\t"); break;
	case '"': strbuf_puts(sb, "\\\""); break;
	case '\\': strbuf_puts(sb, "\\\\"); break;
	default:
		if (c < 0x20)
			strbuf_printf(sb, "\\u%04x", c);
		else
			strbuf_putc(sb, (char)c);
	}
}

/* Dovecot's uni_utf8_get_char_n(): the length of a valid character at s (n bytes
 * left), or 0 if it is invalid, overlong, a surrogate, above U+10FFFF or cut short. */
static size_t
utf8_valid_char(const unsigned char *s, size_t n, uint32_t *chr)
{
	static const uint32_t lowest[] = { 0, 0, 0x80, 0x800, 0x10000, 0x200000, 0x4000000 };
	static const unsigned char mask[] = { 0, 0, 0x1f, 0x0f, 0x07, 0x03, 0x01 };
	size_t len = s[0] < 0xc2 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 :
	    s[0] < 0xf8 ? 4 : s[0] < 0xfc ? 5 : s[0] < 0xfe ? 6 : 1;

	if (len == 1 || len > n)
		return 0;
	uint32_t c = s[0] & mask[len];
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((c & 0xfffc00) == 0xd800 || (c & 0xfffc00) == 0xdc00 || c > 0x10ffff ||
	    c < lowest[len])
		return 0;
	*chr = c;
	return len;
}

/* json_append_escaped(): every invalid byte becomes U+FFFD, U+2028/9 are escaped. */
static void
json_escape(struct strbuf *sb, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0;
	uint32_t chr;

	while (i < n) {
		if (s[i] < 0x80) {
			json_escape_ascii(sb, s[i++]);
			continue;
		}
		size_t len = utf8_valid_char(s + i, n - i, &chr);
		if (len == 0) {
			strbuf_puts(sb, "\xef\xbf\xbd");
			i++;
		} else if (chr == 0x2028 || chr == 0x2029) {
			strbuf_printf(sb, "\\u%04x", (unsigned int)chr);
			i += len;
		} else {
			strbuf_append(sb, s + i, len);
			i += len;
		}
	}
}

static int
json_init(struct print *p)
{
	struct json *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return -1;
	j->first_row = 1;
	strbuf_init(&j->str, SIZE_MAX);
	p->state = j;
	return 0;
}

static void
json_header(struct print *p, const struct print_hdr *h)
{
	(void)p;
	(void)h;
}

static void
json_flush_internal(struct print *p)
{
	struct json *j = p->state;

	if (j->str.error)
		dv_fatal("Out of memory");
	print_out_n(p, j->str.s, j->str.len);
	strbuf_truncate(&j->str, 0);
}

static void
json_value(struct print *p, const char *value)
{
	struct json *j = p->state;

	if (j->idx == 0) {
		strbuf_putc(&j->str, j->first_row ? '[' : ',');
		j->first_row = 0;
		strbuf_putc(&j->str, '{');
	} else {
		strbuf_putc(&j->str, ',');
	}
	strbuf_putc(&j->str, '"');
	json_escape(&j->str, p->hdrs[j->idx].key);
	strbuf_puts(&j->str, "\":\"");
	json_escape(&j->str, value);
	strbuf_putc(&j->str, '"');
	if (++j->idx == p->nhdrs) {
		j->idx = 0;
		strbuf_putc(&j->str, '}');
		json_flush_internal(p);
	}
}

static void
json_flush(struct print *p)
{
	struct json *j = p->state;

	if (j->flushed)
		return;
	j->flushed = 1;
	strbuf_puts(&j->str, j->first_row ? "[]" : "]");
	json_flush_internal(p);
}

static void
json_deinit(struct print *p)
{
	struct json *j = p->state;

	strbuf_free(&j->str);
	free(j);
}

const struct print_fmt print_fmt_json = {
	"json", json_init, json_header, json_value, json_flush, json_deinit,
};

/* formatted: one record's values substituted into the command's format string when the
 * record's last value arrives. Only %{key} and %% are needed by the commands here. */
struct formatted {
	size_t idx;
	char **values;
};

static int
formatted_init(struct print *p)
{
	p->state = calloc(1, sizeof(struct formatted));
	return p->state == NULL ? -1 : 0;
}

static void
formatted_header(struct print *p, const struct print_hdr *h)
{
	struct formatted *f = p->state;
	char **v = realloc(f->values, p->nhdrs * sizeof(*v));

	(void)h;
	if (v == NULL)
		dv_fatal("Out of memory");
	v[p->nhdrs - 1] = NULL;
	f->values = v;
}

static void
formatted_expand(struct print *p)
{
	struct formatted *f = p->state;
	const char *s = p->format;

	while (*s != '\0') {
		const char *pct = strchr(s, '%');
		if (pct == NULL) {
			print_out(p, s);
			break;
		}
		print_out_n(p, s, (size_t)(pct - s));
		const char *end = pct[1] == '{' ? strchr(pct + 2, '}') : NULL;
		if (end != NULL) {
			size_t klen = (size_t)(end - pct - 2);
			for (size_t i = 0; i < p->nhdrs; i++) {
				if (strlen(p->hdrs[i].key) == klen &&
				    memcmp(p->hdrs[i].key, pct + 2, klen) == 0)
					print_out(p, f->values[i]);
			}
			s = end + 1;
		} else {
			print_out(p, "%");
			s = pct + (pct[1] == '%' ? 2 : 1);
		}
	}
}

static void
formatted_value(struct print *p, const char *value)
{
	struct formatted *f = p->state;

	if (p->format == NULL)
		dv_fatal("formatted formatter cannot be used without a format.");
	free(f->values[f->idx]);
	if ((f->values[f->idx] = strdup(value)) == NULL)
		dv_fatal("Out of memory");
	if (++f->idx >= p->nhdrs) {
		formatted_expand(p);
		f->idx = 0;
	}
}

static void
formatted_deinit(struct print *p)
{
	struct formatted *f = p->state;

	for (size_t i = 0; i < p->nhdrs; i++)
		free(f->values[i]);
	free(f->values);
	free(f);
}

/* flush: nothing of its own; print_flush() writes the ostream buffer */
const struct print_fmt print_fmt_formatted = {
	"formatted", formatted_init, formatted_header, formatted_value, NULL, formatted_deinit,
};
