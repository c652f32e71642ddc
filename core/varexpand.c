/* SPDX-License-Identifier: MIT */
#include "core/varexpand.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bearssl.h>
#include "core/base64.h"
#include "core/feature.h"
#include "core/wildcard.h"

/* Dovecot's MAX_MODIFIER_COUNT: more modifiers than this are read as the variable. */
#define VAR_MAX_MODIFIERS	10
/* Widths and offsets saturate here; the output limit stops anything that large anyway. */
#define VAR_MAX_WIDTH		1000000
/* %{if;...} inside %{if;...}: Dovecot has no limit; a config never needs this many. */
#define VAR_MAX_DEPTH		8
/* %{sha256;rounds=N:...}: Dovecot has no limit; these bound one lookup's CPU time. */
#define VAR_MAX_ROUNDS		100000
#define VAR_MAX_ROUNDS_TOTAL	400000

struct var_fmt {
	int offset;		/* < 0: keep only the last -offset bytes */
	int width;		/* 0: all; < 0: all but the last -width bytes */
	int zero_pad;
	char mods[VAR_MAX_MODIFIERS];
	int nmods;
};

/* One expansion: the caller's parameters and where a nested error message goes. */
struct var_run {
	const struct var_expand_params *p;
	int depth;
	unsigned int rounds;	/* hash rounds so far */
	const char *err;	/* static, or in errbuf */
	char errbuf[160];
};

static int expand(struct var_run *, struct strbuf *out, const char *tmpl);

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

static void
set_err(struct var_run *r, const char *fmt, const char *a, size_t alen)
{
	str_fmt(r->errbuf, sizeof(r->errbuf), fmt, (int)alen, a);
	r->err = r->errbuf;
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

/* [-][0]width[.[0][-]width][modifiers] as Dovecot reads it; notably a '-' before a
 * width that has no '.' after it is ignored. */
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
	while (f->nmods < VAR_MAX_MODIFIERS && *p != '\0' && strchr(VAR_MODIFIERS, *p) != NULL)
		f->mods[f->nmods++] = *p++;
	return p;
}

static void
put_hex(struct strbuf *out, const unsigned char *b, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		strbuf_putc(out, hex[b[i] >> 4]);
		strbuf_putc(out, hex[b[i] & 15]);
	}
}

/* "%x" of v, then '0's in front up to pad digits: %H and %N. */
static void
put_hash_num(struct strbuf *v, unsigned int n, int pad)
{
	char num[16];
	size_t len = str_fmt(num, sizeof(num), "%x", n);

	strbuf_truncate(v, 0);
	for (; (int)len < pad && pad <= VAR_MAX_WIDTH && !v->error; pad--)
		strbuf_putc(v, '0');
	strbuf_puts(v, num);
}

/* Dovecot's str_hash() (from glib): %H must give the same directories. */
static unsigned int
asu_hash(const char *s)
{
	unsigned int g, h = 0;

	for (; *s != '\0'; s++) {
		h = (h << 4) + (unsigned char)*s;
		if ((g = h & 0xf0000000U) != 0)
			h = h ^ (g >> 24) ^ g;
	}
	return h;
}

/* One modifier on the value in v (tmp is scratch); %H and %N consume the width (as a
 * modulus) and the offset (as the number of digits), as in Dovecot. */
