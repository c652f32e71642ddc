/* SPDX-License-Identifier: MIT */
/* Implementation notes: this follows Dovecot 2.3's password-scheme.c: the stored value is
 * first decoded (password_decode: the encoding comes from the suffix, else it is guessed
 * from the length for fixed-size digests, else it is the scheme's default), then the
 * scheme's check runs on the raw bytes. Error texts are Dovecot's. */
#include "core/password.h"
#include "core/base64.h"
#include "core/bcrypt.h"
#include "core/crypt.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <bearssl.h>

/* Decoded stored values larger than this are refused; real ones are under 100 bytes. */
#define PASSWORD_RAW_MAX	1024
#define BLF_COST_DEFAULT	5
#define SALT_LEN_SMD5_SSHA	4

enum pw_enc { ENC_NONE, ENC_HEX, ENC_B64 };

enum pw_kind {
	PW_PLAIN,
	PW_CRYPT,	/* whatever the stored string's prefix says */
	PW_BLF,
	PW_MD5_CRYPT,
	PW_MD5,		/* $1$ as MD5-CRYPT, else PLAIN-MD5 */
	PW_DIGEST,	/* H(password) */
	PW_SALTED,	/* H(password || salt) || salt */
	PW_DIGEST_MD5,	/* MD5(user:realm:password) */
};

struct pw_scheme {
	const char *name;
	enum pw_kind kind;
	enum pw_enc enc;
	size_t raw_len;			/* 0: any */
	const br_hash_class *hash;
	const char *gen_prefix;		/* crypt setting prefix for password_generate() */
	size_t gen_salt;		/* its salt characters */
	const char *too_short;		/* PW_SALTED's error */
};

static const struct pw_scheme schemes[] = {
	{ "PLAIN", PW_PLAIN, ENC_NONE, 0, NULL, NULL, 0, NULL },
	{ "CLEAR", PW_PLAIN, ENC_NONE, 0, NULL, NULL, 0, NULL },
	{ "CLEARTEXT", PW_PLAIN, ENC_NONE, 0, NULL, NULL, 0, NULL },
	{ "CRYPT", PW_CRYPT, ENC_NONE, 0, NULL, "$2y$", 0, NULL },
	{ "DES-CRYPT", PW_CRYPT, ENC_NONE, 0, NULL, "", 2, NULL },
	{ "SHA256-CRYPT", PW_CRYPT, ENC_NONE, 0, NULL, "$5$", 16, NULL },
	{ "SHA512-CRYPT", PW_CRYPT, ENC_NONE, 0, NULL, "$6$", 16, NULL },
	{ "BLF-CRYPT", PW_BLF, ENC_NONE, 0, NULL, "$2y$", 0, NULL },
	{ "MD5-CRYPT", PW_MD5_CRYPT, ENC_NONE, 0, NULL, "$1$", 8, NULL },
	{ "MD5", PW_MD5, ENC_NONE, 0, NULL, "$1$", 8, NULL },
	{ "PLAIN-MD5", PW_DIGEST, ENC_HEX, 16, &br_md5_vtable, NULL, 0, NULL },
	{ "LDAP-MD5", PW_DIGEST, ENC_B64, 16, &br_md5_vtable, NULL, 0, NULL },
	{ "SHA", PW_DIGEST, ENC_B64, 20, &br_sha1_vtable, NULL, 0, NULL },
	{ "SHA1", PW_DIGEST, ENC_B64, 20, &br_sha1_vtable, NULL, 0, NULL },
	{ "SHA256", PW_DIGEST, ENC_B64, 32, &br_sha256_vtable, NULL, 0, NULL },
	{ "SHA512", PW_DIGEST, ENC_B64, 64, &br_sha512_vtable, NULL, 0, NULL },
	{ "SMD5", PW_SALTED, ENC_B64, 0, &br_md5_vtable, NULL, 0,
	    "SMD5 password is too short" },
	{ "SSHA", PW_SALTED, ENC_B64, 0, &br_sha1_vtable, NULL, 0,
	    "SSHA password is too short" },
	{ "SSHA256", PW_SALTED, ENC_B64, 0, &br_sha256_vtable, NULL, 0,
	    "SSHA256 password is too short" },
	{ "SSHA512", PW_SALTED, ENC_B64, 0, &br_sha512_vtable, NULL, 0,
	    "SSHA512 password is too short" },
	{ "DIGEST-MD5", PW_DIGEST_MD5, ENC_HEX, 16, &br_md5_vtable, NULL, 0, NULL },
};

/* memset() that the compiler may not drop as a dead store */
static void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n-- > 0)
		*v++ = 0;
}

static const char salt_chars[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static const struct pw_scheme *
scheme_named(const char *name)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (str_eq_nocase(schemes[i].name, name))
			return &schemes[i];
	return NULL;
}

