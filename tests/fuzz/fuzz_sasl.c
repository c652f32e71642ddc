/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_sasl.c: the server side of SASL (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER)
 * as a client drives it. Input: the mechanism name, then the responses, each ending in LF
 * (the first is the initial response; "*" as the first line means none). */
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/sasl.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = fuzz_take(&data, &size, '\n');
	enum sasl_mech mech = sasl_mech_parse(name);
	free(name);
	if (mech == SASL_MECH_NONE)
		return 0;
	(void)sasl_mech_name(mech);
	struct sasl_server s;
	sasl_server_init(&s, mech);
	for (int initial = 1; size > 0 || initial; initial = 0) {
		char *line = fuzz_take(&data, &size, '\n');
		char challenge[64];
		const char *resp = initial && strcmp(line, "*") == 0 ? NULL : line;
		enum sasl_status st = sasl_server_step(&s, resp, initial, challenge, sizeof(challenge));
		free(line);
		if (st == SASL_DONE) {
			if (strlen(s.authcid) > SASL_MAX_USER || strlen(s.pass) > SASL_MAX_PASS)
				abort();
			char out[2048];
			(void)sasl_plain_encode(s.authzid, s.authcid, s.pass, out, sizeof(out));
			break;
		}
		if (st == SASL_FAILED) {
			if (s.error == NULL)
				abort();
			break;
		}
		if (memchr(challenge, '\0', sizeof(challenge)) == NULL)
			abort();
	}
	sasl_server_clear(&s);
	return 0;
}
