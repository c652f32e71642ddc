/* SPDX-License-Identifier: MIT */
/* libFuzzer target: an LDAP server's answers (core/ber's decoder under core/ldap's message,
 * entry and result parsers) as the client reads them, one framed message after another;
 * then the same bytes as an RFC 4515 filter string (core/ldap's filter encoder). */
#include "core/ber.h"
#include "core/ldap.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char store[4096];
	struct ldap_result res;
	size_t off = 0, total, used = 0;
	char msg[128], err[128];

	memset(&res, 0, sizeof(res));
	while (off < size && ber_frame(data + off, size - off, LDAP_MSG_MAX, &total) == 1) {
		struct ber body;
		unsigned int op;
		long id, code;

		if (ldap_msg_parse(data + off, total, &id, &op, &body) == 0) {
			if (op == 0x64)
				(void)ldap_entry_parse(&body, &res, store, sizeof(store), &used);
			else
				(void)ldap_result_parse(&body, &code, msg, sizeof(msg));
		}
		off += total;
	}

	char *s = malloc(size + 1);
	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
		(void)ldap_filter_check(s, err, sizeof(err));
		free(s);
	}
	return 0;
}
