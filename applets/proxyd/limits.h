/* SPDX-License-Identifier: MIT */
/* applets/proxyd/limits.h: how many connections proxyd takes (limits.c) Not for other
 * applets. */
#ifndef PROXYD_LIMITS_H
#define PROXYD_LIMITS_H

#include <stdint.h>
#include <sys/socket.h>

#include "core/ip.h"

struct proxyd;
struct client;
struct proxyd_proto;

/* Descriptors kept free for the admin sockets, the director, passdb files and
 * connections, logs and backend connects of clients already in: clients are not
 * accepted into them. */
#define LIMITS_FD_RESERVE	64

/* limits.c */
/* After the descriptor limit is final. Returns 0 or -1 (out of memory). */
int limits_init(struct proxyd *);
void limits_free(struct proxyd *);
/* A new connection on a listener of proto: 1 to go on, 0 if fd was refused (closed).
 * Makes room as Dovecot does when full: the oldest pre-login client goes first. */
int limits_admit(struct proxyd *, const struct proxyd_proto *, int fd, const struct sockaddr *peer,
    int ssl);
/* client_create / client_destroy: the client holds (or gives back) its place. */
void limits_client_added(struct client *);
void limits_client_gone(struct client *);
/* relay_close: a proxied session's place is free. */
void limits_session_gone(struct proxyd *, const struct proxyd_proto *);
/* Dovecot's last words per protocol (IMAP "* BYE text", POP3 "-ERR text", SMTP "421 enh
 * host text", ManageSieve BYE "text"), then the client is gone with reason logged. */
void limits_client_bye(struct client *, const char *enh, const char *text, const char *reason);

#endif
