/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_replicator_admin.c: replicatord's replicator-doveadm socket (radmin.c:
 * what `doveadm replicator` sends: VERSION, STATUS, STATUS-DSYNC, REPLICATE, ADD, REMOVE,
 * NOTIFY), with three known users; the syncs and listings it starts are answered by the
 * harness's doveadm servers (replicatord_fuzz.h).
 * Input: one byte (bit 0: the doveadm servers want doveadm_password; bits 4-7: N > 0
 * sends the rest in pieces of 7*N bytes), then the client's bytes. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/replicatord_fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_replicatord(FUZZ_REPL_ADMIN, data[0] & 1, (size_t)(data[0] >> 4) * 7, data + 1, size - 1);
	return 0;
}