static void
apply_mod(char m, struct strbuf *v, struct strbuf *tmp, struct var_fmt *f)
{
	unsigned char md[16];
	br_md5_context md5;
	char *s = v->s;

	strbuf_truncate(tmp, 0);
	switch (m) {
	case 'L': case 'U':
		for (; *s != '\0'; s++) {
			if (m == 'L' && *s >= 'A' && *s <= 'Z')
				*s += 'a' - 'A';
			else if (m == 'U' && *s >= 'a' && *s <= 'z')
				*s -= 'a' - 'A';
		}
		return;
	case 'E':
		var_escape_str(tmp, v->s, v->len);
		break;
	case 'X': {
		unsigned long long n = 0;
		int ok = *s != '\0';
		for (; *s != '\0' && ok; s++) {
			if (*s < '0' || *s > '9' || n > (~0ULL - 9) / 10)
				ok = 0;
			else
				n = n * 10 + (unsigned)(*s - '0');
		}
		strbuf_printf(tmp, "%llx", ok ? n : 0ULL);
		break;
	}
	case 'R':
		for (size_t i = 0; i < v->len / 2; i++) {
			char c = s[i];
			s[i] = s[v->len - 1 - i];
			s[v->len - 1 - i] = c;
		}
		return;
	case 'H': case 'N': {
		unsigned int h;
		if (m == 'H') {
			h = asu_hash(v->s);
			if (f->width != 0)
				h %= (unsigned int)f->width;
		} else {
			uint64_t x = 0;
			br_md5_init(&md5);
			br_md5_update(&md5, v->s, v->len);
			br_md5_out(&md5, md);
			for (int i = 0; i < 8; i++)
				x = x << 8 | md[i];
			if (f->width != 0)
				x %= (uint64_t)(int64_t)f->width;
			h = (unsigned int)x;
		}
		put_hash_num(v, h, f->offset);
		f->width = f->offset = 0;
		return;
	}
	case 'M':
		br_md5_init(&md5);
		br_md5_update(&md5, v->s, v->len);
		br_md5_out(&md5, md);
		put_hex(tmp, md, sizeof(md));
		break;
	case 'D':
		for (; *s != '\0'; s++) {
			if (*s == '.')
				strbuf_puts(tmp, ",dc=");
			else
				strbuf_putc(tmp, *s);
		}
		break;
	case 'T':
		while (v->len > 0 && (s[v->len - 1] == ' ' || (s[v->len - 1] >= '\t' &&
		    s[v->len - 1] <= '\r')))
			strbuf_truncate(v, v->len - 1);
		return;
	}
	if (tmp->error) {
		v->error = 1;
		return;
	}
	strbuf_truncate(v, 0);
	strbuf_append(v, tmp->s, tmp->len);
}

/* Offset, then width or zero padding, as Dovecot applies them after the modifiers. */
static void
put_fmt(struct strbuf *out, const char *s, size_t len, const struct var_fmt *f)
{
	if (f->offset < 0) {
		if (len > (size_t)-f->offset) {
			s += len - (size_t)-f->offset;
			len = (size_t)-f->offset;
		}
	} else {
		size_t skip = (size_t)f->offset < len ? (size_t)f->offset : len;
		s += skip;
		len -= skip;
	}
	if (f->width == 0) {
		strbuf_append(out, s, len);
	} else if (!f->zero_pad) {
		size_t keep;
		if (f->width > 0)
			keep = (size_t)f->width < len ? (size_t)f->width : len;
		else	/* Dovecot: cutting more than all cuts nothing */
			keep = len >= (size_t)-f->width ? len - (size_t)-f->width : len;
		strbuf_append(out, s, keep);
	} else {
		for (size_t i = len; f->width > 0 && i < (size_t)f->width && !out->error; i++)
			strbuf_putc(out, '0');
		strbuf_append(out, s, len);
	}
}

/* ---- %{hash;options:variable} ---- */

/* The hash functions by name; without VAREXPAND_HASH the names stay, with no class, so
 * that a template using one says it is not in this build instead of "Unknown variable". */
#define VAR_HASH(cls) FEATURE_IF(MTOOL_WITH_VAREXPAND_HASH, &cls) \
	FEATURE_IF_NOT(MTOOL_WITH_VAREXPAND_HASH, NULL)
struct var_hash {
	const char *name;
	const br_hash_class *cls;
};

static const struct var_hash *
hash_by_name(const char *name, size_t len)
{
	static const struct var_hash h[] = {
		{ "md5", VAR_HASH(br_md5_vtable) },
		{ "sha1", VAR_HASH(br_sha1_vtable) },
		{ "sha256", VAR_HASH(br_sha256_vtable) },
		{ "sha384", VAR_HASH(br_sha384_vtable) },
		{ "sha512", VAR_HASH(br_sha512_vtable) },
	};
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		if (strlen(h[i].name) == len && strncmp(h[i].name, name, len) == 0)
			return &h[i];
	return NULL;
}

