/* SPDX-License-Identifier: MIT */
/* Implementation notes: Dovecot 2.3's db-ldap.c (settings, defaults, the pass_attrs
 * syntax with %{ldap:attr} templates) and passdb-ldap.c (one entry: found; none:
 * unknown; more: an error; auth_bind's search then bind). Differences on purpose: an
 * empty password never reaches a bind (LDAP takes a simple bind with an empty password
 * as an anonymous one that succeeds, RFC 4513 section 5.1.2), and the auth binds have a
 * connection of their own rather than pausing the searches. */
#include "core/passdb_ldap.h"
#include "core/conf.h"
#include "core/ldap.h"
#include "core/password.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct attr_map {
	char *attr;	/* NULL: a template item ("=field=template") */
	char *field;
	char *tmpl;
};

struct passdb_ldap {
	struct ldap_client *client, *auth;	/* auth: binds as users (auth_bind) */
	char *base, *filter, *scheme, *userdn;
	enum ldap_scope scope;
	enum ldap_deref deref;
	int auth_bind;
	struct attr_map *map;
	size_t nmap;
	const char **attrs;	/* what the search asks for */
	size_t nattrs;
};

struct ldap_lookup {
	struct passdb_ldap *pl;
	struct passdb_lookup *L;
	struct ldap_op *op;
};

static const char *const known_keys[] = {
	"uris", "hosts", "dn", "dnpass", "base", "scope", "deref", "pass_filter", "pass_attrs",
	"auth_bind", "auth_bind_userdn", "default_pass_scheme", "ldap_version", "tls",
	"user_attrs", "user_filter", "iterate_attrs", "iterate_filter", "debug_level",
	"sasl_bind", "blocking", "ldaprc_path", "ldap_debug", "userdb_warning_disable",
	"tls_ca_cert_file", "tls_ca_cert_dir", "tls_cert_file", "tls_key_file",
	"tls_require_cert", "tls_cipher_suite",
};

static int
add_attr(struct passdb_ldap *pl, const char *name, size_t n)
{
	char *a;
	const char **na;

	for (size_t i = 0; i < pl->nattrs; i++)
		if (strncasecmp(pl->attrs[i], name, n) == 0 && pl->attrs[i][n] == '\0')
			return 0;
	if ((a = strndup(name, n)) == NULL ||
	    (na = realloc(pl->attrs, (pl->nattrs + 1) * sizeof(*na))) == NULL) {
		free(a);
		return -1;
	}
	pl->attrs = na;
	pl->attrs[pl->nattrs++] = a;
	return 0;
}

/* Dovecot's pass_attrs: "attr=field, attr, =field=template" */
static int
parse_attrs(struct passdb_ldap *pl, const char *spec, char *eb, size_t el)
{
	for (const char *p = spec; *p != '\0';) {
		size_t n = strcspn(p, ","), b = 0, e = n;
		struct attr_map m = { NULL, NULL, NULL }, *nm;
		char err[160];

		while (b < n && (p[b] == ' ' || p[b] == '\t'))
			b++;
		while (e > b && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		const char *it = p + b, *eq = memchr(it, '=', e - b);
		size_t len = e - b;
		p += n + (p[n] == ',');
		if (len == 0)
			continue;
		if (eq == it) {
			const char *eq2 = memchr(it + 1, '=', len - 1);
			size_t fl = (eq2 != NULL ? (size_t)(eq2 - it) : len) - 1;
			m.field = strndup(it + 1, fl);
			m.tmpl = strndup(eq2 != NULL ? eq2 + 1 : "", eq2 != NULL ?
			    len - fl - 2 : 0);
		} else {
			size_t al = eq != NULL ? (size_t)(eq - it) : len;
			m.attr = strndup(it, al);
			m.field = eq != NULL ? strndup(eq + 1, len - al - 1) : strndup(it, al);
		}
		if (m.field == NULL || (m.attr == NULL && m.tmpl == NULL) ||
		    (nm = realloc(pl->map, (pl->nmap + 1) * sizeof(*nm))) == NULL) {
			free(m.attr);
			free(m.field);
			free(m.tmpl);
			str_copy(eb, "out of memory", el);
			return -1;
		}
		pl->map = nm;
		pl->map[pl->nmap++] = m;
		if (m.field[0] == '\0' || (m.attr != NULL && m.attr[0] == '\0')) {
			str_fmt(eb, el, "pass_attrs: empty name in '%.*s'", (int)len, it);
			return -1;
		}
		if (m.attr != NULL && add_attr(pl, m.attr, strlen(m.attr)) < 0) {
			str_copy(eb, "out of memory", el);
			return -1;
		}
		for (const char *t = m.tmpl; t != NULL && (t = strstr(t, "%{ldap:")) != NULL;) {
			t += 7;
			size_t an = strcspn(t, ":}");
			if (t[an] == '\0' || an == 0) {
				str_fmt(eb, el, "pass_attrs: bad %%{ldap:...} in %s", m.tmpl);
				return -1;
			}
			if (add_attr(pl, t, an) < 0) {
				str_copy(eb, "out of memory", el);
				return -1;
			}
		}
		if (m.tmpl != NULL && passdb_check_template(m.tmpl, err, sizeof(err)) < 0 &&
		    strstr(m.tmpl, "%{ldap:") == NULL) {
			str_fmt(eb, el, "pass_attrs: %s: %s", m.tmpl, err);
			return -1;
		}
	}
	return 0;
}

static int
word(const char *v, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v, words[i]) == 0)
			return (int)i;
	return -1;
}

