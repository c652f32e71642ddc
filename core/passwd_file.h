/* SPDX-License-Identifier: MIT */
/* core/passwd_file.h: one Dovecot passwd-file (user:password:uid:gid:gecos:home:shell:extra)
 * held in memory, keyed by user, and read again when it changes on disk.
 * Not a userdb: uid, gid, gecos, home, shell and the legacy mail field are skipped. */
#ifndef CORE_PASSWD_FILE_H
#define CORE_PASSWD_FILE_H

#include <stddef.h>

/* A file larger than this is refused (the old table, if any, stays in use). */
#define PASSWD_FILE_SIZE_MAX	(64 * 1024 * 1024)
/* A longer line is skipped with an error. */
#define PASSWD_FILE_LINE_MAX	65536

/* One user's line. The strings live in the file's table: valid until the next
 * passwd_file_sync() or passwd_file_free(). */
struct passwd_entry {
	const char *user;
	const char *password;	/* NULL: the line has only a user name */
	const char *scheme;	/* set by a legacy "password[NN]" suffix (34: PLAIN-MD5,
				 * 56: DIGEST-MD5, else CRYPT) that was cut off; else NULL */
	const char *extra;	/* field 8 onward, colons kept: space-separated key=value
				 * items; NULL when absent or empty (the legacy mail form) */
	unsigned int line;	/* 1-based, for messages */
};

struct passwd_file;

/* A file not read yet; path is copied. missing_is_error: log a missing file as an error
 * (once, until it appears again) rather than at info level on every sync, which is what
 * Dovecot does for per-user paths. Returns NULL if out of memory. */
struct passwd_file *passwd_file_new(const char *path, int missing_is_error);

/* Brings the table up to date: stat()s the path and reads the file when its inode,
 * size or mtime differ from the table's (or there is no table). Parsing follows Dovecot
 * (db-passwd-file.c): empty lines and lines starting with '#' or ':' are skipped, a
 * line is split on every ':', CR before LF is dropped, and a user listed twice keeps
 * its first line ("User X exists more than once" is logged).
 * Returns 1 if a table is ready, 0 if the file does not exist (its old table is
 * dropped), -1 if it cannot be read and there is no older table to fall back to. A
 * failed re-read keeps the old table, logs the error and returns 1. */
int passwd_file_sync(struct passwd_file *);

/* The line for user, or NULL. Needs a table (passwd_file_sync() returned 1). */
const struct passwd_entry *passwd_file_lookup(const struct passwd_file *, const char *user);

/* Number of users in the table; 0 without one. */
size_t passwd_file_count(const struct passwd_file *);

const char *passwd_file_path(const struct passwd_file *);

/* Frees the file and its table. NULL is fine. */
void passwd_file_free(struct passwd_file *);

#endif
