/* SPDX-License-Identifier: MIT */
/* core/sdnotify.h: systemd's readiness protocol without libsystemd: one datagram to the
 * UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace). */
#ifndef CORE_SDNOTIFY_H
#define CORE_SDNOTIFY_H

/* Sends state ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...") when $NOTIFY_SOCKET
 * is set. Returns 1 sent, 0 no socket to send to, -1 with errno (bad address, send
 * failed); the caller logs or ignores it, since a service manager that stopped listening
 * is no reason to stop serving. */
int sdnotify(const char *state);

#endif
