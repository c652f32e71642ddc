/* SPDX-License-Identifier: MIT */
/* Implementation notes: passdb-passwd-file.c, db-passwd-file.c's lookup and
 * passdb-static.c of Dovecot 2.3. A passwd-file path with variables names one file per
 * user or domain: those are kept in a small list, the oldest dropped when it is full,
 * and a file that vanished is forgotten (Dovecot frees it too). */
#include "core/passdb_drv.h"
#include "core/feature.h"
#include "core/passdb_auth.h"
#include "core/passdb_ldap.h"
#include "core/passdb_sql.h"
#include "core/password.h"
#include "core/passwd_file.h"
#include "core/str.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Per-user passwd-file paths (with %-variables) kept loaded at once. */
#define PASSDB_FILES_MAX	256

struct passdb_arg {
	char *key;
	char *value;	/* NULL: no '=' */
};

/* DRIVER_OPS: a driver in its own file behind struct passdb_drv_ops (its row says which) */
enum passdb_driver { DRIVER_PASSWD_FILE, DRIVER_STATIC, DRIVER_SQL, DRIVER_LDAP, DRIVER_OPS };

/* The registration table: a driver of a feature (mk/features.mk) that is out of this
 * build has its row in absent_drivers[] instead, so that its name is "not supported by
 * this build" rather than unknown; the switches below then reach only stand-ins (its
 * header's, under #ifndef MTOOL_WITH_NAME). */
static const struct {
	const char *name;
	enum passdb_driver driver;
	const struct passdb_drv_ops *ops;
} drivers[] = {
	{ "passwd-file", DRIVER_PASSWD_FILE, NULL },
	{ "static", DRIVER_STATIC, NULL },
	FEATURE_IF(MTOOL_WITH_SQL, { "sql", DRIVER_SQL, NULL },)
	FEATURE_IF(MTOOL_WITH_LDAP, { "ldap", DRIVER_LDAP, NULL },)
	FEATURE_IF(MTOOL_WITH_AUTH_CLIENT, { "auth", DRIVER_OPS, &passdb_auth_ops },)
};
#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]))
static const char *const absent_drivers[] = {
	FEATURE_IF_NOT(MTOOL_WITH_SQL, "sql",)
	FEATURE_IF_NOT(MTOOL_WITH_LDAP, "ldap",)
	FEATURE_IF_NOT(MTOOL_WITH_AUTH_CLIENT, "auth",)
	NULL
};

struct passdb_drv {
	enum passdb_driver driver;
	/* passwd-file */
	char *scheme, *username_format, *path;
	int path_vars, path_dotdot;
	struct passwd_file *file;		/* the path has no variables */
	struct passwd_file *files[PASSDB_FILES_MAX];
	size_t nfiles;
	/* static */
	struct passdb_arg *args;
	size_t nargs;
	char *password;				/* password= template, or NULL */
	/* sql */
	struct passdb_sql *sql;
	struct passdb_ldap *ldap;
	/* a DRIVER_OPS driver */
	const struct passdb_drv_ops *ops;
	void *odb;
};

static int __attribute__((format(printf, 3, 4)))
drv_fail(char *eb, size_t el, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vfmt(eb, el, fmt, ap);
	va_end(ap);
	return -1;
}

