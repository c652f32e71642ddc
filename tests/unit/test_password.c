/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/password.h"

/* Made by Dovecot 2.3.19's `doveadm pw -s SCHEME -p PASSWORD` (Debian 12). */
static const struct {
	const char *plain, *stored;
} doveadm_kat[] = {
	{ "secret", "{PLAIN}secret" },
	{ "secret", "{CLEAR}secret" },
	{ "secret", "{CLEARTEXT}secret" },
	{ "secret", "{CRYPT}$2y$05$.xv0enjT0QpSLCwgDeZ6lOM0EJtVyG4He12Qh2ItXOfllPrXqGsjS" },
	{ "secret", "{DES-CRYPT}v8GiKFizyvGsY" },
	{ "secret", "{MD5-CRYPT}$1$Y1.4P0df$hDoQMiqHyX3IySepiVz6b1" },
	{ "secret",
	    "{SHA256-CRYPT}$5$K/rq9Tj88ZbtBj5W$RFwn"
	    "8yTFKvlDNPjXAQQo6tWOXhw2EC3R.U8tDBqPan1" },
	{ "secret",
	    "{SHA512-CRYPT}$6$5ZSDGFqI/pNXzeV6$se8mOhcOHFVUMpATdPDTMBl8cu"
	    "tLiCBzaWSJ79ubKvd/BUkEFia.L2Nx/PJGjLeopNBhhyo.W/rphaaQ8xAGf." },
	{ "secret", "{BLF-CRYPT}$2y$05$XnunFHQ6WF8CQflRhwz20u3uWPcLIQ/UaLzWiRO/9pPM5edVZA6Ku" },
	{ "secret", "{MD5}$1$Q47Kn.h6$M7nosPkmgg8j3T4hvwQU9." },
	{ "secret", "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee69" },
	{ "secret", "{LDAP-MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==" },
	{ "secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=" },
	{ "secret", "{SHA1}5en6G6MezRroT3XKqkdPOmY/BfQ=" },
	{ "secret", "{SHA256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" },
	{ "secret",
	    "{SHA512}vSsar3708Jvp9Szi2NWZZ02Bqp1qRCFpbcTZPdBh"
	    "nWgs5WtNZKnvCXdhztmeD2cmW192CF5bDufKRpayrW/isg==" },
	{ "secret", "{SMD5}7TMpV5w7mbD0WK5nQwAlE4v94eg=" },
	{ "secret", "{SSHA}u4u5Jva0/5oYyWJqbgurqR6/TXzxKLz9" },
	{ "secret", "{SSHA256}6m9SOrW5qM73bK+QHKuMocvHtsN7hBv5zcoy/CCLJvM4FoHn" },
	{ "secret",
	    "{SSHA512}Ryv/lcClO1qizk54R4wv6YhUOvfZ0LpK44pPPKRG8"
	    "RWdcUds5mA+L1xbslyNgcV5vwLWLajs/yZ+MtWXKj7iGQWbvFc=" },
	{ "secret",
	    "{SHA256.HEX}2bb80d537b1da3e38bd30361aa"
	    "855686bde0eacd7162fef6a25fe97bf527a25b" },
	{ "secret",
	    "{SHA512.HEX}bd2b1aaf7ef4f09be9f52ce2d8d599674d81aa9d6a4421696dc4d93dd0"
	    "619d682ce56b4d64a9ef097761ced99e0f67265b5f76085e5b0ee7ca4696b2ad6fe2b2" },
	{ "secret", "{SHA1.HEX}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4" },
	{ "secret", "{PLAIN-MD5.B64}Xr4ilOzQ4PCOq3aQ0qbuaQ==" },
	{ "secret", "{SSHA.HEX}07b9cecb8fa7c8100f52c26117ea0fc5ab5a4c2f9e1e2c8c" },
	{ "secret",
	    "{SSHA256.HEX}bcef90641e7fe56d0c704c4839338"
	    "47a2c0e9ab359340081ff26a7dadc421504b5c05721" },
	{ "secret", "{SMD5.HEX}64a28ccd7bd0acde397ea946f5476a0863e78c2f" },
	{ "secret", "{SHA256.B64}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" },
	{ "secret", "{PLAIN.HEX}736563726574" },
	{ "secret", "{PLAIN.B64}c2VjcmV0" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{PLAIN}Tr0ub4dor&3 ünï" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{CLEAR}Tr0ub4dor&3 ünï" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{CLEARTEXT}Tr0ub4dor&3 ünï" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{CRYPT}$2y$05$hzQv8Zv1EDJptDa1IOh"
	    "DFuoGlCtoWM5jpO4jcBGjDMud3KdPxmkxW" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{DES-CRYPT}3DIMiIi38eS0w" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{MD5-CRYPT}$1$EdIuiSDr$I.DGjFqvLHZmzLXdd0euQ0" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SHA256-CRYPT}$5$M/9nISA01dIpLKej$5aF9"
	    "J6Eb1BdBVATGqpmv3nWSBnqhnMEkVYJCfSKEWq5" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SHA512-CRYPT}$6$OmT8b1mAwGlJsXot$rYZ.gP6.nfID5MldvAt2bC1Wae"
	    "M3dYmBF3xPHddEP.qgpZ7g9ZsMV/fFJEqHEU/18fdaT7.6XjBDh2aNM79TN0" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{BLF-CRYPT}$2y$05$dimVbpIFAcT4Ze7WK"
	    "aDqveHDJc3AoyQ/kPuNcXdNW7K/zkUMfp4dC" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{MD5}$1$oFegTnnV$IRfQ80Sq7MC0mMyyC6iuH0" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{PLAIN-MD5}99ce41b95e8eba6dcc458f64ee64c6a0" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{LDAP-MD5}mc5BuV6Oum3MRY9k7mTGoA==" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{SHA}+b0EAieIhfF2eITpHnbeDL3Vsuc=" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{SHA1}+b0EAieIhfF2eITpHnbeDL3Vsuc=" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SHA256}1pLHG5wXow9oMmHtI5"
	    "Ae3X4J9OyuTkFPcHxes4ttVmY=" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SHA512}q9zKiPemwrIo1wimJFlleIKqvKZVVeOVzLoUJwMh"
	    "XH3b6I5gimXmxULMHP/jqb1wd3+7emBrl6C2FccjzIsluA==" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{SMD5}6zNSQkd1RyflC3vISsLHdpf8voc=" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{SSHA}f1wwvhXtJ7aCY9eG9Kb1Bhmc6BLx3s5D" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SSHA256}YlMHiJSepKsiH1INhO7"
	    "t0Xgf+OaX6ieFeNS5KuYf86Uo97FJ" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SSHA512}Mp9LZnDhtsYNDbX5JHUE5+9+5OtTyNeUUC0Jo4Lxx"
	    "2tVbDOXCPR+DoWkK8n7hAZadAa03fgla51gdp8kniIHck2lD9M=" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SHA256.HEX}d692c71b9c17a30f683261ed23"
	    "901edd7e09f4ecae4e414f707c5eb38b6d5666" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SHA512.HEX}abdcca88f7a6c2b228d708a62459657882aabca65555e395ccba142703"
	    "215c7ddbe88e608a65e6c542cc1cffe3a9bd70777fbb7a606b97a0b615c723cc8b25b8" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SHA1.HEX}f9bd0402278885f"
	    "1767884e91e76de0cbdd5b2e7" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{PLAIN-MD5.B64}mc5BuV6Oum3MRY9k7mTGoA==" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SSHA.HEX}b7f75f87703b1cdd701"
	    "e34db25aefc5d796c6fc986b7e00b" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SSHA256.HEX}ae68411314542af8ad14b35009269"
	    "e7e3faf5c042bed10711a137ed71198a9d65d7284f1" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SMD5.HEX}b0573c1276d1076"
	    "f1ac1dbde72f20e7b31c19a56" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf",
	    "{SHA256.B64}1pLHG5wXow9oMmHt"
	    "I5Ae3X4J9OyuTkFPcHxes4ttVmY=" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{PLAIN.HEX}547230756234646f72263320c3bc6ec3af" },
	{ "Tr0ub4dor&3 \xc3\xbcn\xc3\xaf", "{PLAIN.B64}VHIwdWI0ZG9yJjMgw7xuw68=" },
	/* doveadm pw -s SHA512-CRYPT -r 1000, -s SHA256-CRYPT -r 7777, -s BLF-CRYPT -r 4 */
	{ "secret", "{SHA512-CRYPT}$6$rounds=1000$rLJoCo48w7hQqQq0$LrdCQiBkDKuRyemAUr"
	    "k3utdsTyLmHe5eYW3SIMBj5V3FwJM8DxbdhGfj57C4.dEt5ynXWvperPhqb8VU/KWOk/" },
	{ "secret", "{SHA256-CRYPT}$5$rounds=7777$yx42PCEqS4VtPhbx$"
	    "9/PQeatwFYx7VupRLlrTAI1fzn2vc2cNNJNtZbtCEX0" },
	{ "secret", "{BLF-CRYPT}$2y$04$ISrCH00JhUkN9CbqDDdPs.REsoKdxkZ.R8UHzqEIeLr80KKYqsdpC" },
};

