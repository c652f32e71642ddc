/* SPDX-License-Identifier: MIT */
/* applets/proxyd/pop3.h: the POP3 session state shared by the client-side login dialogue
 * (pop3_login.c) and the backend login (pop3_proxy.c). */
#ifndef PROXYD_POP3_H
#define PROXYD_POP3_H

#include "applets/proxyd/login.h"

enum pop3_backend_state {
	POP3_BE_BANNER,
	POP3_BE_STLS,		/* STLS sent; "+OK", then the TLS handshake */
	POP3_BE_XCLIENT,	/* XCLIENT sent; its reply comes first */
	POP3_BE_USER,
	POP3_BE_PASS,
	POP3_BE_AUTH,
};

struct pop3_client {
	char *user;			/* from USER, until PASS */
	enum pop3_backend_state be_state;
	unsigned int login_mech_step;
	unsigned int be_xclient : 1;	/* the banner offered XCLIENT */
};

static inline struct pop3_client *pop3_of(struct client *c) { return c->proto_state; }

void pop3_backend_start(struct client *);
void pop3_backend_input(struct client *);

#endif