struct passdb_ldap *
passdb_ldap_new(const char *args, char *eb, size_t el)
{
	static const char *const scopes[] = { "base", "onelevel", "subtree" };
	static const char *const derefs[] = { "never", "searching", "finding", "always" };
	struct passdb_ldap *pl = NULL;
	char err[256];
	struct conf *conf;
	int s, d;

	while (*args == ' ')
		args++;
	if ((conf = passdb_conf_load("ldap", args, known_keys,
	    sizeof(known_keys) / sizeof(known_keys[0]), eb, el)) == NULL)
		return NULL;
	const struct conf_node *root = conf_root(conf);
	const char *uris = conf_get(root, "uris", NULL), *hosts = conf_get(root, "hosts", NULL);
	const char *dn = conf_get(root, "dn", NULL), *dnpass = conf_get(root, "dnpass", "");
	const char *scope = conf_get(root, "scope", "subtree");
	const char *deref = conf_get(root, "deref", "never");
	const char *version = conf_get(root, "ldap_version", "3");
	const char *tls = conf_get(root, "tls", "no"), *sasl = conf_get(root, "sasl_bind", "no");
	const char *ab = conf_get(root, "auth_bind", "no");
	if (uris == NULL || *uris == '\0')
		uris = hosts;
	if (uris == NULL || *uris == '\0') {
		str_fmt(eb, el, "ldap %s: Not using LDAP: neither uris nor hosts set", args);
		goto fail;
	}
	if ((s = word(scope, scopes, 3)) < 0 || (d = word(deref, derefs, 4)) < 0) {
		str_fmt(eb, el, "ldap %s: Unknown %s: %s", args, s < 0 ? "scope" : "deref",
		    s < 0 ? scope : deref);
		goto fail;
	}
	if (strcmp(version, "3") != 0 || strcasecmp(sasl, "no") != 0) {
		str_fmt(eb, el, "ldap %s: mtool speaks LDAPv3 with simple binds (ldap_version = "
		    "%s, sasl_bind = %s)", args, version, sasl);
		goto fail;
	}
	/* OpenLDAP's TLS_REQCERT words; its default (Dovecot leaves it to libldap) is demand */
	static const char *const reqcerts[] = { "never", "allow", "try", "demand", "hard" };
	const char *reqcert = conf_get(root, "tls_require_cert", "demand");
	int rc = word(reqcert, reqcerts, 5), use_tls = strcasecmp(tls, "yes") == 0;
	if ((!use_tls && strcasecmp(tls, "no") != 0) || rc < 0) {
		str_fmt(eb, el, "ldap %s: %s: %s", args, rc < 0 ? "Unknown tls_require_cert" :
		    "tls must be yes or no", rc < 0 ? reqcert : tls);
		goto fail;
	}
	struct ldap_tls_set ts = {
		conf_get(root, "tls_ca_cert_file", NULL), conf_get(root, "tls_ca_cert_dir", NULL),
		conf_get(root, "tls_cert_file", NULL), conf_get(root, "tls_key_file", NULL),
		use_tls, rc >= 2,
	};
	if ((pl = calloc(1, sizeof(*pl))) == NULL)
		goto nomem;
	pl->scope = (enum ldap_scope)s;
	pl->deref = (enum ldap_deref)d;
	pl->auth_bind = strcasecmp(ab, "yes") == 0;
	const char *userdn = conf_get(root, "auth_bind_userdn", NULL);
	if ((pl->base = strdup(conf_get(root, "base", ""))) == NULL ||
	    (pl->filter = strdup(conf_get(root, "pass_filter",
	    "(&(objectClass=posixAccount)(uid=%u))"))) == NULL ||
	    (pl->scheme = strdup(conf_get(root, "default_pass_scheme", "CRYPT"))) == NULL ||
	    (userdn != NULL && (pl->userdn = strdup(userdn)) == NULL))
		goto nomem;
	if (!password_scheme_known(pl->scheme)) {
		str_fmt(eb, el, "ldap %s: Unknown default_pass_scheme: %s", args, pl->scheme);
		goto fail;
	}
	if (passdb_check_template(pl->filter, err, sizeof(err)) < 0 ||
	    passdb_check_template(pl->base, err, sizeof(err)) < 0 ||
	    (pl->userdn != NULL && passdb_check_template(pl->userdn, err, sizeof(err)) < 0)) {
		str_fmt(eb, el, "ldap %s: %s", args, err);
		goto fail;
	}
	if (parse_attrs(pl, conf_get(root, "pass_attrs", ""), err, sizeof(err)) < 0) {
		str_fmt(eb, el, "ldap %s: %s", args, err);
		goto fail;
	}
	if ((pl->client = ldap_client_new(uris, dn != NULL ? dn : "", dnpass, err,
	    sizeof(err))) == NULL ||
	    (pl->auth_bind && (pl->auth = ldap_client_new(uris, NULL, NULL, err,
	    sizeof(err))) == NULL)) {
		str_fmt(eb, el, "ldap %s: %s", args, err);
		goto fail;
	}
	if ((use_tls || strstr(uris, "ldaps://") != NULL) &&
	    (ldap_client_set_tls(pl->client, &ts, err, sizeof(err)) < 0 ||
	    (pl->auth != NULL && ldap_client_set_tls(pl->auth, &ts, err, sizeof(err)) < 0))) {
		str_fmt(eb, el, "ldap %s: %s", args, err);
		goto fail;
	}
	conf_free(conf);
	return pl;
nomem:
	str_copy(eb, "out of memory", el);
fail:
	conf_free(conf);
	passdb_ldap_free(pl);
	return NULL;
}