TEST(verify_doveadm_hashes)
{
	const char *err;

	for (size_t i = 0; i < sizeof(doveadm_kat) / sizeof(doveadm_kat[0]); i++) {
		int r = password_verify(doveadm_kat[i].plain, doveadm_kat[i].stored, "CRYPT",
		    "user", &err);
		if (r != 1)
			unit_fail(__FILE__, __LINE__, "%s: %d (%s)", doveadm_kat[i].stored, r,
			    r < 0 ? err : "mismatch");
		r = password_verify("wrong password", doveadm_kat[i].stored, "CRYPT", "user", &err);
		if (r != 0)
			unit_fail(__FILE__, __LINE__, "%s with a wrong password: %d",
			    doveadm_kat[i].stored, r);
		/* one character more never matches, except past DES's 8 */
		char longer[64];
		str_fmt(longer, sizeof(longer), "%sx", doveadm_kat[i].plain);
		if (strstr(doveadm_kat[i].stored, "{DES-CRYPT}") == NULL ||
		    strlen(doveadm_kat[i].plain) < 8)
			CHECK_INT(password_verify(longer, doveadm_kat[i].stored, "CRYPT", "user",
			    &err), 0);
	}
}

/* Each row checked against `doveadm pw -t STORED -p PLAIN` (1: verified, 0: "Password
 * mismatch", -1: any other failure, whose message is err). */
