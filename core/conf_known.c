/* SPDX-License-Identifier: MIT */
#include "core/conf_known.h"
#include "core/feature.h"
#include "core/log.h"
#include "core/str.h"
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf_known_tab.h"

#define NAME_MAX_CMP	64	/* longer names are never suggested */
#define LABEL_MAX	256
/* Without DOVECOT_SETTINGS the table holds only a config's structure (sections, filters,
 * services): any other name mtool does not use is unknown to that build, and says so. */
#define KNOWN_SCOPE FEATURE_IF_NOT(MTOOL_WITH_DOVECOT_SETTINGS, \
	": not known to this build (profile " MTOOL_PROFILE ", feature dovecot_settings is out)")

/* Classes, the byte after a name (upper case: Dovecot's default is not in the table):
 * u  Dovecot's, used by no applet here or by another one; m  mtool's own, likewise;
 * p, d, r  would change a proxy's, director's, replicator's behaviour: not implemented;
 * s  a section type ("passdb/"); f  a filter section type; v  a service name. */

struct kcheck {
	const struct conf_applet *app;
	struct conf_unused *unused;
	FILE *errf;
	int nerrors;
	struct strbuf full, bare;	/* types paths, the second without filters */
};

/* Walks the front-coded table (scripts/conf_known.py): name is the entry's whole name,
 * entry its class byte and default. */
struct known_it {
	size_t pos, i;
	char name[NAME_MAX_CMP];
	const char *entry;
};

static void
known_start(struct known_it *it, size_t block)
{
	it->pos = known_head[block];
	it->i = block * KNOWN_BLOCK;
}

static int
known_next(struct known_it *it)
{
	if (it->i >= KNOWN_COUNT)
		return 0;
	const char *p = known_blob + it->pos;
	size_t keep = (unsigned char)*p++, len = strlen(p);
	memcpy(it->name + keep, p, len + 1);
	it->entry = p + len + 1;
	it->pos = (size_t)(it->entry + strlen(it->entry) + 1 - known_blob);
	it->i++;
	return 1;
}

/* The class byte and default of the entry named key, or NULL if there is none. */
static const char *
known_find(const char *key)
{
	size_t lo = 0, hi = sizeof(known_head) / sizeof(known_head[0]);
	struct known_it it;

	/* the last block whose first name is <= key */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(key, known_blob + known_head[mid] + 1) < 0)
			hi = mid;
		else
			lo = mid;
	}
	known_start(&it, lo);
	for (size_t n = 0; n < KNOWN_BLOCK && known_next(&it); n++) {
		int c = strcmp(key, it.name);
		if (c == 0)
			return it.entry;
		if (c < 0)
			break;
	}
	return NULL;
}

/* path "/" key, or key at the top level; NULL if too long. */
static const char *
join(char *buf, size_t size, const char *path, const char *sep, const char *key)
{
	if (str_fmt(buf, size, "%s%s%s", path, *path ? sep : "", key) >= size)
		return NULL;
	return buf;
}

const char *
conf_known_default(const char *name, size_t len)
{
	char key[NAME_MAX_CMP + 1];
	const char *e;

	if (len > NAME_MAX_CMP)
		return NULL;
	memcpy(key, name, len);
	key[len] = '\0';
	if (strchr(key, '/') != NULL || (e = known_find(key)) == NULL ||
	    *e < 'a' || *e == 's' || *e == 'f' || *e == 'v')
		return NULL;
	return e + 1;
}

static size_t
edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[NAME_MAX_CMP + 1];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

struct near {
	const char *word;
	size_t wlen, best;
	char name[NAME_MAX_CMP];	/* a copy: the table's names are decoded in turn */
	size_t nlen;
};

static void
near_try(struct near *nr, const char *cand, size_t clen)
{
	if (clen == 0 || clen >= NAME_MAX_CMP)
		return;
	size_t d = edit_distance(nr->word, nr->wlen, cand, clen);
	if (d < nr->best) {
		nr->best = d;
		memcpy(nr->name, cand, clen);
		nr->nlen = clen;
	}
}

