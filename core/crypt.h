/* SPDX-License-Identifier: MIT */
/* core/crypt.h: the crypt(3) password hashes Dovecot's CRYPT schemes store: MD5-crypt
 * ($1$), SHA256-crypt ($5$), SHA512-crypt ($6$), bcrypt ($2a$ $2b$ $2y$, core/bcrypt.h)
 * and traditional DES. Not libc's crypt(): Debian's musl has none, so mtool carries its
 * own, on BearSSL's hashes; no $2x$, BSDi "_" DES, yescrypt ($y$) or scrypt ($7$). */
#ifndef CORE_CRYPT_H
#define CORE_CRYPT_H

#include <stddef.h>

/* SHA-crypt hashes the key key-length times over (quadratic): longer keys are refused
 * there (musl refuses over 256 bytes); 1024 costs at most 1 MB of hashing per call. */
#define CRYPT_SHA_KEY_MAX	1024

/* Room for any string crypt_hash() writes, NUL included ($6$rounds=999999999$ + 16 + 86). */
#define CRYPT_OUT_MAX	128

/* Hashes key with the algorithm and parameters in setting, which is either a salt
 * string ("$6$saltsalt", "$2y$05$<22 chars>", "ab") or a whole stored hash (everything
 * after the salt is ignored, so comparing the result with the stored string checks a
 * password). Keys are NUL-terminated: bcrypt uses at most 72 bytes of them and DES 8.
 * Writes the NUL-terminated result to out (outlen >= CRYPT_OUT_MAX always suffices) and
 * returns its length, or returns -1 (out then "") if setting is not one of the forms
 * above: an unknown prefix, DES or bcrypt salt characters outside "./0-9A-Za-z", a
 * bcrypt cost outside 04..31, SHA "rounds=" that are not decimal, a ':' or LF in a
 * salt, a key over CRYPT_SHA_KEY_MAX for SHA-crypt, or outlen too small. As glibc
 * does, SHA rounds are clamped to 1000..999999999; the salt ends at '$' and is cut at
 * 16 characters (MD5: 8). The cost of a call is the setting's: up to 2^31 bcrypt
 * rounds, so only trusted settings should carry large costs (a passwd-file is). */
int crypt_hash(const char *key, const char *setting, char *out, size_t outlen);

#endif