static void
escape_ldap(struct strbuf *out, const char *v, size_t len)
{
	ldap_escape(out, v, len);
}

static const char *
entry_value(const struct ldap_result *r, const char *attr, unsigned int *nv)
{
	for (unsigned int i = 0; i < r->nattrs; i++)
		if (strcasecmp(r->names[i], attr) == 0) {
			*nv = r->nvalues[i];
			return r->values[i];
		}
	*nv = 0;
	return NULL;
}

/* A template's %{ldap:attr[:default]} replaced by the values, their '%' doubled, so that
 * passdb_expand() sees only the standard variables. */
static void
ldap_vars(struct strbuf *out, const char *t, const struct ldap_result *r)
{
	const char *v;
	unsigned int nv;

	while (*t != '\0') {
		const char *s = strstr(t, "%{ldap:");
		if (s == NULL) {
			strbuf_puts(out, t);
			return;
		}
		strbuf_append(out, t, (size_t)(s - t));
		s += 7;
		size_t an = strcspn(s, ":}"), dl = 0;
		const char *def = s + an;
		char attr[128];
		str_fmt(attr, sizeof(attr), "%.*s", (int)an, s);
		if (*def == ':') {
			def++;
			dl = strcspn(def, "}");
		}
		v = entry_value(r, attr, &nv);
		if (v == NULL) {
			v = def;
			an = dl;
		} else
			an = strlen(v);
		for (size_t i = 0; i < an; i++)
			strbuf_append(out, v[i] == '%' ? "%%" : &v[i], v[i] == '%' ? 2 : 1);
		t = def + strcspn(def, "}");
		if (*t == '}')
			t++;
	}
}

