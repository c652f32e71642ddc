/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_ring.c: the director ring's lines (ring_msg.c, Dovecot 2.3's
 * director-to-director protocol), as a listed peer director sends them on a connection
 * into directord's ring port: the handshake (VERSION, ME, DIRECTOR, HOST-HAND-START, HOST,
 * U, OPTIONS, DONE) and everything after it (USER, HOST, SYNC, CONNECT, PING, ...). The
 * input is the peer's bytes; see directord_fuzz.h for the ring it joins. */
#include "tests/fuzz/directord_fuzz.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_directord(FUZZ_DIRECTORD_RING, data, size);
	return 0;
}
