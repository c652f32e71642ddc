/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_authmaster.c: proxyd's auth-master socket (authmaster.c, Dovecot's
 * auth-master protocol: VERSION, CACHE-FLUSH with user names as `doveadm auth cache
 * flush` sends it, USER/PASS/LIST answered FAIL) with one session logging in, fed one
 * connection's bytes. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/proxyd_fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_proxyd_admin(2, data, size);
	return 0;
}
