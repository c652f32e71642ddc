/* SPDX-License-Identifier: MIT */
/* Implementation notes: Dovecot 2.3's db-sql.c (the file's settings and defaults) and
 * passdb-sql.c (sql_query_callback: which rows and columns make which answer). The query
 * is expanded when it gets its connection (core/sql.h), so that each value is escaped
 * as that server reads quotes and backslashes. */
#include "core/passdb_sql.h"
#include "core/conf.h"
#include "core/password.h"
#include "core/sql.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

struct passdb_sql {
	struct sql_db *db;
	char *path;
	char *password_query;
	char *default_pass_scheme;
	char *cache_key;
	int default_query;
};

static const char default_password_query[] =
    "SELECT username, domain, password FROM users WHERE username = '%n' AND domain = '%d'";

static const char *const known_keys[] = {
	"driver", "connect", "password_query", "user_query", "update_query", "iterate_query",
	"default_pass_scheme", "userdb_warning_disable",
};

struct passdb_sql *
passdb_sql_new(const char *args, char *eb, size_t el)
{
	struct passdb_sql *ps;
	struct conf *conf;

	while (*args == ' ')
		args++;
	if ((conf = passdb_conf_load("sql", args, known_keys,
	    sizeof(known_keys) / sizeof(known_keys[0]), eb, el)) == NULL)
		return NULL;
	const struct conf_node *root = conf_root(conf);
	const char *driver = conf_get(root, "driver", NULL);
	const char *connect = conf_get(root, "connect", NULL);
	const char *query = conf_get(root, "password_query", NULL);
	const char *scheme = conf_get(root, "default_pass_scheme", "MD5");
	if (driver == NULL || connect == NULL) {
		str_fmt(eb, el, driver == NULL ? "sql: driver not set in configuration file %s" :
		    "sql: connect string not set in configuration file %s", args);
		conf_free(conf);
		return NULL;
	}
	if (!password_scheme_known(scheme)) {
		str_fmt(eb, el, "sql %s: Unknown default_pass_scheme: %s", args, scheme);
		conf_free(conf);
		return NULL;
	}
	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->path = strdup(args)) == NULL ||
	    (ps->password_query = strdup(query != NULL ? query : default_password_query)) == NULL ||
	    (ps->default_pass_scheme = strdup(scheme)) == NULL) {
		str_copy(eb, "out of memory", el);
		conf_free(conf);
		passdb_sql_free(ps);
		return NULL;
	}
	ps->default_query = query == NULL;
	char err[256];
	if (passdb_check_template(ps->password_query, err, sizeof(err)) < 0) {
		str_fmt(eb, el, "sql %s: password_query: %s", args, err);
		conf_free(conf);
		passdb_sql_free(ps);
		return NULL;
	}
	struct strbuf key;
	strbuf_init(&key, 4096);
	var_template_vars(&key, ps->password_query);
	ps->cache_key = key.error ? NULL : strdup(key.s != NULL ? key.s : "");
	strbuf_free(&key);
	ps->db = sql_db_new(driver, connect, err, sizeof(err));
	conf_free(conf);
	if (ps->db == NULL) {
		str_fmt(eb, el, "sql %s: %s", args, err);
		passdb_sql_free(ps);
		return NULL;
	}
	return ps;
}

struct sql_lookup {
	struct passdb_sql *ps;
	struct passdb_lookup *L;
	struct sql_query *q;
};

static int
build_query(struct strbuf *out, var_escape_fn *escape, void *arg, const char **error)
{
	struct sql_lookup *sl = arg;
	static char errbuf[256];
	char *q = passdb_expand(sl->L, NULL, sl->ps->password_query, escape, errbuf,
	    sizeof(errbuf), error);

	if (q == NULL) {
		passdb_log(sl->L, LOG_LEVEL_ERROR, "Failed to expand password_query=%s: %s",
		    sl->ps->password_query, *error);
		return -1;
	}
	passdb_log(sl->L, LOG_LEVEL_DEBUG, "query: %s", q);
	strbuf_puts(out, q);
	free(q);
	return 0;
}