static enum passdb_status
apply_entry(struct ldap_lookup *ll, const struct ldap_result *r)
{
	struct passdb_ldap *pl = ll->pl;
	struct passdb_lookup *L = ll->L;
	char errbuf[128];
	const char *error;

	L->scheme = pl->scheme;
	for (size_t i = 0; i < pl->nmap; i++) {
		const struct attr_map *m = &pl->map[i];
		unsigned int nv;
		char *v = NULL;
		int rr;
		if (m->attr != NULL) {
			const char *val = entry_value(r, m->attr, &nv);
			if (val == NULL)
				continue;
			if (nv > 1)
				passdb_log(L, LOG_LEVEL_WARNING, "Multiple values found for '%s', "
				    "using value '%s'", m->attr, val);
			rr = passdb_set_field(L, m->field, val);
		} else {
			struct strbuf t;
			strbuf_init(&t, PASSDB_VALUE_MAX);
			ldap_vars(&t, m->tmpl, r);
			v = t.error ? NULL : passdb_expand(L, NULL, t.s, NULL, errbuf,
			    sizeof(errbuf), &error);
			strbuf_free(&t);
			if (v == NULL) {
				passdb_log(L, LOG_LEVEL_ERROR, "Failed to expand %s=%s", m->field,
				    m->tmpl);
				return PASSDB_INTERNAL_FAILURE;
			}
			rr = passdb_set_field(L, m->field, v);
			free(v);
		}
		if (rr < 0)
			return PASSDB_INTERNAL_FAILURE;
	}
	return PASSDB_OK;
}

static void
finish(struct ldap_lookup *ll, enum passdb_status st)
{
	struct passdb_lookup *L = ll->L;

	L->drv_op = NULL;
	free(ll);
	passdb_lookup_done(L, st);
}

static void
bind_done(const struct ldap_result *r, void *arg)
{
	struct ldap_lookup *ll = arg;

	ll->op = NULL;
	if (r->error == NULL) {
		finish(ll, PASSDB_OK);
		return;
	}
	if (r->code == LDAP_INVALID_CREDENTIALS) {
		passdb_log(ll->L, LOG_LEVEL_DEBUG, "Password mismatch");
		finish(ll, PASSDB_PASSWORD_MISMATCH);
		return;
	}
	passdb_log(ll->L, LOG_LEVEL_ERROR, "ldap_bind() failed: %s", r->error);
	finish(ll, PASSDB_INTERNAL_FAILURE);
}

/* auth_bind: binds as dn with the login's password. 1: started; else a status. */
static int
start_bind(struct ldap_lookup *ll, const char *dn, enum passdb_status *st)
{
	const char *pw = ll->L->req->password;

	if (pw == NULL || ll->L->skip_password_check) {
		*st = PASSDB_OK;	/* no password to check: found is enough */
		return 0;
	}
	if (*pw == '\0') {
		passdb_log(ll->L, LOG_LEVEL_INFO, "Empty password refused (auth_bind)");
		*st = PASSDB_PASSWORD_MISMATCH;
		return 0;
	}
	passdb_log(ll->L, LOG_LEVEL_DEBUG, "bind: dn=%s", dn);
	if ((ll->op = ldap_bind(ll->pl->auth, dn, pw, bind_done, ll)) == NULL) {
		*st = PASSDB_INTERNAL_FAILURE;
		return 0;
	}
	return 1;
}

static void
search_done(const struct ldap_result *r, void *arg)
{
	struct ldap_lookup *ll = arg;
	struct passdb_lookup *L = ll->L;
	enum passdb_status st;

	ll->op = NULL;
	if (r->error != NULL) {
		passdb_log(L, LOG_LEVEL_ERROR, "ldap_search() failed: %s", r->error);
		st = PASSDB_INTERNAL_FAILURE;
	} else if (r->nentries == 0) {
		passdb_log(L, LOG_LEVEL_DEBUG, "unknown user");
		st = PASSDB_USER_UNKNOWN;
	} else if (r->nentries > 1) {
		passdb_log(L, LOG_LEVEL_ERROR, "pass_filter matched multiple objects, aborting");
		st = PASSDB_INTERNAL_FAILURE;
	} else if ((st = apply_entry(ll, r)) != PASSDB_OK)
		;
	else if (ll->pl->auth_bind) {
		if (start_bind(ll, r->dn, &st))
			return;
	} else if (L->stored == NULL && !L->nopassword) {
		if (L->skip_password_check || L->req->password == NULL)
			st = PASSDB_OK;
		else {
			passdb_log(L, LOG_LEVEL_INFO, "No password returned (and no nopassword)");
			st = PASSDB_PASSWORD_MISMATCH;
		}
	} else
		st = passdb_verify_password(L);
	finish(ll, st);
}