/* The known name nearest to word among the entries "prefix NAME" of the table (a
 * section type when section is set: "prefixNAME/") and the applet's schema rows of
 * path; NULL when none is near enough to be a likely misspelling. */
static const struct near *
suggest(struct near *nr, const struct kcheck *ck, const char *prefix, const char *word,
    int section)
{
	size_t plen = strlen(prefix);

	*nr = (struct near){ .word = word, .wlen = strlen(word) };
	if (nr->wlen >= NAME_MAX_CMP)
		return NULL;
	/* at most a third of the letters wrong, and never more than three */
	nr->best = nr->wlen / 3 + 1 < 4 ? nr->wlen / 3 + 1 : 4;
	struct known_it it;
	known_start(&it, 0);
	while (known_next(&it)) {
		const char *n = it.name;
		if (strncmp(n, prefix, plen) != 0)
			continue;
		n += plen;
		size_t len = strcspn(n, "/ ");
		if (section ? n[len] == '/' && n[len + 1] == '\0' : n[len] == '\0')
			near_try(nr, n, len);
	}
	if (!section && strcmp(prefix, "service ") != 0) {
		for (const struct conf_key *r = ck->app->schema; r->section != NULL; r++)
			if (r->section != conf_feature_mark && r->key != NULL &&
			    strcmp(r->section, ck->bare.s) == 0)
				near_try(nr, r->key, strlen(r->key));
	}
	return nr->nlen > 0 ? nr : NULL;
}

static void __attribute__((format(printf, 3, 4)))
kerr(struct kcheck *ck, const struct conf_node *n, const char *fmt, ...)
{
	va_list ap;

	ck->nerrors++;
	va_start(ap, fmt);
	conf_vreport(ck->errf, n, ck->full.s, fmt, ap);
	va_end(ap);
}

static void
unknown(struct kcheck *ck, const struct conf_node *n, const char *what, const char *prefix,
    const char *word, int section)
{
	struct near nr;
	const struct near *s = suggest(&nr, ck, prefix, word, section);

	if (s != NULL)
		kerr(ck, n, "unknown %s '%s' (did you mean '%.*s'?)" KNOWN_SCOPE, what, word,
		    (int)s->nlen, s->name);
	else
		kerr(ck, n, "unknown %s '%s'" KNOWN_SCOPE, what, word);
}

static void
add_unused(struct kcheck *ck, const struct conf_node *n)
{
	struct conf_unused *u = ck->unused;

	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 32;
		const struct conf_node **g = realloc(u->nodes, cap * sizeof(*g));
		if (g == NULL) {
			kerr(ck, n, "out of memory");
			return;
		}
		u->nodes = g;
		u->cap = cap;
	}
	u->nodes[u->n++] = n;
}

/* yes/y/1 and no/n/0 are one value each, as the parser sees them. */
static const char *
canon(const char *v)
{
	if (str_eq_nocase(v, "yes") || str_eq_nocase(v, "y") || strcmp(v, "1") == 0)
		return "yes";
	if (str_eq_nocase(v, "no") || str_eq_nocase(v, "n") || strcmp(v, "0") == 0)
		return "no";
	return v;
}

static int
is_default(const char *entry, const char *value)
{
	return entry[0] >= 'a' && strcmp(canon(entry + 1), canon(value)) == 0;
}

/* Does the applet use service svc (type NULL), or its listener of that type and name? */
static int
service_used(const struct conf_applet *app, const char *svc, const char *type,
    const char *name)
{
	size_t len = strlen(svc), tlen = type != NULL ? strlen(type) : 0;

	for (const char *const *s = app->services; s != NULL && *s != NULL; s++) {
		const char *r = *s + len;
		if (strncmp(*s, svc, len) != 0 || (*r != '\0' && *r != ' '))
			continue;
		if (type == NULL || *r == '\0')
			return 1;
		r++;
		if (strncmp(r, type, tlen) == 0 && (r[tlen] == '\0' || (r[tlen] == ' ' &&
		    name != NULL && strcmp(r + tlen + 1, name) == 0)))
			return 1;
	}
	return 0;
}

