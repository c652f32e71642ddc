/* SPDX-License-Identifier: MIT */
/* core/listen.h: listening sockets, bound the same way by every daemon. A UNIX socket
 * follows docs/sockets.md: its path must fit (never truncated), a socket file another
 * process still answers on is never replaced (a stale one is), and the file gets its mode
 * and owner before anyone can connect. The peer check at accept is core/peercred's. */
#ifndef CORE_LISTEN_H
#define CORE_LISTEN_H

#include <stddef.h>
#include <sys/types.h>

#include "core/ip.h"

#define LISTEN_NODELAY	0x1	/* TCP_NODELAY, inherited by the accepted sockets */
#define LISTEN_V6ONLY	0x2	/* an IPv6 address takes no IPv4 (so "*, ::" can both bind) */

/* A non-blocking, close-on-exec TCP listener on ip:port with SO_REUSEADDR and the LISTEN_*
 * flags. Returns the fd, or -1 with errno set and the reason (no address, no prefix) in
 * err. */
int listen_tcp(const struct ip_addr *, unsigned int port, int backlog, int flags, char *err,
    size_t errlen);

/* A non-blocking, close-on-exec UNIX listener at path, created with mode and (when uid or
 * gid is not -1) that owner. Returns the fd, or -1 with errno set and the reason in err:
 * a path that does not fit sun_path (ENAMETOOLONG), a live socket at path ("already in use
 * by a running process", EADDRINUSE), or what bind/chmod/chown/listen said. */
int listen_unix(const char *path, mode_t mode, uid_t uid, gid_t gid, int backlog, char *err,
    size_t errlen);

#endif
