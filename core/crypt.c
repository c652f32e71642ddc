/* SPDX-License-Identifier: MIT */
/* Implementation notes: MD5-crypt is Poul-Henning Kamp's 1994 algorithm, SHA-crypt is
 * Ulrich Drepper's 2007 specification and DES is the 7th Edition's crypt with FIPS 46
 * tables; all were checked against glibc/libxcrypt and Dovecot's doveadm pw output
 * (tests/unit/test_crypt.c). Intermediate secrets are wiped before returning. */
#include "core/crypt.h"
#include "core/bcrypt.h"
#include "core/feature.h"
#include "core/str.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

static const char b64t[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n-- > 0)
		*v++ = 0;
}

/* crypt's base64: the 24-bit group b2:b1:b0, least significant 6 bits first */
static char *
b64_from_24(unsigned int b2, unsigned int b1, unsigned int b0, int n, char *p)
{
	uint32_t w = (b2 << 16) | (b1 << 8) | b0;
	while (n-- > 0) {
		*p++ = b64t[w & 0x3f];
		w >>= 6;
	}
	return p;
}

static int
b64_value(int c)
{
	const char *p = c != '\0' ? strchr(b64t, c) : NULL;
	return p != NULL ? (int)(p - b64t) : -1;
}

/* Salt: up to the next '$' (or the end), at most max bytes. libxcrypt refuses ':' and
 * LF, which would break the passwd-style files these strings live in. */
static int
salt_len(const char *s, size_t max, size_t *len)
{
	size_t n = strcspn(s, "$:\n");
	if (s[n] != '$' && s[n] != '\0')
		return -1;
	*len = n < max ? n : max;
	return 0;
}

static int
md5_crypt(const char *key, const char *setting, char *out, size_t outlen)
{
	br_md5_context ctx, alt;
	unsigned char fin[16];
	size_t klen = strlen(key), slen;
	const char *salt = setting + 3;
	char *p;

	if (salt_len(salt, 8, &slen) < 0 || outlen < 3 + slen + 1 + 22 + 1)
		return -1;
	br_md5_init(&alt);
	br_md5_update(&alt, key, klen);
	br_md5_update(&alt, salt, slen);
	br_md5_update(&alt, key, klen);
	br_md5_out(&alt, fin);

	br_md5_init(&ctx);
	br_md5_update(&ctx, key, klen);
	br_md5_update(&ctx, "$1$", 3);
	br_md5_update(&ctx, salt, slen);
	for (size_t n = klen; n > 0; n -= n > 16 ? 16 : n)
		br_md5_update(&ctx, fin, n > 16 ? 16 : n);
	/* PHK's quirk: a zero byte for a 1 bit, the key's first byte for a 0 bit */
	for (size_t n = klen; n > 0; n >>= 1)
		br_md5_update(&ctx, (n & 1) ? "" : key, 1);
	br_md5_out(&ctx, fin);

	for (int i = 0; i < 1000; i++) {
		br_md5_init(&ctx);
		if (i & 1)
			br_md5_update(&ctx, key, klen);
		else
			br_md5_update(&ctx, fin, 16);
		if (i % 3)
			br_md5_update(&ctx, salt, slen);
		if (i % 7)
			br_md5_update(&ctx, key, klen);
		if (i & 1)
			br_md5_update(&ctx, fin, 16);
		else
			br_md5_update(&ctx, key, klen);
		br_md5_out(&ctx, fin);
	}

	memcpy(out, "$1$", 3);
	memcpy(out + 3, salt, slen);
	p = out + 3 + slen;
	*p++ = '$';
	for (int i = 0; i < 4; i++)
		p = b64_from_24(fin[i], fin[i + 6], fin[i + 12], 4, p);
	p = b64_from_24(fin[4], fin[10], fin[5], 4, p);
	p = b64_from_24(0, 0, fin[11], 2, p);
	*p = '\0';
	wipe(fin, sizeof(fin));
	wipe(&ctx, sizeof(ctx));
	wipe(&alt, sizeof(alt));
	return (int)(p - out);
}

