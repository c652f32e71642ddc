/* SPDX-License-Identifier: MIT */
/* core/sasl.h: PLAIN (RFC 4616) and LOGIN on the server side, and the PLAIN encoder. */
#include "tests/unit/unit.h"
#include "core/base64.h"
#include "core/feature.h"
#include "core/sasl.h"

#include <stdlib.h>

/* base64 of len raw bytes (static buffer, big enough for the longest test input) */
static const char *
b64(const void *raw, size_t len)
{
	static char out[4096];
	size_t n = base64_encode(raw, len, out, sizeof(out));
	if (n == 0 && len > 0)
		unit_fail(__FILE__, __LINE__, "test input too long for base64");
	return out;
}

static char challenge[256];

static enum sasl_status
step(struct sasl_server *s, const char *resp, int initial)
{
	memset(challenge, 'X', sizeof(challenge));
	challenge[sizeof(challenge) - 1] = '\0';
	return sasl_server_step(s, resp, initial, challenge, sizeof(challenge));
}

/* the challenge decoded (it is base64 of text) */
static const char *
challenge_text(void)
{
	static char txt[256];
	size_t n;
	if (base64_decode(challenge, strlen(challenge), txt, sizeof(txt) - 1, &n) < 0)
		return "(not base64)";
	txt[n] = '\0';
	return txt;
}

TEST(plain_rfc4616_examples)
{
	struct sasl_server s;
	/* RFC 4616 section 4: "\0tim\0tanstaaftanstaaf" as the initial response */
	sasl_server_init(&s, SASL_MECH_PLAIN);
	CHECK_INT(step(&s, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 1), SASL_DONE);
	CHECK_STR(s.authzid, "");
	CHECK_STR(s.authcid, "tim");
	CHECK_STR(s.pass, "tanstaaftanstaaf");
	sasl_server_clear(&s);

	/* "Ursel\0Kurt\0xipj3plmq": Kurt authenticates, acting as Ursel */
	sasl_server_init(&s, SASL_MECH_PLAIN);
	CHECK_INT(step(&s, "VXJzZWwAS3VydAB4aXBqM3BsbXE=", 1), SASL_DONE);
	CHECK_STR(s.authzid, "Ursel");
	CHECK_STR(s.authcid, "Kurt");
	CHECK_STR(s.pass, "xipj3plmq");
	sasl_server_clear(&s);

	/* without an initial response: an empty challenge, then the response; as Dovecot,
	 * the padding may not be left out */
	sasl_server_init(&s, SASL_MECH_PLAIN);
	CHECK_INT(step(&s, NULL, 1), SASL_CONTINUE);
	CHECK_INT(step(&s, "VXJzZWwAS3VydAB4aXBqM3BsbXE", 0), SASL_FAILED);
	CHECK(s.bad_base64);
	sasl_server_clear(&s);
	sasl_server_init(&s, SASL_MECH_PLAIN);
	CHECK_INT(step(&s, NULL, 1), SASL_CONTINUE);
	CHECK_STR(challenge, "");
	CHECK_INT(step(&s, "VXJzZWwAS3VydAB4aXBqM3BsbXE=", 0), SASL_DONE);
	CHECK_STR(s.authzid, "Ursel");
	CHECK_STR(s.authcid, "Kurt");
	CHECK_STR(s.pass, "xipj3plmq");
	sasl_server_clear(&s);

	/* UTF-8 passes through untouched; an empty password is the passdb's business */
	const char utf8[] = "\0j\xc3\xbcrgen\0p\xc3\xa4ss";
	sasl_server_init(&s, SASL_MECH_PLAIN);
	CHECK_INT(step(&s, b64(utf8, sizeof(utf8) - 1), 1), SASL_DONE);
	CHECK_STR(s.authcid, "j\xc3\xbcrgen");
	CHECK_STR(s.pass, "p\xc3\xa4ss");
	sasl_server_clear(&s);
}

