/* SPDX-License-Identifier: MIT */
/* core/passdb_user.h: the login name as Dovecot 2.3's auth_request_set_username() makes
 * it before any passdb sees it: auth_master_user_separator, auth_default_realm,
 * auth_username_translation, auth_username_chars, auth_username_format. Used by
 * core/passdb.c for every lookup of a chain; applets set it through core/passdb.h. */
#ifndef CORE_PASSDB_USER_H
#define CORE_PASSDB_USER_H

#include "core/passdb.h"

struct passdb_lookup;

/* A zeroed struct changes nothing and allows every byte. */
struct passdb_user {
	unsigned char chars[32];	/* auth_username_chars as a bit map */
	int chars_set;			/* 0: every byte is allowed */
	unsigned char translation[256];	/* byte -> byte; 0: the byte stays */
	char *format;			/* auth_username_format; NULL: none */
	char *realm;			/* auth_default_realm; NULL: none */
	char separator;			/* auth_master_user_separator; 0: none */
};

/* auth_username_chars (NULL or "": every byte). */
void passdb_user_set_chars(struct passdb_user *, const char *chars);

/* The other settings, Dovecot's way: translation is pairs of bytes ("#@/@": '#' and '/'
 * become '@'; an odd last byte is ignored), format a %-template (NULL or "": none),
 * realm a domain appended with '@' to names without one, separator's first byte splits
 * "login<sep>master". Returns 0, or -1 with the reason in eb (a bad %-variable in format,
 * out of memory); the settings are unchanged then. */
int passdb_user_set(struct passdb_user *, const char *translation, const char *format,
    const char *realm, const char *separator, char *eb, size_t el);

void passdb_user_free(struct passdb_user *);

/* Sets L->orig_user to login (after the master split: it points into login) and gives
 * the name that L's lookup of login must use, in *user (the caller frees it), and
 * PASSDB_OK; or, logged at info level as Dovecot's auth does (errors at error level),
 * PASSDB_USER_UNKNOWN for a name Dovecot refuses (a disallowed byte, an empty result, a
 * master login: mtool has no master passdbs) or PASSDB_INTERNAL_FAILURE (the format
 * failed on these values, out of memory). *user is NULL then, except for a refused
 * master login: it holds the master name as fixed, which Dovecot's FAIL reply names. */
enum passdb_status passdb_user_fix(const struct passdb_user *, struct passdb_lookup *L,
    const char *login, char **user);

#endif
