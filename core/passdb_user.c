/* SPDX-License-Identifier: MIT */
/* core/passdb_user.c: Dovecot 2.3's auth_request_fix_username() and the master user
 * split of auth_request_set_username(), in Dovecot's order: split, realm, then byte by
 * byte translation and the auth_username_chars check, then the format. */
#include <stdlib.h>
#include <string.h>

#include "core/passdb_req.h"
#include "core/passdb_user.h"
#include "core/str.h"

void
passdb_user_set_chars(struct passdb_user *u, const char *chars)
{
	memset(u->chars, 0, sizeof(u->chars));
	u->chars_set = chars != NULL && *chars != '\0';
	for (const unsigned char *c = (const unsigned char *)chars; u->chars_set && *c != '\0'; c++)
		u->chars[*c >> 3] |= (unsigned char)(1u << (*c & 7));
}

int
passdb_user_set(struct passdb_user *u, const char *translation, const char *format,
    const char *realm, const char *separator, char *eb, size_t el)
{
	char *f = NULL, *r = NULL;

	if ((format != NULL && *format != '\0' && (f = strdup(format)) == NULL) ||
	    (realm != NULL && *realm != '\0' && (r = strdup(realm)) == NULL)) {
		free(f);
		str_copy(eb, "out of memory", el);
		return -1;
	}
	if (f != NULL && passdb_check_template(f, eb, el) < 0) {
		free(f);
		free(r);
		return -1;
	}
	passdb_user_free(u);
	u->format = f;
	u->realm = r;
	memset(u->translation, 0, sizeof(u->translation));
	for (const char *p = translation; p != NULL && p[0] != '\0' && p[1] != '\0'; p += 2)
		u->translation[(unsigned char)p[0]] = (unsigned char)p[1];
	u->separator = separator != NULL ? *separator : '\0';
	return 0;
}

void
passdb_user_free(struct passdb_user *u)
{
	free(u->format);
	free(u->realm);
	u->format = u->realm = NULL;
}

/* auth_request_fix_username() for one name. */
static enum passdb_status
fix_name(const struct passdb_user *u, const struct passdb_lookup *L, const char *name,
    char **out)
{
	char errbuf[256];
	const char *error;
	char *s;

	*out = NULL;
	if (u->realm != NULL && strchr(name, '@') == NULL) {
		size_t n = strlen(name), r = strlen(u->realm);
		if ((s = malloc(n + 1 + r + 1)) != NULL) {
			memcpy(s, name, n);
			s[n] = '@';
			memcpy(s + n + 1, u->realm, r + 1);
		}
	} else
		s = strdup(name);
	if (s == NULL)
		return PASSDB_INTERNAL_FAILURE;
	for (unsigned char *p = (unsigned char *)s; *p != '\0'; p++) {
		if (u->translation[*p] != 0)
			*p = u->translation[*p];
		if (u->chars_set && !(u->chars[*p >> 3] & (1u << (*p & 7)))) {
			passdb_log(L, LOG_LEVEL_INFO, "Username character disallowed by "
			    "auth_username_chars: 0x%02x (username: %s)", *p, name);
			free(s);
			return PASSDB_USER_UNKNOWN;
		}
	}
	if (u->format != NULL) {
		char *f = passdb_expand(L, s, u->format, NULL, errbuf, sizeof(errbuf), &error);
		free(s);
		if ((s = f) == NULL) {
			/* Dovecot goes on with what it expanded so far; a name half made is
			 * no name to route by */
			passdb_log(L, LOG_LEVEL_ERROR, "Failed to expand username_format=%s: %s",
			    u->format, error);
			return PASSDB_INTERNAL_FAILURE;
		}
	}
	if (*s == '\0') {
		passdb_log(L, LOG_LEVEL_INFO, "Empty username");
		free(s);
		return PASSDB_USER_UNKNOWN;
	}
	*out = s;
	return PASSDB_OK;
}

enum passdb_status
passdb_user_fix(const struct passdb_user *u, struct passdb_lookup *L, const char *login,
    char **user)
{
	const char *sep = u->separator != '\0' ? strchr(login, u->separator) : NULL;
	L->orig_user = sep != NULL ? sep + 1 : login;
	enum passdb_status st = fix_name(u, L, L->orig_user, user);

	if (st != PASSDB_OK || sep == NULL)
		return st;
	/* "login*master": Dovecot compares the login part as typed with the master name
	 * as fixed; another user needs a master passdb, which mtool has not */
	const char *why = sep == login ? "Master user login attempted to use empty login username" :
	    strncmp(login, *user, (size_t)(sep - login)) != 0 || (*user)[sep - login] != '\0' ?
	    "Master user login attempted without master passdbs" : NULL;
	if (why == NULL)
		return PASSDB_OK;
	passdb_log(L, LOG_LEVEL_INFO, "%s", why);
	return PASSDB_USER_UNKNOWN;
}
