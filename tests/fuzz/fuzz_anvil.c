/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_anvil.c: proxyd's anvil admin socket (Dovecot's anvil protocol, what the real
 * doveadm sends) with one session logging in, fed one connection's bytes. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/proxyd_fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_proxyd_admin(1, data, size);
	return 0;
}
