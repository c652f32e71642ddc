/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_director_health.c: directord's backend health checks (health.c) as a
 * mail host answers them: greetings, capabilities, LHLO/EHLO, LOGIN, MAIL/RCPT replies,
 * STARTTLS and what follows it, over IMAP, POP3, LMTP, Submission, ManageSieve, implicit
 * TLS and plain TCP, with and without a test user; a failed round takes the host down
 * and moves its user away, a good one brings it back. Needs a network namespace of its
 * own, as fuzz_ring (directord_fuzz.h).
 * Input: one byte (the port: see directord_fuzz.h), then the backend's bytes. */
#include "tests/fuzz/directord_fuzz.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_directord(FUZZ_DIRECTORD_HEALTH, data, size);
	return 0;
}
