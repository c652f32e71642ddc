/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_director_proxy.c: directord's mtool-director socket, which proxyd asks
 * (docs/director-proxy-protocol.md: VERSION, LOOKUP, START, END), fed one proxy
 * connection's bytes. */
#include "tests/fuzz/directord_fuzz.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_directord(FUZZ_DIRECTORD_PROXY, data, size);
	return 0;
}
