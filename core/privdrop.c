/* SPDX-License-Identifier: MIT */
#include "core/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/str.h"
#include "core/sysdb.h"

static int
parse_ids(const char *user, uid_t *uid, gid_t *gid)
{
	char buf[64];
	long long u, g;
	const char *e;
	/* longer than any UID:GID: a name (a truncated copy could parse as a number) */
	if (str_copy(buf, user, sizeof(buf)) >= sizeof(buf))
		return -1;
	char *colon = strchr(buf, ':');
	if (colon)
		*colon++ = '\0';
	/* UID 0 parses, so that "0" is refused as root rather than looked up as a name */
	if (str_to_num(buf, 0, 0x7fffffff, &u, &e) < 0)
		return -1;
	g = u;
	if (colon && str_to_num(colon, 1, 0x7fffffff, &g, &e) < 0)
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int
privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	if (parse_ids(user, uid, gid) < 0) {
		if (sysdb_user(user, uid, gid) < 0) {
			str_fmt(err, errlen, "user '%s' not found (give UID[:GID] where there is no passwd file)", user);
			return -1;
		}
	}
	if (*uid == 0) {
		str_fmt(err, errlen, "refusing to run as root (user '%s')", user);
		return -1;
	}
	return 0;
}

int
privdrop(const char *user, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return 0;
	if (privdrop_lookup(user, &uid, &gid, err, errlen) < 0)
		return -1;
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		str_fmt(err, errlen, "dropping privileges to '%s' failed: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		str_fmt(err, errlen, "could regain root after dropping privileges to '%s'", user);
		return -1;
	}
	return 0;
}

int
privdrop_state_dir(const char *file, const char *user, char *dir, size_t dirlen, char *err,
    size_t errlen)
{
	uid_t uid;
	gid_t gid;
	char *slash;

	str_copy(dir, file, dirlen);
	if ((slash = strrchr(dir, '/')) == NULL) {
		str_copy(dir, ".", dirlen);
		return 0;
	}
	*slash = '\0';
	if (geteuid() != 0 || dir[0] == '\0')
		return 0;
	if (privdrop_lookup(user, &uid, &gid, err, errlen) < 0)
		return -1;
	for (char *p = strchr(dir + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		int r = mkdir(dir, 0755);
		*p = '/';
		if (r < 0 && errno != EEXIST) {
			str_fmt(err, errlen, "mkdir(%s): %s", dir, strerror(errno));
			return -1;
		}
	}
	if (mkdir(dir, 0700) == 0 && chown(dir, uid, gid) < 0) {
		str_fmt(err, errlen, "chown(%s): %s", dir, strerror(errno));
		return -1;
	}
	if (errno == EEXIST || access(dir, F_OK) == 0)
		return 0;
	str_fmt(err, errlen, "mkdir(%s): %s", dir, strerror(errno));
	return -1;
}

