/* SPDX-License-Identifier: MIT */
#include "core/sasl.h"

#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/feature.h"
#include "core/str.h"

enum sasl_mech
sasl_mech_parse(const char *name)
{
	if (str_eq_nocase(name, "PLAIN"))
		return SASL_MECH_PLAIN;
	if (str_eq_nocase(name, "LOGIN"))
		return SASL_MECH_LOGIN;
	/* feature OAUTH: the bearer-token mechanisms, passed through to the backend */
	FEATURE_IF(MTOOL_WITH_OAUTH,
	if (str_eq_nocase(name, "XOAUTH2"))
		return SASL_MECH_XOAUTH2;
	if (str_eq_nocase(name, "OAUTHBEARER"))
		return SASL_MECH_OAUTHBEARER;)
	return SASL_MECH_NONE;
}

const char *
sasl_mech_name(enum sasl_mech m)
{
	switch (m) {
	case SASL_MECH_PLAIN: return "PLAIN";
	case SASL_MECH_LOGIN: return "LOGIN";
	case SASL_MECH_XOAUTH2: return "XOAUTH2";
	case SASL_MECH_OAUTHBEARER: return "OAUTHBEARER";
	case SASL_MECH_NONE: break;
	}
	return "";
}

void
sasl_server_init(struct sasl_server *s, enum sasl_mech mech)
{
	memset(s, 0, sizeof(*s));
	s->mech = mech;
}

void
sasl_server_clear(struct sasl_server *s)
{
	volatile char *p = (volatile char *)s->pass;
	for (size_t i = 0; i < sizeof(s->pass); i++)
		p[i] = 0;
	s->step = 0;
	if (s->forward) {
		memset(s->forward, 0, strlen(s->forward));
		free(s->forward);
		s->forward = NULL;
	}
}

static enum sasl_status
fail(struct sasl_server *s, const char *why)
{
	s->error = why;
	return SASL_FAILED;
}

/* A response that did not decode: bad base64, or credentials longer than allowed (an
 * authentication failure like any other). */
static enum sasl_status
fail_decode(struct sasl_server *s, int r, int initial)
{
	if (r == -2)
		return fail(s, "Response too long");
	s->bad_base64 = 1;
	return fail(s, initial ? "Invalid base64 data in initial response" :
	    "Invalid base64 data in continued response");
}

/* Decodes base64 into out (NUL-terminated); "" and "=" decode to empty. */
static int
decode(const char *b64, char *out, size_t outlen, size_t *n)
{
	size_t len = strlen(b64);
	if (len == 1 && b64[0] == '=')
		len = 0;
	/* as Dovecot: SASL's base64 is padded (RFC 4422 §4), so only whole quanta */
	if (len % 4 != 0)
		return -1;
	int r = base64_decode(b64, len, out, outlen - 1, n);
	if (r < 0)
		return r;	/* -1 not base64, -2 too long */
	out[*n] = '\0';
	return 0;
}

static enum sasl_status
plain_step(struct sasl_server *s, const char *response, int initial, char *challenge)
{
	char buf[SASL_MAX_USER * 2 + SASL_MAX_PASS + 3];
	size_t n;
	int r;

	if (response == NULL) {
		challenge[0] = '\0';
		return SASL_CONTINUE;
	}
	if ((r = decode(response, buf, sizeof(buf), &n)) < 0)
		return fail_decode(s, r, initial);
	/* authzid NUL authcid NUL passwd */
	const char *authzid = buf, *authcid, *pass;
	size_t l1 = strnlen(buf, n);
	if (l1 == n)
		return fail(s, "Invalid input");
	authcid = buf + l1 + 1;
	size_t l2 = strnlen(authcid, n - l1 - 1);
	if (l1 + 1 + l2 == n)
		return fail(s, "Invalid input");
	pass = authcid + l2 + 1;
	size_t l3 = n - l1 - l2 - 2;
	if (memchr(pass, '\0', l3) != NULL)
		return fail(s, "Invalid input");
	if (l1 > SASL_MAX_USER || l2 > SASL_MAX_USER || l3 > SASL_MAX_PASS || l2 == 0)
		return fail(s, "Invalid input");
	memcpy(s->authzid, authzid, l1 + 1);
	memcpy(s->authcid, authcid, l2 + 1);
	memcpy(s->pass, pass, l3 + 1);
	memset(buf, 0, sizeof(buf));
	return SASL_DONE;
}