/* service NAME { executable = NAME }: the default, 1; "X-login director" in a login
 * proxy: ask the director, 2 (the applet reads it); anything else would start another
 * program, which mtool does not: 0. */
static int
executable_ok(const struct conf_node *n, char role)
{
	const char *svc = n->parent->name, *v = n->value, *sp = strchr(v, ' '), *base;
	size_t len = svc != NULL ? strlen(svc) : 0;

	for (base = sp != NULL ? sp : v + strlen(v); base > v && base[-1] != '/'; base--)
		;
	if (svc == NULL || strncmp(base, svc, len) != 0 || (base[len] != '\0' && base[len] != ' '))
		return 0;
	if (base[len] == '\0')
		return 1;
	return role == 'p' && len > 6 && strcmp(svc + len - 6, "-login") == 0 &&
	    strcmp(base + len, " director") == 0 ? 2 : 0;
}

static void
check_setting(struct kcheck *ck, const struct conf_node *n)
{
	const char *absent = NULL, *e;
	char key[LABEL_MAX];

	if (conf_schema_has_key(ck->app->schema, ck->full.s, n->key, &absent)) {
		if (absent != NULL)
			kerr(ck, n, "%s: not in this build (feature %s)", n->key, absent);
		return;
	}
	if (ck->full.len != ck->bare.len &&
	    conf_schema_has_key(ck->app->schema, ck->bare.s, n->key, &absent)) {
		kerr(ck, n, "%s: mtool %s applies it only outside filter sections, not", n->key,
		    ck->app->name);
		return;
	}
	if (join(key, sizeof(key), ck->bare.s, "/", n->key) == NULL ||
	    ((e = known_find(key)) == NULL && (join(key, sizeof(key), ck->bare.s, "/", "*") == NULL ||
	    (e = known_find(key)) == NULL))) {
		char prefix[LABEL_MAX];
		join(prefix, sizeof(prefix), ck->bare.s, "/", "");
		unknown(ck, n, "setting", prefix, n->key, 0);
		return;
	}
	if (strcmp(key, "service/executable") == 0) {
		int ok = executable_ok(n, ck->app->role);
		if (ok == 0)
			kerr(ck, n, "executable = %s: not implemented by mtool %s (it runs no other program)",
			    n->value, ck->app->name);
		if (ok != 1)
			return;
	}
	if ((*e | 0x20) == ck->app->role && !is_default(e, n->value)) {
		kerr(ck, n, "%s = %s: not implemented by mtool %s", n->key, n->value, ck->app->name);
		return;
	}
	add_unused(ck, n);
}

static void check_section(struct kcheck *, const struct conf_node *, const char *svc);

static void
descend(struct kcheck *ck, const struct conf_node *n, int filter, const char *svc)
{
	size_t flen = ck->full.len, blen = ck->bare.len;

	strbuf_printf(&ck->full, "%s%s", flen > 0 ? "/" : "", n->key);
	if (!filter)
		strbuf_printf(&ck->bare, "%s%s", blen > 0 ? "/" : "", n->key);
	if (ck->full.error || ck->bare.error)
		kerr(ck, n, "out of memory");
	else
		check_section(ck, n, svc);
	strbuf_truncate(&ck->full, flen);
	strbuf_truncate(&ck->bare, blen);
}

