/* SPDX-License-Identifier: MIT */
/* core/passdb_auth.h: passdb driver "auth" (mtool's own): asks a running Dovecot 2.3 auth
 * server over its auth-client protocol (core/authclient.h) whether the login's user and
 * password are good, with SASL PLAIN, and takes the extra fields of its OK (or the reason
 * and nodelay of its FAIL) as this passdb's fields, so that everything Dovecot's passdbs
 * can do drives the proxy. args: "[timeout=SECS] SOCKET", SOCKET a UNIX path (auth's
 * client or login listener) or host:port (an inet_listener); timeout (default 30) bounds
 * one request. Not for applets: core/passdb_drv.c lists it. */
#ifndef CORE_PASSDB_AUTH_H
#define CORE_PASSDB_AUTH_H

#include "core/passdb_drv.h"

extern const struct passdb_drv_ops passdb_auth_ops;

#endif