enum passdb_status
passdb_ldap_lookup(struct passdb_ldap *pl, struct passdb_lookup *L)
{
	struct ldap_lookup *ll = calloc(1, sizeof(*ll));
	char errbuf[128], *filter = NULL, *base = NULL;
	const char *error;
	enum passdb_status st = PASSDB_INTERNAL_FAILURE;

	if (ll == NULL)
		return PASSDB_INTERNAL_FAILURE;
	ll->pl = pl;
	ll->L = L;
	if (pl->auth_bind && pl->userdn != NULL) {
		/* Dovecot: bind straight to the DN template, no search, no fields */
		char *dn = passdb_expand(L, NULL, pl->userdn, escape_ldap, errbuf,
		    sizeof(errbuf), &error);
		if (dn == NULL) {
			passdb_log(L, LOG_LEVEL_ERROR, "Failed to expand auth_bind_userdn: %s",
			    error);
			free(ll);
			return PASSDB_INTERNAL_FAILURE;
		}
		int started = start_bind(ll, dn, &st);
		free(dn);
		if (!started) {
			free(ll);
			return st;
		}
		L->drv_op = ll;
		return PASSDB_PENDING;
	}
	filter = passdb_expand(L, NULL, pl->filter, escape_ldap, errbuf, sizeof(errbuf),
	    &error);
	if (filter != NULL)
		base = passdb_expand(L, NULL, pl->base, escape_ldap, errbuf, sizeof(errbuf),
		    &error);
	if (filter == NULL || base == NULL) {
		passdb_log(L, LOG_LEVEL_ERROR, "Failed to expand pass_filter or base: %s", error);
		goto out;
	}
	passdb_log(L, LOG_LEVEL_DEBUG, "pass search: base=%s scope=%d filter=%s", base,
	    (int)pl->scope, filter);
	ll->op = ldap_search(pl->client, base, pl->scope, pl->deref, filter, pl->attrs,
	    pl->nattrs, search_done, ll);
	if (ll->op == NULL) {
		passdb_log(L, LOG_LEVEL_ERROR, "Bad pass_filter after expansion: %s", filter);
		goto out;
	}
	L->drv_op = ll;
	st = PASSDB_PENDING;
out:
	free(filter);
	free(base);
	if (st != PASSDB_PENDING)
		free(ll);
	return st;
}

void
passdb_ldap_cancel(struct passdb_ldap *pl, struct passdb_lookup *L, int expired)
{
	struct ldap_lookup *ll = L->drv_op;

	(void)pl;
	if (ll == NULL)
		return;
	if (ll->op != NULL)
		ldap_op_abort(ll->op, expired);
	free(ll);
	L->drv_op = NULL;
}

void
passdb_ldap_set_loop(struct passdb_ldap *pl, struct loop *loop)
{
	ldap_client_set_loop(pl->client, loop);
	if (pl->auth != NULL)
		ldap_client_set_loop(pl->auth, loop);
}

void
passdb_ldap_free(struct passdb_ldap *pl)
{
	if (pl == NULL)
		return;
	ldap_client_free(pl->client);
	ldap_client_free(pl->auth);
	for (size_t i = 0; i < pl->nmap; i++) {
		free(pl->map[i].attr);
		free(pl->map[i].field);
		free(pl->map[i].tmpl);
	}
	free(pl->map);
	for (size_t i = 0; i < pl->nattrs; i++)
		free((char *)pl->attrs[i]);
	free(pl->attrs);
	free(pl->base);
	free(pl->filter);
	free(pl->scheme);
	free(pl->userdn);
	free(pl);
}
