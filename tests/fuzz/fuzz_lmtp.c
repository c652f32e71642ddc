/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_lmtp.c: proxyd's LMTP proxy, driven as an MTA (and the backends) would:
 * LHLO, XCLIENT, MAIL/RCPT with their parameters, DATA with dot-stuffing, BDAT, and the
 * backends' replies. Input format: tests/fuzz/proxyd_fuzz.h. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/proxyd_fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_proxyd_login("lmtp", data, size);
	return 0;
}