/* svc: the name of the service section n is in, else NULL */
static void
check_child_section(struct kcheck *ck, const struct conf_node *n, const char *svc)
{
	char key[LABEL_MAX], prefix[LABEL_MAX];
	const char *e = NULL;

	if (join(key, sizeof(key), ck->bare.s, "/", n->key) != NULL && strlen(key) + 2 < sizeof(key)) {
		strcat(key, "/");
		e = known_find(key);
	}
	if (e != NULL && (*e | 0x20) == 'f') {
		descend(ck, n, 1, NULL);
		return;
	}
	if (ck->bare.len == 0 && strcmp(n->key, "service") == 0) {
		if (n->name == NULL) {
			kerr(ck, n, "service { } needs a name");
			return;
		}
		if (service_used(ck->app, n->name, NULL, NULL)) {
			descend(ck, n, 0, n->name);
		} else if (str_fmt(key, sizeof(key), "service %s", n->name) < sizeof(key) &&
		    known_find(key) != NULL) {
			add_unused(ck, n);
		} else {
			unknown(ck, n, "service", "service ", n->name, 0);
		}
		return;
	}
	if (svc != NULL && e != NULL && !service_used(ck->app, svc, n->key, n->name)) {
		add_unused(ck, n);	/* a listener of a service used for other listeners */
		return;
	}
	if (conf_schema_has_section(ck->app->schema, ck->full.s, n->key) ||
	    conf_schema_has_section(ck->app->schema, ck->bare.s, n->key))
		descend(ck, n, 0, NULL);
	else if (e != NULL)
		add_unused(ck, n);
	else {
		join(prefix, sizeof(prefix), ck->bare.s, "/", "");
		unknown(ck, n, "section", prefix, n->key, 1);
	}
}

static void
check_section(struct kcheck *ck, const struct conf_node *sec, const char *svc)
{
	for (const struct conf_node *n = sec->children; n != NULL; n = n->next) {
		if (n->value != NULL)
			check_setting(ck, n);
		else
			check_child_section(ck, n, svc);
	}
}

int
conf_known_check(const struct conf *c, const struct conf_applet *app, struct conf_unused *u,
    FILE *errf)
{
	struct kcheck ck = { .app = app, .unused = u, .errf = errf };

	memset(u, 0, sizeof(*u));
	strbuf_init(&ck.full, (size_t)CONF_SECTION_DEPTH * (CONF_LINE_MAX + 1));
	strbuf_init(&ck.bare, (size_t)CONF_SECTION_DEPTH * (CONF_LINE_MAX + 1));
	if (ck.full.error || ck.bare.error)
		kerr(&ck, conf_root(c), "out of memory");
	else
		check_section(&ck, conf_root(c), NULL);
	strbuf_free(&ck.full);
	strbuf_free(&ck.bare);
	return ck.nerrors;
}

void
conf_unused_free(struct conf_unused *u)
{
	free(u->nodes);
	memset(u, 0, sizeof(*u));
}

/* "service/imap-login/service_count": the node as -o names it. */
static void
label(char *buf, size_t size, const struct conf_node *n)
{
	if (n->parent != NULL && n->parent->parent != NULL) {
		label(buf, size, n->parent);
		str_fmt(buf + strlen(buf), size - strlen(buf), "/");
	} else
		buf[0] = '\0';
	str_fmt(buf + strlen(buf), size - strlen(buf), "%s%s%s", n->key, n->name ? "/" : "",
	    n->name ? n->name : "");
}

void
conf_known_log_unused(const struct conf_unused *u, const char *applet)
{
	struct strbuf sb;
	char l[LABEL_MAX];

	if (u->n == 0)
		return;
	strbuf_init(&sb, 4096);
	for (size_t i = 0; i < u->n; i++) {
		label(l, sizeof(l), u->nodes[i]);
		log_debug("%s:%u: %s: accepted, not used by mtool %s", u->nodes[i]->file,
		    u->nodes[i]->line, l, applet);
		/* each name once: Debian's tree has ten plugin { } sections */
		size_t len = strlen(l);
		const char *at = sb.len > 0 ? strstr(sb.s, l) : NULL;
		while (at != NULL && !((at == sb.s || at[-1] == ' ') && (at[len] == ',' || at[len] == '\0')))
			at = strstr(at + 1, l);
		if (at == NULL)
			strbuf_printf(&sb, "%s%s", sb.len ? ", " : "", l);
	}
	log_info("settings accepted but not used by mtool %s (-D shows where): %s%s", applet,
	    sb.s != NULL ? sb.s : "", sb.error ? "..." : "");
	strbuf_free(&sb);
}

