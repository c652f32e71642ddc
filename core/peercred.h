/* SPDX-License-Identifier: MIT */
/* core/peercred.h: who may talk to a local socket. Every UNIX socket an mtool daemon
 * listens on applies the same rule (docs/sockets.md): the socket file's mode, owner and
 * group are the first gate; at accept the peer's credentials are checked against the
 * same mode, owner and group again, so that a socket whose mode was widened by mistake
 * (chmod, a wrong umask, a copied directory) does not open it to everyone. */
#ifndef CORE_PEERCRED_H
#define CORE_PEERCRED_H

#include <sys/types.h>

struct peercred {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* The peer's credentials of a connected UNIX socket. Returns 0 or -1 (errno). */
int peercred_get(int fd, struct peercred *);

/* Whether the peer of fd may use a socket with this mode, owner and group: root, this
 * process's effective user and the owner always; a member of group (primary or
 * supplementary group) when the mode lets the group write; anyone when it lets others
 * write (connecting needs write permission). Fills *cred when not NULL (zeroed if the
 * credentials cannot be read, which refuses). */
int peercred_allowed(int fd, mode_t mode, uid_t owner, gid_t group, struct peercred *cred);

#endif