/* SHA-crypt's output order: each row is one 24-bit group (b2, b1, b0) of the digest */
static const unsigned char sha256_order[][3] = {
	{ 0, 10, 20 }, { 21, 1, 11 }, { 12, 22, 2 }, { 3, 13, 23 }, { 24, 4, 14 },
	{ 15, 25, 5 }, { 6, 16, 26 }, { 27, 7, 17 }, { 18, 28, 8 }, { 9, 19, 29 },
};
static const unsigned char sha512_order[][3] = {
	{ 0, 21, 42 }, { 22, 43, 1 }, { 44, 2, 23 }, { 3, 24, 45 }, { 25, 46, 4 },
	{ 47, 5, 26 }, { 6, 27, 48 }, { 28, 49, 7 }, { 50, 8, 29 }, { 9, 30, 51 },
	{ 31, 52, 10 }, { 53, 11, 32 }, { 12, 33, 54 }, { 34, 55, 13 }, { 56, 14, 35 },
	{ 15, 36, 57 }, { 37, 58, 16 }, { 59, 17, 38 }, { 18, 39, 60 }, { 40, 61, 19 },
	{ 62, 20, 41 },
};

#define SHA_ROUNDS_DEFAULT	5000
#define SHA_ROUNDS_MIN		1000
#define SHA_ROUNDS_MAX		999999999UL

/* Adds a block of len bytes made of digest (dlen bytes) repeated */
static void
add_repeated(const br_hash_class **h, const unsigned char *d, size_t dlen, size_t len)
{
	for (; len > dlen; len -= dlen)
		(*h)->update(h, d, dlen);
	(*h)->update(h, d, len);
}

static int
sha_crypt(const char *key, const char *setting, char *out, size_t outlen)
{
	const int is512 = setting[1] == '6';
	const br_hash_class *vt = is512 ? &br_sha512_vtable : &br_sha256_vtable;
	const size_t dlen = is512 ? 64 : 32;
	br_hash_compat_context ctx, alt;
	unsigned char a[64], dp[64], ds[64];
	unsigned char *pbytes, *sbytes;
	const char *salt = setting + 3;
	size_t klen = strlen(key), slen;
	unsigned long rounds = SHA_ROUNDS_DEFAULT;
	int custom = 0;
	char *p;

	if (strncmp(salt, "rounds=", 7) == 0) {
		char *end;
		if (salt[7] < '0' || salt[7] > '9')
			return -1;
		rounds = strtoul(salt + 7, &end, 10);
		if (*end != '$')
			return -1;
		rounds = rounds < SHA_ROUNDS_MIN ? SHA_ROUNDS_MIN :
		    rounds > SHA_ROUNDS_MAX ? SHA_ROUNDS_MAX : rounds;
		salt = end + 1;
		custom = 1;
	}
	if (klen > CRYPT_SHA_KEY_MAX || salt_len(salt, 16, &slen) < 0 ||
	    outlen < 3 + (custom ? 18 : 0) + slen + 1 + (is512 ? 86 : 43) + 1)
		return -1;
	pbytes = malloc(klen + 1);
	if (pbytes == NULL)
		return -1;
	sbytes = ds + 0;

	vt->init(&alt.vtable);
	alt.vtable->update(&alt.vtable, key, klen);
	alt.vtable->update(&alt.vtable, salt, slen);
	alt.vtable->update(&alt.vtable, key, klen);
	alt.vtable->out(&alt.vtable, a);

	vt->init(&ctx.vtable);
	ctx.vtable->update(&ctx.vtable, key, klen);
	ctx.vtable->update(&ctx.vtable, salt, slen);
	add_repeated(&ctx.vtable, a, dlen, klen);
	for (size_t n = klen; n > 0; n >>= 1) {
		if (n & 1)
			ctx.vtable->update(&ctx.vtable, a, dlen);
		else
			ctx.vtable->update(&ctx.vtable, key, klen);
	}
	ctx.vtable->out(&ctx.vtable, a);

	/* P: the key's digest stretched to the key's length; S: the same for the salt */
	vt->init(&alt.vtable);
	for (size_t i = 0; i < klen; i++)
		alt.vtable->update(&alt.vtable, key, klen);
	alt.vtable->out(&alt.vtable, dp);
	for (size_t i = 0; i < klen; i += dlen)
		memcpy(pbytes + i, dp, klen - i < dlen ? klen - i : dlen);
	vt->init(&alt.vtable);
	for (size_t i = 0; i < 16u + a[0]; i++)
		alt.vtable->update(&alt.vtable, salt, slen);
	alt.vtable->out(&alt.vtable, ds);

	for (unsigned long r = 0; r < rounds; r++) {
		vt->init(&ctx.vtable);
		if (r & 1)
			ctx.vtable->update(&ctx.vtable, pbytes, klen);
		else
			ctx.vtable->update(&ctx.vtable, a, dlen);
		if (r % 3)
			ctx.vtable->update(&ctx.vtable, sbytes, slen);
		if (r % 7)
			ctx.vtable->update(&ctx.vtable, pbytes, klen);
		if (r & 1)
			ctx.vtable->update(&ctx.vtable, a, dlen);
		else
			ctx.vtable->update(&ctx.vtable, pbytes, klen);
		ctx.vtable->out(&ctx.vtable, a);
	}

	p = out;
	memcpy(p, is512 ? "$6$" : "$5$", 3);
	p += 3;
	if (custom)
		p += str_fmt(p, outlen - 3, "rounds=%lu$", rounds);
	memcpy(p, salt, slen);
	p += slen;
	*p++ = '$';
	if (is512) {
		for (size_t i = 0; i < sizeof(sha512_order) / sizeof(sha512_order[0]); i++)
			p = b64_from_24(a[sha512_order[i][0]], a[sha512_order[i][1]],
			    a[sha512_order[i][2]], 4, p);
		p = b64_from_24(0, 0, a[63], 2, p);
	} else {
		for (size_t i = 0; i < sizeof(sha256_order) / sizeof(sha256_order[0]); i++)
			p = b64_from_24(a[sha256_order[i][0]], a[sha256_order[i][1]],
			    a[sha256_order[i][2]], 4, p);
		p = b64_from_24(0, a[31], a[30], 3, p);
	}
	*p = '\0';
	wipe(pbytes, klen);
	free(pbytes);
	wipe(a, sizeof(a));
	wipe(dp, sizeof(dp));
	wipe(ds, sizeof(ds));
	wipe(&ctx, sizeof(ctx));
	wipe(&alt, sizeof(alt));
	return (int)(p - out);
}

