/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/sysdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

/* core/sysdb.c's own reader of passwd and group files (the router profile's) */
TEST(sysdb_files)
{
	char dir[] = "/tmp/mtool-sysdb-XXXXXX", pw[64], gr[64];
	uid_t uid = 0;
	gid_t gid = 0;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(pw, sizeof(pw), "%s/passwd", dir);
	snprintf(gr, sizeof(gr), "%s/group", dir);
	char longline[2100];
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	memcpy(longline, "long:x:7:7:", 11);
	write_file(pw, "root:x:0:0:root:/root:/bin/sh\n"
	    "nobo:x:1:1::/:/bin/false\n"
	    "bad:x:abc:1::/:\n"
	    "nobody:x:65534:65533:nobody:/nonexistent:/usr/sbin/nologin\n"
	    "nobody:x:1:1:second:/:\n");
	FILE *f = fopen(pw, "a");
	fprintf(f, "%s\nafter:x:9:10::/:\n", longline);
	fclose(f);
	write_file(gr, "root:x:0:\nmail:x:8:dovecot,postfix\nnogroup:x:65533:");

	CHECK_INT(sysdb_files_user(pw, "nobody", &uid, &gid), 0);
	CHECK_INT(uid, 65534);
	CHECK_INT(gid, 65533);
	CHECK_INT(sysdb_files_user(pw, "root", &uid, &gid), 0);
	CHECK_INT(uid, 0);
	CHECK_INT(sysdb_files_user(pw, "after", &uid, &gid), 0);	/* after a 2 KiB line */
	CHECK_INT(uid, 9);
	CHECK_INT(gid, 10);
	CHECK_INT(sysdb_files_user(pw, "nob", &uid, &gid), -1);	/* a prefix is no name */
	CHECK_INT(sysdb_files_user(pw, "bad", &uid, &gid), -1);
	CHECK_INT(sysdb_files_user(pw, "long", &uid, &gid), -1);
	CHECK_INT(sysdb_files_user(pw, "", &uid, &gid), -1);
	CHECK_INT(sysdb_files_user(pw, "root:x", &uid, &gid), -1);
	CHECK_INT(sysdb_files_group(gr, "mail", &gid), 0);
	CHECK_INT(gid, 8);
	CHECK_INT(sysdb_files_group(gr, "nogroup", &gid), 0);	/* no final newline */
	CHECK_INT(gid, 65533);
	CHECK_INT(sysdb_files_group(gr, "dovecot", &gid), -1);
	CHECK_INT(sysdb_files_group("/nonexistent/group", "mail", &gid), -1);
	unlink(pw);
	unlink(gr);
	rmdir(dir);
}
