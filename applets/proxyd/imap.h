/* SPDX-License-Identifier: MIT */
/* applets/proxyd/imap.h: the IMAP session state shared by the client-side login dialogue
 * (imap_login.c) and the backend login (imap_proxy.c). */
#ifndef PROXYD_IMAP_H
#define PROXYD_IMAP_H

#include "applets/proxyd/imap_parser.h"
#include "applets/proxyd/login.h"

enum imap_backend_state {
	IMAP_BE_BANNER,		/* waiting for "* OK" */
	IMAP_BE_ID,		/* waiting for "I OK" (nopipelining only) */
	IMAP_BE_STARTTLS,	/* waiting for "S OK", then the TLS handshake */
	IMAP_BE_CAPABILITY,	/* waiting for "C OK" (nopipelining only) */
	IMAP_BE_LOGIN,		/* LOGIN/AUTHENTICATE sent, waiting for "L OK" */
};

struct imap_client {
	struct imap_parser parser;
	char *tag;			/* tag of the login command */
	unsigned int capability_asked : 1;	/* the client sent CAPABILITY before login */
	unsigned int id_seen : 1;
	unsigned int saslir : 1;		/* backend advertised SASL-IR */
	unsigned int logindisabled : 1;		/* backend advertised LOGINDISABLED */
	unsigned int backend_caps_known : 1;
	enum imap_backend_state be_state;
	unsigned int login_mech_step;	/* proxy_mech=LOGIN: challenges answered */
	unsigned int swallow_continuations;	/* "+" replies owed to literals we sent */
	char *backend_caps;		/* the backend's capability list */
	char *sasl_pending;		/* AUTHENTICATE without SASL-IR: response to send on "+" */
	struct imap_id *id;		/* only while an ID command is being read */
};

static inline struct imap_client *imap_of(struct client *c) { return c->proto_state; }

/* imap_id.c: one argument of ID as the parser streams it: 0 go on, 1 the ID is complete
 * (ignore the rest of the line), -1 invalid parameters, -2 out of memory. */
int imap_id_arg(struct client *, const struct imap_arg *);
/* Logs, retains, answers "* ID ..." and "<tag> OK ID completed."; frees the state. */
void imap_id_finish(struct client *, const char *tag);
void imap_id_free(struct client *);
/* Appends the ID answer for the imap_id_send setting: a parenthesised list or NIL. */
struct strbuf;
void imap_id_reply(const char *setting, struct strbuf *);

/* imap_proxy.c */
void imap_backend_start(struct client *);
void imap_backend_input(struct client *);

#endif