static const struct {
	const char *plain, *stored, *def;
	int result;
	const char *err;
} verify_cases[] = {
	/* the scheme name is case-insensitive; hex is guessed from the length */
	{ "secret", "{sha256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=", NULL, 1, NULL },
	{ "secret", "{SHA256}2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
	    NULL, 1, NULL },
	{ "secret", "{SHA256.hex}2BB80D537B1DA3E38BD30361AA855686BDE0EACD7162FEF6A25FE97BF527A25B",
	    NULL, 1, NULL },
	{ "secret", "{PLAIN-MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==", NULL, 1, NULL },
	{ "secret", "{MD5}5ebe2294ecd0e0f08eab7690d2a6ee69", NULL, 1, NULL },
	{ "secret", "{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==", NULL, 1, NULL },
	/* "$1$" needs no prefix, and Dovecot ignores what follows the hash */
	{ "secret", "$1$GenWXNxI$UzKYZDGn43ZgmCgyzhZs./", "PLAIN", 1, NULL },
	{ "secret", "$1$GenWXNxI$UzKYZDGn43ZgmCgyzhZs./$junk", "SHA256", 1, NULL },
	{ "secret", "{MD5-CRYPT}GenWXNxI", NULL, 0, NULL },
	/* the CRYPT family follows the stored string's own prefix */
	{ "secret", "{SHA512-CRYPT}$1$GenWXNxI$UzKYZDGn43ZgmCgyzhZs./", NULL, 1, NULL },
	{ "secret", "{DES-CRYPT}$6$FV.SD1wpV4YMLl4i$rSEZUTKDZyzF6KLsHJDfgLfy58v/iafRF4zQDaVMp"
	    "wgaR5zsgie.7Tay5i4B/ugj/OVGWkPIq5Br8pCPdNWpG1", NULL, 1, NULL },
	{ "secret", "{CRYPT}$2y$05$Zb.IeOSo49Tj04M0GiXRYO/Wl4TgF1utWc9P3a3SUwoeQAVCz8DQG",
	    NULL, 1, NULL },
	{ "secret", "$2y$05$Zb.IeOSo49Tj04M0GiXRYO/Wl4TgF1utWc9P3a3SUwoeQAVCz8DQG", "CRYPT", 1,
	    NULL },
	{ "secret", "Wc4nUPuP4hteA", "CRYPT", 1, NULL },
	{ "secret", "Wc4nUPuP4hteA", "DES-CRYPT", 1, NULL },
	{ "secret", "{CRYPT}", NULL, 0, NULL },
	{ "secret", "{CRYPT}*", NULL, 0, NULL },
	{ "secret", "!Wc4nUPuP4hteA", "CRYPT", 0, NULL },
	/* the default scheme, and PLAIN when there is none */
	{ "secret", "secret", NULL, 1, NULL },
	{ "secret", "secret", "PLAIN", 1, NULL },
	{ "Secret", "secret", "PLAIN", 0, NULL },
	{ "secret", "{PLAIN}secret", "SHA256", 1, NULL },
	{ "secret", "{CLEAR}Secret", NULL, 0, NULL },
	{ "", "{PLAIN}", NULL, 1, NULL },
	{ "secret", "{PLAIN.B64}c2VjcmV0", NULL, 1, NULL },
	{ "secret", "{PLAIN.HEX}736563726574", NULL, 1, NULL },
	{ "secret", "5ebe2294ecd0e0f08eab7690d2a6ee69", "PLAIN-MD5", 1, NULL },
	/* a '{' without '}' is no scheme */
	{ "{abc", "{abc", NULL, 1, NULL },
	/* DIGEST-MD5 needs the user: "user@realm" */
	{ "secret", "{DIGEST-MD5}591dbee7f0a7e0a95426d7438d81dedf", NULL, 1, NULL },
	/* errors, in Dovecot's words */
	{ "secret", "{NOSUCH}abc", NULL, -1, "Unknown scheme" },
	{ "secret", "{SHA256.XYZ}abc", NULL, -1, "Unknown scheme" },
	{ "secret", "{}abc", NULL, -1, "Unknown scheme" },
	{ "secret", "{SCRAM-SHA-256}abc", NULL, -1, "Unknown scheme" },
	{ "secret", "abc", "NOSUCH", -1, "Unknown scheme" },
	{ "secret", "{SHA256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unol=", NULL, -1,
	    "Input isn't valid base64 encoded data" },
	/* Dovecot wants base64 padding here and says "Input isn't valid base64 encoded
	 * data"; core/base64 accepts "abc" as 2 bytes, which are too few */
	{ "secret", "{SHA256}abc", NULL, -1, "Input length isn't valid" },
	{ "secret", "{SHA256}c2VjcmV0", NULL, -1, "Input length isn't valid" },
	{ "secret", "{SHA256.HEX}2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25",
	    NULL, -1, "Input isn't valid HEX encoded data" },
	{ "secret", "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee6", NULL, -1,
	    "Input isn't valid base64 encoded data" },
	{ "secret", "{SSHA}4wCJqS5D+GwspjSH/KzZ5IGr+ok=", NULL, -1,
	    "SSHA password is too short" },
	{ "secret", "{SMD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==", NULL, -1, "SMD5 password is too short" },
	{ "secret", "{BLF-CRYPT}$2y$05$abc", NULL, -1, "Password is not blowfish password" },
	{ "secret", "{BLF-CRYPT}$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e",
	    NULL, -1, "Malformed crypt() string" },
	{ "secret", "{MD5}zz", NULL, -1, "Not a valid MD5-CRYPT or PLAIN-MD5 password" },
	{ "secret", "{CRYPT}$7$abc", NULL, -1, "Malformed crypt() string" },
	{ "secret", "{DIGEST-MD5}591dbee7f0a7e0a95426d7438d81dedf", NULL, -1,
	    "Scheme needs a user name" },
};