/* DES, one bit per byte: slow, small and plain to check against FIPS 46; traditional
 * crypt needs only 25 blocks per call. Tables are 1-based bit numbers, as printed in
 * the standard. */
static const unsigned char des_ip[64] = {
	58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
	62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
	57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
	61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
};
static const unsigned char des_pc1[56] = {
	57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
	10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
	63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
	14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
};
static const unsigned char des_pc2[48] = {
	14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
	23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
	41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
	44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
};
static const unsigned char des_p[32] = {
	16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
	2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
};
static const unsigned char des_shifts[16] = {
	1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1,
};
static const unsigned char des_sbox[8][64] = {
	{ 14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
	  0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
	  4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
	  15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13 },
	{ 15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
	  3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
	  0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
	  13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9 },
	{ 10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
	  13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
	  13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
	  1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12 },
	{ 7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
	  13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
	  10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
	  3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14 },
	{ 2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
	  14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
	  4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
	  11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3 },
	{ 12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
	  10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
	  9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
	  4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13 },
	{ 4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
	  13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
	  1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
	  6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12 },
	{ 13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
	  1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
	  7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
	  2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11 },
};

static void
des_permute(unsigned char *dst, const unsigned char *src, const unsigned char *table,
    size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[table[i] - 1];
}

/* 16 round keys of 48 bits from a 64-bit key (one bit per byte, MSB of byte 0 first) */
static void
des_key_schedule(const unsigned char key[64], unsigned char ks[16][48])
{
	unsigned char cd[56], t;

	des_permute(cd, key, des_pc1, 56);
	for (int r = 0; r < 16; r++) {
		for (int s = 0; s < des_shifts[r]; s++) {
			t = cd[0];
			memmove(cd, cd + 1, 27);
			cd[27] = t;
			t = cd[28];
			memmove(cd + 28, cd + 29, 27);
			cd[55] = t;
		}
		des_permute(ks[r], cd, des_pc2, 48);
	}
	wipe(cd, sizeof(cd));
}

