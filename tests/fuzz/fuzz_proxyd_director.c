/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_proxyd_director.c: proxyd's side of the mtool-director socket
 * (docs/director-proxy-protocol.md), fed what a directord answers while a client logs in
 * through it. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/proxyd_fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_proxyd_director(data, size);
	return 0;
}