static int
is_unused(const struct conf_unused *u, const struct conf_node *n)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->nodes[i] == n)
			return 1;
	return 0;
}

static int
is_secret(const char *key)
{
	return strstr(key, "password") != NULL || strcmp(key, "ssl_key") == 0 ||
	    strstr(key, "_key") != NULL;
}

static void
dump_value(FILE *out, const char *v)
{
	size_t len = strlen(v);

	if (len > 0 && strpbrk(v, "#\"'\\") == NULL && v[0] != ' ' && v[len - 1] != ' ' &&
	    v[0] != '<' && v[0] != '$') {
		fputs(v, out);
		return;
	}
	fputc('"', out);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', out);
		fputc(*v, out);
	}
	fputc('"', out);
}

/* 1 if something of sec is printed */
static int
dump_section(FILE *out, const struct conf_node *sec, const struct conf_unused *u,
    struct strbuf *bare, int depth, int print)
{
	int any = 0;

	for (const struct conf_node *n = sec->children; n != NULL; n = n->next) {
		if (is_unused(u, n))
			continue;
		if (n->value != NULL) {
			char key[LABEL_MAX];
			const char *e;
			if (conf_find(sec, n->key) != n)
				continue;	/* set again later */
			if (join(key, sizeof(key), bare->s, "/", n->key) != NULL &&
			    (e = known_find(key)) != NULL && is_default(e, n->value))
				continue;
			any = 1;
			if (!print)
				return 1;
			fprintf(out, "%*s%s = ", depth * 2, "", n->key);
			if (is_secret(n->key) && *n->value != '\0')
				fputs("# hidden", out);
			else if (strchr(n->value, '\n') != NULL)
				fprintf(out, "# %zu bytes read from a file", strlen(n->value));
			else
				dump_value(out, n->value);
			fputc('\n', out);
			continue;
		}
		size_t blen = bare->len;
		const char *e = NULL;
		char key[LABEL_MAX];
		if (join(key, sizeof(key), bare->s, "/", n->key) != NULL && strlen(key) + 2 < sizeof(key))
			e = known_find(strcat(key, "/"));
		int filter = e != NULL && (*e | 0x20) == 'f';
		if (!filter)
			strbuf_printf(bare, "%s%s", blen ? "/" : "", n->key);
		/* an empty section still says something ("inet_listener imaps { }"), an
		 * empty filter nothing */
		if (dump_section(out, n, u, bare, depth + 1, 0) || (n->children == NULL && !filter)) {
			any = 1;
			if (print) {
				fprintf(out, "%*s%s%s%s {\n", depth * 2, "", n->key, n->name ? " " : "",
				    n->name ? n->name : "");
				dump_section(out, n, u, bare, depth + 1, 1);
				fprintf(out, "%*s}\n", depth * 2, "");
			}
		}
		strbuf_truncate(bare, blen);
		if (any && !print)
			return 1;
	}
	return any;
}

void
conf_known_dump(const struct conf *c, const struct conf_unused *u, const char *applet,
    FILE *out)
{
	struct strbuf bare;
	char l[LABEL_MAX];

	strbuf_init(&bare, (size_t)CONF_SECTION_DEPTH * (CONF_LINE_MAX + 1));
	fprintf(out, "# mtool %s: %s\n", applet, conf_root(c)->file);
	dump_section(out, conf_root(c), u, &bare, 0, 1);
	strbuf_free(&bare);
	if (u->n > 0)
		fprintf(out, "# accepted but not used by mtool %s:\n", applet);
	for (size_t i = 0; i < u->n; i++) {
		label(l, sizeof(l), u->nodes[i]);
		fprintf(out, "#   %s:%u: %s\n", u->nodes[i]->file, u->nodes[i]->line, l);
	}
}
