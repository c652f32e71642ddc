/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/bcrypt.h"
#include "core/crypt.h"

/* Expected values from glibc's crypt() (libxcrypt 4.4 on Debian 12) unless noted; NULL:
 * the setting is refused. */
static const struct {
	const char *key, *setting, *out;
} crypt_kat[] = {
	{ "Hello world!", "$5$saltstring",
	    "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5" },
	{ "Hello world!", "$6$saltstring",
	    "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
	        "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1" },
	{ "Hello world!", "$5$rounds=10000$saltstringsaltstring",
	    "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA" },
	{ "Hello world!", "$6$rounds=10000$saltstringsaltstring",
	    "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra"
	        "3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v." },
	/* Drepper's specification: rounds below 1000 are raised to 1000 (libxcrypt
	 * refuses them instead; glibc's own and musl's crypt raise them) */
	{ "the minimum number is still observed", "$5$rounds=10$roundstoolow",
	    "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC" },
	{ "", "$6$emptykey",
	    "$6$emptykey$/dYo15aPLB9xLpHjU.blPQBLUsIyT9VwD5Dxv"
	        "Pvqrhe15PktTZIDcEclr9/H5vY6VQ1ChAE4S2Zn9crafSYnz/" },
	{ "", "$1$emptykey",
	    "$1$emptykey$2D0kpWEoMNxU0KiVfQyb7/" },
	{ "", "ab",
	    "abmF1QH4PEr.E" },
	{ "", "$2b$04$abcdefghijklmnopqrstuu",
	    "$2b$04$abcdefghijklmnopqrstuubyCG3zY1GIXMyxfivm.ClDiInHzxjiq" },
	{ "password", "$1$saltstri",
	    "$1$saltstri$qQY4WxjABChYG1ccLpfkz/" },
	{ "a-rather-long-password-over-sixteen-bytes", "$1$12345678901",
	    "$1$12345678$V/ZQr.CNMsrbjs8JEy/Rb." },
	{ "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM"
	    "NOPQRSTUVWXYZ0123456789chars after 72 are ignored", "$2a$05$abcdefghijklmnopqrstuu",
	    "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui" },
	{ "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "$2b$05$abcdefghijklmnopqrstuu",
	    "$2b$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui" },
	{ "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.",
	    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" },
	{ "U*U*", "$2y$05$CCCCCCCCCCCCCCCCCCCCC.",
	    "$2y$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK" },
	{ "\xa3", "$2a$05$/OK.fbVrR/bpIqNJ5ianF.",
	    "$2a$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq" },
	{ "\xa3", "$2y$05$/OK.fbVrR/bpIqNJ5ianF.",
	    "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq" },
	{ "\xff""\xff""\xa3", "$2a$05$/OK.fbVrR/bpIqNJ5ianF.",
	    "$2a$05$/OK.fbVrR/bpIqNJ5ianF.nqd1wy.pTMdcvrRWxyiGL2eMz.2a85." },
	{ "\xff""\xff""\xa3", "$2b$05$/OK.fbVrR/bpIqNJ5ianF.",
	    "$2b$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e" },
	{ "\xff""\xa3""34\xff""\xff""\xff""\xa3""345", "$2a$05$/OK.fbVrR/bpIqNJ5ianF.",
	    "$2a$05$/OK.fbVrR/bpIqNJ5ianF.ZC1JEJ8Z4gPfpe1JOr/oyPXTWl9EFd." },
	{ "\xff""\xff""\xff""\xff", "$2a$05$/OK.fbVrR/bpIqNJ5ianF.",
	    "$2a$05$/OK.fbVrR/bpIqNJ5ianF.b..eicEn7KzirclCRphEoMXe15tsBNm" },
	{ "\xff""\xff""\xff""\xff", "$2y$05$/OK.fbVrR/bpIqNJ5ianF.",
	    "$2y$05$/OK.fbVrR/bpIqNJ5ianF.b..eicEn7KzirclCRphEoMXe15tsBNm" },
	{ "test", "$2y$04$abcdefghijklmnopqrstuv",
	    "$2y$04$abcdefghijklmnopqrstuuoD8yw7MmybLKVooaTGGZAt3HXugv2.a" },
	{ "secret", "Wc",
	    "Wc4nUPuP4hteA" },
	{ "12345678extra", "./",
	    "./qw5JW./79Vg" },
	{ "\xc3""\xa4""\xc3""\xb6", "zZ",
	    "zZdxYms.xXTKs" },
	{ "x", "$6$saltsaltsaltsaltsalt",
	    "$6$saltsaltsaltsalt$nozu4aSZ9tvfyqr8kV.PwuNYpJaa6RCOb"
	        "1XRcivY.S4HEWnm/pcZbgbhIR2EeRNbUrMigQuyF/KzM9qzoEvpz0" },
	{ "x", "$5$rounds=1000$sa:lt",
	    NULL },

	/* refused settings */
	{ "x", "$7$CU..../....abc", NULL },
	{ "x", "$y$j9T$abc", NULL },
	{ "x", "$2x$05$/OK.fbVrR/bpIqNJ5ianF.", NULL },
	{ "x", "$2y$03$abcdefghijklmnopqrstuv", NULL },
	{ "x", "$2y$32$abcdefghijklmnopqrstuv", NULL },
	{ "x", "$2y$05$abcdefghijklmnopqrst", NULL },
	{ "x", "$2y$05$abcdefghijklmnopqrstu!", NULL },
	{ "x", "$2y$5$abcdefghijklmnopqrstuv", NULL },
	{ "x", "$6$rounds=$salt", NULL },
	{ "x", "$6$rounds=12x$salt", NULL },
	{ "x", "$1$sa\nlt", NULL },
	{ "x", "a", NULL },
	{ "x", "", NULL },
	{ "x", "a!", NULL },
	{ "x", "*0", NULL },
	{ "x", "$", NULL },
	{ "x", "$9$abc", NULL },
};

TEST(crypt_known_answers)
{
	char out[CRYPT_OUT_MAX];

	for (size_t i = 0; i < sizeof(crypt_kat) / sizeof(crypt_kat[0]); i++) {
		int r = crypt_hash(crypt_kat[i].key, crypt_kat[i].setting, out, sizeof(out));
		if (crypt_kat[i].out == NULL) {
			if (r != -1 || out[0] != '\0')
				unit_fail(__FILE__, __LINE__, "setting \"%s\" accepted: %s",
				    crypt_kat[i].setting, out);
		} else if (r < 0 || strcmp(out, crypt_kat[i].out) != 0 || (size_t)r != strlen(out))
			unit_fail(__FILE__, __LINE__, "crypt(\"%s\", \"%s\") = %"
			    "d \"%s\", expected \"%s\"",
			    crypt_kat[i].key, crypt_kat[i].setting, r, out, crypt_kat[i].out);
	}
}

TEST(crypt_whole_hash_as_setting)
{
	/* a stored hash is its own setting: that is how a password is checked */
	char out[CRYPT_OUT_MAX];

	for (size_t i = 0; i < sizeof(crypt_kat) / sizeof(crypt_kat[0]); i++) {
		if (crypt_kat[i].out == NULL)
			continue;
		CHECK(crypt_hash(crypt_kat[i].key, crypt_kat[i].out, out, sizeof(out)) > 0);
		CHECK_STR(out, crypt_kat[i].out);
		CHECK(crypt_hash("wrong", crypt_kat[i].out, out, sizeof(out)) > 0);
		CHECK(strcmp(out, crypt_kat[i].out) != 0);
	}
}

TEST(crypt_small_output_buffer)
{
	char out[40];

	CHECK_INT(crypt_hash("x", "$6$salt", out, sizeof(out)), -1);
	CHECK_STR(out, "");
	CHECK_INT(crypt_hash("x", "$2y$04$abcdefghijklmnopqrstuv", out, sizeof(out)), -1);
	CHECK_INT(crypt_hash("x", "ab", out, 13), -1);
	CHECK_INT(crypt_hash("x", "ab", out, 14), 13);
}

TEST(crypt_sha_key_limit)
{
	/* SHA-crypt is quadratic in the key: long keys are refused (see crypt.h) */
	char key[1026], out[CRYPT_OUT_MAX];

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	CHECK_INT(crypt_hash(key, "$6$salt", out, sizeof(out)), -1);
	key[1024] = '\0';
	CHECK(crypt_hash(key, "$6$salt", out, sizeof(out)) > 0);
	/* the others have no such cost */
	CHECK(crypt_hash(key, "$1$salt", out, sizeof(out)) > 0);
	CHECK(crypt_hash(key, "$2b$04$abcdefghijklmnopqrstuu", out, sizeof(out)) > 0);
}

TEST(bcrypt_make_setting)
{
	static const unsigned char zero[16], ff[16] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	char s[30], out[CRYPT_OUT_MAX];

	CHECK_INT(bcrypt_make_setting(5, zero, s, sizeof(s)), 29);
	CHECK_STR(s, "$2y$05$......................");
	CHECK_INT(bcrypt_make_setting(12, ff, s, sizeof(s)), 29);
	CHECK_STR(s, "$2y$12$999999999999999999999u");
	CHECK_INT(bcrypt_make_setting(3, zero, s, sizeof(s)), -1);
	CHECK_INT(bcrypt_make_setting(32, zero, s, sizeof(s)), -1);
	CHECK_INT(bcrypt_make_setting(5, zero, s, 29), -1);
	CHECK_INT(bcrypt_make_setting(4, ff, s, sizeof(s)), 29);
	CHECK_INT(bcrypt_hash("pw", s, out, sizeof(out)), 60);
	CHECK(strncmp(out, s, 29) == 0);
}
