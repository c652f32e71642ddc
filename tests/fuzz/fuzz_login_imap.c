/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_login_imap.c: proxyd's imap login, driven as a client (and a backend)
 * would: every command line, SASL exchange, STARTTLS, XCLIENT/ID forwarding, and the
 * backend's replies to the proxy's own login. Input format: tests/fuzz/proxyd_fuzz.h. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/proxyd_fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_proxyd_login("imap", data, size);
	return 0;
}
