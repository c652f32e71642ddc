/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_http.c: the /metrics request parser (core/http.c) on arbitrary bytes.
 * Checks what the server relies on: the result is 0, -400, -431 or a head length within
 * the input and HTTP_HEAD_MAX, and a complete head stays complete with more bytes
 * after it (the server parses again as bytes arrive). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req, again;
	/* a copy of exactly size bytes, so that reading past the end is caught */
	char *copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	int r = http_parse(copy, size, &req);
	if (r != 0 && r != -400 && r != -431 && (r < 0 || (size_t)r > size || r > HTTP_HEAD_MAX))
		abort();
	if (r > 0) {
		int r2 = http_parse(copy, (size_t)r, &again);
		if (r2 != r || again.method != req.method || again.metrics_path != req.metrics_path ||
		    again.openmetrics != req.openmetrics)
			abort();
	}
	free(copy);
	return 0;
}
