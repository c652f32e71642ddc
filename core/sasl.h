/* SPDX-License-Identifier: MIT */
/* core/sasl.h: the server side of the SASL mechanisms a login proxy answers itself,
 * PLAIN (RFC 4616) and LOGIN, and of the bearer-token ones it can only pass on to the
 * backend, XOAUTH2 and OAUTHBEARER (RFC 7628): for those it learns the user name and
 * keeps the client's response as it came. Nothing here does I/O. */
#ifndef CORE_SASL_H
#define CORE_SASL_H

#include <stddef.h>

#define SASL_MAX_USER	255
#define SASL_MAX_PASS	1026

enum sasl_mech { SASL_MECH_NONE, SASL_MECH_PLAIN, SASL_MECH_LOGIN, SASL_MECH_XOAUTH2, SASL_MECH_OAUTHBEARER };

/* Mechanisms whose credentials only the backend can check. */
static inline int sasl_mech_passthrough(enum sasl_mech m)
{
	return m == SASL_MECH_XOAUTH2 || m == SASL_MECH_OAUTHBEARER;
}

enum sasl_status {
	SASL_CONTINUE,	/* send the challenge (base64, possibly empty) and wait for a line */
	SASL_DONE,	/* authzid, authcid and password are set */
	SASL_FAILED,	/* error says why, in Dovecot's words */
};

struct sasl_server {
	enum sasl_mech mech;
	int step;
	char authzid[SASL_MAX_USER + 1];
	char authcid[SASL_MAX_USER + 1];
	char pass[SASL_MAX_PASS + 1];
	const char *error;
	int bad_base64;		/* SASL_FAILED because a response was not base64 */
	char *forward;		/* passthrough mechanisms: the client's base64 response */
};

/* "PLAIN", "LOGIN", "XOAUTH2" or "OAUTHBEARER", case-insensitively; SASL_MECH_NONE
 * otherwise. */
enum sasl_mech sasl_mech_parse(const char *name);
const char *sasl_mech_name(enum sasl_mech);

void sasl_server_init(struct sasl_server *, enum sasl_mech);
/* Feeds one client response: the initial response (initial = 1; NULL if the client sent
 * none) or a continuation line (initial = 0), both base64 ("=" stands for an empty
 * initial response). On SASL_CONTINUE, challenge holds the base64 challenge to send
 * (NUL-terminated). On SASL_FAILED, error says why in Dovecot's words and bad_base64
 * tells a decoding error from bad credentials. */
enum sasl_status sasl_server_step(struct sasl_server *, const char *response, int initial,
    char *challenge, size_t challenge_len);
/* Wipes the credentials from memory and frees the forwarded response. */
void sasl_server_clear(struct sasl_server *);

/* Client side, for the backend login: base64 of "authzid\0authcid\0pass" into out.
 * Returns the length, or 0 if out is too small. */
size_t sasl_plain_encode(const char *authzid, const char *authcid, const char *pass,
    char *out, size_t outlen);

#endif