static int
has_dotdot(const char *path)
{
	for (const char *p = path; *p != '\0';) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += n + (p[n] == '/');
	}
	return 0;
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* The file for this lookup: the fixed one, or the one the expanded path names. */
static struct passwd_file *
passwd_file_for(struct passdb_lookup *L, struct passdb_drv *db, enum passdb_status *st)
{
	char errbuf[128];
	const char *error;
	struct passwd_file *pf = NULL;
	char *path;
	size_t i;

	*st = PASSDB_INTERNAL_FAILURE;
	if (!db->path_vars)
		return db->file;
	path = passdb_expand(L, NULL, db->path, var_escape_path, errbuf, sizeof(errbuf),
	    &error);
	if (path == NULL) {
		passdb_log(L, LOG_LEVEL_ERROR, "Failed to expand passwd-file path %s: %s",
		    db->path, error);
		return NULL;
	}
	/* path_fix keeps values out of other directories; ".." would climb out, and
	 * control characters make no file name anyone meant */
	if ((!db->path_dotdot && has_dotdot(path)) || has_control(path)) {
		passdb_log(L, LOG_LEVEL_INFO, "passwd-file path %s: refused", path);
		*st = PASSDB_USER_UNKNOWN;
		free(path);
		return NULL;
	}
	for (i = 0; i < db->nfiles; i++)
		if (strcmp(passwd_file_path(db->files[i]), path) == 0)
			break;
	if (i < db->nfiles)
		pf = db->files[i];
	else {
		if ((pf = passwd_file_new(path, 0)) == NULL) {
			free(path);
			return NULL;
		}
		if (db->nfiles == PASSDB_FILES_MAX) {
			passwd_file_free(db->files[0]);
			memmove(db->files, db->files + 1, --db->nfiles * sizeof(db->files[0]));
		}
		db->files[db->nfiles++] = pf;
	}
	free(path);
	return pf;
}

static void
passwd_file_forget(struct passdb_drv *db, struct passwd_file *pf)
{
	for (size_t i = 0; i < db->nfiles; i++)
		if (db->files[i] == pf) {
			passwd_file_free(pf);
			memmove(db->files + i, db->files + i + 1,
			    (--db->nfiles - i) * sizeof(db->files[0]));
			return;
		}
}

static enum passdb_status
lookup_passwd_file(struct passdb_lookup *L, struct passdb_drv *db)
{
	const struct passwd_entry *e;
	enum passdb_status st;
	struct passwd_file *pf;
	char errbuf[128], *key, *vals, *user;
	const char *error, *p;
	int r;

	if ((pf = passwd_file_for(L, db, &st)) == NULL)
		return st;
	if ((r = passwd_file_sync(pf)) <= 0) {
		/* Dovecot drops per-user files that vanished */
		if (r == 0 && db->path_vars)
			passwd_file_forget(db, pf);
		return r == 0 ? PASSDB_USER_UNKNOWN : PASSDB_INTERNAL_FAILURE;
	}
	key = passdb_expand(L, NULL, db->username_format, var_escape_str, errbuf,
	    sizeof(errbuf), &error);
	if (key == NULL) {
		passdb_log(L, LOG_LEVEL_ERROR, "Failed to expand username_format=%s: %s",
		    db->username_format, error);
		return PASSDB_INTERNAL_FAILURE;
	}
	passdb_log(L, LOG_LEVEL_DEBUG, "lookup: user=%s file=%s", key, passwd_file_path(pf));
	e = passwd_file_lookup(pf, key);
	free(key);
	if (e == NULL) {
		passdb_log(L, LOG_LEVEL_DEBUG, "unknown user");
		return PASSDB_USER_UNKNOWN;
	}

	L->scheme = e->scheme != NULL ? e->scheme : db->scheme;
	if ((L->stored = strdup(e->password != NULL ? e->password : "")) == NULL)
		return PASSDB_INTERNAL_FAILURE;
	/* the items are split on spaces, each value expanded for the user as it was
	 * before the line's own renames, as Dovecot builds its table once per line */
	vals = e->extra != NULL ? strdup(e->extra) : NULL;
	user = strdup(L->res->user);
	if ((e->extra != NULL && vals == NULL) || user == NULL)
		goto nomem;
	for (p = vals; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");
		char *item = strndup(p, n), *eq, *v = NULL;
		p += n + (p[n] == ' ');
		if (item == NULL)
			goto nomem;
		if (n == 0) {
			free(item);
			continue;
		}
		if ((eq = strchr(item, '=')) != NULL) {
			*eq = '\0';
			v = passdb_expand(L, user, eq + 1, NULL, errbuf, sizeof(errbuf), &error);
			if (v == NULL) {
				*eq = '=';
				passdb_log(L, LOG_LEVEL_ERROR, "Failed to expand extra field %s: %s",
				    item, error);
				free(item);
				free(vals);
				free(user);
				return PASSDB_INTERNAL_FAILURE;
			}
		}
		r = passdb_set_field(L, item, v != NULL ? v : "");
		free(item);
		free(v);
		if (r < 0)
			goto nomem;
	}
	free(vals);
	free(user);
	return passdb_verify_password(L);
nomem:
	free(vals);
	free(user);
	return PASSDB_INTERNAL_FAILURE;
}

