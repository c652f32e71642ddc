/* SPDX-License-Identifier: MIT */
/* core/sysdb.c: see core/sysdb.h. Lines are "name:password:id:..." (passwd: uid, then
 * gid; group: gid); the first line with the name wins, as getpwnam's does; lines that
 * are too long or malformed are skipped. Always compiled: with feature NSS nothing calls
 * it and --gc-sections drops it. */
#include "core/sysdb.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/str.h"

#define SYSDB_LINE_MAX	1024

/* The numeric fields after name's password, into ids[0..nids); 0, or -1 if not found. */
static int
sysdb_find(const char *path, const char *name, long long *ids, int nids)
{
	char buf[4096], line[SYSDB_LINE_MAX];
	size_t llen = 0, nlen = strlen(name);
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = -1, toolong = 0;
	ssize_t n;

	if (fd < 0 || nlen == 0 || memchr(name, ':', nlen) != NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (found < 0 && ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR) ||
	    (n == 0 && llen > 0))) {
		if (n == 0)	/* the last line has no newline: end it */
			buf[n++] = '\n';
		for (ssize_t i = 0; i < n && found < 0; i++) {
			if (buf[i] != '\n') {
				if (llen < sizeof(line) - 1)
					line[llen++] = buf[i];
				else
					toolong = 1;
				continue;
			}
			line[llen] = '\0';
			if (!toolong && llen > nlen && memcmp(line, name, nlen) == 0 &&
			    line[nlen] == ':') {
				/* skip the password field, then the ids */
				char *p = strchr(line + nlen + 1, ':');
				int k = 0;
				while (p != NULL && k < nids) {
					char *end = strchr(++p, ':');
					const char *err;
					if (end != NULL)
						*end = '\0';
					if (str_to_num(p, 0, 0x7fffffff, &ids[k], &err) < 0)
						break;
					k++;
					p = end;
				}
				if (k == nids)
					found = 0;
			}
			llen = 0;
			toolong = 0;
		}
	}
	close(fd);
	return found;
}

int
sysdb_files_user(const char *path, const char *name, uid_t *uid, gid_t *gid)
{
	long long ids[2];
	if (sysdb_find(path, name, ids, 2) < 0)
		return -1;
	*uid = (uid_t)ids[0];
	*gid = (gid_t)ids[1];
	return 0;
}

int
sysdb_files_group(const char *path, const char *name, gid_t *gid)
{
	long long id;
	if (sysdb_find(path, name, &id, 1) < 0)
		return -1;
	*gid = (gid_t)id;
	return 0;
}
