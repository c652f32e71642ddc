/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_replicator_notify.c: replicatord's notify protocols (notify.c): an
 * aggregator's replicator-notify connection ("VERSION\treplicator-notify\t1\t0", then
 * "U\tuser\tlow|high" and "U\tuser\tsync\tID", answered "+\tID"/"-\tID" after the sync),
 * from an unknown peer or from a pair's backend, and the replication plugin's own lines
 * ("user\tlow|high|sync") on its socket (answered "+"/"-") or its FIFO. The syncs that
 * the notifications start are answered by the harness's doveadm servers
 * (replicatord_fuzz.h), so sync requests get their answers.
 * Input: one byte (bits 0-1: aggregator, aggregator from 127.0.0.3, plugin socket, plugin
 * FIFO; bit 2: the doveadm servers want doveadm_password; bits 4-7: N > 0 sends the rest
 * in pieces of 7*N bytes), then the notifier's bytes. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/replicatord_fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum fuzz_repl_role roles[4] = {
		FUZZ_REPL_NOTIFY, FUZZ_REPL_NOTIFY_PEER, FUZZ_REPL_PLUGIN, FUZZ_REPL_FIFO,
	};
	if (size < 1)
		return 0;
	fuzz_replicatord(roles[data[0] & 3], (data[0] >> 2) & 1, (size_t)(data[0] >> 4) * 7,
	    data + 1, size - 1);
	return 0;
}
