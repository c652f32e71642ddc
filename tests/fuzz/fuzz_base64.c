/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_base64.c: base64 decoding of what clients send (SASL, HTTP Basic),
 * and encode/decode round trips. */
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1);
	memcpy(in, data, size);
	size_t max = base64_decoded_max(size), n = 0;
	unsigned char *out = malloc(max + 1);
	int r = base64_decode(in, size, out, max, &n);
	if (r == 0) {
		if (n > max)
			abort();
		/* a string that decodes re-encodes to itself, padding aside */
		size_t elen = base64_encoded_len(n);
		char *enc = malloc(elen + 1);
		if (base64_encode(out, n, enc, elen + 1) != elen || strncmp(enc, in, size) != 0)
			abort();
		free(enc);
	} else if (r != -1) {
		abort();
	}
	/* too small an output buffer: -2, never an overflow */
	if (max > 0 && base64_decode(in, size, out, max - 1, &n) == 0 && n > max - 1)
		abort();
	/* the input as bytes to encode */
	size_t elen = base64_encoded_len(size);
	char *enc = malloc(elen + 1);
	if (base64_encode(in, size, enc, elen + 1) != elen)
		abort();
	unsigned char *dec = malloc(size + 1);
	if (base64_decode(enc, elen, dec, size, &n) != 0 || n != size || memcmp(dec, in, size) != 0)
		abort();
	free(dec);
	free(enc);
	free(out);
	free(in);
	return 0;
}