static enum passdb_status
lookup_static(struct passdb_lookup *L, const struct passdb_drv *db)
{
	char errbuf[128], *v, *user = strdup(L->res->user);
	const char *error;

	if (user == NULL)
		return PASSDB_INTERNAL_FAILURE;
	passdb_log(L, LOG_LEVEL_DEBUG, "lookup");
	for (size_t i = 0; i < db->nargs; i++) {
		int r;
		v = NULL;
		if (db->args[i].value != NULL) {
			v = passdb_expand(L, user, db->args[i].value, NULL, errbuf, sizeof(errbuf),
			    &error);
			if (v == NULL) {
				passdb_log(L, LOG_LEVEL_ERROR, "Failed to expand template: %s",
				    error);
				free(user);
				return PASSDB_INTERNAL_FAILURE;
			}
		}
		r = passdb_set_field(L, db->args[i].key, v);
		free(v);
		if (r < 0) {
			free(user);
			return PASSDB_INTERNAL_FAILURE;
		}
	}
	free(user);
	L->scheme = "PLAIN";
	if (db->password != NULL) {
		free(L->stored);
		L->stored = passdb_expand(L, NULL, db->password, NULL, errbuf, sizeof(errbuf),
		    &error);
		if (L->stored == NULL) {
			passdb_log(L, LOG_LEVEL_ERROR, "Failed to expand password=%s: %s",
			    db->password, error);
			return PASSDB_INTERNAL_FAILURE;
		}
		L->stored_noscheme = 0;
	} else if (!L->nopassword) {
		if (L->skip_password_check)
			return PASSDB_OK;
		passdb_log(L, LOG_LEVEL_INFO, "No password returned (and no nopassword)");
		return PASSDB_PASSWORD_MISMATCH;
	}
	return passdb_verify_password(L);
}

static int
add_passwd_file(struct passdb_drv *db, const char *args, char *eb, size_t el)
{
	const char *p = args;
	char err[160];

	/* passwd_file_preinit(): key=value options until a word that starts with '/' */
	while (*p == ' ')
		p++;
	while (*p != '\0' && *p != '/') {
		size_t n = strcspn(p, " ");
		const char *eq = memchr(p, '=', n);
		size_t klen = eq != NULL ? (size_t)(eq - p) : n;
		char **dst = NULL;

		if (klen == 6 && strncmp(p, "scheme", 6) == 0)
			dst = &db->scheme;
		else if (klen == 15 && strncmp(p, "username_format", 15) == 0)
			dst = &db->username_format;
		else
			return drv_fail(eb, el, "passwd-file: Unknown setting: %.*s",
			    (int)klen, p);
		free(*dst);
		if ((*dst = strndup(eq != NULL ? eq + 1 : p + n, eq != NULL ? n - klen - 1 : 0))
		    == NULL)
			return drv_fail(eb, el, "out of memory");
		p += n;
		while (*p == ' ')
			p++;
	}
	if (*p == '\0')
		return drv_fail(eb, el, "passwd-file: Missing args (the file's path)");
	if ((db->path = strdup(p)) == NULL ||
	    (db->scheme == NULL && (db->scheme = strdup("CRYPT")) == NULL) ||
	    (db->username_format == NULL && (db->username_format = strdup("%u")) == NULL))
		return drv_fail(eb, el, "out of memory");
	if (!password_scheme_known(db->scheme))
		return drv_fail(eb, el, "passwd-file: Unknown scheme: %s", db->scheme);
	if (passdb_check_template(db->username_format, err, sizeof(err)) < 0)
		return drv_fail(eb, el, "passwd-file: username_format=%s: %s",
		    db->username_format, err);
	if (passdb_check_template(db->path, err, sizeof(err)) < 0)
		return drv_fail(eb, el, "passwd-file: %s: %s", db->path, err);

	/* Dovecot: a path whose only '%' are "%%" has no variables, just escapes */
	for (const char *q = strchr(db->path, '%'); q != NULL; q = strchr(q, '%')) {
		q += 1 + strspn(q + 1, "-0123456789.LU");
		if (*q != '%')
			db->path_vars = 1;
		if (*q != '\0')
			q++;
	}
	db->path_dotdot = has_dotdot(db->path);
	if (!db->path_vars) {
		struct strbuf sb;
		static const struct var_tab none[] = { { '\0', NULL, NULL } };
		const char *e;
		strbuf_init(&sb, PASSDB_VALUE_MAX);
		if (var_expand(&sb, db->path, none, &e) < 0 || sb.error) {
			strbuf_free(&sb);
			return drv_fail(eb, el, "passwd-file: %s: bad path", db->path);
		}
		db->file = passwd_file_new(sb.s, 1);
		strbuf_free(&sb);
		if (db->file == NULL)
			return drv_fail(eb, el, "out of memory");
		/* read now, so that a broken file shows at start-up; errors are logged */
		(void)passwd_file_sync(db->file);
	}
	return 0;
}