/* "SHA256.HEX" -> the scheme, its encoding and whether the suffix gave it */
static const struct pw_scheme *
scheme_lookup(const char *name, enum pw_enc *enc, int *explicit_enc)
{
	const char *dot = strchr(name, '.');
	size_t len = dot != NULL ? (size_t)(dot - name) : strlen(name);
	char base[PASSWORD_SCHEME_MAX + 1];
	const struct pw_scheme *s;

	if (len > PASSWORD_SCHEME_MAX)
		return NULL;
	memcpy(base, name, len);
	base[len] = '\0';
	if ((s = scheme_named(base)) == NULL)
		return NULL;
	*explicit_enc = dot != NULL;
	if (dot == NULL)
		*enc = s->enc;
	else if (str_eq_nocase(dot + 1, "b64") || str_eq_nocase(dot + 1, "base64"))
		*enc = ENC_B64;
	else if (str_eq_nocase(dot + 1, "hex"))
		*enc = ENC_HEX;
	else
		return NULL;	/* Dovecot: an unknown encoding is an unknown scheme */
	return s;
}

int
password_scheme_known(const char *name)
{
	enum pw_enc enc;
	int explicit_enc;

	return scheme_lookup(name, &enc, &explicit_enc) != NULL;
}

const char *
password_split(const char *stored, const char *default_scheme, char *scheme,
    size_t schemelen)
{
	const char *end;

	if (strncmp(stored, "$1$", 3) == 0 && strchr(stored + 3, '$') != NULL) {
		str_copy(scheme, "MD5-CRYPT", schemelen);
		return stored;
	}
	if (stored[0] == '{' && (end = strchr(stored, '}')) != NULL) {
		size_t n = (size_t)(end - stored - 1);
		if (n >= schemelen)
			n = schemelen - 1;
		memcpy(scheme, stored + 1, n);
		scheme[n] = '\0';
		return end + 1;
	}
	str_copy(scheme, default_scheme != NULL ? default_scheme : "PLAIN", schemelen);
	return stored;
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hex_decode(const char *s, size_t len, unsigned char *out, size_t outlen, size_t *outn)
{
	if (len % 2 != 0 || len / 2 > outlen)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_value((unsigned char)s[i]), lo = hex_value((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*outn = len / 2;
	return 0;
}

/* Dovecot's password_decode(). raw is NUL-terminated on success (rawmax + 1 bytes). */
static int
password_decode(const char *data, size_t len, const struct pw_scheme *s, enum pw_enc enc,
    int explicit_enc, unsigned char *raw, size_t rawmax, size_t *rawlen, const char **error)
{
	int guessed = 0, r;

	if (enc != ENC_NONE && s->raw_len != 0 && !explicit_enc) {
		enc = len == s->raw_len * 2 ? ENC_HEX : ENC_B64;
		guessed = 1;
	}
	switch (enc) {
	case ENC_NONE:
		if (len > rawmax) {
			*error = "Input length isn't valid";
			return -1;
		}
		memcpy(raw, data, len);
		*rawlen = len;
		break;
	case ENC_HEX:
		if (hex_decode(data, len, raw, rawmax, rawlen) == 0)
			break;
		if (!guessed) {
			*error = "Input isn't valid HEX encoded data";
			return -1;
		}
		/* some lengths are both: a guessed hex may be base64 after all */
		/* FALLTHROUGH */
	case ENC_B64:
		r = base64_decode(data, len, raw, rawmax, rawlen);
		if (r != 0) {
			*error = r == -2 ? "Input length isn't valid" :
			    "Input isn't valid base64 encoded data";
			return -1;
		}
		break;
	}
	if (s->raw_len != 0 && *rawlen != s->raw_len) {
		*error = "Input length isn't valid";
		return -1;
	}
	raw[*rawlen] = '\0';
	return 0;
}

static void
digest(const br_hash_class *h, const void *a, size_t alen, const void *b, size_t blen,
    unsigned char *out)
{
	br_hash_compat_context ctx;

	h->init(&ctx.vtable);
	h->update(&ctx.vtable, a, alen);
	if (blen > 0)
		h->update(&ctx.vtable, b, blen);
	h->out(&ctx.vtable, out);
}

static int
crypt_matches(const char *plain, const unsigned char *raw, size_t rawlen,
    const char **error)
{
	char out[CRYPT_OUT_MAX];
	int n;

	if (strlen((const char *)raw) != rawlen)
		return 0;	/* a NUL inside can come only from a .HEX/.B64 suffix */
	n = crypt_hash(plain, (const char *)raw, out, sizeof(out));
	if (n < 0 && strlen(plain) > CRYPT_SHA_KEY_MAX && raw[0] == '$' &&
	    (raw[1] == '5' || raw[1] == '6'))
		return 0;	/* a client's overlong password is no broken passdb */
	if (n < 0) {
		*error = "Malformed crypt() string";
		return -1;
	}
	return str_eq_consttime(out, (size_t)n, raw, rawlen);
}

static int
verify_raw(const char *plain, const struct pw_scheme *s, const unsigned char *raw,
    size_t rawlen, const char *user, const char **error)
{
	unsigned char d[64];
	size_t dlen = s->hash != NULL ? (s->hash->desc >> BR_HASHDESC_OUT_OFF) &
	    BR_HASHDESC_OUT_MASK : 0;
	size_t plen = strlen(plain);

	switch (s->kind) {
	case PW_PLAIN:
		return str_eq_consttime(plain, plen, raw, rawlen);
	case PW_CRYPT:
		if (rawlen > 4 && raw[0] == '$' && raw[1] == '2' && raw[3] == '$')
			return verify_raw(plain, scheme_named("BLF-CRYPT"), raw, rawlen, user,
			    error);
		/* empty (Dovecot), and "*"/"!" of locked accounts: never a match */
		if (rawlen == 0 || raw[0] == '*' || raw[0] == '!')
			return 0;
		return crypt_matches(plain, raw, rawlen, error);
	case PW_BLF:
		if (rawlen == 0)
			return 0;
		if (bcrypt_absent() != NULL) {
			*error = bcrypt_absent();
			return -1;
		}
		if (rawlen < 30 || raw[0] != '$' || raw[1] != '2' || raw[2] < 'a' ||
		    raw[2] > 'z' || raw[3] != '$') {
			*error = "Password is not blowfish password";
			return -1;
		}
		return crypt_matches(plain, raw, rawlen, error);
	case PW_MD5_CRYPT:
		/* Dovecot salts with whatever is there; without "$1$" nothing can match */
		if (rawlen < 3 || memcmp(raw, "$1$", 3) != 0)
			return 0;
		return crypt_matches(plain, raw, rawlen, error);
	case PW_MD5: {
		unsigned char md5raw[17];
		size_t md5len;
		const char *err;
		if (rawlen >= 3 && memcmp(raw, "$1$", 3) == 0)
			return crypt_matches(plain, raw, rawlen, error);
		const struct pw_scheme *pmd5 = scheme_named("PLAIN-MD5");
		if (password_decode((const char *)raw, rawlen, pmd5, pmd5->enc, 0, md5raw, 16,
		    &md5len, &err) < 0) {
			*error = "Not a valid MD5-CRYPT or PLAIN-MD5 password";
			return -1;
		}
		return verify_raw(plain, pmd5, md5raw, md5len, user, error);
	}
	case PW_DIGEST:
		digest(s->hash, plain, plen, NULL, 0, d);
		return str_eq_consttime(d, dlen, raw, rawlen);
	case PW_SALTED:
		if (rawlen <= dlen) {
			*error = s->too_short;
			return -1;
		}
		digest(s->hash, plain, plen, raw + dlen, rawlen - dlen, d);
		return str_eq_consttime(d, dlen, raw, dlen);
	case PW_DIGEST_MD5: {
		/* user@realm; user@domain@realm keeps the domain in the user */
		const char *at = user != NULL ? strrchr(user, '@') : NULL;
		size_t ulen = user == NULL ? 0 : at != NULL ? (size_t)(at - user) : strlen(user);
		br_md5_context ctx;
		if (user == NULL) {
			*error = "Scheme needs a user name";
			return -1;
		}
		br_md5_init(&ctx);
		br_md5_update(&ctx, user, ulen);
		br_md5_update(&ctx, ":", 1);
		if (at != NULL)
			br_md5_update(&ctx, at + 1, strlen(at + 1));
		br_md5_update(&ctx, ":", 1);
		br_md5_update(&ctx, plain, plen);
		br_md5_out(&ctx, d);
		return str_eq_consttime(d, 16, raw, rawlen);
	}
	}
	*error = "Unknown scheme";
	return -1;
}

int
password_verify(const char *plain, const char *stored, const char *default_scheme,
    const char *user, const char **error)
{
	char name[PASSWORD_SCHEME_MAX + 1];
	unsigned char raw[PASSWORD_RAW_MAX + 1];
	const struct pw_scheme *s;
	const char *data;
	size_t len, rawlen;
	enum pw_enc enc;
	int explicit_enc, r;

	data = password_split(stored, default_scheme, name, sizeof(name));
	len = strlen(data);
	if (data == stored && strcmp(name, "MD5-CRYPT") == 0) {
		/* $1$salt$hash[$ignored]: Dovecot stops at the '$' after the hash */
		const char *p = strchr(strchr(stored + 3, '$') + 1, '$');
		if (p != NULL)
			len = (size_t)(p - stored);
	}
	s = scheme_lookup(name, &enc, &explicit_enc);
	if (s == NULL || strlen(name) == PASSWORD_SCHEME_MAX) {
		*error = "Unknown scheme";
		return -1;
	}
	if (password_decode(data, len, s, enc, explicit_enc, raw, PASSWORD_RAW_MAX, &rawlen,
	    error) < 0)
		return -1;
	r = verify_raw(plain, s, raw, rawlen, user, error);
	wipe(raw, sizeof(raw));
	return r;
}

static int
random_fill(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The raw value that password_decode() would give back for plain under s. */
static int
generate_raw(const char *plain, const struct pw_scheme *s, unsigned char *raw,
    size_t *rawlen, const char **error)
{
	unsigned char rnd[16];
	size_t dlen = s->hash != NULL ? (s->hash->desc >> BR_HASHDESC_OUT_OFF) &
	    BR_HASHDESC_OUT_MASK : 0;
	char setting[40];
	int n;

	switch (s->kind) {
	case PW_PLAIN:
		*rawlen = strlen(plain);
		if (*rawlen > PASSWORD_RAW_MAX) {
			*error = "Output too long";
			return -1;
		}
		memcpy(raw, plain, *rawlen);
		return 0;
	case PW_CRYPT:
	case PW_BLF:
	case PW_MD5_CRYPT:
	case PW_MD5:
		if (random_fill(rnd, sizeof(rnd)) < 0) {
			*error = "getrandom() failed";
			return -1;
		}
		if (s->gen_salt == 0)
			n = bcrypt_make_setting(BLF_COST_DEFAULT, rnd, setting, sizeof(setting));
		else {
			/* 64 characters: a byte's low 6 bits pick one without bias */
			size_t plen = strlen(s->gen_prefix);
			memcpy(setting, s->gen_prefix, plen);
			for (size_t i = 0; i < s->gen_salt; i++)
				setting[plen + i] = salt_chars[rnd[i] & 63];
			setting[plen + s->gen_salt] = '\0';
			n = 0;
		}
		if (n >= 0)
			n = crypt_hash(plain, setting, (char *)raw, CRYPT_OUT_MAX);
		if (n < 0) {
			/* only SHA-crypt can refuse: keys over its length limit */
			*error = "Password too long for the scheme";
			return -1;
		}
		*rawlen = (size_t)n;
		return 0;
	case PW_DIGEST:
		digest(s->hash, plain, strlen(plain), NULL, 0, raw);
		*rawlen = dlen;
		return 0;
	case PW_SALTED:
		if (random_fill(raw + dlen, SALT_LEN_SMD5_SSHA) < 0) {
			*error = "getrandom() failed";
			return -1;
		}
		digest(s->hash, plain, strlen(plain), raw + dlen, SALT_LEN_SMD5_SSHA, raw);
		*rawlen = dlen + SALT_LEN_SMD5_SSHA;
		return 0;
	case PW_DIGEST_MD5:
		break;
	}
	*error = "Scheme needs a user name";
	return -1;
}

int
password_generate(const char *plain, const char *scheme, struct strbuf *out,
    const char **error)
{
	unsigned char raw[PASSWORD_RAW_MAX + 1];
	char b64[PASSWORD_RAW_MAX / 3 * 4 + 8];
	const struct pw_scheme *s;
	size_t rawlen, start = out->len;
	enum pw_enc enc;
	int explicit_enc;

	s = scheme_lookup(scheme, &enc, &explicit_enc);
	if (s == NULL) {
		*error = "Unknown scheme";
		return -1;
	}
	if (generate_raw(plain, s, raw, &rawlen, error) < 0)
		return -1;
	strbuf_putc(out, '{');
	for (const char *p = scheme; *p != '\0'; p++)
		strbuf_putc(out, *p >= 'a' && *p <= 'z' ? (char)(*p - ('a' - 'A')) : *p);
	strbuf_putc(out, '}');
	switch (enc) {
	case ENC_NONE:
		strbuf_append(out, raw, rawlen);
		break;
	case ENC_HEX:
		for (size_t i = 0; i < rawlen; i++)
			strbuf_printf(out, "%02x", raw[i]);
		break;
	case ENC_B64:
		if (base64_encode(raw, rawlen, b64, sizeof(b64)) == 0 && rawlen > 0)
			out->error = 1;
		else
			strbuf_puts(out, b64);
		break;
	}
	wipe(raw, sizeof(raw));
	if (out->error) {
		strbuf_truncate(out, start);
		*error = "Output too long";
		return -1;
	}
	return 0;
}
