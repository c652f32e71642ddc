/* SPDX-License-Identifier: MIT */
/* core/bcrypt.h: bcrypt ($2a$, $2b$, $2y$), the Blowfish-based crypt(3) hash that
 * Dovecot's BLF-CRYPT stores. Not a Blowfish cipher API, and no buggy $2x$. */
#ifndef CORE_BCRYPT_H
#define CORE_BCRYPT_H

#include <stddef.h>

#ifdef MTOOL_WITH_BCRYPT
/* NULL: bcrypt is in this build. */
static inline const char *bcrypt_absent(void) { return NULL; }

/* Hashes key (NUL-terminated; only its first 72 bytes count) with setting
 * "$2y$CC$<22 salt characters>..." (anything after the salt is ignored, so a stored hash
 * is a valid setting), cost CC 04..31 meaning 2^CC rounds. Writes the 60-character
 * result and a NUL to out and returns 60, or returns -1 if setting is malformed or
 * outlen < 61. Time grows as 2^CC: 31 takes days, so CC belongs to trusted input. */
int bcrypt_hash(const char *key, const char *setting, char *out, size_t outlen);

/* Writes the setting "$2y$CC$" + 22 salt characters + NUL (30 bytes) for cost CC (04..31)
 * and 16 random bytes, as crypt_gensalt does, to out (outlen >= 30). Returns 29, or -1
 * if the cost is out of range or out too small. */
int bcrypt_make_setting(unsigned int cost, const unsigned char rnd[16], char *out,
    size_t outlen);
#else
/* Feature BCRYPT is out (mk/features.mk): the reason a BLF-CRYPT password cannot be
 * checked, and stand-ins that fail as a malformed setting does. */
static inline const char *
bcrypt_absent(void)
{
	return "BLF-CRYPT (bcrypt) is not in this build (feature bcrypt)";
}
static inline int
bcrypt_hash(const char *key, const char *setting, char *out, size_t outlen)
{
	(void)key, (void)setting, (void)out, (void)outlen;
	return -1;
}
static inline int
bcrypt_make_setting(unsigned int cost, const unsigned char rnd[16], char *out, size_t outlen)
{
	(void)cost, (void)rnd, (void)out, (void)outlen;
	return -1;
}
#endif

#endif