TEST(verify_cases)
{
	const char *err;

	for (size_t i = 0; i < sizeof(verify_cases) / sizeof(verify_cases[0]); i++) {
		const char *user = strstr(verify_cases[i].stored, "DIGEST") != NULL &&
		    verify_cases[i].result == 1 ? "user@realm.example" : NULL;
		err = "(unset)";
		int r = password_verify(verify_cases[i].plain, verify_cases[i].stored,
		    verify_cases[i].def, user, &err);
		if (r != verify_cases[i].result ||
		    (r < 0 && strcmp(err, verify_cases[i].err) != 0))
			unit_fail(__FILE__, __LINE__, "%s: %d (%s), expected %d (%s)",
			    verify_cases[i].stored, r, r < 0 ? err : "-", verify_cases[i].result,
			    verify_cases[i].err ? verify_cases[i].err : "-");
	}
}

TEST(split_and_known)
{
	char s[PASSWORD_SCHEME_MAX + 1];

	CHECK_STR(password_split("{SHA256.HEX}abc", "CRYPT", s, sizeof(s)), "abc");
	CHECK_STR(s, "SHA256.HEX");
	CHECK_STR(password_split("$1$ab$cd", "CRYPT", s, sizeof(s)), "$1$ab$cd");
	CHECK_STR(s, "MD5-CRYPT");
	CHECK_STR(password_split("$1$abcd", "CRYPT", s, sizeof(s)), "$1$abcd");
	CHECK_STR(s, "CRYPT");
	CHECK_STR(password_split("x", NULL, s, sizeof(s)), "x");
	CHECK_STR(s, "PLAIN");
	CHECK(password_scheme_known("ssha512"));
	CHECK(password_scheme_known("SHA512-CRYPT"));
	CHECK(password_scheme_known("SHA1.b64"));
	CHECK(password_scheme_known("PLAIN-MD5.Base64"));
	CHECK(!password_scheme_known("SHA1.b32"));
	CHECK(!password_scheme_known("ARGON2ID"));
	CHECK(!password_scheme_known(""));
	CHECK(!password_scheme_known("SHA512-CRYPT-AND-A-VERY-LONG-NAME-INDEED"));
}