static int lookup_long(struct var_run *, struct strbuf *v, const char *name, size_t len);

static int
get_uint_arg(struct var_run *r, const char *val, size_t len, const char *what,
    unsigned int *out)
{
	unsigned long long n = 0;
	int ok = len > 0;

	for (size_t i = 0; i < len && ok; i++) {
		if (val[i] < '0' || val[i] > '9' || n > 0xffffffffULL / 10)
			ok = 0;
		else
			n = n * 10 + (unsigned)(val[i] - '0');
	}
	if (!ok || n > 0xffffffffULL) {
		set_err(r, what, val, len);
		return -1;
	}
	*out = (unsigned int)n;
	return 0;
}

/* key: "sha256;rounds=2,salt=x,truncate=12,format=base64"; field: a variable's name.
 * Unused without VAREXPAND_HASH. */
static int __attribute__((unused))
expand_hash(struct var_run *r, struct strbuf *v, const br_hash_class *cls, const char *key,
    size_t keylen, const char *field, size_t fieldlen)
{
	enum { HEX, HEXUC, B64 } format = HEX;
	unsigned int rounds = 1, truncbits = 0;
	unsigned char dig[64];
	size_t diglen = (cls->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
	struct strbuf salt, arg;
	br_hash_compat_context ctx;
	const char *a = memchr(key, ';', keylen), *end = key + keylen;
	int ret = -1;

	strbuf_init(&salt, v->max);
	strbuf_init(&arg, v->max);
	if (lookup_long(r, v, field, fieldlen) < 0)
		goto out;
	for (a = a != NULL ? a + 1 : end; a < end;) {
		const char *next = memchr(a, ',', (size_t)(end - a));
		size_t alen = (next != NULL ? next : end) - a;
		const char *eq = memchr(a, '=', alen);
		const char *val = eq != NULL ? eq + 1 : NULL, *k = a;
		size_t klen = eq != NULL ? (size_t)(eq - a) : alen;
		size_t vlen = eq != NULL ? alen - klen - 1 : 0;

		a = next != NULL ? next + 1 : end;
		if (val == NULL)
			continue;
		if (klen == 6 && strncmp(k, "rounds", 6) == 0) {
			if (get_uint_arg(r, val, vlen, "Cannot parse hash arguments:'%.*s' is not "
			    "number for rounds", &rounds) < 0)
				goto out;
			if (rounds < 1 || rounds > VAR_MAX_ROUNDS) {
				r->err = "Cannot parse hash arguments:rounds must be at least 1 "
				    "and at most 100000";
				goto out;
			}
		} else if (klen == 8 && strncmp(k, "truncate", 8) == 0) {
			if (get_uint_arg(r, val, vlen, "Cannot parse hash arguments:'%.*s' is not "
			    "number for truncbits", &truncbits) < 0)
				goto out;
			if (truncbits > diglen * 8)
				truncbits = (unsigned int)diglen * 8;
		} else if (klen == 4 && strncmp(k, "salt", 4) == 0) {
			/* Dovecot: the salt is the rest of the options, expanded */
			strbuf_append(&arg, val, (size_t)(end - val));
			if (arg.error) {
				r->err = "Expanded value too long";
				goto out;
			}
			if (expand(r, &salt, arg.s) < 0)
				goto out;
			break;
		} else if (klen == 6 && strncmp(k, "format", 6) == 0) {
			if (vlen == 3 && strncmp(val, "hex", 3) == 0)
				format = HEX;
			else if (vlen == 5 && strncmp(val, "hexuc", 5) == 0)
				format = HEXUC;
			else if (vlen == 6 && strncmp(val, "base64", 6) == 0)
				format = B64;
			else {
				set_err(r, "Cannot parse hash arguments:'%.*s' is not supported "
				    "format", val, vlen);
				goto out;
			}
		}
	}
	if ((r->rounds += rounds) > VAR_MAX_ROUNDS_TOTAL) {
		r->err = "Too many hash rounds in one template (at most 400000)";
		goto out;
	}
	/* each round hashes the salt and the previous round's digest */
	for (unsigned int i = 0; i < rounds; i++) {
		cls->init(&ctx.vtable);
		cls->update(&ctx.vtable, salt.s, salt.len);
		if (i == 0)
			cls->update(&ctx.vtable, v->s, v->len);
		else
			cls->update(&ctx.vtable, dig, diglen);
		cls->out(&ctx.vtable, dig);
	}
	if (truncbits > 0) {
		/* Dovecot's buffer_truncate_rshift_bits: keep the first truncbits bits,
		 * right-aligned in the bytes that hold them */
		size_t bytes = (truncbits + 7) / 8;
		unsigned int bits = truncbits % 8;
		diglen = bytes;
		if (bits > 0) {
			for (size_t i = bytes - 1; i > 0; i--)
				dig[i] = (unsigned char)((dig[i] >> (8 - bits)) +
				    ((dig[i - 1] & (0xff >> bits)) << bits));
			dig[0] = (unsigned char)(dig[0] >> (8 - bits));
		}
	}
	strbuf_truncate(v, 0);
	if (format == B64) {
		char b64[96];
		size_t n = base64_encode(dig, diglen, b64, sizeof(b64));
		strbuf_append(v, b64, n);
	} else {
		put_hex(v, dig, diglen);
		if (format == HEXUC)	/* Dovecot 2.3 gives lower case here: its bug */
			for (char *s = v->s; *s != '\0'; s++)
				if (*s >= 'a' && *s <= 'f')
					*s -= 'a' - 'A';
	}
	ret = 0;
out:
	strbuf_free(&salt);
	strbuf_free(&arg);
	return ret;
}

/* ---- %{if;lhs;op;rhs;then[;else]} ---- */

static int
to_intmax(const char *s, long long *out)
{
	const char *e;

	return str_to_num(s, -0x7fffffffffffffffLL - 1, 0x7fffffffffffffffLL, out, &e);
}

static int
if_compare(struct var_run *r, char *const *a, int *res)
{
	static const char *const ops[] = { "==", "<", "<=", ">", ">=", "!=",
	    "eq", "lt", "le", "gt", "ge", "ne", "*", "!*", "~", "!~" };
	size_t op = 0;

	while (op < sizeof(ops) / sizeof(ops[0]) && strcmp(a[1], ops[op]) != 0)
		op++;
	if (op == sizeof(ops) / sizeof(ops[0])) {
		set_err(r, "if: Unsupported comparator '%.*s'", a[1], strlen(a[1]));
		return -1;
	}
	if (op < 6) {
		long long x, y;
		if (to_intmax(a[0], &x) < 0) {
			set_err(r, "if: %.*s (lhs) is not a number", a[0], strlen(a[0]));
			return -1;
		}
		if (to_intmax(a[2], &y) < 0) {
			set_err(r, "if: %.*s (rhs) is not a number", a[2], strlen(a[2]));
			return -1;
		}
		int c = x < y ? -1 : x > y;
		static const signed char want[6][3] = {	/* for c = -1, 0, 1 */
			{ 0, 1, 0 }, { 1, 0, 0 }, { 1, 1, 0 }, { 0, 0, 1 }, { 0, 1, 1 },
			{ 1, 0, 1 } };
		*res = want[op][c + 1];
		return 0;
	}
	if (op >= 14) {
		/* POSIX regex would cost this build its size budget */
		r->err = "if: regular expressions (~, !~) are not supported by this build";
		return -1;
	}
	if (op >= 12) {
		*res = wildcard_match(a[0], a[2]) == (op == 12);
		return 0;
	}
	int c = strcmp(a[0], a[2]);
	c = c < 0 ? -1 : c > 0;
	static const signed char want[6][3] = {
		{ 0, 1, 0 }, { 1, 0, 0 }, { 1, 1, 0 }, { 0, 0, 1 }, { 0, 1, 1 }, { 1, 0, 1 } };
	*res = want[op - 6][c + 1];
	return 0;
}

/* in: everything between "%{" and "}" (starting "if;"). Dovecot splits at ';' outside
 * %{...}, drops backslashes before escaped bytes, and stops at a ':' outside %{...}. */
static int
expand_if(struct var_run *r, struct strbuf *v, const char *in, size_t len)
{
	struct strbuf par[6];
	char *args[5];
	size_t n = 0, depth = 0;
	int esc = 0, maybe_var = 0, res, ret = -1;
	const char *p = in + 3, *end = in + len;

	for (size_t i = 0; i < 6; i++)
		strbuf_init(&par[i], v->max);
	for (; p < end; p++) {
		if (*p == '\\' && !esc) {
			esc = 1;
			continue;
		}
		if (esc) {
			esc = 0;
		} else if (*p == '%') {
			maybe_var = 1;
		} else if (maybe_var && *p == '{') {
			depth++;
			maybe_var = 0;
		} else if (depth > 0 && *p == '}') {
			depth--;
		} else if (depth == 0 && *p == ';') {
			if (++n == 6)
				break;
			continue;
		} else if (depth == 0 && *p == ':') {
			break;
		}
		strbuf_putc(&par[n], *p);
	}
	if (n < 6 && par[n].len > 0)
		n++;
	if (n == 4)
		n = 5;
	if (n != 5) {
		str_fmt(r->errbuf, sizeof(r->errbuf), "if: requires four or five parameters, "
		    "got %zu", n);
		r->err = r->errbuf;
		goto out;
	}
	for (size_t i = 0; i < 5; i++) {
		if (par[i].error) {
			r->err = "Expanded value too long";
			goto out;
		}
		if (expand(r, &par[5], par[i].s) < 0)
			goto out;
		strbuf_truncate(&par[i], 0);
		strbuf_append(&par[i], par[5].s, par[5].len);
		strbuf_truncate(&par[5], 0);
		if (par[i].error) {
			r->err = "Expanded value too long";
			goto out;
		}
		args[i] = par[i].s;
	}
	if (if_compare(r, args, &res) < 0)
		goto out;
	strbuf_puts(v, res ? args[3] : args[4]);
	ret = 0;
out:
	for (size_t i = 0; i < 6; i++)
		strbuf_free(&par[i]);
	return ret;
}

/* ---- variables ---- */

/* A long name's value into v (empty): the table (escaped), Dovecot's built-ins, then
 * functions "name[;options]:data" (the caller's escape their values themselves).
 * noinline: inlined into expand() (as it is without VAREXPAND_HASH), gcc 12 warns that
 * name's pointers may dangle (-Wdangling-pointer, a false positive). */
static int __attribute__((noinline))
lookup_long(struct var_run *r, struct strbuf *v, const char *name, size_t len)
{
	const struct var_expand_params *p = r->p;
	const struct var_tab *t = tab_find_long(p->tab, name, len);
	const char *colon, *semi;
	size_t flen;

	if (t != NULL) {
		const char *val = t->value != NULL ? t->value : "";
		if (p->escape != NULL)
			p->escape(v, val, strlen(val));
		else
			strbuf_puts(v, val);
		return 0;
	}
	if ((len == 3 && (strncmp(name, "pid", 3) == 0 || strncmp(name, "uid", 3) == 0 ||
	    strncmp(name, "gid", 3) == 0))) {
		strbuf_printf(v, "%ld", name[0] == 'p' ? (long)getpid() :
		    name[0] == 'u' ? (long)geteuid() : (long)getegid());
		return 0;
	}
	if (len == 8 && strncmp(name, "hostname", 8) == 0) {
		char host[256];
		if (gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = '\0';
			strbuf_puts(v, host);
		}
		return 0;
	}
	colon = memchr(name, ':', len);
	flen = colon != NULL ? (size_t)(colon - name) : len;
	semi = memchr(name, ';', flen);
	size_t base = semi != NULL ? (size_t)(semi - name) : flen;
	if (base == 2 && strncmp(name, "if", 2) == 0 && semi != NULL) {
		if (r->depth >= VAR_MAX_DEPTH) {
			r->err = "if: nested too deeply";
			return -1;
		}
		r->depth++;
		int ret = expand_if(r, v, name, len);
		r->depth--;
		return ret;
	}
	if (colon != NULL) {
		const char *data = colon + 1;
		size_t dlen = len - flen - 1;
		const struct var_hash *h = hash_by_name(name, base);
		if (h != NULL && h->cls == NULL) {
			set_err(r, "%%{%.*s}: hash functions are not in this build (feature varexpand_hash)",
			    name, base);
			return -1;
		}
		FEATURE_IF(MTOOL_WITH_VAREXPAND_HASH, if (h != NULL)
			return expand_hash(r, v, h->cls, name, flen, data, dlen);)
		if (flen == 3 && strncmp(name, "env", 3) == 0) {
			char key[256];
			const char *val;
			if (dlen < sizeof(key)) {
				memcpy(key, data, dlen);
				key[dlen] = '\0';
				if ((val = getenv(key)) != NULL)
					strbuf_puts(v, val);
			}
			return 0;
		}
		if (p->func != NULL) {
			int ret = p->func(v, name, flen, data, dlen, p->escape, p->ctx);
			if (ret < 0)
				r->err = "Expanded value too long";
			if (ret != 0)
				return ret < 0 ? -1 : 0;
		}
	}
	set_err(r, "Unknown variable '%%%.*s'", name, flen);
	return -1;
}

static int
expand(struct var_run *r, struct strbuf *out, const char *tmpl)
{
	const struct var_expand_params *p = r->p;
	const char *s = tmpl;
	struct strbuf v, tmp;
	int ret = 0;

	strbuf_init(&v, out->max);
	strbuf_init(&tmp, out->max);
	while (*s != '\0' && !out->error) {
		struct var_fmt f;

		if (*s != '%') {
			size_t run = strcspn(s, "%");
			strbuf_append(out, s, run);
			s += run;
			continue;
		}
		s = parse_fmt(s + 1, &f);
		if (*s == '\0')
			break;
		strbuf_truncate(&v, 0);
		v.error = 0;
		if (*s == '{' && strchr(s, '}') != NULL) {
			/* Dovecot's matching: nested braces count, a backslash escapes */
			const char *end = s + 1;
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
			if (lookup_long(r, &v, s + 1, (size_t)(end - s - 1)) < 0) {
				ret = -1;
				break;
			}
			s = *end != '\0' ? end + 1 : end;
		} else {
			const struct var_tab *t = tab_find_short(p->tab, *s);
			if (t == NULL && *s != '%') {
				set_err(r, "Unknown variable '%%%.*s'", s, 1);
				ret = -1;
				break;
			}
			const char *val = t == NULL ? "%" : t->value != NULL ? t->value : "";
			if (p->escape != NULL && t != NULL)
				p->escape(&v, val, strlen(val));
			else
				strbuf_puts(&v, val);
			s++;
		}
		for (int i = 0; i < f.nmods && !v.error; i++)
			apply_mod(f.mods[i], &v, &tmp, &f);
		if (v.error) {
			out->error = 1;
			break;
		}
		put_fmt(out, v.s, v.len, &f);
	}
	strbuf_free(&v);
	strbuf_free(&tmp);
	if (ret == 0 && out->error) {
		r->err = "Expanded value too long";
		ret = -1;
	}
	return ret;
}

int
var_expand_params(struct strbuf *out, const char *tmpl, const struct var_expand_params *p,
    const char **error)
{
	const size_t start = out->len;
	struct var_run r = { .p = p };

	if (out->error) {
		*error = "Expanded value too long";
		return -1;
	}
	if (expand(&r, out, tmpl) == 0)
		return 0;
	/* out keeps what it held before, then the message */
	if (r.err == NULL)
		r.err = "Expanded value too long";
	strbuf_truncate(out, start);
	out->error = 0;
	strbuf_puts(out, r.err);
	*error = !out->error ? out->s + start : r.err == r.errbuf ? "Unknown variable" : r.err;
	return -1;
}

int
var_expand_escape(struct strbuf *out, const char *tmpl, const struct var_tab *tab,
    var_escape_fn *escape, const char **error)
{
	struct var_expand_params p = { .tab = tab, .escape = escape };

	return var_expand_params(out, tmpl, &p, error);
}

int
var_expand(struct strbuf *out, const char *tmpl, const struct var_tab *tab,
    const char **error)
{
	return var_expand_escape(out, tmpl, tab, NULL, error);
}

int
var_error_from_values(const char *error)
{
	return strncmp(error, "if: ", 4) == 0 && strstr(error, ") is not a number") != NULL;
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

/* Where each entry of the standard table takes its value from (std_names[].src). */
enum std_src {
	S_NONE, S_USER, S_USERNAME, S_DOMAIN, S_SERVICE, S_LIP, S_RIP, S_PID, S_PASSWORD,
	S_MECH, S_SECURED, S_LPORT, S_RPORT, S_SESSION, S_REAL_LIP, S_REAL_RIP, S_REAL_LPORT,
	S_REAL_RPORT, S_DOMAIN_FIRST, S_DOMAIN_LAST, S_LOCAL_NAME, S_ORIG_USER, S_ORIG_USERNAME,
	S_ORIG_DOMAIN, S_COUNT
};

/* Dovecot's auth_request_var_expand_static_tab, its aliases included, in its order. */
static const struct {
	char key;
	unsigned char src;
	const char *long_key;
} std_names[] = {
	{ 'u', S_USER, "user" }, { 'n', S_USERNAME, "username" }, { 'd', S_DOMAIN, "domain" },
	{ 's', S_SERVICE, "service" }, { 'h', S_NONE, "home" }, { 'l', S_LIP, "lip" },
	{ 'r', S_RIP, "rip" }, { 'p', S_PID, "pid" }, { 'w', S_PASSWORD, "password" },
	{ 'm', S_MECH, "mech" }, { 'c', S_SECURED, "secured" }, { 'a', S_LPORT, "lport" },
	{ 'b', S_RPORT, "rport" }, { 'k', S_NONE, "cert" }, { 0, S_NONE, "login_user" },
	{ 0, S_NONE, "login_username" }, { 0, S_NONE, "login_domain" },
	{ 0, S_SESSION, "session" }, { 0, S_REAL_LIP, "real_lip" },
	{ 0, S_REAL_RIP, "real_rip" }, { 0, S_REAL_LPORT, "real_lport" },
	{ 0, S_REAL_RPORT, "real_rport" }, { 0, S_DOMAIN_FIRST, "domain_first" },
	{ 0, S_DOMAIN_LAST, "domain_last" }, { 0, S_NONE, "master_user" },
	{ 0, S_NONE, "session_pid" }, { 0, S_ORIG_USER, "orig_user" },
	{ 0, S_ORIG_USERNAME, "orig_username" }, { 0, S_ORIG_DOMAIN, "orig_domain" },
	{ 0, S_ORIG_USER, "auth_user" }, { 0, S_ORIG_USERNAME, "auth_username" },
	{ 0, S_ORIG_DOMAIN, "auth_domain" }, { 0, S_LOCAL_NAME, "local_name" },
	{ 0, S_NONE, "client_id" }, { 0, S_LIP, "local_ip" }, { 0, S_RIP, "remote_ip" },
	{ 0, S_LPORT, "local_port" }, { 0, S_RPORT, "remote_port" },
	{ 0, S_REAL_LIP, "real_local_ip" }, { 0, S_REAL_RIP, "real_remote_ip" },
	{ 0, S_REAL_LPORT, "real_local_port" }, { 0, S_REAL_RPORT, "real_remote_port" },
	{ 0, S_MECH, "mechanism" }, { 0, S_ORIG_USER, "original_user" },
	{ 0, S_ORIG_USERNAME, "original_username" }, { 0, S_ORIG_DOMAIN, "original_domain" },
};

_Static_assert(sizeof(std_names) / sizeof(std_names[0]) < VAR_STD_ENTRIES,
    "struct var_std's table is too small");

int
var_std_init(struct var_std *std, const struct var_client *c)
{
	const char *user = c->user != NULL ? c->user : "";
	const char *at = strchr(user, '@'), *last = strrchr(user, '@');
	const char *dom = at != NULL ? at + 1 : NULL;
	size_t nlen = at != NULL ? (size_t)(at - user) : strlen(user);
	size_t flen = dom != NULL ? strcspn(dom, "@") : 0;
	const char *val[S_COUNT];
	size_t i;

	std->username = malloc(nlen + 1 + flen + 1);
	if (std->username == NULL)
		return -1;
	memcpy(std->username, user, nlen);
	std->username[nlen] = '\0';
	std->domain_first = std->username + nlen + 1;
	if (dom != NULL)
		memcpy(std->domain_first, dom, flen);
	std->domain_first[flen] = '\0';
	const char *orig = c->orig_user != NULL ? c->orig_user : user;
	const char *orig_at = strchr(orig, '@');
	std->orig_username = NULL;
	if (c->orig_user != NULL && (std->orig_username = strndup(orig,
	    orig_at != NULL ? (size_t)(orig_at - orig) : strlen(orig))) == NULL) {
		free(std->username);
		return -1;
	}
	str_fmt(std->rport, sizeof(std->rport), "%u", c->rport);
	str_fmt(std->lport, sizeof(std->lport), "%u", c->lport);
	str_fmt(std->real_rport, sizeof(std->real_rport), "%u",
	    c->real_rip != NULL ? c->real_rport : c->rport);
	str_fmt(std->real_lport, sizeof(std->real_lport), "%u",
	    c->real_lip != NULL ? c->real_lport : c->lport);
	str_fmt(std->pid, sizeof(std->pid), "%ld", (long)getpid());

	val[S_NONE] = NULL;
	val[S_USER] = user;
	val[S_USERNAME] = std->username;
	val[S_DOMAIN] = dom;
	val[S_SERVICE] = c->service;
	val[S_LIP] = c->lip;
	val[S_RIP] = c->rip;
	val[S_PID] = std->pid;
	val[S_PASSWORD] = c->password;
	val[S_MECH] = c->mech != NULL ? c->mech : "";
	val[S_SECURED] = c->secured;
	val[S_LPORT] = std->lport;
	val[S_RPORT] = std->rport;
	val[S_SESSION] = c->session;
	val[S_REAL_LIP] = c->real_lip != NULL ? c->real_lip : c->lip;
	val[S_REAL_RIP] = c->real_rip != NULL ? c->real_rip : c->rip;
	val[S_REAL_LPORT] = std->real_lport;
	val[S_REAL_RPORT] = std->real_rport;
	val[S_DOMAIN_FIRST] = dom != NULL ? std->domain_first : NULL;
	val[S_DOMAIN_LAST] = last != NULL ? last + 1 : NULL;
	val[S_LOCAL_NAME] = c->local_name;
	val[S_ORIG_USER] = orig;
	val[S_ORIG_USERNAME] = std->orig_username != NULL ? std->orig_username : std->username;
	val[S_ORIG_DOMAIN] = orig_at != NULL ? orig_at + 1 : NULL;
	for (i = 0; i < sizeof(std_names) / sizeof(std_names[0]); i++)
		std->tab[i] = (struct var_tab){ std_names[i].key, std_names[i].long_key,
		    val[std_names[i].src] };
	std->tab[i] = (struct var_tab){ '\0', NULL, NULL };
	return 0;
}

void
var_std_free(struct var_std *std)
{
	free(std->username);
	free(std->orig_username);
	std->username = std->orig_username = NULL;
}

void
var_template_vars(struct strbuf *out, const char *tmpl)
{
	for (const char *p = strchr(tmpl, '%'); p != NULL; p = strchr(p, '%')) {
		const char *v = p + 1 + strspn(p + 1, "-0123456789." VAR_MODIFIERS);
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
