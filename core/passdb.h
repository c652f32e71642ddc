/* SPDX-License-Identifier: MIT */
/* core/passdb.h: Dovecot 2.3's passdbs "passwd-file" and "static", chained with
 * result_success/failure/internalfail rules; answers a login with a status and extra fields.
 * Not Dovecot's auth process: lookups are synchronous (the tables are in memory; a
 * passwd-file is read again, inside the lookup, when it changed), and there is no cache,
 * no userdb, no master users and no SASL here. */
#ifndef CORE_PASSDB_H
#define CORE_PASSDB_H

#include <stddef.h>

/* Everything a lookup knows about the login. Strings are borrowed for the call only;
 * NULL or 0 means unknown. password NULL is a lookup without a password (as LMTP and
 * doveadm proxying do with auth's PASS): a user found counts as PASSDB_OK, unless a
 * static passdb has neither password= nor nopassword. */
struct passdb_request {
	const char *user;
	const char *password;
	const char *service;	/* "imap", "pop3", ... for %s */
	const char *rip, *lip;	/* text form; "" or NULL when not known */
	unsigned int rport, lport;
	const char *session;
};

enum passdb_status {
	PASSDB_OK,
	PASSDB_PASSWORD_MISMATCH,	/* also "return-fail", or "return" before a success */
	PASSDB_USER_UNKNOWN,		/* also allow_nets mismatch or fail=yes, as Dovecot */
	PASSDB_USER_DISABLED,		/* not produced by these drivers; for callers */
	PASSDB_INTERNAL_FAILURE,	/* unreadable file, bad %-variable, out of memory */
};

/* One extra field as Dovecot's auth would send it after "OK\t<id>\tuser=...": value is
 * NULL when the field has no value (written without '=', or with an empty one; Dovecot
 * sends both as a bare key). */
struct passdb_field {
	char *key;
	char *value;
};

/* What a lookup answers. All memory belongs to the result; release it with
 * passdb_result_free(). fields are in the order they were first set (a later setting of
 * the same key replaces the value in place, as Dovecot's auth_fields do); keys are
 * unique. Hidden fields never appear: password, password_noscheme, nopassword,
 * noauthenticate, user/username/domain (they rename user instead), login_user,
 * allow_nets, allow_real_nets, fail and userdb_*. Fields of a passdb that failed are
 * dropped (Dovecot's rollback); those of earlier passdbs that succeeded with a
 * "continue" rule stay, also in a failed result.
 * nologin, proxy, reason, nodelay, delay_until and the rest are the caller's to act on
 * (note that Dovecot treats "proxy=n" as proxy: any value counts). */
struct passdb_result {
	enum passdb_status status;
	char *user;	/* the user name after renames; never NULL after a lookup */
	struct passdb_field *fields;
	size_t nfields;
	size_t cap;	/* private */
};

/* The value of field key: "" for a field without a value, NULL if it is absent.
 * Valid until passdb_result_free(). */
const char *passdb_field(const struct passdb_result *, const char *key);

/* Frees what r holds (not r itself) and zeroes it; NULL and a zeroed result are fine. */
void passdb_result_free(struct passdb_result *r);

struct passdb_chain;

/* An empty chain, or NULL if out of memory. */
struct passdb_chain *passdb_chain_new(void);

/* Appends one passdb { } block. driver: "passwd-file" or "static".
 *   passwd-file args: [scheme=S] [username_format=F] PATH (Dovecot's order: options
 *     first; the first word starting with '/' is the path and the rest of args with it).
 *     S defaults to CRYPT, F to %u. PATH may hold %-variables (per-domain files: the
 *     values are cut at '/' as Dovecot does; a ".." component that only the variables
 *     brought in, or a control character, makes the user unknown). A path without
 *     variables is read now; a missing or unreadable file is logged (once) and its
 *     users are unknown until it appears. Per-user files that are missing are logged
 *     at info level on each lookup, as Dovecot does.
 *   static args: space-separated key[=value] extra fields, values %-expanded at lookup;
 *     password=X is the password to check ({SCHEME} prefix allowed, default PLAIN);
 *     nopassword (any value) accepts any password.
 * The result rules take Dovecot's words: return-ok, return, return-fail, continue,
 * continue-ok, continue-fail. NULL means the default: success return-ok, failure
 * continue, internalfail continue.
 * Returns 0, or -1 with *error pointing at a message inside the chain (valid until the
 * next call on it): unknown driver, rule, setting or scheme, missing path, empty key, bad
 * %-variable, out of memory. The chain stays usable after an error. */
int passdb_chain_add(struct passdb_chain *, const char *driver, const char *args,
    const char *result_success, const char *result_failure, const char *result_internalfail,
    const char **error);

/* Number of passdbs added so far. */
size_t passdb_chain_count(const struct passdb_chain *);

/* Runs the chain for req, as Dovecot's auth_request_handle_passdb_callback() does:
 * each passdb yields OK, PASSWORD_MISMATCH, USER_UNKNOWN or INTERNAL_FAILURE; its rule
 * decides whether to go on and whether the login has succeeded so far; a passdb after a
 * success does not check the password again; at the end, a success marked by any rule
 * gives PASSDB_OK, else an internal failure seen on the way gives
 * PASSDB_INTERNAL_FAILURE, else the last passdb's status (a last "OK" without success
 * becomes PASSWORD_MISMATCH). An empty chain answers USER_UNKNOWN.
 * out is overwritten (not freed first) and must be freed with passdb_result_free().
 * Logs in Dovecot's words with Dovecot's prefix ("passwd-file(user,rip,<session>): "):
 * "unknown user" and "Password mismatch" at debug level, configuration and file problems
 * as errors. Returns 1 if out->status is PASSDB_OK, else 0. */
int passdb_chain_lookup(struct passdb_chain *, const struct passdb_request *req,
    struct passdb_result *out);

/* Frees the chain and every table it loaded. NULL is fine. */
void passdb_chain_free(struct passdb_chain *);

/* mtool_passdb_lookup_duration_seconds{driver} (core/metrics.h), observed around each
 * driver's lookup; a daemon that wants it shown registers it. */
struct metrics_family;
extern struct metrics_family passdb_lookup_seconds;

#endif