TEST(generate_round_trip)
{
	static const char *const schemes[] = {
		"PLAIN", "CLEAR", "CLEARTEXT", "CRYPT", "DES-CRYPT", "MD5-CRYPT", "SHA256-CRYPT",
		"SHA512-CRYPT", "BLF-CRYPT", "MD5", "PLAIN-MD5", "LDAP-MD5", "SHA", "SHA1",
		"SHA256", "SHA512", "SMD5", "SSHA", "SSHA256", "SSHA512", "sha256.hex",
		"SSHA512.HEX", "PLAIN-MD5.B64", "PLAIN.BASE64",
	};
	static const struct {
		const char *scheme, *prefix;
		size_t len;
	} shapes[] = {
		{ "CRYPT", "{CRYPT}$2y$05$", 67 },
		{ "BLF-CRYPT", "{BLF-CRYPT}$2y$05$", 71 },
		{ "SHA512-CRYPT", "{SHA512-CRYPT}$6$", 14 + 3 + 16 + 1 + 86 },
		{ "SHA256-CRYPT", "{SHA256-CRYPT}$5$", 14 + 3 + 16 + 1 + 43 },
		{ "MD5-CRYPT", "{MD5-CRYPT}$1$", 11 + 3 + 8 + 1 + 22 },
		{ "MD5", "{MD5}$1$", 5 + 3 + 8 + 1 + 22 },
		{ "DES-CRYPT", "{DES-CRYPT}", 11 + 13 },
		{ "SSHA", "{SSHA}", 6 + 32 },
		{ "SSHA256", "{SSHA256}", 9 + 48 },
		{ "SSHA512", "{SSHA512}", 9 + 92 },
		{ "SMD5", "{SMD5}", 6 + 28 },
		{ "sha256.hex", "{SHA256.HEX}", 12 + 64 },
	};
	struct strbuf sb;
	const char *err;

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		strbuf_init(&sb, 1024);
		if (password_generate("s3cr3t pässword", schemes[i], &sb, &err) != 0) {
			unit_fail(__FILE__, __LINE__, "%s: %s", schemes[i], err);
			continue;
		}
		/* (DES looks at 8 characters only: the wrong one differs early) */
		if (password_verify("s3cr3t pässword", sb.s, "CRYPT", NULL, &err) != 1 ||
		    password_verify("S3cr3t pässword", sb.s, "CRYPT", NULL, &err) != 0)
			unit_fail(__FILE__, __LINE__, "%s: generated %s does not verify",
			    schemes[i], sb.s);
		strbuf_free(&sb);
	}
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		strbuf_init(&sb, 1024);
		CHECK_INT(password_generate("x", shapes[i].scheme, &sb, &err), 0);
		if (strncmp(sb.s, shapes[i].prefix, strlen(shapes[i].prefix)) != 0 ||
		    sb.len != shapes[i].len)
			unit_fail(__FILE__, __LINE__, "%s: %s (%zu bytes)", shapes[i].scheme, sb.s,
			    sb.len);
		strbuf_free(&sb);
	}
	/* salts differ from one call to the next */
	struct strbuf a, b;
	strbuf_init(&a, 256);
	strbuf_init(&b, 256);
	CHECK_INT(password_generate("x", "SSHA256", &a, &err), 0);
	CHECK_INT(password_generate("x", "SSHA256", &b, &err), 0);
	CHECK(strcmp(a.s, b.s) != 0);
	strbuf_free(&a);
	strbuf_free(&b);
	/* unsalted ones do not */
	strbuf_init(&a, 256);
	CHECK_INT(password_generate("secret", "sha256", &a, &err), 0);
	CHECK_STR(a.s, "{SHA256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=");
	strbuf_free(&a);
}