static enum sasl_status
login_step(struct sasl_server *s, const char *response, int initial, char *challenge, size_t clen)
{
	size_t n;
	int r;
	switch (s->step++) {
	case 0:
		/* an initial response is allowed and is the user name */
		if (response == NULL) {
			str_copy(challenge, "VXNlcm5hbWU6", clen);	/* "Username:" */
			return SASL_CONTINUE;
		}
		s->step++;
		/* fall through */
	case 1:
		if ((r = decode(response, s->authcid, sizeof(s->authcid), &n)) < 0)
			return fail_decode(s, r, initial);
		if (n == 0 || strlen(s->authcid) != n)
			return fail(s, "Invalid username");
		str_copy(challenge, "UGFzc3dvcmQ6", clen);	/* "Password:" */
		return SASL_CONTINUE;
	case 2:
		if ((r = decode(response, s->pass, sizeof(s->pass), &n)) < 0)
			return fail_decode(s, r, 0);
		if (strlen(s->pass) != n)
			return fail(s, "Invalid password");
		return SASL_DONE;
	}
	return fail(s, "Unexpected response");
}

/* OAUTHBEARER's saslname: "=2C" is ',' and "=3D" is '='; nothing else may follow '='. */
static int
saslname_decode(const char *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];
		if (ch == '=') {
			if (len - i < 3)
				return -1;
			if (in[i + 1] == '2' && (in[i + 2] == 'C' || in[i + 2] == 'c'))
				ch = ',';
			else if (in[i + 1] == '3' && (in[i + 2] == 'D' || in[i + 2] == 'd'))
				ch = '=';
			else
				return -1;
			i += 2;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = ch;
	}
	out[o] = '\0';
	return 0;
}

/* XOAUTH2: "user=U\1auth=Bearer T\1\1"; OAUTHBEARER: "n,a=U,\1...auth=Bearer T\1\1".
 * Only the user name is taken; the token is for the backend to judge. */
static enum sasl_status
bearer_step(struct sasl_server *s, const char *response, int initial, char *challenge)
{
	char buf[8192];
	size_t n;
	int r;

	if (response == NULL) {
		challenge[0] = '\0';
		return SASL_CONTINUE;
	}
	if ((r = decode(response, buf, sizeof(buf), &n)) < 0)
		return fail_decode(s, r, initial);
	if (strlen(buf) != n || strstr(buf, "auth=") == NULL)
		return fail(s, "Invalid input");
	const char *u = NULL;
	size_t ulen = 0;
	if (s->mech == SASL_MECH_XOAUTH2) {
		if (strncmp(buf, "user=", 5) != 0)
			return fail(s, "Invalid input");
		u = buf + 5;
		ulen = strcspn(u, "\1");
		if (u[ulen] != '\1' || ulen > SASL_MAX_USER)
			return fail(s, "Invalid input");
		memcpy(s->authcid, u, ulen);
		s->authcid[ulen] = '\0';
	} else {
		/* gs2-header: "n,a=user," or "y,a=user," (no channel binding) */
		if ((buf[0] != 'n' && buf[0] != 'y') || buf[1] != ',' || strncmp(buf + 2, "a=", 2) != 0)
			return fail(s, "Invalid input");
		u = buf + 4;
		ulen = strcspn(u, ",");
		if (u[ulen] != ',' || saslname_decode(u, ulen, s->authcid, sizeof(s->authcid)) < 0)
			return fail(s, "Invalid input");
	}
	if (s->authcid[0] == '\0')
		return fail(s, "Invalid input");
	memset(buf, 0, sizeof(buf));
	if ((s->forward = strdup(response)) == NULL)
		return fail(s, "Out of memory");
	return SASL_DONE;
}

enum sasl_status
sasl_server_step(struct sasl_server *s, const char *response, int initial, char *challenge, size_t clen)
{
	if (clen < 16)
		return fail(s, "internal: challenge buffer too small");
	switch (s->mech) {
	case SASL_MECH_PLAIN:
		return plain_step(s, response, initial, challenge);
	case SASL_MECH_LOGIN:
		return login_step(s, response, initial, challenge, clen);
	case SASL_MECH_XOAUTH2:
	case SASL_MECH_OAUTHBEARER:
		FEATURE_IF(MTOOL_WITH_OAUTH, return bearer_step(s, response, initial, challenge);)
		FEATURE_IF_NOT(MTOOL_WITH_OAUTH, (void)bearer_step;)
		break;
	case SASL_MECH_NONE:
		break;
	}
	return fail(s, "Unsupported authentication mechanism");
}

size_t
sasl_plain_encode(const char *authzid, const char *authcid, const char *pass, char *out, size_t outlen)
{
	char raw[SASL_MAX_USER * 2 + SASL_MAX_PASS + 3];
	size_t l1 = strlen(authzid), l2 = strlen(authcid), l3 = strlen(pass);
	if (l1 > SASL_MAX_USER || l2 > SASL_MAX_USER || l3 > SASL_MAX_PASS)
		return 0;
	memcpy(raw, authzid, l1);
	raw[l1] = '\0';
	memcpy(raw + l1 + 1, authcid, l2);
	raw[l1 + 1 + l2] = '\0';
	memcpy(raw + l1 + l2 + 2, pass, l3);
	size_t n = base64_encode(raw, l1 + l2 + l3 + 2, out, outlen);
	memset(raw, 0, sizeof(raw));
	return n;
}
