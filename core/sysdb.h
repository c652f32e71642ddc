/* SPDX-License-Identifier: MIT */
/* core/sysdb.h: user and group names to ids. With feature NSS (mk/features.mk) these are
 * the C library's getpwnam/getgrnam (musl's also ask nscd); without it, core/sysdb.c reads
 * /etc/passwd and /etc/group itself, which is all a router or a FROM scratch image has,
 * and keeps musl's 5 KiB of passwd/group/nscd code out of the binary. */
#ifndef CORE_SYSDB_H
#define CORE_SYSDB_H

#include <stddef.h>
#include <sys/types.h>

/* core/sysdb.c's readers of path (an /etc/passwd or /etc/group): 0 with the ids of
 * name, or -1 if it has no such entry or cannot be read. */
int sysdb_files_user(const char *path, const char *name, uid_t *uid, gid_t *gid);
int sysdb_files_group(const char *path, const char *name, gid_t *gid);

#ifdef MTOOL_WITH_NSS
#include <grp.h>
#include <pwd.h>

/* 0 with the ids of user name, or -1 if there is no such user. */
static inline int
sysdb_user(const char *name, uid_t *uid, gid_t *gid)
{
	const struct passwd *pw = getpwnam(name);
	if (pw == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* 0 with the id of group name, or -1 if there is no such group. */
static inline int
sysdb_group(const char *name, gid_t *gid)
{
	const struct group *gr = getgrnam(name);
	if (gr == NULL)
		return -1;
	*gid = gr->gr_gid;
	return 0;
}
#else
static inline int
sysdb_user(const char *name, uid_t *uid, gid_t *gid)
{
	return sysdb_files_user("/etc/passwd", name, uid, gid);
}
static inline int
sysdb_group(const char *name, gid_t *gid)
{
	return sysdb_files_group("/etc/group", name, gid);
}
#endif

#endif
