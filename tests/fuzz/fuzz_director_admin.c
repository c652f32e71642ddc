/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_director_admin.c: directord's director-admin socket (Dovecot's
 * director-doveadm protocol, what doveadm director sends) with two tags of hosts and one
 * user's session, fed one connection's bytes. */
#include "tests/fuzz/directord_fuzz.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_directord(FUZZ_DIRECTORD_ADMIN, data, size);
	return 0;
}
