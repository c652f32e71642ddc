/* SPDX-License-Identifier: MIT */
/* Implementation notes: the counterpart of Dovecot's auth-request.c for one passdb at a
 * time: fields go straight into the result (core/passdb.c undoes a failed passdb's
 * changes from a copy), and passdb_set_field() is auth_request_set_field(). */
#include "core/passdb_req.h"
#include "core/ip.h"
#include "core/conf.h"
#include "core/password.h"
#include "core/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Dovecot's MAX_LOG_USERNAME_LEN */
#define PASSDB_LOG_USER_MAX	64

/* ---- result fields ---- */

static struct passdb_field *
field_find(const struct passdb_result *r, const char *key)
{
	for (size_t i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].key, key) == 0)
			return &r->fields[i];
	return NULL;
}

const char *
passdb_field(const struct passdb_result *r, const char *key)
{
	const struct passdb_field *f = field_find(r, key);

	return f == NULL ? NULL : f->value != NULL ? f->value : "";
}

/* Dovecot's auth_fields_add(): replace in place, or append; "" becomes no value */
static int
field_set(struct passdb_result *r, const char *key, const char *value)
{
	struct passdb_field *f = field_find(r, key);
	char *v = NULL;

	if (value != NULL && *value != '\0' && (v = strdup(value)) == NULL)
		return -1;
	if (f != NULL) {
		free(f->value);
		f->value = v;
		return 0;
	}
	if (r->nfields == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 8;
		struct passdb_field *nf = realloc(r->fields, ncap * sizeof(*nf));
		if (nf == NULL) {
			free(v);
			return -1;
		}
		r->fields = nf;
		r->cap = ncap;
	}
	if ((r->fields[r->nfields].key = strdup(key)) == NULL) {
		free(v);
		return -1;
	}
	r->fields[r->nfields++].value = v;
	return 0;
}

int
passdb_result_set(struct passdb_result *r, const char *key, const char *value)
{
	return field_set(r, key, value);
}

static void
field_remove(struct passdb_result *r, const char *key)
{
	struct passdb_field *f = field_find(r, key);

	if (f == NULL)
		return;
	free(f->key);
	free(f->value);
	memmove(f, f + 1, (size_t)(r->fields + r->nfields - (f + 1)) * sizeof(*f));
	r->nfields--;
}

void
passdb_result_free(struct passdb_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nfields; i++) {
		free(r->fields[i].key);
		free(r->fields[i].value);
	}
	free(r->fields);
	free(r->user);
	memset(r, 0, sizeof(*r));
}

int
passdb_result_copy(const struct passdb_result *r, struct passdb_result *snap)
{
	memset(snap, 0, sizeof(*snap));
	snap->status = r->status;
	if ((snap->user = strdup(r->user)) == NULL)
		return -1;
	for (size_t i = 0; i < r->nfields; i++)
		if (field_set(snap, r->fields[i].key, r->fields[i].value) < 0) {
			passdb_result_free(snap);
			return -1;
		}
	return 0;
}

/* ---- logging with Dovecot's "driver(user,rip,<session>): " prefix ---- */

