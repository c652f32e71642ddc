/* SPDX-License-Identifier: MIT */
/* applets/proxyd/login.h: the login skeleton every login protocol (IMAP, POP3,
 * Submission, ManageSieve) shares: the SASL exchange, its abort, LOGOUT/QUIT, the last
 * words before a disconnect and the failure replies. A protocol gives its words as data
 * and its reply formatting and command reading as hooks; login.c does the rest once. */
#ifndef PROXYD_LOGIN_H
#define PROXYD_LOGIN_H

#include <stddef.h>

#include "applets/proxyd/proxyd.h"

/* One reply of the login dialogue: a status with its response code, and a text. */
struct login_text {
	const char *code;	/* "NO [AUTHENTICATIONFAILED]", "-ERR [AUTH]", "535 5.7.8";
				 * NULL: the text is a whole reply line (a backend's) */
	const char *text;	/* NULL: the text that comes with the failure */
};

/* One pre-login command: { name, allowed states, handler, flags }. A name that is not in
 * the table, or not allowed in the current state, gets the protocol's own reply. */
struct login_cmd {
	const char *name;
	unsigned int states;		/* LOGIN_IN(CMD) | ... */
	/* args: the rest of the line (line protocols), NULL for the parsed ones (IMAP,
	 * ManageSieve: the arguments are in the parser). Returns -1 if the client is gone. */
	int (*fn)(struct client *, char *args);
	unsigned int flags;
};
#define LOGIN_IN_STATE(st)	(1u << (st))
#define LOGIN_IN(name)		LOGIN_IN_STATE(LOGIN_##name)
#define LOGIN_CMD_NO_ARGS	0x1	/* ManageSieve: arguments make it a bad command */

struct login_proto {
	/* replies, in Dovecot's words (docs/dovecot-login-behaviour.md) */
	struct login_text fail[CLIENT_FAIL_COUNT];	/* by reason; [FAIL_AUTH] also answers
						 * undecodable SASL credentials */
	const char *bad_base64;		/* code before the SASL decoder's error text */
	struct login_text aborted;	/* the client answered a challenge with "*" */
	struct login_text unsupported_mech, cleartext_disabled;
	const char *logout_bye;		/* IMAP: the untagged BYE before the LOGOUT reply */
	struct login_text logout;
	const char *challenge_fmt;	/* a SASL challenge (base64): "+ %s\r\n", "334 %s\r\n" */
	unsigned int bye_on_max_auth : 1;	/* LOGIN_MAX_AUTH_ATTEMPTS failures end it */

	void (*greet)(struct client *);
	void (*input)(struct client *);	/* client bytes are buffered */
	/* Writes one reply: "TAG CODE TEXT" (IMAP: the tag of the login command),
	 * "CODE TEXT", "CODE "TEXT"" (ManageSieve); code NULL: text as it is. Returns -1 if
	 * the client is gone (SMTP: too many bad replies in a row). */
	int (*reply)(struct client *, const char *code, const char *text);
	/* last words before a disconnect: "* BYE text" / "-ERR text" */
	void (*bye)(struct client *, const char *text);
	/* SMTP: the same with an enhanced status code ("421 enh host text"); NULL: bye */
	void (*bye_enh)(struct client *, const char *enh, const char *text);
	void (*backend_start)(struct client *);	/* backend connected */
	void (*backend_input)(struct client *);	/* backend bytes are buffered */
	void (*free)(struct client *);		/* frees the protocol's part */
};

/* The protocol's last words, then the connection ends once the queue is out. */
void login_bye(struct client *, const char *text, const char *log_reason);
/* The connection ends once what is queued is out (the reply was written). */
void login_close(struct client *, const char *log_reason);
/* LOGOUT / QUIT: the protocol's reply, then the connection ends. Returns -1. */
int login_logout(struct client *);
/* AUTHENTICATE/AUTH: mech offered? cleartext allowed? then the first SASL step with the
 * initial response ir (NULL: none). Returns -1 if the client is gone. */
int login_authenticate(struct client *, const char *mech, const char *ir);
/* One response to a challenge ("*" aborts). Returns -1 if the client is gone. */
int login_sasl_response(struct client *, const char *line);
/* Ends a SASL exchange the protocol has answered itself. */
void login_sasl_end(struct client *);
/* Credentials complete (USER/PASS, LOGIN, a finished SASL exchange): the passdb decides;
 * the client's input waits meanwhile. */
void login_auth(struct client *, const char *mech, const char *authzid, const char *user, const char *pass);
/* The reply for a failed login (client_fail_now). */
void login_fail(struct client *, enum client_fail, const char *text);
/* The command called name (len bytes, any case) in cmds (ended by a NULL name) if it is
 * allowed in the client's state, or NULL. */
const struct login_cmd *login_cmd_find(const struct client *, const struct login_cmd *cmds,
    const char *name, size_t len);

#endif