/* One DES encryption in place, with crypt's salt: salt bit i swaps E-box outputs i and
 * i + 24, which is what makes a stolen table of plain-DES hashes useless. */
static void
des_encrypt_salted(unsigned char block[64], unsigned char ks[16][48], unsigned int salt)
{
	unsigned char lr[64], e[48], f[32], t;
	unsigned char *l = lr, *r = lr + 32;

	des_permute(lr, block, des_ip, 64);
	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < 48; i++)
			e[i] = r[(i / 6 * 4 + i % 6 + 31) % 32];	/* the E table */
		for (int i = 0; i < 12; i++)
			if (salt & (1u << i)) {
				t = e[i];
				e[i] = e[i + 24];
				e[i + 24] = t;
			}
		for (int i = 0; i < 48; i++)
			e[i] ^= ks[round][i];
		for (int b = 0; b < 8; b++) {
			const unsigned char *x = e + 6 * b;
			int v = des_sbox[b][(x[0] << 5) | (x[5] << 4) | (x[1] << 3) | (x[2] << 2) |
			    (x[3] << 1) | x[4]];
			for (int j = 0; j < 4; j++)
				e[b * 4 + j] = (v >> (3 - j)) & 1;	/* e's head is free now */
		}
		des_permute(f, e, des_p, 32);
		for (int i = 0; i < 32; i++) {
			t = r[i];
			r[i] = l[i] ^ f[i];
			l[i] = t;
		}
	}
	/* the last round does not swap: output R16 L16 through IP^-1 */
	for (int i = 0; i < 64; i++)
		block[des_ip[i] - 1] = i < 32 ? r[i] : l[i - 32];
	wipe(lr, sizeof(lr));
	wipe(e, sizeof(e));
}

static int
des_crypt(const char *key, const char *setting, char *out, size_t outlen)
{
	unsigned char kbits[64], block[64], ks[16][48];
	int s0 = b64_value(setting[0]), s1 = s0 >= 0 ? b64_value(setting[1]) : -1;
	char *p = out;

	if (s1 < 0 || outlen < 14)
		return -1;
	/* 7 bits of each of the first 8 key bytes, shifted past DES's parity bit */
	memset(kbits, 0, sizeof(kbits));
	for (int i = 0; i < 8 && key[i] != '\0'; i++)
		for (int b = 0; b < 7; b++)
			kbits[i * 8 + b] = ((unsigned char)key[i] >> (6 - b)) & 1;
	des_key_schedule(kbits, ks);
	memset(block, 0, sizeof(block));
	for (int i = 0; i < 25; i++)
		des_encrypt_salted(block, ks, (unsigned int)s0 | (unsigned int)s1 << 6);

	*p++ = setting[0];
	*p++ = setting[1];
	/* 64 bits as 11 characters, most significant first, two zero bits at the end */
	for (int c = 0; c < 11; c++) {
		int v = 0;
		for (int b = 0; b < 6; b++) {
			int bit = c * 6 + b;
			v = (v << 1) | (bit < 64 ? block[bit] : 0);
		}
		*p++ = b64t[v];
	}
	*p = '\0';
	wipe(kbits, sizeof(kbits));
	wipe(ks, sizeof(ks));
	return (int)(p - out);
}

int
crypt_hash(const char *key, const char *setting, char *out, size_t outlen)
{
	int r;

	if (setting[0] == '$' && setting[1] == '1' && setting[2] == '$')
		r = md5_crypt(key, setting, out, outlen);
	else if (setting[0] == '$' && (setting[1] == '5' || setting[1] == '6') &&
	    setting[2] == '$')
		r = sha_crypt(key, setting, out, outlen);
	else if (setting[0] == '$' && setting[1] == '2')
		r = bcrypt_hash(key, setting, out, outlen);
	else if (setting[0] != '$')	/* feature DES_CRYPT: traditional DES crypt(3) */
		r = FEATURE_IF(MTOOL_WITH_DES_CRYPT, des_crypt(key, setting, out, outlen))
		    FEATURE_IF_NOT(MTOOL_WITH_DES_CRYPT, ((void)des_crypt, -1));
	else
		r = -1;
	if (r < 0 && outlen > 0)
		out[0] = '\0';
	return r;
}
