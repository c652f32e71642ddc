/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_ipc.c: proxyd's ipc admin socket (Dovecot's ipc protocol, what the real
 * doveadm sends) with one session logging in, fed one connection's bytes. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/proxyd_fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_proxyd_admin(0, data, size);
	return 0;
}
