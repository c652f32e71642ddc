/* SPDX-License-Identifier: MIT */
/* core/password.h: Dovecot 2.3's password schemes ({SHA512-CRYPT}, {SSHA256}, ...) to check
 * what a client typed against a stored value, and to make new stored values.
 * Not SASL: no CRAM-MD5/SCRAM/OTP credentials, and no PBKDF2, ARGON2 or PLAIN-MD4. */
#ifndef CORE_PASSWORD_H
#define CORE_PASSWORD_H

#include <stddef.h>

#include "core/str.h"

/* Longest scheme name accepted, encoding suffix included ("SHA512-CRYPT.BASE64"). */
#define PASSWORD_SCHEME_MAX	32

/* The schemes, case-insensitive, each optionally with ".HEX", ".B64" or ".BASE64":
 *   PLAIN CLEAR CLEARTEXT             the password itself
 *   CRYPT DES-CRYPT MD5-CRYPT SHA256-CRYPT SHA512-CRYPT BLF-CRYPT
 *                                     crypt(3) strings ($1$ $5$ $6$ $2a$/$2b$/$2y$, DES);
 *                                     as in Dovecot the stored string's own prefix picks
 *                                     the algorithm, whichever of these names is used
 *   MD5                               $1$... as MD5-CRYPT, else as PLAIN-MD5
 *   PLAIN-MD5 (hex) LDAP-MD5 (base64) SHA SHA1 SHA256 SHA512 (base64)
 *                                     unsalted digests; without a suffix the encoding is
 *                                     guessed from the length (hex if exactly 2x the
 *                                     digest), as Dovecot does
 *   SMD5 SSHA SSHA256 SSHA512         base64 of digest(password || salt) || salt
 *   DIGEST-MD5                        hex MD5 of "user:realm:password" (user@realm)
 * The crypt(3) algorithms are mtool's own (core/crypt.h), the same in every build. */

/* Checks plain against stored, Dovecot's way: "{SCHEME}data" selects SCHEME; a stored
 * value starting "$1$" (with a second '$') is MD5-CRYPT; anything else uses
 * default_scheme (a passdb's scheme= setting; NULL means PLAIN). user is the login
 * name, used by DIGEST-MD5 only (may be NULL otherwise).
 * Returns 1 if they match, 0 if not (stored values "*..." and "!..." of locked accounts
 * and an empty crypt value are plain mismatches too), and -1 with *error set to a static
 * message if the stored value cannot be checked: "Unknown scheme", "Input isn't valid
 * base64 encoded data", "Input isn't valid HEX encoded data", "Input length isn't
 * valid", "SSHA password is too short", "Password is not blowfish password",
 * "Malformed crypt() string", ... Digests and crypt(3) results are compared in constant
 * time (the time depends on lengths only). */
int password_verify(const char *plain, const char *stored, const char *default_scheme,
    const char *user, const char **error);

/* Splits stored the way password_verify() does: copies the scheme name into scheme
 * (truncated to schemelen; default_scheme or "PLAIN" when stored names none) and returns
 * a pointer into stored at the data after "{SCHEME}" (for the "$1$" form, all of it;
 * Dovecot's cut of anything after the hash is done by password_verify). */
const char *password_split(const char *stored, const char *default_scheme, char *scheme,
    size_t schemelen);

/* Returns 1 if name (with any suffix) is a scheme password_verify() knows, else 0. */
int password_scheme_known(const char *name);

/* Appends "{SCHEME}data" for plain to out, as `doveadm pw -s SCHEME` prints it (the
 * scheme name in upper case): a random salt from getrandom() where the scheme has one
 * (4 bytes for SMD5/SSHA*, 8 characters for MD5-CRYPT, 16 for SHA*-CRYPT with the
 * default 5000 rounds, 16 bytes for BLF-CRYPT and CRYPT with cost 5, 2 characters for
 * DES-CRYPT). MD5 makes MD5-CRYPT, as in Dovecot. Returns 0, or -1 with *error static:
 * "Unknown scheme", "Scheme needs a user name" (DIGEST-MD5), "getrandom() failed", or
 * "Output too long" (out's sticky error; out keeps its old content). */
int password_generate(const char *plain, const char *scheme, struct strbuf *out,
    const char **error);

#endif
