/* SPDX-License-Identifier: MIT */
/* libFuzzer target: core/dnspkt.c reads DNS responses from the network. The first two
 * bytes choose the question (type, and whether the name is the one in the message's own
 * question); the rest is the response. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/dnspkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnspkt_answer a;
	const char *err;
	char name[DNSPKT_NAME_MAX + 1] = "mail.example.org";

	if (size < 2)
		return 0;
	uint16_t type = data[0] & 1 ? DNSPKT_TYPE_AAAA : DNSPKT_TYPE_A;
	int own = data[1] & 1;
	data += 2;
	size -= 2;
	if (own && size >= 12) {
		/* ask for whatever the message's question names, to get past that check */
		size_t off = 12;
		if (dnspkt_name(data, size, &off, name) < 0)
			return 0;
	}
	uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
	if (dnspkt_parse(data, size, id, name, type, &a, &err) == 0) {
		/* what the resolver reads must be within the answer */
		if (a.naddrs > DNSPKT_ADDRS_MAX)
			__builtin_trap();
		for (unsigned int i = 0; i < a.naddrs; i++)
			if (a.addrs[i].family != (type == DNSPKT_TYPE_A ? AF_INET : AF_INET6))
				__builtin_trap();
	}
	size_t off = 0;
	char out[DNSPKT_NAME_MAX + 1];
	while (off < size && dnspkt_name(data, size, &off, out) == 0)
		if (strlen(out) > DNSPKT_NAME_MAX - 2)
			__builtin_trap();
	return 0;
}
