/* SPDX-License-Identifier: MIT */
/* applets/directord/proxy.h: what proxy.c offers the rest of directord:
 * the mtool-director socket for proxyd (docs/director-proxy-protocol.md) */
#ifndef DIRECTORD_PROXY_H
#define DIRECTORD_PROXY_H

#include "applets/directord/directord.h"

int proxy_listen(struct directord *, FILE *errf);
void proxy_close_all(struct directord *);
/* Asks the proxy that reported the session to kick it. */
void proxy_kick_session(struct directord *, struct dir_session *, const char *reason);
/* USER-KICK: forwarded to the proxies that reported a session of the user; USER-KICK-ALT
 * to every proxy with sessions (the alt fields are the proxy's). Returns how many. */
unsigned int proxy_kick_user(struct directord *, const char *user);
unsigned int proxy_kick_alt(struct directord *, const char *field, const char *value);
/* Answers the lookups that can be answered now (after a move finished, a host came). */
void proxy_pending_run(struct directord *);
void proxy_pending_tick(struct directord *);
void proxy_session_detach(struct dir_session *);

#endif