TEST(plain_bad_input)
{
	struct sasl_server s;
	static const struct {
		const char *raw;
		size_t len;
	} bad[] = {
		{ "", 0 },			/* "=": empty initial response */
		{ "timtanstaaf", 11 },		/* no NUL at all */
		{ "tim\0pass", 8 },		/* one NUL */
		{ "a\0b\0c\0d", 7 },		/* a NUL in the password */
		{ "\0\0pass", 6 },		/* empty authcid */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sasl_server_init(&s, SASL_MECH_PLAIN);
		const char *resp = bad[i].len ? b64(bad[i].raw, bad[i].len) : "=";
		CHECK_INT(step(&s, resp, 1), SASL_FAILED);
		CHECK(s.error != NULL && s.error[0] != '\0');
		/* valid base64, bad content: not a decoding error */
		CHECK_INT(s.bad_base64, 0);
		CHECK_STR(s.pass, "");
	}
	/* "=" as a continuation line, after an empty challenge, is just as empty */
	sasl_server_init(&s, SASL_MECH_PLAIN);
	CHECK_INT(step(&s, NULL, 1), SASL_CONTINUE);
	CHECK_INT(step(&s, "", 0), SASL_FAILED);
	CHECK_INT(s.bad_base64, 0);
}

TEST(plain_field_limits)
{
	struct sasl_server s;
	char raw[SASL_MAX_USER * 2 + SASL_MAX_PASS + 16];
	char user[SASL_MAX_USER + 2], pass[SASL_MAX_PASS + 2];
	memset(user, 'u', sizeof(user));
	memset(pass, 'p', sizeof(pass));

	/* every field at its limit: accepted */
	size_t n = 0;
	memcpy(raw, user, SASL_MAX_USER), n += SASL_MAX_USER;
	raw[n++] = '\0';
	memcpy(raw + n, user, SASL_MAX_USER), n += SASL_MAX_USER;
	raw[n++] = '\0';
	memcpy(raw + n, pass, SASL_MAX_PASS), n += SASL_MAX_PASS;
	sasl_server_init(&s, SASL_MECH_PLAIN);
	CHECK_INT(step(&s, b64(raw, n), 1), SASL_DONE);
	CHECK_INT(strlen(s.authzid), SASL_MAX_USER);
	CHECK_INT(strlen(s.authcid), SASL_MAX_USER);
	CHECK_INT(strlen(s.pass), SASL_MAX_PASS);
	sasl_server_clear(&s);

	/* one byte more in any one field: refused */
	static const size_t over[3][3] = {
		{ SASL_MAX_USER + 1, 3, 3 },
		{ 3, SASL_MAX_USER + 1, 3 },
		{ 3, 3, SASL_MAX_PASS + 1 },
	};
	for (int i = 0; i < 3; i++) {
		n = 0;
		memcpy(raw + n, user, over[i][0]), n += over[i][0];
		raw[n++] = '\0';
		memcpy(raw + n, user, over[i][1]), n += over[i][1];
		raw[n++] = '\0';
		memcpy(raw + n, pass, over[i][2]), n += over[i][2];
		sasl_server_init(&s, SASL_MECH_PLAIN);
		CHECK_INT(step(&s, b64(raw, n), 1), SASL_FAILED);
		CHECK(s.error != NULL);
		CHECK_STR(s.pass, "");
	}

	/* a response longer than all fields together */
	memset(raw, 'x', sizeof(raw));
	raw[0] = '\0';
	raw[4] = '\0';
	sasl_server_init(&s, SASL_MECH_PLAIN);
	CHECK_INT(step(&s, b64(raw, sizeof(raw)), 1), SASL_FAILED);
	CHECK_STR(s.pass, "");
}

TEST(invalid_base64)
{
	struct sasl_server s;
	const char *bad[] = { "!!!!", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r", "AHRp bQB0", "Zg=", "Zh==", "A" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sasl_server_init(&s, SASL_MECH_PLAIN);
		CHECK_INT(step(&s, bad[i], 1), SASL_FAILED);
		CHECK_INT(s.bad_base64, 1);
		CHECK_STR(s.error, "Invalid base64 data in initial response");
	}
	sasl_server_init(&s, SASL_MECH_PLAIN);
	CHECK_INT(step(&s, NULL, 1), SASL_CONTINUE);
	CHECK_INT(step(&s, "!!!!", 0), SASL_FAILED);
	CHECK_INT(s.bad_base64, 1);
	CHECK_STR(s.error, "Invalid base64 data in continued response");

	sasl_server_init(&s, SASL_MECH_LOGIN);
	CHECK_INT(step(&s, NULL, 1), SASL_CONTINUE);
	CHECK_INT(step(&s, "dGlt!", 0), SASL_FAILED);
	CHECK_INT(s.bad_base64, 1);
	CHECK_STR(s.error, "Invalid base64 data in continued response");
}

