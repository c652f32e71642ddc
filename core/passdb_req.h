/* SPDX-License-Identifier: MIT */
/* core/passdb_req.h: one passdb lookup's state inside core/passdb: Dovecot's log prefix,
 * %-variables, the extra fields that mean something (auth_request_set_field) and the
 * password check. Not for applets, which use core/passdb.h; shared by core/passdb*.c. */
#ifndef CORE_PASSDB_REQ_H
#define CORE_PASSDB_REQ_H

#include <stddef.h>

#include "config.h"
#include "core/authcache.h"
#include "core/log.h"
#include "core/passdb.h"
#include "core/varexpand.h"

/* Longest expanded value: a path, a user name, one extra field. */
#define PASSDB_VALUE_MAX	DLINE_MAX

/* Reset by the chain before each passdb, except res and skip_password_check. */
struct passdb_lookup {
	const struct passdb_request *req;
	const char *db_name;		/* the log prefix's name; NULL: "passdb" */
	const char *orig_user;		/* req->user before core/passdb_user fixed it */
	struct passdb_result *res;	/* user and fields so far */
	int failed;			/* allow_nets, fail or an empty rename: OK becomes
					 * USER_UNKNOWN, as in Dovecot */
	int nopassword, noauthenticate;
	int skip_password_check;	/* an earlier passdb's rule accepted the login */
	char *stored;			/* this passdb's stored password; NULL: none */
	const char *scheme;		/* its default scheme (static string or the db's) */
	int stored_noscheme;		/* password_noscheme: a '{' is not a scheme prefix */
	void *drv_op;			/* an asynchronous driver's work under way */
	/* the fields this passdb set, in order, for the auth cache (while recording) */
	int recording;
	struct authcache_field *rec;
	size_t nrec, caprec;
};

/* An asynchronous driver's answer for L (after it returned PASSDB_PENDING), from a loop
 * callback: the chain goes on, and L may be freed before this returns. */
void passdb_lookup_done(struct passdb_lookup *L, enum passdb_status st);

/* Logs "<db_name>(<user>,<rip>,<session>): <message>" as Dovecot's auth does; the user is
 * the current one, with control characters as '?' and cut at 64 bytes. */
void passdb_log(const struct passdb_lookup *, enum log_level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* tmpl expanded with the standard variables for user (NULL: the current user; escape
 * may be NULL), as a string the caller frees; or NULL with *error set (pointing into
 * errbuf or at a static string). */
char *passdb_expand(const struct passdb_lookup *, const char *user, const char *tmpl,
    var_escape_fn *escape, char *errbuf, size_t errlen, const char **error);

/* Expands tmpl once with made-up values so that a bad variable shows at start-up.
 * Returns 0, or -1 with the reason in errbuf. */
int passdb_check_template(const char *tmpl, char *errbuf, size_t errlen);

/* Dovecot's auth_request_set_field(): "password", renames, allow_nets, fail, nopassword,
 * noauthenticate, passdb_import, ":protected"/":remove" suffixes, userdb_* (dropped);
 * any other key becomes a visible field. value NULL is a key without '='.
 * Returns 0, or -1 when out of memory. */
int passdb_set_field(struct passdb_lookup *, const char *key, const char *value);

/* Checks req->password against stored (unless there is no password, the check is to
 * be skipped, or nopassword is set) and logs as Dovecot does. A stored value that cannot
 * be checked is logged as an error and counts as a mismatch, as in Dovecot. */
enum passdb_status passdb_verify_password(struct passdb_lookup *);

/* A driver's settings file in Dovecot's format (dovecot-sql.conf.ext,
 * dovecot-ldap.conf.ext): args is its path (leading spaces skipped), and every key must be
 * one of known. NULL with "<driver> <path>[:<line>]: <why>" in eb. */
struct conf;
struct conf *passdb_conf_load(const char *driver, const char *args,
    const char *const *known, size_t nknown, char *eb, size_t el);

/* A deep copy of r's user and fields into copy (to be freed with passdb_result_free).
 * Returns 0, or -1 when out of memory (copy then needs no free). */
/* Sets key (value NULL or "" for none) in r, replacing an earlier value. 0 or -1 (OOM). */
int passdb_result_set(struct passdb_result *r, const char *key, const char *value);
int passdb_result_copy(const struct passdb_result *r, struct passdb_result *copy);

#endif
