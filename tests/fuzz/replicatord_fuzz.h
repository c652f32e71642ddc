/* SPDX-License-Identifier: MIT */
/* tests/fuzz/replicatord_fuzz.h: a replicatord in the fuzzer's process, set up afresh for
 * every input: two backend pairs whose doveadm servers are UNIX sockets the harness
 * listens on (the second pair's also carry the addresses 127.0.0.2 and 127.0.0.3, which
 * notifications are matched against), a few known users, one of them with a dsync state.
 * A doveadm server the fuzzer does not play answers what Dovecot's does to a successful
 * sync ("+", the new state, "+") or a listing ({"userList":[...]}, "+"), so the syncs
 * that REPLICATE or a notification start run to their end. For fuzz_replicator_admin.c,
 * fuzz_replicator_notify.c and fuzz_replicator_doveadm.c. */
#ifndef REPLICATORD_FUZZ_H
#define REPLICATORD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

enum fuzz_repl_role {
	FUZZ_REPL_ADMIN,	/* data: a doveadm client on the replicator-doveadm socket */
	FUZZ_REPL_NOTIFY,	/* data: an aggregator (replicator-notify, "U" lines) */
	FUZZ_REPL_NOTIFY_PEER,	/* the same from 127.0.0.3, the second pair's B side */
	FUZZ_REPL_PLUGIN,	/* the replication plugin on a replication-notify socket */
	FUZZ_REPL_FIFO,		/* the plugin on the replication-notify-fifo (no replies) */
	FUZZ_REPL_SYNC,		/* data: the doveadm server answering an incremental sync */
	FUZZ_REPL_SYNC_FULL,	/* ... a full sync */
	FUZZ_REPL_LIST,		/* ... the userdb listing ("user *") */
	FUZZ_REPL_ROLES
};

/* One input: role decides who the fuzzer plays; with password, the doveadm servers want
 * doveadm_password (the harness's answer "-", PLAIN, "+"); step is the size of the pieces
 * data is sent in (0: all at once). */
void fuzz_replicatord(enum fuzz_repl_role role, int password, size_t step, const uint8_t *data,
    size_t size);

#endif