static int
add_static(struct passdb_drv *db, const char *args, char *eb, size_t el)
{
	char err[160];

	for (const char *p = args; *p != '\0';) {
		size_t n = strcspn(p, " ");
		const char *eq = memchr(p, '=', n);
		size_t klen = eq != NULL ? (size_t)(eq - p) : n;
		char *key, *value = NULL;

		if (n == 0) {
			p++;
			continue;
		}
		if (klen == 0)
			return drv_fail(eb, el,
			    "Invalid passdb template %s - key must not be empty", args);
		key = strndup(p, klen);
		if (key == NULL ||
		    (eq != NULL && (value = strndup(eq + 1, n - klen - 1)) == NULL)) {
			free(key);
			return drv_fail(eb, el, "out of memory");
		}
		p += n;
		if (value != NULL && passdb_check_template(value, err, sizeof(err)) < 0) {
			drv_fail(eb, el, "static: %s=%s: %s", key, value, err);
			free(key);
			free(value);
			return -1;
		}
		if (strcmp(key, "password") == 0) {
			free(db->password);
			db->password = value != NULL ? value : strdup("");
			free(key);
			if (db->password == NULL)
				return drv_fail(eb, el, "out of memory");
			continue;
		}
		struct passdb_arg *na = realloc(db->args, (db->nargs + 1) * sizeof(*na));
		if (na == NULL) {
			free(key);
			free(value);
			return drv_fail(eb, el, "out of memory");
		}
		db->args = na;
		db->args[db->nargs].key = key;
		db->args[db->nargs++].value = value;
	}
	return 0;
}

/* "not supported by this build" for a driver that is out, else the drivers there are */
static int
unknown_driver(const char *driver, char *eb, size_t el)
{
	char have[128] = "";

	for (const char *const *a = absent_drivers; *a != NULL; a++)
		if (strcmp(driver, *a) == 0)
			return drv_fail(eb, el, "passdb driver %s is not supported by this build "
			    "(profile %s)", driver, MTOOL_PROFILE);
	for (size_t i = 0; i < NDRIVERS; i++)
		str_fmt(have + strlen(have), sizeof(have) - strlen(have), "%s%s",
		    i == 0 ? "" : i + 1 == NDRIVERS ? " and " : ", ", drivers[i].name);
	return drv_fail(eb, el, "Unknown passdb driver '%s' (mtool has %s)", driver, have);
}

