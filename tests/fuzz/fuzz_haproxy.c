/* SPDX-License-Identifier: MIT */
/* libFuzzer target: core/haproxy.c reads PROXY v1/v2 headers from the network before
 * anything else. Checks the contract too: a complete header is within the input, and
 * every shorter input that asks for more is a prefix the parser also accepts as one. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/haproxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct haproxy_hdr h;
	int r = haproxy_parse(data, size, &h);
	if (r > 0 && ((size_t)r > size || (size_t)r > HAPROXY_V2_MAX))
		abort();
	if (r < 0 && (h.tag == NULL || h.error == NULL))
		abort();
	if (r > 0 && h.proxied && (h.src.family == 0 || h.src.family != h.dst.family))
		abort();
	/* a header cut short never fails as something else than a broken beginning */
	if (r > 0 && haproxy_parse(data, (size_t)r - 1, &h) != 0)
		abort();
	return 0;
}
