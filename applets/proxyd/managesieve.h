/* SPDX-License-Identifier: MIT */
/* applets/proxyd/managesieve.h: the ManageSieve session state shared by the client-side
 * login dialogue (managesieve_login.c) and the backend login (managesieve_proxy.c). */
#ifndef PROXYD_MANAGESIEVE_H
#define PROXYD_MANAGESIEVE_H

#include "applets/proxyd/imap_parser.h"
#include "applets/proxyd/login.h"

enum sieve_backend_state {
	SIEVE_BE_CAPABILITY,	/* the greeting: capabilities, then OK */
	SIEVE_BE_XCLIENT,
	SIEVE_BE_STARTTLS,	/* STARTTLS sent: OK, then TLS and the capabilities again */
	SIEVE_BE_AUTH,
};

struct sieve_client {
	struct imap_parser parser;	/* commands: untagged; SASL responses: arguments only */
	enum sieve_backend_state be_state;
	unsigned int be_sasl : 1;	/* the backend offers SASL mechanisms */
	unsigned int be_xclient : 1;
	unsigned int be_starttls : 1;	/* the backend offers STARTTLS */
	unsigned int login_mech_step;
};

static inline struct sieve_client *sieve_of(struct client *c) { return c->proto_state; }

/* Appends s as a ManageSieve quoted string: "..." with '"' and '\' escaped. */
struct strbuf;
void sieve_quote(struct strbuf *, const char *s);

void managesieve_backend_start(struct client *);
void managesieve_backend_input(struct client *);

#endif
