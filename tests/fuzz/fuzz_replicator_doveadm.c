/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_replicator_doveadm.c: what replicatord reads from a backend's doveadm
 * server (dvclient.c's handshake and authentication, dsync.c's sync result, listing.c's
 * user list): the fuzzer is the first pair's initiator answering an incremental sync of
 * user1 (who has a dsync state), a full sync, or the start-up listing "user *".
 * Dovecot's server says "+" (or "-", then "+" to PLAIN), then for a sync the new state
 * line and "+" or "-CODE", for a listing {"userList":["u1",...]} and "+".
 * Input: one byte (bits 0-1: incremental sync, full sync, listing, listing; bit 2:
 * doveadm_password is set; bits 4-7: N > 0 sends the rest in pieces of 7*N bytes), then
 * the server's bytes. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/replicatord_fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum fuzz_repl_role roles[4] = {
		FUZZ_REPL_SYNC, FUZZ_REPL_SYNC_FULL, FUZZ_REPL_LIST, FUZZ_REPL_LIST,
	};
	if (size < 1)
		return 0;
	fuzz_replicatord(roles[data[0] & 3], (data[0] >> 2) & 1, (size_t)(data[0] >> 4) * 7,
	    data + 1, size - 1);
	return 0;
}