static enum passdb_status
result_status(struct passdb_sql *ps, struct passdb_lookup *L, const struct sql_result *res)
{
	int has_password = 0;

	if (res->error != NULL) {
		if (ps->default_query)
			passdb_log(L, LOG_LEVEL_ERROR, "Password query failed: %s (using built-in "
			    "default password_query: %s)", res->error, ps->password_query);
		else
			passdb_log(L, LOG_LEVEL_ERROR, "Password query failed: %s", res->error);
		return PASSDB_INTERNAL_FAILURE;
	}
	if (res->values == NULL) {
		passdb_log(L, LOG_LEVEL_DEBUG, "unknown user");
		return PASSDB_USER_UNKNOWN;
	}
	L->scheme = ps->default_pass_scheme;
	for (unsigned int i = 0; i < res->nfields; i++) {
		const char *name = res->names[i];
		if (strcmp(name, "password") == 0 || strcmp(name, "password_noscheme") == 0)
			has_password = 1;
		if (*name == '\0' || res->values[i] == NULL)
			continue;
		if (passdb_set_field(L, name, res->values[i]) < 0)
			return PASSDB_INTERNAL_FAILURE;
	}
	if (!has_password) {
		passdb_log(L, LOG_LEVEL_ERROR, "Password query must return a field named 'password'");
		return PASSDB_INTERNAL_FAILURE;
	}
	if (res->nrows > 1) {
		passdb_log(L, LOG_LEVEL_ERROR, "Password query returned multiple matches");
		return PASSDB_INTERNAL_FAILURE;
	}
	if (L->stored == NULL && !L->nopassword) {
		/* auth_request_password_missing() */
		if (L->skip_password_check)
			return PASSDB_OK;
		passdb_log(L, LOG_LEVEL_INFO, "Empty password returned without nopassword");
		return PASSDB_PASSWORD_MISMATCH;
	}
	return passdb_verify_password(L);
}

static void
query_done(const struct sql_result *res, void *arg)
{
	struct sql_lookup *sl = arg;
	struct passdb_lookup *L = sl->L;
	enum passdb_status st;

	L->drv_op = NULL;
	st = result_status(sl->ps, L, res);
	free(sl);
	passdb_lookup_done(L, st);
}

enum passdb_status
passdb_sql_lookup(struct passdb_sql *ps, struct passdb_lookup *L)
{
	struct sql_lookup *sl = calloc(1, sizeof(*sl));

	if (sl == NULL)
		return PASSDB_INTERNAL_FAILURE;
	sl->ps = ps;
	sl->L = L;
	if ((sl->q = sql_query(ps->db, build_query, sl, query_done, sl)) == NULL) {
		free(sl);
		return PASSDB_INTERNAL_FAILURE;
	}
	L->drv_op = sl;
	return PASSDB_PENDING;
}

void
passdb_sql_cancel(struct passdb_sql *ps, struct passdb_lookup *L, int expired)
{
	struct sql_lookup *sl = L->drv_op;

	(void)ps;
	if (sl == NULL)
		return;
	sql_query_abort(sl->q, expired);
	free(sl);
	L->drv_op = NULL;
}

void
passdb_sql_set_loop(struct passdb_sql *ps, struct loop *loop)
{
	sql_db_set_loop(ps->db, loop);
}

const char *
passdb_sql_cache_key(const struct passdb_sql *ps, const char **scheme)
{
	*scheme = ps->default_pass_scheme;
	return ps->cache_key;
}

void
passdb_sql_free(struct passdb_sql *ps)
{
	if (ps == NULL)
		return;
	sql_db_free(ps->db);
	free(ps->path);
	free(ps->password_query);
	free(ps->default_pass_scheme);
	free(ps->cache_key);
	free(ps);
}
