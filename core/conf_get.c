/* SPDX-License-Identifier: MIT */
/* core/conf_get.c: reading a loaded config (core/conf.h): lookups, typed values and the
 * schema check. The parser itself is core/conf.c. */
#include "core/conf.h"
#include "core/str.h"
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <string.h>

#define IS_WHITE(c)	((c) == ' ' || (c) == '\t')

static int node_err(const struct conf_node *, FILE *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

const char *
conf_get(const struct conf_node *section, const char *key, const char *def)
{
	const struct conf_node *n = conf_find(section, key);
	return n != NULL ? n->value : def;
}

/* see conf.h */
int
conf_get_uint(const struct conf *c, const char *key, unsigned int def, unsigned int min,
    unsigned int max, unsigned int *out, FILE *errf)
{
	const struct conf_node *n = conf_find(conf_root(c), key);
	unsigned long long v;
	*out = def;
	if (n == NULL)
		return 0;
	if (conf_parse_uint(n, max, &v, errf) < 0)
		return -1;
	if (v < min) {
		fprintf(errf, "%s:%u: %s: must be at least %u\n", n->file, n->line, key, min);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

/* ms in the largest unit that divides it, in the syntax a setting takes back */
static const char *
fmt_ms(unsigned long long ms, char *buf, size_t len)
{
	static const struct { unsigned long long ms; const char *name; } u[] = {
		{ 604800000, "weeks" }, { 86400000, "days" }, { 3600000, "hours" },
		{ 60000, "mins" }, { 1000, "secs" },
	};
	for (size_t i = 0; ms > 0 && i < sizeof(u) / sizeof(u[0]); i++)
		if (ms % u[i].ms == 0) {
			str_fmt(buf, len, "%llu %s", ms / u[i].ms, u[i].name);
			return buf;
		}
	str_fmt(buf, len, "%llu ms", ms);
	return buf;
}

/* bytes in the largest unit that divides it */
static const char *
fmt_size(unsigned long long v, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int i = -1;
	while (v > 0 && v % 1024 == 0 && i < 3) {
		v /= 1024;
		i++;
	}
	if (i < 0)
		str_fmt(buf, len, "%llu B", v);
	else
		str_fmt(buf, len, "%llu%c", v, units[i]);
	return buf;
}

/* see conf.h */
int
conf_get_ms(const struct conf *c, const char *key, unsigned long long def_ms,
    unsigned long long min_ms, unsigned long long max_ms, unsigned long long *out_ms, FILE *errf)
{
	const struct conf_node *n = conf_find(conf_root(c), key);
	unsigned long long v;
	char lo[32], hi[32];
	*out_ms = def_ms;
	if (n == NULL)
		return 0;
	if (conf_parse_time_ms(n, &v, errf) < 0)
		return -1;
	if (v < min_ms || v > max_ms)
		return node_err(n, errf, "must be between %s and %s", fmt_ms(min_ms, lo, sizeof(lo)),
		    fmt_ms(max_ms, hi, sizeof(hi)));
	*out_ms = v;
	return 0;
}

/* see conf.h */
int
conf_get_ms_uint(const struct conf *c, const char *key, unsigned int def_ms, unsigned int min_ms,
    unsigned int max_ms, unsigned int *out_ms, FILE *errf)
{
	unsigned long long v;
	int r = conf_get_ms(c, key, def_ms, min_ms, max_ms, &v, errf);
	*out_ms = (unsigned int)v;
	return r;
}

/* see conf.h */
int
conf_get_size(const struct conf *c, const char *key, unsigned long long def,
    unsigned long long min, unsigned long long max, unsigned long long *out, FILE *errf)
{
	const struct conf_node *n = conf_find(conf_root(c), key);
	unsigned long long v;
	char lo[32], hi[32];
	*out = def;
	if (n == NULL)
		return 0;
	if (conf_parse_size(n, &v, errf) < 0)
		return -1;
	if (v < min || v > max)
		return node_err(n, errf, "must be between %s and %s", fmt_size(min, lo, sizeof(lo)),
		    fmt_size(max, hi, sizeof(hi)));
	*out = v;
	return 0;
}

const struct conf_node *
conf_find_proto(const struct conf *c, const char *protocol, const char *key)
{
	const struct conf_node *s = NULL, *n;

	while ((s = conf_next_section(conf_root(c), s, "protocol")) != NULL)
		if (s->name != NULL && strcmp(s->name, protocol) == 0 &&
		    (n = conf_find(s, key)) != NULL)
			return n;
	return conf_find(conf_root(c), key);
}

const char *
conf_get_proto(const struct conf *c, const char *protocol, const char *key, const char *def)
{
	const struct conf_node *n = conf_find_proto(c, protocol, key);
	return n != NULL ? n->value : def;
}

const struct conf_node *
conf_next_section(const struct conf_node *section, const struct conf_node *prev,
    const char *type)
{
	const struct conf_node *n = prev != NULL ? prev->next : section->children;
	for (; n != NULL; n = n->next)
		if (n->value == NULL && (type == NULL || strcmp(n->key, type) == 0))
			return n;
	return NULL;
}

static int __attribute__((format(printf, 3, 4)))
node_err(const struct conf_node *n, FILE *errf, const char *fmt, ...)
{
	va_list ap;

	if (errf == NULL)
		return -1;
	fprintf(errf, "%s:%u: %s: ", n->file, n->line, n->key);
	va_start(ap, fmt);
	vfprintf(errf, fmt, ap);
	va_end(ap);
	fputc('\n', errf);
	return -1;
}

int
conf_parse_bool(const struct conf_node *n, int *out, FILE *errf)
{
	const char *v = n->value;

	if (str_eq_nocase(v, "yes") || str_eq_nocase(v, "y") || strcmp(v, "1") == 0)
		*out = 1;
	else if (str_eq_nocase(v, "no") || str_eq_nocase(v, "n") || strcmp(v, "0") == 0)
		*out = 0;
	else
		return node_err(n, errf, "invalid boolean '%s' (use yes or no)", v);
	return 0;
}

/* Leading decimal digits of s: returns 1 with *out and *end set, 0 if there is no
 * digit, -1 if the number does not fit. */
static int
parse_digits(const char *s, unsigned long long *out, const char **end)
{
	unsigned long long v = 0;

	if (*s < '0' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	*end = s;
	return 1;
}

int
conf_parse_uint(const struct conf_node *n, unsigned long long max, unsigned long long *out,
    FILE *errf)
{
	unsigned long long v;
	const char *end;
	int rc = parse_digits(n->value, &v, &end);

	if (rc == 0 || (rc > 0 && *end != '\0'))
		return node_err(n, errf, "invalid number '%s'", n->value);
	if (rc < 0 || v > max)
		return node_err(n, errf, "number '%s' is too large (max %llu)", n->value, max);
	*out = v;
	return 0;
}

static const struct {
	const char *name;
	unsigned long long ms;
} time_units[] = {
	/* in Dovecot's order: a lone "m" is minutes, "ms" milliseconds */
	{ "secs", 1000 }, { "seconds", 1000 },
	{ "mins", 60000 }, { "minutes", 60000 },
	{ "msecs", 1 }, { "mseconds", 1 }, { "millisecs", 1 }, { "milliseconds", 1 },
	{ "hours", 3600000 }, { "days", 86400000 }, { "weeks", 604800000 },
};

/* Returns 0, -1 if s is not a time interval, -2 if it does not fit. */
static int
time_str(const char *s, unsigned long long *out_ms)
{
	unsigned long long v, mult = 0;
	const char *u;
	int rc = parse_digits(s, &v, &u);

	if (rc <= 0)
		return rc - 1;
	while (IS_WHITE(*u))
		u++;
	if (*u == '\0')
		mult = 1000;
	for (size_t i = 0; mult == 0 && i < sizeof(time_units) / sizeof(time_units[0]); i++)
		if (str_has_prefix_nocase(time_units[i].name, u))
			mult = time_units[i].ms;
	if (mult == 0)
		return -1;
	if (v > ULLONG_MAX / mult)
		return -2;
	*out_ms = v * mult;
	return 0;
}

/* Returns 0, -1 if s is not a size, -2 if it does not fit. */
static int
size_str(const char *s, unsigned long long *out)
{
	static const char units[] = "BKMGT";
	unsigned long long v, mult = 1;
	const char *u, *up;
	int rc = parse_digits(s, &v, &u);

	if (rc <= 0)
		return rc - 1;
	while (IS_WHITE(*u))
		u++;
	char c = *u >= 'a' && *u <= 'z' ? (char)(*u - 'a' + 'A') : *u;
	if (c != '\0' && (up = strchr(units, c)) != NULL) {
		mult = 1ULL << (10 * (up - units));
		u++;
		/* "k", "ki", "kib", "kb" as Dovecot; a lone "B" takes nothing more */
		if (c != 'B' && (*u == 'i' || *u == 'I'))
			u++;
		if (c != 'B' && (*u == 'b' || *u == 'B'))
			u++;
	}
	if (*u != '\0')
		return -1;
	if (v > ULLONG_MAX / mult)
		return -2;
	*out = v * mult;
	return 0;
}

int
conf_parse_time_ms(const struct conf_node *n, unsigned long long *out_ms, FILE *errf)
{
	int rc = time_str(n->value, out_ms);

	if (rc == -1)
		return node_err(n, errf, "invalid time interval '%s'", n->value);
	if (rc == -2)
		return node_err(n, errf, "time interval '%s' is too large", n->value);
	return 0;
}

int
conf_parse_size(const struct conf_node *n, unsigned long long *out, FILE *errf)
{
	int rc = size_str(n->value, out);

	if (rc == -1)
		return node_err(n, errf, "invalid size '%s'", n->value);
	if (rc == -2)
		return node_err(n, errf, "size '%s' is too large", n->value);
	return 0;
}

int
conf_parse_time_string_ms(const char *s, unsigned long long *out_ms)
{
	return time_str(s, out_ms) < 0 ? -1 : 0;
}

int
conf_parse_size_string(const char *s, unsigned long long *out)
{
	return size_str(s, out) < 0 ? -1 : 0;
}

const char conf_feature_mark[] = "feature";

struct check {
	const struct conf_key *schema;
	FILE *errf;
	int nerrors;
	struct strbuf full;	/* types path of the section being checked */
	struct strbuf bare;	/* the same without filter sections */
};

static int
is_filter(const char *type)
{
	return strcmp(type, "protocol") == 0 || strcmp(type, "local") == 0 ||
	    strcmp(type, "remote") == 0 || strcmp(type, "local_name") == 0;
}

/* see conf.h */
int
conf_schema_has_key(const struct conf_key *schema, const char *path, const char *key,
    const char **absent)
{
	const char *feature = NULL;
	for (const struct conf_key *r = schema; r->section != NULL; r++) {
		if (r->section == conf_feature_mark) {
			feature = r->key;
			continue;
		}
		if (r->key != NULL && strcmp(r->section, path) == 0 &&
		    (strcmp(r->key, "*") == 0 || strcmp(r->key, key) == 0)) {
			*absent = feature;
			return 1;
		}
	}
	return 0;
}

int
conf_schema_has_section(const struct conf_key *schema, const char *path, const char *type)
{
	size_t plen = strlen(path), tlen = strlen(type);

	for (const struct conf_key *r = schema; r->section != NULL; r++) {
		const char *s = r->section;
		if (s == conf_feature_mark)
			continue;
		if (plen > 0) {
			if (strncmp(s, path, plen) != 0 || s[plen] != '/')
				continue;
			s += plen + 1;
		}
		if (strncmp(s, type, tlen) == 0 && (s[tlen] == '\0' || s[tlen] == '/'))
			return 1;
	}
	return 0;
}

/* see conf.h */
void
conf_vreport(FILE *errf, const struct conf_node *n, const char *path, const char *fmt,
    va_list ap)
{
	if (errf == NULL)
		return;
	fprintf(errf, "%s:%u: ", n->file, n->line);
	vfprintf(errf, fmt, ap);
	if (*path != '\0')
		fprintf(errf, " in section '%s'", path);
	fputc('\n', errf);
}

static void __attribute__((format(printf, 3, 4)))
check_err(struct check *ck, const struct conf_node *n, const char *fmt, ...)
{
	va_list ap;

	ck->nerrors++;
	va_start(ap, fmt);
	conf_vreport(ck->errf, n, ck->full.s, fmt, ap);
	va_end(ap);
}

static void
check_section(struct check *ck, const struct conf_node *sec)
{
	for (const struct conf_node *n = sec->children; n != NULL; n = n->next) {
		if (n->value != NULL) {
			const char *absent = NULL;
			if (!conf_schema_has_key(ck->schema, ck->full.s, n->key, &absent) &&
			    !conf_schema_has_key(ck->schema, ck->bare.s, n->key, &absent))
				check_err(ck, n, "unknown setting '%s'", n->key);
			else if (absent != NULL)
				check_err(ck, n, "%s: not in this build (feature %s)", n->key, absent);
			continue;
		}
		if (!conf_schema_has_section(ck->schema, ck->full.s, n->key) &&
		    !conf_schema_has_section(ck->schema, ck->bare.s, n->key)) {
			check_err(ck, n, "unknown section '%s'", n->key);
			continue;
		}
		size_t flen = ck->full.len, blen = ck->bare.len;
		strbuf_printf(&ck->full, "%s%s", flen > 0 ? "/" : "", n->key);
		if (!is_filter(n->key))
			strbuf_printf(&ck->bare, "%s%s", blen > 0 ? "/" : "", n->key);
		if (ck->full.error || ck->bare.error) {
			check_err(ck, n, "out of memory");
			return;
		}
		check_section(ck, n);
		strbuf_truncate(&ck->full, flen);
		strbuf_truncate(&ck->bare, blen);
	}
}

int
conf_check(const struct conf *c, const struct conf_key *schema, FILE *errf)
{
	struct check ck;

	memset(&ck, 0, sizeof(ck));
	ck.schema = schema;
	ck.errf = errf;
	strbuf_init(&ck.full, (size_t)CONF_SECTION_DEPTH * (CONF_LINE_MAX + 1));
	strbuf_init(&ck.bare, (size_t)CONF_SECTION_DEPTH * (CONF_LINE_MAX + 1));
	check_section(&ck, conf_root(c));
	strbuf_free(&ck.full);
	strbuf_free(&ck.bare);
	return ck.nerrors;
}
