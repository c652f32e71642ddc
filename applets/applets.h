/* SPDX-License-Identifier: MIT */
/* applets/applets.h: the one list of applets. Add a row here and write NAME_main().
 * main.c expands it into the dispatch table, --list, --install and --help. A row whose
 * feature (mk/features.mk) is out of the build is only a name: "not in this build". */
#ifndef APPLETS_H
#define APPLETS_H

#include "core/feature.h"

/* proxyd's summary names the protocols this build has. */
#define MTOOL_PROXYD_SUMMARY "IMAP" FEATURE_IF(MTOOL_WITH_POP3, "/POP3") \
	FEATURE_IF(MTOOL_WITH_SUBMISSION, "/Submission") FEATURE_IF(MTOOL_WITH_LMTP, "/LMTP") \
	FEATURE_IF(MTOOL_WITH_MANAGESIEVE, "/ManageSieve") " login proxy"

/* X(name, feature is in: 1 or 0, summary) */
#define MTOOL_APPLETS(X) \
	X(directord,   FEATURE_ON(MTOOL_WITH_DIRECTORD), "user-to-backend director, ring peer") \
	X(doveadm,     FEATURE_ON(MTOOL_WITH_DOVEADM), "admin client for mtool and Dovecot sockets") \
	X(proxyd,      FEATURE_ON(MTOOL_WITH_PROXYD), MTOOL_PROXYD_SUMMARY) \
	X(replicatord, FEATURE_ON(MTOOL_WITH_REPLICATORD), "replication scheduler")

/* Every applet is entered with argv[0] set to its own name, whatever the invocation form. */
#define X(name, in, summary) int name##_main(int argc, char **argv);
MTOOL_APPLETS(X)
#undef X

#endif
