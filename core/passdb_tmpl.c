/* SPDX-License-Identifier: MIT */
#include "core/passdb_tmpl.h"

#include <stdlib.h>
#include <string.h>

#include "core/passdb_req.h"
#include "core/str.h"

/* keys and values, one NUL-terminated string after another: key, value, key, value... */
struct passdb_tmpl {
	size_t n;	/* pairs */
	char *kv;
	char **v;	/* 2 * n pointers into kv; a value NULL: the key had no '=' */
};

int
passdb_tmpl_new(const char *args, struct passdb_tmpl **out, char *errbuf, size_t errlen)
{
	struct passdb_tmpl *t;
	size_t len = strlen(args), n = 0;
	char *p;

	*out = NULL;
	for (const char *s = args + strspn(args, " "); *s != '\0'; s += strspn(s, " ")) {
		n++;
		s += strcspn(s, " ");
	}
	if (n == 0)
		return 0;
	if ((t = calloc(1, sizeof(*t))) == NULL || (t->kv = malloc(len + 1)) == NULL ||
	    (t->v = calloc(2 * n, sizeof(*t->v))) == NULL) {
		passdb_tmpl_free(t);
		str_copy(errbuf, "out of memory", errlen);
		return -1;
	}
	memcpy(t->kv, args, len + 1);
	for (p = t->kv + strspn(t->kv, " "); *p != '\0'; p += strspn(p, " ")) {
		size_t wl = strcspn(p, " ");
		char *eq = memchr(p, '=', wl);
		int last = p[wl] == '\0';

		p[wl] = '\0';
		t->v[2 * t->n] = p;
		if (eq != NULL) {
			*eq = '\0';
			t->v[2 * t->n + 1] = eq + 1;
		}
		if (*p == '\0') {
			str_fmt(errbuf, errlen, "Invalid passdb template %s - key must not be "
			    "empty", args);
			passdb_tmpl_free(t);
			return -1;
		}
		if (eq != NULL && passdb_check_template(eq + 1, errbuf, errlen) < 0) {
			passdb_tmpl_free(t);
			return -1;
		}
		t->n++;
		p += wl + !last;
	}
	*out = t;
	return 0;
}

int
passdb_tmpl_export(const struct passdb_tmpl *t, struct passdb_lookup *L, char *errbuf,
    size_t errlen)
{
	if (t == NULL)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		const char *error, *key = t->v[2 * i], *tmpl = t->v[2 * i + 1];
		char *val = NULL;
		int r;

		if (tmpl != NULL && (val = passdb_expand(L, NULL, tmpl, NULL, errbuf, errlen,
		    &error)) == NULL) {
			if (error != errbuf)
				str_copy(errbuf, error, errlen);
			return -1;
		}
		if (val != NULL && strcmp(key, "password") == 0 && val[0] != '{') {
			/* Dovecot: a password here is in its default scheme, PLAIN */
			char *pw = malloc(strlen(val) + 8);
			if (pw != NULL)
				memcpy(pw, "{PLAIN}", 7), strcpy(pw + 7, val);
			free(val);
			if ((val = pw) == NULL) {
				str_copy(errbuf, "out of memory", errlen);
				return -1;
			}
		}
		r = passdb_set_field(L, key, val != NULL ? val : "");
		free(val);
		if (r < 0) {
			str_copy(errbuf, "out of memory", errlen);
			return -1;
		}
	}
	return 0;
}

void
passdb_tmpl_free(struct passdb_tmpl *t)
{
	if (t == NULL)
		return;
	free(t->kv);
	free(t->v);
	free(t);
}
