/* SPDX-License-Identifier: MIT */
#include "core/varexpand.h"

#include <stdlib.h>
#include <string.h>

/* Dovecot's MAX_MODIFIER_COUNT: more modifiers than this are read as the variable. */
#define VAR_MAX_MODIFIERS	10
/* Widths and offsets saturate here; the output limit stops anything that large anyway. */
#define VAR_MAX_WIDTH		1000000

enum var_case { VAR_CASE_KEEP, VAR_CASE_LOWER, VAR_CASE_UPPER };

struct var_fmt {
	int offset;		/* < 0: keep only the last -offset bytes */
	int width;		/* 0: all; < 0: all but the last -width bytes */
	int zero_pad;
	enum var_case fold;
};

static int
tab_end(const struct var_tab *t)
{
	return t->key == '\0' && t->long_key == NULL;
}

static const struct var_tab *
tab_find_short(const struct var_tab *tab, char key)
{
	for (const struct var_tab *t = tab; t != NULL && !tab_end(t); t++)
		if (t->key == key)
			return t;
	return NULL;
}

static const struct var_tab *
tab_find_long(const struct var_tab *tab, const char *name, size_t len)
{
	for (const struct var_tab *t = tab; t != NULL && !tab_end(t); t++)
		if (t->long_key != NULL && strncmp(t->long_key, name, len) == 0 &&
		    t->long_key[len] == '\0')
			return t;
	return NULL;
}

static int
parse_digits(const char **p)
{
	int n = 0;

	while (**p >= '0' && **p <= '9') {
		if (n < VAR_MAX_WIDTH)
			n = n * 10 + (**p - '0');
		(*p)++;
	}
	return n;
}

/* [-][0]width[.[0][-]width] as Dovecot reads it; notably a '-' before a width that has
 * no '.' after it is ignored. */
static const char *
parse_fmt(const char *p, struct var_fmt *f)
{
	int sign = 1;

	memset(f, 0, sizeof(*f));
	if (*p == '-') {
		sign = -1;
		p++;
	}
	if (*p == '0') {
		f->zero_pad = 1;
		p++;
	}
	f->width = parse_digits(&p);
	if (*p == '.') {
		p++;
		f->offset = sign * f->width;
		sign = 1;
		f->zero_pad = 0;
		if (*p == '0') {
			f->zero_pad = 1;
			p++;
		}
		if (*p == '-') {
			sign = -1;
			p++;
		}
		f->width = sign * parse_digits(&p);
	}
	for (int n = 0; n < VAR_MAX_MODIFIERS && (*p == 'L' || *p == 'U'); n++, p++)
		f->fold = *p == 'L' ? VAR_CASE_LOWER : VAR_CASE_UPPER;
	return p;
}

/* Applies case, offset and width to the value just appended at out->s[from..]. Done in
 * place so that escaping comes first, as in Dovecot. */
static void
apply_fmt(struct strbuf *out, size_t from, const struct var_fmt *f)
{
	size_t len, skip = 0, keep;

	if (out->error)
		return;
	for (char *s = out->s + from; *s != '\0'; s++) {
		if (f->fold == VAR_CASE_LOWER && *s >= 'A' && *s <= 'Z')
			*s += 'a' - 'A';
		else if (f->fold == VAR_CASE_UPPER && *s >= 'a' && *s <= 'z')
			*s -= 'a' - 'A';
	}
	len = out->len - from;
	if (f->offset < 0)
		skip = len > (size_t)-f->offset ? len - (size_t)-f->offset : 0;
	else
		skip = (size_t)f->offset < len ? (size_t)f->offset : len;
	len -= skip;
	memmove(out->s + from, out->s + from + skip, len);
	strbuf_truncate(out, from + len);

	if (f->width == 0)
		return;
	if (f->zero_pad) {
		size_t pad = f->width > 0 && (size_t)f->width > len ? (size_t)f->width - len : 0;
		/* up to out->max: a width of millions must not mean millions of calls */
		for (size_t i = 0; i < pad && !out->error; i++)
			strbuf_putc(out, '0');
		if (out->error)
			return;
		memmove(out->s + from + pad, out->s + from, len);
		memset(out->s + from, '0', pad);
		return;
	}
	if (f->width > 0)
		keep = (size_t)f->width < len ? (size_t)f->width : len;
	else
		keep = len > (size_t)-f->width ? len - (size_t)-f->width : 0;
	strbuf_truncate(out, from + keep);
}

static int
fail(struct strbuf *out, size_t start, int out_was_ok, const char *what, const char *name,
    size_t namelen, const char **error)
{
	if (!out_was_ok) {
		*error = "Expanded value too long";
		return -1;
	}
	strbuf_truncate(out, start);
	/* the flag was raised by this call (we checked on entry), and the content is
	 * consistent again after the truncation */
	out->error = 0;
	strbuf_printf(out, "%s%.*s%s", what, (int)namelen, name != NULL ? name : "",
	    name != NULL ? "'" : "");
	*error = out->error ? "Unknown variable" : out->s + start;
	return -1;
}