TEST(login_steps)
{
	struct sasl_server s;
	/* no initial response: Username:, Password:, done */
	sasl_server_init(&s, SASL_MECH_LOGIN);
	CHECK_INT(step(&s, NULL, 1), SASL_CONTINUE);
	CHECK_STR(challenge_text(), "Username:");
	CHECK_INT(step(&s, "dGlt", 0), SASL_CONTINUE);
	CHECK_STR(challenge_text(), "Password:");
	CHECK_INT(step(&s, "dGFuc3RhYWY=", 0), SASL_DONE);
	CHECK_STR(s.authzid, "");
	CHECK_STR(s.authcid, "tim");
	CHECK_STR(s.pass, "tanstaaf");
	sasl_server_clear(&s);

	/* the initial response is the user name */
	sasl_server_init(&s, SASL_MECH_LOGIN);
	CHECK_INT(step(&s, "dGlt", 1), SASL_CONTINUE);
	CHECK_STR(challenge_text(), "Password:");
	CHECK_INT(step(&s, "dGFuc3RhYWY=", 0), SASL_DONE);
	CHECK_STR(s.authcid, "tim");
	CHECK_STR(s.pass, "tanstaaf");
	sasl_server_clear(&s);

	/* an empty user name, or one with a NUL, is refused */
	sasl_server_init(&s, SASL_MECH_LOGIN);
	CHECK_INT(step(&s, NULL, 1), SASL_CONTINUE);
	CHECK_INT(step(&s, "", 0), SASL_FAILED);
	CHECK_INT(s.bad_base64, 0);
	sasl_server_init(&s, SASL_MECH_LOGIN);
	CHECK_INT(step(&s, "=", 1), SASL_FAILED);
	sasl_server_init(&s, SASL_MECH_LOGIN);
	CHECK_INT(step(&s, NULL, 1), SASL_CONTINUE);
	CHECK_INT(step(&s, "dGkAbQ==", 0), SASL_FAILED);	/* "ti\0m" */
	CHECK_INT(s.bad_base64, 0);

	/* a password with a NUL is refused */
	sasl_server_init(&s, SASL_MECH_LOGIN);
	CHECK_INT(step(&s, "dGlt", 1), SASL_CONTINUE);
	CHECK_INT(step(&s, "dGkAbQ==", 0), SASL_FAILED);
	CHECK_INT(s.bad_base64, 0);

	/* over-long user name and password */
	char big[SASL_MAX_PASS + 2];
	memset(big, 'a', sizeof(big));
	sasl_server_init(&s, SASL_MECH_LOGIN);
	CHECK_INT(step(&s, b64(big, SASL_MAX_USER), 1), SASL_CONTINUE);
	CHECK_INT(step(&s, b64(big, SASL_MAX_PASS), 0), SASL_DONE);
	CHECK_INT(strlen(s.authcid), SASL_MAX_USER);
	CHECK_INT(strlen(s.pass), SASL_MAX_PASS);
	sasl_server_clear(&s);
	sasl_server_init(&s, SASL_MECH_LOGIN);
	CHECK_INT(step(&s, b64(big, SASL_MAX_USER + 1), 1), SASL_FAILED);
	sasl_server_init(&s, SASL_MECH_LOGIN);
	CHECK_INT(step(&s, "dGlt", 1), SASL_CONTINUE);
	CHECK_INT(step(&s, b64(big, SASL_MAX_PASS + 1), 0), SASL_FAILED);

	/* no mechanism: nothing to step */
	sasl_server_init(&s, SASL_MECH_NONE);
	CHECK_INT(step(&s, NULL, 1), SASL_FAILED);
	CHECK(s.error != NULL);
}

