/* SPDX-License-Identifier: MIT */
/* core/peercred.c: the one rule for local sockets (core/peercred.h, docs/sockets.md). */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/peercred.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif
#define PEER_GROUPS_MAX 64

int
peercred_get(int fd, struct peercred *pc)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	memset(pc, 0, sizeof(*pc));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -1;
	pc->pid = cred.pid;
	pc->uid = cred.uid;
	pc->gid = cred.gid;
	return 0;
}

/* Supplementary groups as the kernel saw them at connect (Linux 4.13+); a peer with
 * more than PEER_GROUPS_MAX groups, or an older kernel, is judged by its primary group. */
static int
peer_in_group(int fd, const struct peercred *pc, gid_t group)
{
	gid_t groups[PEER_GROUPS_MAX];
	socklen_t len = sizeof(groups);
	if (pc->gid == group)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return 0;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == group)
			return 1;
	return 0;
}

int
peercred_allowed(int fd, mode_t mode, uid_t owner, gid_t group, struct peercred *cred)
{
	struct peercred pc;
	if (peercred_get(fd, &pc) < 0) {
		if (cred)
			memset(cred, 0, sizeof(*cred));
		return 0;
	}
	if (cred)
		*cred = pc;
	if (pc.uid == 0 || pc.uid == geteuid() || pc.uid == owner)
		return 1;
	if ((mode & 0020) && peer_in_group(fd, &pc, group))
		return 1;
	return (mode & 0002) != 0;
}