int
var_expand_escape(struct strbuf *out, const char *tmpl, const struct var_tab *tab,
    var_escape_fn *escape, const char **error)
{
	const size_t start = out->len;
	const int out_was_ok = !out->error;
	const char *p = tmpl;

	while (*p != '\0') {
		const struct var_tab *t;
		const char *name, *val;
		size_t namelen, from;
		struct var_fmt f;

		if (*p != '%') {
			size_t run = strcspn(p, "%");
			strbuf_append(out, p, run);
			p += run;
			continue;
		}
		p = parse_fmt(p + 1, &f);
		if (*p == '\0')
			break;
		if (*p == '{' && strchr(p, '}') != NULL) {
			/* Dovecot's matching: nested braces count, a backslash escapes */
			const char *end = p + 1;
			int depth = 1, esc = 0;
			for (; *end != '\0'; end++) {
				if (esc)
					esc = 0;
				else if (*end == '\\')
					esc = 1;
				else if (*end == '{')
					depth++;
				else if (*end == '}' && --depth == 0)
					break;
			}
			name = p + 1;
			namelen = (size_t)(end - name);
			p = *end != '\0' ? end + 1 : end;
			t = tab_find_long(tab, name, namelen);
			if (t == NULL) {
				/* Dovecot names "%{func:args}" by its function */
				size_t colon = strcspn(name, ":");
				if (colon < namelen)
					namelen = colon;
				return fail(out, start, out_was_ok, "Unknown variable '%", name,
				    namelen, error);
			}
		} else {
			name = p++;
			namelen = 1;
			t = tab_find_short(tab, *name);
			if (t == NULL && *name != '%')
				return fail(out, start, out_was_ok, "Unknown variable '%", name,
				    namelen, error);
		}
		val = t == NULL ? "%" : t->value != NULL ? t->value : "";
		from = out->len;
		if (escape != NULL && t != NULL)
			escape(out, val, strlen(val));
		else
			strbuf_puts(out, val);
		apply_fmt(out, from, &f);
	}
	if (out->error)
		return fail(out, start, out_was_ok, "Expanded value too long", NULL, 0, error);
	return 0;
}

int
var_expand(struct strbuf *out, const char *tmpl, const struct var_tab *tab,
    const char **error)
{
	return var_expand_escape(out, tmpl, tab, NULL, error);
}

void
var_escape_path(struct strbuf *out, const char *value, size_t len)
{
	const char *slash = memchr(value, '/', len);

	strbuf_append(out, value, slash != NULL ? (size_t)(slash - value) : len);
}

void
var_escape_str(struct strbuf *out, const char *value, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (value[i] == '"' || value[i] == '\'' || value[i] == '\\')
			strbuf_putc(out, '\\');
		strbuf_putc(out, value[i]);
	}
}

int
var_std_init(struct var_std *std, const struct var_client *c)
{
	const char *user = c->user != NULL ? c->user : "";
	const char *at = strchr(user, '@');
	size_t nlen = at != NULL ? (size_t)(at - user) : strlen(user);
	struct var_tab *t = std->tab;

	std->username = malloc(nlen + 1);
	if (std->username == NULL)
		return -1;
	memcpy(std->username, user, nlen);
	std->username[nlen] = '\0';
	str_fmt(std->rport, sizeof(std->rport), "%u", c->rport);
	str_fmt(std->lport, sizeof(std->lport), "%u", c->lport);

	*t++ = (struct var_tab){ 'u', "user", user };
	*t++ = (struct var_tab){ 'n', "username", std->username };
	*t++ = (struct var_tab){ 'd', "domain", at != NULL ? at + 1 : "" };
	*t++ = (struct var_tab){ 's', "service", c->service };
	*t++ = (struct var_tab){ 'r', "rip", c->rip };
	*t++ = (struct var_tab){ 'l', "lip", c->lip };
	*t++ = (struct var_tab){ 'b', "rport", std->rport };
	*t++ = (struct var_tab){ 'a', "lport", std->lport };
	*t++ = (struct var_tab){ 'w', "password", c->password };
	*t++ = (struct var_tab){ '\0', "session", c->session };
	*t++ = (struct var_tab){ '\0', "remote_ip", c->rip };
	*t++ = (struct var_tab){ '\0', "local_ip", c->lip };
	*t++ = (struct var_tab){ '\0', "remote_port", std->rport };
	*t++ = (struct var_tab){ '\0', "local_port", std->lport };
	*t = (struct var_tab){ '\0', NULL, NULL };
	return 0;
}

void
var_std_free(struct var_std *std)
{
	free(std->username);
	std->username = NULL;
}

void
var_template_vars(struct strbuf *out, const char *tmpl)
{
	for (const char *p = strchr(tmpl, '%'); p != NULL; p = strchr(p, '%')) {
		const char *v = p + 1 + strspn(p + 1, "-0123456789.LU");
		if (*v == '\0')
			break;
		if (*v == '%' && v == p + 1) {
			p = v + 1;
			continue;
		}
		const char *end = v + 1;
		if (*v == '{' && (end = strchr(v, '}')) != NULL)
			end++;
		else
			end = v + 1;
		strbuf_append(out, p, (size_t)(end - p));
		strbuf_putc(out, '\t');
		p = end;
	}
}
