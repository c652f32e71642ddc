/* SPDX-License-Identifier: MIT */
/* core/passdb.h: Dovecot 2.3's passdbs "passwd-file", "static", "sql" and "ldap", chained
 * with result_success/failure/internalfail rules; answers a login with a status and extra
 * fields. Not Dovecot's auth process: lookups run on the caller's event loop (passwd-file
 * and static answer at once; sql and ldap answer when their server does), and there is no
 * userdb, no master users and no SASL here. */
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
	PASSDB_INTERNAL_FAILURE,	/* unreadable file, bad %-variable, out of memory,
					 * database unreachable, timeout */
	PASSDB_PENDING,			/* inside core only: a driver answers later */
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

/* Appends one passdb { } block. driver: "passwd-file", "static", "sql", "ldap" or "auth".
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
 *   sql args: the path of a dovecot-sql.conf.ext (core/passdb_sql.h); it connects once
 *     passdb_chain_set_loop() gives it the loop.
 *   ldap args: the path of a dovecot-ldap.conf.ext (core/passdb_ldap.h), likewise.
 *   auth args: "[timeout=SECS] SOCKET": a Dovecot auth server's client socket (a path
 *     or host:port) checks the password and gives the fields (core/passdb_auth.h).
 * The result rules take Dovecot's words: return-ok, return, return-fail, continue,
 * continue-ok, continue-fail. NULL means the default: success return-ok, failure
 * continue, internalfail continue.
 * Returns 0, or -1 with *error pointing at a message inside the chain (valid until the
 * next call on it): unknown driver, rule, setting or scheme, missing path, empty key, bad
 * %-variable, out of memory. The chain stays usable after an error. */
int passdb_chain_add(struct passdb_chain *, const char *driver, const char *args,
    const char *result_success, const char *result_failure, const char *result_internalfail,
    const char **error);

/* The passdb added last gets Dovecot's default_fields and override_fields (NULL or "":
 * none): space-separated key[=value], values %-expanded (core/varexpand.h) for each
 * lookup, %{passdb:field[:default]} being the fields set so far. default_fields are set
 * before the passdb is asked (its own fields replace them; a cached answer has them
 * already), override_fields after every answer of it (not cached). An expansion that
 * fails is logged ("Failed to expand default_fields: ...") and makes that passdb an
 * internal failure, as in Dovecot. Call only after a successful passdb_chain_add().
 * Returns 0, or -1 with *error (inside the chain) for an empty key or a bad variable. */
int passdb_chain_set_fields(struct passdb_chain *, const char *default_fields,
    const char *override_fields, const char **error);

/* Dovecot's auth_username_chars: a login name with any other byte is not looked up
 * (USER_UNKNOWN, logged as Dovecot does). NULL or "": every byte is allowed, which is also
 * the state of a new chain (callers give Dovecot's default, PASSDB_USERNAME_CHARS). */
#define PASSDB_USERNAME_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@"
void passdb_chain_set_username_chars(struct passdb_chain *, const char *chars);

/* Dovecot's auth_username_translation, auth_username_format (Dovecot's default "%Lu" is
 * the caller's to give; NULL or "": none, the state of a new chain), auth_default_realm
 * and auth_master_user_separator, applied to every lookup's user before any passdb (and
 * the cache) sees it, in Dovecot's order (core/passdb_user.h); the answer's user is the
 * name so made. A master login ("user*master") fails, as in Dovecot without master
 * passdbs, unless both names are the same. Returns 0, or -1 with *error (inside the
 * chain) for a bad %-variable in format. */
int passdb_chain_set_username(struct passdb_chain *, const char *translation,
    const char *format, const char *realm, const char *separator, const char **error);

/* Dovecot's auth cache: auth_cache_size bytes (0: none, the default), auth_cache_ttl and
 * auth_cache_negative_ttl in seconds. Only passdbs that wait on a database (sql) are
 * cached; their answers follow Dovecot's passdb-cache rules: a hit is checked against
 * the cached password, a mismatch after a success (or older than the negative ttl) asks
 * the passdb again, and a passdb that fails is answered from an expired entry when there
 * is one. Returns 0, or -1 when out of memory. */
int passdb_chain_set_cache(struct passdb_chain *, size_t max_bytes, unsigned int ttl_s,
    unsigned int negative_ttl_s);

/* Drops every cached entry (users NULL) or those of the given login names; returns how
 * many (doveadm auth cache flush). */
unsigned int passdb_chain_cache_flush(struct passdb_chain *, const char *const *users,
    size_t nusers);

/* Number of passdbs added so far. */
size_t passdb_chain_count(const struct passdb_chain *);

/* Runs the chain for req, as Dovecot's auth_request_handle_passdb_callback() does:
 * each passdb yields OK, PASSWORD_MISMATCH, USER_UNKNOWN or INTERNAL_FAILURE; its rule
 * decides whether to go on and whether the login has succeeded so far; a passdb after a
 * success does not check the password again; at the end, a success marked by any rule
 * gives PASSDB_OK, else an internal failure seen on the way gives
 * PASSDB_INTERNAL_FAILURE, else the last passdb's status (a last "OK" without success
 * becomes PASSWORD_MISMATCH). An empty chain answers USER_UNKNOWN.
 * This synchronous form is passdb_chain_lookup_start() for chains whose passdbs answer
 * at once (tests, tools); a lookup that would wait answers PASSDB_INTERNAL_FAILURE.
 * out is overwritten (not freed first) and must be freed with passdb_result_free().
 * Logs in Dovecot's words with Dovecot's prefix ("passwd-file(user,rip,<session>): "):
 * "unknown user" and "Password mismatch" at debug level, configuration and file problems
 * as errors. Returns 1 if out->status is PASSDB_OK, else 0. */
int passdb_chain_lookup(struct passdb_chain *, const struct passdb_request *req,
    struct passdb_result *out);

/* Lookups that wait for a database need the loop; they end with PASSDB_INTERNAL_FAILURE
 * ("Lookup timed out" logged) timeout_ms after they started (0: no limit). Call before
 * the first lookup; the sql driver connects from now on. */
struct loop;
void passdb_chain_set_loop(struct passdb_chain *, struct loop *, unsigned int timeout_ms);

/* What passdb_chain_lookup_start() calls once at the end: res is the caller's now (the
 * struct may be copied; free its contents with passdb_result_free()). */
typedef void passdb_callback(struct passdb_result *res, void *arg);

/* Starts a lookup of req (copied: the caller's strings may go at once). cb runs exactly
 * once, unless the lookup is cancelled: before this function returns when every passdb
 * asked answered at once (then 0 is returned), or later from the loop (then the
 * lookup's id, never 0, is returned, valid until cb runs). */
unsigned int passdb_chain_lookup_start(struct passdb_chain *,
    const struct passdb_request *req, passdb_callback *cb, void *arg);

/* Forgets a waiting lookup: its callback will not run. An id that already finished is
 * ignored. */
void passdb_chain_cancel(struct passdb_chain *, unsigned int id);

/* Frees the chain and every table it loaded; waiting lookups are cancelled. NULL is
 * fine. */
void passdb_chain_free(struct passdb_chain *);

/* mtool_passdb_lookup_duration_seconds{driver} (core/metrics.h), observed around each
 * driver's lookup; a daemon that wants it shown registers it. */
struct metrics_family;
extern struct metrics_family passdb_lookup_seconds;

#endif