TEST(plain_encode_round_trip)
{
	char out[4096];
	struct sasl_server s;
	CHECK_INT(sasl_plain_encode("Ursel", "Kurt", "xipj3plmq", out, sizeof(out)), 28);
	CHECK_STR(out, "VXJzZWwAS3VydAB4aXBqM3BsbXE=");
	CHECK_INT(sasl_plain_encode("", "tim", "tanstaaftanstaaf", out, sizeof(out)), 28);
	CHECK_STR(out, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");

	const char *cases[][3] = {
		{ "", "alice@example.com", "p4ss w0rd" },
		{ "master", "bob", "" },
		{ "z", "\xc3\xa5sa", "\xe2\x82\xac\xe2\x82\xac" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = sasl_plain_encode(cases[i][0], cases[i][1], cases[i][2], out, sizeof(out));
		CHECK(n > 0);
		CHECK_INT(strlen(out), n);
		sasl_server_init(&s, SASL_MECH_PLAIN);
		CHECK_INT(step(&s, out, 1), SASL_DONE);
		CHECK_STR(s.authzid, cases[i][0]);
		CHECK_STR(s.authcid, cases[i][1]);
		CHECK_STR(s.pass, cases[i][2]);
		sasl_server_clear(&s);
	}
	/* at the limits, and one past */
	char user[SASL_MAX_USER + 2], pass[SASL_MAX_PASS + 2];
	memset(user, 'u', sizeof(user));
	memset(pass, 'p', sizeof(pass));
	user[SASL_MAX_USER] = '\0';
	pass[SASL_MAX_PASS] = '\0';
	CHECK(sasl_plain_encode(user, user, pass, out, sizeof(out)) > 0);
	sasl_server_init(&s, SASL_MECH_PLAIN);
	CHECK_INT(step(&s, out, 1), SASL_DONE);
	sasl_server_clear(&s);
	user[SASL_MAX_USER] = 'u';
	user[SASL_MAX_USER + 1] = '\0';
	CHECK_INT(sasl_plain_encode("", user, "x", out, sizeof(out)), 0);
	/* out too small: 0; exactly large enough (with the NUL): fine */
	CHECK_INT(sasl_plain_encode("Ursel", "Kurt", "xipj3plmq", out, 28), 0);
	CHECK_INT(sasl_plain_encode("Ursel", "Kurt", "xipj3plmq", out, 29), 28);
	CHECK_STR(out, "VXJzZWwAS3VydAB4aXBqM3BsbXE=");
}

TEST(mech_parse_and_name)
{
	CHECK_INT(sasl_mech_parse("PLAIN"), SASL_MECH_PLAIN);
	CHECK_INT(sasl_mech_parse("plain"), SASL_MECH_PLAIN);
	CHECK_INT(sasl_mech_parse("PlAiN"), SASL_MECH_PLAIN);
	CHECK_INT(sasl_mech_parse("LOGIN"), SASL_MECH_LOGIN);
	CHECK_INT(sasl_mech_parse("login"), SASL_MECH_LOGIN);
	CHECK_INT(sasl_mech_parse("lOgIn"), SASL_MECH_LOGIN);
	CHECK_INT(sasl_mech_parse(""), SASL_MECH_NONE);
	CHECK_INT(sasl_mech_parse("PLAI"), SASL_MECH_NONE);
	CHECK_INT(sasl_mech_parse("PLAINX"), SASL_MECH_NONE);
	CHECK_INT(sasl_mech_parse("PLAIN "), SASL_MECH_NONE);
	CHECK_INT(sasl_mech_parse("CRAM-MD5"), SASL_MECH_NONE);
	CHECK_INT(sasl_mech_parse("SCRAM-SHA-1"), SASL_MECH_NONE);
	/* no locale folding: the Turkish dotless i is not an i */
	CHECK_INT(sasl_mech_parse("LOG\xc4\xb1N"), SASL_MECH_NONE);
	CHECK_STR(sasl_mech_name(SASL_MECH_PLAIN), "PLAIN");
	CHECK_STR(sasl_mech_name(SASL_MECH_LOGIN), "LOGIN");
	CHECK_STR(sasl_mech_name(SASL_MECH_NONE), "");
	CHECK_INT(sasl_mech_parse(sasl_mech_name(SASL_MECH_LOGIN)), SASL_MECH_LOGIN);
}

TEST(clear_wipes_the_password)
{
	struct sasl_server s;
	sasl_server_init(&s, SASL_MECH_PLAIN);
	CHECK_INT(step(&s, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 1), SASL_DONE);
	CHECK_STR(s.pass, "tanstaaftanstaaf");
	sasl_server_clear(&s);
	int nonzero = 0;
	for (size_t i = 0; i < sizeof(s.pass); i++)
		nonzero |= s.pass[i] != 0;
	CHECK_INT(nonzero, 0);

	/* LOGIN keeps the password in the same place */
	sasl_server_init(&s, SASL_MECH_LOGIN);
	CHECK_INT(step(&s, "dGlt", 1), SASL_CONTINUE);
	CHECK_INT(step(&s, "dGFuc3RhYWY=", 0), SASL_DONE);
	sasl_server_clear(&s);
	nonzero = 0;
	for (size_t i = 0; i < sizeof(s.pass); i++)
		nonzero |= s.pass[i] != 0;
	CHECK_INT(nonzero, 0);

	/* a failed exchange leaves no password behind either */
	sasl_server_init(&s, SASL_MECH_LOGIN);
	CHECK_INT(step(&s, "dGlt", 1), SASL_CONTINUE);
	CHECK_INT(step(&s, "c2VjcmV0AA==", 0), SASL_FAILED);	/* "secret\0" */
	sasl_server_clear(&s);
	nonzero = 0;
	for (size_t i = 0; i < sizeof(s.pass); i++)
		nonzero |= s.pass[i] != 0;
	CHECK_INT(nonzero, 0);
}

TEST(bearer_mechanisms_take_the_user_and_keep_the_response)
{
	struct sasl_server s;
	char ch[64];

	if (!FEATURE_ON(MTOOL_WITH_OAUTH)) {	/* a feature: unknown mechanisms then */
		CHECK(sasl_mech_parse("XOAUTH2") == SASL_MECH_NONE);
		CHECK(sasl_mech_parse("OAUTHBEARER") == SASL_MECH_NONE);
		return;
	}
	/* XOAUTH2 "user=user1@example.org\1auth=Bearer tok\1\1" */
	const char *x = "dXNlcj11c2VyMUBleGFtcGxlLm9yZwFhdXRoPUJlYXJlciB0b2sBAQ==";
	sasl_server_init(&s, SASL_MECH_XOAUTH2);
	CHECK_INT(sasl_server_step(&s, x, 1, ch, sizeof(ch)), SASL_DONE);
	CHECK_STR(s.authcid, "user1@example.org");
	CHECK_STR(s.forward, x);
	sasl_server_clear(&s);
	CHECK(s.forward == NULL);
	/* OAUTHBEARER "n,a=u=2Cv@example.org,\1auth=Bearer tok\1\1": saslname escapes */
	const char *o = "bixhPXU9MkN2QGV4YW1wbGUub3JnLAFhdXRoPUJlYXJlciB0b2sBAQ==";
	sasl_server_init(&s, SASL_MECH_OAUTHBEARER);
	CHECK_INT(sasl_server_step(&s, NULL, 1, ch, sizeof(ch)), SASL_CONTINUE);
	CHECK_INT(sasl_server_step(&s, o, 0, ch, sizeof(ch)), SASL_DONE);
	CHECK_STR(s.authcid, "u,v@example.org");
	sasl_server_clear(&s);
	/* no user= / no gs2 header: refused as bad credentials, not as bad base64 */
	sasl_server_init(&s, SASL_MECH_XOAUTH2);
	CHECK_INT(sasl_server_step(&s, "YXV0aD1CZWFyZXIgdG9rAQE=", 1, ch, sizeof(ch)), SASL_FAILED);
	CHECK(!s.bad_base64);
	sasl_server_clear(&s);
}