TEST(generate_errors)
{
	struct strbuf sb;
	const char *err;

	strbuf_init(&sb, 1024);
	strbuf_puts(&sb, "keep");
	CHECK_INT(password_generate("x", "NOSUCH", &sb, &err), -1);
	CHECK_STR(err, "Unknown scheme");
	CHECK_INT(password_generate("x", "SHA1.B32", &sb, &err), -1);
	CHECK_INT(password_generate("x", "DIGEST-MD5", &sb, &err), -1);
	CHECK_STR(err, "Scheme needs a user name");
	CHECK_STR(sb.s, "keep");
	strbuf_free(&sb);

	strbuf_init(&sb, 20);
	CHECK_INT(password_generate("x", "SHA512", &sb, &err), -1);
	CHECK_STR(err, "Output too long");
	CHECK_STR(sb.s, "");
	strbuf_free(&sb);
}

TEST(verify_overlong_password)
{
	/* SHA-crypt refuses keys over CRYPT_SHA_KEY_MAX: for a client that is a mismatch,
	 * not a broken passdb */
	char plain[1100];
	const char *err;

	memset(plain, 'p', sizeof(plain) - 1);
	plain[sizeof(plain) - 1] = '\0';
	CHECK_INT(password_verify(plain, "{SHA512-CRYPT}$6$FV.SD1wpV4YMLl4i$rSEZUTKDZyzF6KLsHJ"
	    "DfgLfy58v/iafRF4zQDaVMpwgaR5zsgie.7Tay5i4B/ugj/OVGWkPIq5Br8pCPdNWpG1", NULL, NULL,
	    &err), 0);
	CHECK_INT(password_verify(plain, "{SSHA256}giCd2pYP8Ry2urrl+3GP7FihojFS1ND5F1zJ+3A0VOp7"
	    "L9pe", NULL, NULL, &err), 0);
}