struct passdb_drv *
passdb_drv_new(const char *driver, const char *args, char *eb, size_t el)
{
	struct passdb_drv *db = calloc(1, sizeof(*db));
	int r;

	if (db == NULL) {
		drv_fail(eb, el, "out of memory");
		return NULL;
	}
	if (args == NULL)
		args = "";
	if (driver == NULL)
		driver = "";
	size_t i;
	for (i = 0; i < NDRIVERS && strcmp(driver, drivers[i].name) != 0; i++)
		;
	db->driver = i < NDRIVERS ? drivers[i].driver : DRIVER_STATIC;
	if (i == NDRIVERS)
		r = unknown_driver(driver, eb, el);
	else if (db->driver == DRIVER_PASSWD_FILE)
		r = add_passwd_file(db, args, eb, el);
	else if (db->driver == DRIVER_STATIC)
		r = add_static(db, args, eb, el);
	else if (db->driver == DRIVER_SQL) {
		db->sql = passdb_sql_new(args, eb, el);
		r = db->sql != NULL ? 0 : -1;
	} else if (db->driver == DRIVER_LDAP) {
		db->ldap = passdb_ldap_new(args, eb, el);
		r = db->ldap != NULL ? 0 : -1;
	} else {
		db->ops = drivers[i].ops;
		db->odb = db->ops->create(args, eb, el);
		r = db->odb != NULL ? 0 : -1;
	}
	if (r < 0) {
		passdb_drv_free(db);
		return NULL;
	}
	return db;
}

const char *
passdb_drv_name(const struct passdb_drv *db)
{
	if (db->driver == DRIVER_OPS)
		return db->ops->name;
	for (size_t i = 0; i < NDRIVERS; i++)
		if (drivers[i].driver == db->driver)
			return drivers[i].name;
	return "?";
}

enum passdb_status
passdb_drv_lookup(struct passdb_drv *db, struct passdb_lookup *L)
{
	switch (db->driver) {
	case DRIVER_PASSWD_FILE:
		return lookup_passwd_file(L, db);
	case DRIVER_STATIC:
		return lookup_static(L, db);
	case DRIVER_SQL:
		break;
	case DRIVER_LDAP:
		return passdb_ldap_lookup(db->ldap, L);
	case DRIVER_OPS:
		return db->ops->lookup(db->odb, L);
	}
	return passdb_sql_lookup(db->sql, L);
}

void
passdb_drv_cancel(struct passdb_drv *db, struct passdb_lookup *L, int expired)
{
	if (db->driver == DRIVER_SQL)
		passdb_sql_cancel(db->sql, L, expired);
	else if (db->driver == DRIVER_LDAP)
		passdb_ldap_cancel(db->ldap, L, expired);
	else if (db->driver == DRIVER_OPS)
		db->ops->cancel(db->odb, L, expired);
}

const char *
passdb_drv_cache_key(const struct passdb_drv *db, const char **scheme)
{
	return db->driver == DRIVER_SQL ? passdb_sql_cache_key(db->sql, scheme) : NULL;
}

void
passdb_drv_set_loop(struct passdb_drv *db, struct loop *loop)
{
	if (db->driver == DRIVER_SQL)
		passdb_sql_set_loop(db->sql, loop);
	else if (db->driver == DRIVER_LDAP)
		passdb_ldap_set_loop(db->ldap, loop);
	else if (db->driver == DRIVER_OPS)
		db->ops->set_loop(db->odb, loop);
}

void
passdb_drv_free(struct passdb_drv *db)
{
	if (db == NULL)
		return;
	free(db->scheme);
	free(db->username_format);
	free(db->path);
	passwd_file_free(db->file);
	for (size_t i = 0; i < db->nfiles; i++)
		passwd_file_free(db->files[i]);
	for (size_t i = 0; i < db->nargs; i++) {
		free(db->args[i].key);
		free(db->args[i].value);
	}
	free(db->args);
	free(db->password);
	passdb_sql_free(db->sql);
	passdb_ldap_free(db->ldap);
	if (db->ops != NULL && db->odb != NULL)
		db->ops->destroy(db->odb);
	free(db);
}
