/* SPDX-License-Identifier: MIT */
/* core/privdrop.h: giving up root after the sockets are bound. Not a sandbox. */
#ifndef CORE_PRIVDROP_H
#define CORE_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

/* user is a name from the passwd database or "UID[:GID]" (for a FROM-scratch container
 * that has no /etc/passwd). Does nothing unless running as root. Returns 0, or -1 with
 * a message in err (start-up: the caller dies). setgroups, setresgid and setresuid are
 * each checked, and regaining root is checked to fail. */
int privdrop(const char *user, char *err, size_t errlen);

/* The UID and GID privdrop(user) would switch to, for files the process must still own
 * afterwards. Returns 0, or -1 with a message in err. */
int privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/* For a state file the process rewrites (temporary file, rename) after privdrop(user):
 * puts the file's directory in dir (dirlen bytes; "." for a bare name) and, when running
 * as root, makes the missing parents (0755) and the directory itself (0700, given to
 * user). An existing directory is left as it is. Returns 0, or -1 with a message in
 * err. */
int privdrop_state_dir(const char *file, const char *user, char *dir, size_t dirlen,
    char *err, size_t errlen);

#endif