static void
append_sanitized(struct strbuf *sb, const char *s, size_t max)
{
	size_t n = 0;

	for (; *s != '\0' && n < max; s++, n++)
		strbuf_putc(sb, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	if (*s != '\0')
		strbuf_puts(sb, "...");
}

void
passdb_log(const struct passdb_lookup *L, enum log_level level, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	struct strbuf id;
	va_list ap;

	if (level == LOG_LEVEL_DEBUG && !log_debug_enabled())
		return;
	va_start(ap, fmt);
	str_vfmt(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* messages quote user names and file lines: no forged log lines */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	strbuf_init(&id, 512);
	strbuf_printf(&id, "%s(", L->db_name != NULL ? L->db_name : "passdb");
	append_sanitized(&id, L->res->user != NULL ? L->res->user : "?", PASSDB_LOG_USER_MAX);
	if (L->req->rip != NULL && *L->req->rip != '\0') {
		strbuf_putc(&id, ',');
		append_sanitized(&id, L->req->rip, 64);
	}
	if (L->req->session != NULL && *L->req->session != '\0') {
		strbuf_puts(&id, ",<");
		append_sanitized(&id, L->req->session, 64);
		strbuf_putc(&id, '>');
	}
	strbuf_puts(&id, ")");
	switch (level) {
	case LOG_LEVEL_DEBUG:
		log_debug("%s: %s", id.s, msg);
		break;
	case LOG_LEVEL_INFO:
		log_info("%s: %s", id.s, msg);
		break;
	case LOG_LEVEL_WARNING:
		log_warnx("%s: %s", id.s, msg);
		break;
	default:
		log_errorx("%s: %s", id.s, msg);
		break;
	}
	strbuf_free(&id);
}

/* ---- %-variables ---- */

/* Dovecot's %{passdb:name[:default]} (the fields set so far) and %{userdb:..} (no
 * userdb in a proxy: always the default). */
static int
expand_func(struct strbuf *out, const char *name, size_t namelen, const char *data,
    size_t datalen, var_escape_fn *escape, void *ctx)
{
	const struct passdb_lookup *L = ctx;
	const char *colon = memchr(data, ':', datalen), *val = NULL;
	size_t flen = colon != NULL ? (size_t)(colon - data) : datalen;
	char key[128];
	int passdb = namelen == 6 && strncmp(name, "passdb", 6) == 0;

	if (!passdb && !(namelen == 6 && strncmp(name, "userdb", 6) == 0))
		return 0;
	if (passdb && flen < sizeof(key)) {
		memcpy(key, data, flen);
		key[flen] = '\0';
		val = passdb_field(L->res, key);
	}
	if (val != NULL) {
		if (escape != NULL)
			escape(out, val, strlen(val));
		else
			strbuf_puts(out, val);
	} else if (colon != NULL) {
		if (escape != NULL)
			escape(out, colon + 1, datalen - flen - 1);
		else
			strbuf_append(out, colon + 1, datalen - flen - 1);
	}
	return out->error ? -1 : 1;
}

char *
passdb_expand(const struct passdb_lookup *L, const char *user, const char *tmpl,
    var_escape_fn *escape, char *errbuf, size_t errlen, const char **error)
{
	const struct passdb_request *q = L->req;
	struct var_client c = { .user = user != NULL ? user : L->res->user,
	    .password = q->password, .service = q->service, .rip = q->rip, .lip = q->lip,
	    .rport = q->rport, .lport = q->lport, .session = q->session,
	    .orig_user = L->orig_user };
	struct var_std std;
	struct strbuf sb;
	char *s = NULL;

	*error = "Out of memory";
	if (var_std_init(&std, &c) < 0)
		return NULL;
	struct var_expand_params p = { std.tab, escape, expand_func, (void *)L };
	strbuf_init(&sb, PASSDB_VALUE_MAX);
	if (var_expand_params(&sb, tmpl, &p, error) == 0 && !sb.error)
		s = strdup(sb.s);
	else if (!sb.error) {
		str_copy(errbuf, *error, errlen);
		*error = errbuf;
	}
	strbuf_free(&sb);
	var_std_free(&std);
	return s;
}

int
passdb_check_template(const char *tmpl, char *errbuf, size_t errlen)
{
	static const struct var_client c = { .user = "user@domain", .password = "pass",
	    .service = "imap", .rip = "192.0.2.1", .lip = "192.0.2.2", .rport = 1, .lport = 2,
	    .session = "session" };
	struct passdb_result res = { 0 };
	struct passdb_lookup L = { .res = &res };
	struct var_std std;
	struct strbuf sb;
	const char *error = "Out of memory";
	int r = -1;

	if (var_std_init(&std, &c) < 0) {
		str_copy(errbuf, error, errlen);
		return -1;
	}
	struct var_expand_params p = { std.tab, NULL, expand_func, &L };
	strbuf_init(&sb, PASSDB_VALUE_MAX);
	/* numbers compared in %{if;..} depend on the login's values, not on the config */
	if ((r = var_expand_params(&sb, tmpl, &p, &error)) < 0 && var_error_from_values(error))
		r = 0;
	else if (r < 0)
		str_copy(errbuf, error, errlen);
	strbuf_free(&sb);
	var_std_free(&std);
	return r;
}

/* ---- special fields (auth_request_set_field) ---- */

/* Dovecot's allow_nets: tokens split on spaces and commas; "local" matches a login
 * without a remote IP; bad tokens are logged and skipped. */
static void
check_nets(struct passdb_lookup *L, const char *name, const char *nets)
{
	struct ip_addr rip;
	int known = L->req->rip != NULL && ip_parse(L->req->rip, &rip) == 0, found = 0;
	const char *p = nets;

	while (!found && *p != '\0') {
		size_t n = strcspn(p, ", ");
		char tok[128];
		struct ip_net net;

		if (n == 0) {
			p++;
			continue;
		}
		str_fmt(tok, sizeof(tok), "%.*s", (int)n, p);
		p += n;
		passdb_log(L, LOG_LEVEL_DEBUG, "%s: Matching for network %s", name, tok);
		if (strcmp(tok, "local") == 0)
			found = !known;
		else if (n >= sizeof(tok) || ip_net_parse(tok, &net) < 0)
			passdb_log(L, LOG_LEVEL_INFO, "%s: Invalid network '%s'", name, tok);
		else
			found = known && ip_net_match(&net, &rip);
	}
	if (found)
		return;
	if (!known)
		passdb_log(L, LOG_LEVEL_INFO,
		    "%s check failed: Remote IP not known and 'local' missing", name);
	else
		passdb_log(L, LOG_LEVEL_INFO, "%s check failed: IP %s not in allowed networks",
		    name, L->req->rip);
	L->failed = 1;
}

/* user=, username= and domain= as Dovecot's get_updated_username() */
static int
rename_user(struct passdb_lookup *L, const char *key, const char *value)
{
	const char *old = L->res->user, *at = strchr(old, '@');
	struct strbuf sb;

	strbuf_init(&sb, PASSDB_VALUE_MAX);
	if (strcmp(key, "user") == 0 || (strcmp(key, "username") == 0 && strchr(value, '@')))
		strbuf_puts(&sb, value);
	else if (strcmp(key, "username") == 0) {
		strbuf_puts(&sb, value);
		if (at != NULL)
			strbuf_puts(&sb, at);
	} else {
		strbuf_append(&sb, old, at != NULL ? (size_t)(at - old) : strlen(old));
		strbuf_putc(&sb, '@');
		strbuf_puts(&sb, value);
	}
	if (sb.error) {
		strbuf_free(&sb);
		return -1;
	}
	if (sb.len == 0) {
		passdb_log(L, LOG_LEVEL_ERROR, "username attempted to be changed to empty");
		L->failed = 1;
	} else if (strcmp(old, sb.s) != 0) {
		char *nu = strdup(sb.s);
		if (nu == NULL) {
			strbuf_free(&sb);
			return -1;
		}
		passdb_log(L, LOG_LEVEL_DEBUG, "username changed %s -> %s", old, nu);
		free(L->res->user);
		L->res->user = nu;
	}
	strbuf_free(&sb);
	return 0;
}

static int set_field_keyvalue(struct passdb_lookup *, const char *field, size_t len);

/* Returns 0, or -1 when out of memory. value NULL is a field without '='. */
int
passdb_set_field(struct passdb_lookup *L, const char *key, const char *value)
{
	size_t klen = strlen(key);
	char base[256];

	if (L->recording) {
		if (L->nrec == L->caprec) {
			size_t ncap = L->caprec ? L->caprec * 2 : 8;
			struct authcache_field *nr = realloc(L->rec, ncap * sizeof(*nr));
			if (nr == NULL)
				return -1;
			L->rec = nr;
			L->caprec = ncap;
		}
		struct authcache_field *f = &L->rec[L->nrec];
		f->key = strdup(key);
		f->value = value != NULL ? strdup(value) : NULL;
		if (f->key == NULL || (value != NULL && f->value == NULL)) {
			free(f->key);
			free(f->value);
			return -1;
		}
		L->nrec++;
	}

	if (value == NULL)
		value = "";
	if (klen > 10 && strcmp(key + klen - 10, ":protected") == 0) {
		/* only if not set before */
		str_fmt(base, sizeof(base), "%.*s", (int)(klen - 10), key);
		if (field_find(L->res, base) != NULL)
			return 0;
		key = base;
	} else if (klen > 7 && strcmp(key + klen - 7, ":remove") == 0) {
		str_fmt(base, sizeof(base), "%.*s", (int)(klen - 7), key);
		field_remove(L->res, base);
		return 0;
	}

	if (strcmp(key, "password") == 0 || strcmp(key, "password_noscheme") == 0) {
		if (L->stored != NULL) {
			passdb_log(L, LOG_LEVEL_ERROR, "Multiple password values not supported");
			return 0;
		}
		if ((L->stored = strdup(value)) == NULL)
			return -1;
		L->stored_noscheme = key[8] != '\0';
	} else if (strcmp(key, "user") == 0 || strcmp(key, "username") == 0 ||
	    strcmp(key, "domain") == 0) {
		return rename_user(L, key, value);
	} else if (strcmp(key, "allow_nets") == 0 || strcmp(key, "allow_real_nets") == 0) {
		/* no trusted-proxy forwarding reaches here: the real IP is the remote IP */
		check_nets(L, key, value);
	} else if (strcmp(key, "fail") == 0) {
		L->failed = 1;
	} else if (strcmp(key, "noauthenticate") == 0) {
		L->noauthenticate = L->nopassword = 1;
	} else if (strcmp(key, "nopassword") == 0) {
		if (L->stored != NULL && !L->noauthenticate) {
			char scheme[PASSWORD_SCHEME_MAX + 1];
			if (*password_split(L->stored, L->scheme, scheme, sizeof(scheme))) {
				passdb_log(L, LOG_LEVEL_ERROR,
				    "nopassword set but password is non-empty");
				return 0;
			}
		}
		free(L->stored);
		L->stored = NULL;
		L->nopassword = 1;
	} else if (strcmp(key, "passdb_import") == 0) {
		for (const char *p = value; *p != '\0';) {
			size_t n = strcspn(p, "\t");
			if (n > 0 && set_field_keyvalue(L, p, n) < 0)
				return -1;
			p += n + (p[n] == '\t');
		}
	} else if (strncmp(key, "userdb_", 7) == 0 || strcmp(key, "login_user") == 0) {
		/* for a userdb or a master login: neither exists in a proxy */
	} else if (*key != '\0') {
		return field_set(L->res, key, value);
	}
	return 0;
}

/* "key=value" or "key" of len bytes */
static int
set_field_keyvalue(struct passdb_lookup *L, const char *field, size_t len)
{
	const char *eq = memchr(field, '=', len);
	size_t klen = eq != NULL ? (size_t)(eq - field) : len;
	char *key = strndup(field, klen), *value = NULL;
	int r = -1;

	if (key != NULL && (eq == NULL || (value = strndup(eq + 1, len - klen - 1)) != NULL))
		r = passdb_set_field(L, key, value);
	free(key);
	free(value);
	return r;
}

/* ---- password check (auth_request_password_verify) ---- */

enum passdb_status
passdb_verify_password(struct passdb_lookup *L)
{
	const char *plain = L->req->password, *error, *stored = L->stored;
	char scheme[PASSWORD_SCHEME_MAX + 1];
	struct strbuf sb;
	int r;

	if (plain == NULL || L->skip_password_check)
		return PASSDB_OK;
	if (L->nopassword) {
		passdb_log(L, LOG_LEVEL_DEBUG, "Allowing any password");
		return PASSDB_OK;
	}
	if (stored == NULL)
		stored = "";
	strbuf_init(&sb, PASSDB_VALUE_MAX);
	if (L->stored_noscheme) {
		strbuf_printf(&sb, "{%s}%s", L->scheme, stored);
		stored = sb.s;
	}
	r = password_verify(plain, stored, L->scheme, L->req->user, &error);
	if (r < 0) {
		password_split(stored, L->scheme, scheme, sizeof(scheme));
		if (!password_scheme_known(scheme))
			passdb_log(L, LOG_LEVEL_ERROR, "Unknown scheme %s", scheme);
		else
			passdb_log(L, LOG_LEVEL_ERROR, "Invalid password in passdb: %s", error);
	} else if (r == 0)
		passdb_log(L, LOG_LEVEL_DEBUG, "Password mismatch");
	strbuf_free(&sb);
	return r > 0 ? PASSDB_OK : PASSDB_PASSWORD_MISMATCH;
}

struct conf *
passdb_conf_load(const char *driver, const char *args, const char *const *known,
    size_t nknown, char *eb, size_t el)
{
	char errs[512] = "";
	struct conf *conf;
	FILE *errf;

	while (*args == ' ')
		args++;
	if (*args == '\0') {
		str_fmt(eb, el, "%s: Configuration file path not given", driver);
		return NULL;
	}
	if ((errf = fmemopen(errs, sizeof(errs) - 1, "w")) == NULL) {
		str_copy(eb, "out of memory", el);
		return NULL;
	}
	conf = conf_load(args, NULL, 0, errf);
	fclose(errf);
	if (conf == NULL) {
		errs[strcspn(errs, "\n")] = '\0';
		str_fmt(eb, el, "%s %s: %s", driver, args, errs[0] ? errs : "cannot be read");
		return NULL;
	}
	for (const struct conf_node *n = conf_root(conf)->children; n != NULL; n = n->next) {
		size_t k;
		for (k = 0; k < nknown; k++)
			if (strcmp(n->key, known[k]) == 0)
				break;
		if (n->value == NULL || k == nknown) {
			str_fmt(eb, el, "%s %s:%u: Unknown setting: %s", driver, n->file, n->line,
			    n->key);
			conf_free(conf);
			return NULL;
		}
	}
	return conf;
}
