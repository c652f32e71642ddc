/* SPDX-License-Identifier: MIT */
/* applets/proxyd/submission.h: the Submission session state shared by the client-side
 * login dialogue (submission_login.c) and the backend login (submission_proxy.c). */
#ifndef PROXYD_SUBMISSION_H
#define PROXYD_SUBMISSION_H

#include "applets/proxyd/login.h"
#include "core/str.h"

enum smtp_backend_state {
	SMTP_BE_BANNER,
	SMTP_BE_EHLO,
	SMTP_BE_XCLIENT,	/* XCLIENT sent; its replies come first */
	SMTP_BE_XCLIENT_EHLO,	/* EHLO again after XCLIENT */
	SMTP_BE_STARTTLS,	/* STARTTLS sent: 220, then TLS and EHLO again */
	SMTP_BE_AUTH,
};

/* what the backend's EHLO said */
#define SMTP_BE_CAP_AUTH	0x01
#define SMTP_BE_CAP_XCLIENT	0x02
#define SMTP_BE_CAP_STARTTLS	0x04
#define SMTP_BE_CAP_ENHANCED	0x08

struct smtp_client {
	unsigned int skipping : 1;	/* discarding the rest of a line too long to keep */
	unsigned int helo_seen : 1;	/* HELO (not EHLO): XCLIENT PROTO=SMTP */
	char *helo;			/* the client's EHLO/HELO domain, or a trusted XCLIENT HELO= */
	char *proto;			/* a trusted XCLIENT PROTO=, or NULL */

	enum smtp_backend_state be_state;
	unsigned int be_caps;
	char *be_xclient;		/* the backend's XCLIENT attribute names */
	unsigned int xclient_replies;	/* XCLIENT replies still expected */
	unsigned int reply_status;	/* of a multi-line reply under way, or 0 */
	struct strbuf reply;		/* the backend's AUTH reply, CRLF-joined, for the client */
	char *sasl_pending;		/* initial response sent after the first 334 */
	unsigned int login_mech_step;
};

static inline struct smtp_client *smtp_of(struct client *c) { return c->proto_state; }

void submission_backend_start(struct client *);
void submission_backend_input(struct client *);
void submission_backend_free(struct smtp_client *);

#endif
