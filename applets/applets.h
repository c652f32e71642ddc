/* SPDX-License-Identifier: MIT */
/* applets/applets.h: the one list of applets. Add a row here and write NAME_main().
 * main.c expands it into the dispatch table, --list, --install and --help. */
#ifndef APPLETS_H
#define APPLETS_H

#define MTOOL_APPLETS(X) \
	X(directord,   "user-to-backend director, ring peer") \
	X(doveadm,     "admin client for mtool and Dovecot sockets") \
	X(proxyd,      "IMAP/POP3/Submission/LMTP/ManageSieve login proxy") \
	X(replicatord, "replication scheduler")

/* Every applet is entered with argv[0] set to its own name, whatever the invocation form. */
#define X(name, summary) int name##_main(int argc, char **argv);
MTOOL_APPLETS(X)
#undef X

#endif
