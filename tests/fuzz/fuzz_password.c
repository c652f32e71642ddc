/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_password.c: checking a typed password against a stored value
 * ("{SCHEME}data", "$1$..."), the way passdbs do for every login: the stored value comes
 * from a file or a database, the password from the client. Generated values must verify.
 * Input: stored, LF, password, LF, default scheme (empty: none). Costs only a trusted
 * file can carry (bcrypt 2^31 rounds) are skipped (fuzz_cost_ok). */
#include <stdlib.h>
#include <string.h>

#include "core/password.h"
#include "core/str.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *stored = fuzz_take(&data, &size, '\n');
	char *plain = fuzz_take(&data, &size, '\n');
	char *def = fuzz_strndup(data, size);
	const char *error = NULL;
	char scheme[PASSWORD_SCHEME_MAX + 1];

	if (fuzz_stored_cost_ok(stored)) {
		int r = password_verify(plain, stored, *def ? def : NULL, "user@realm", &error);
		if (r < -1 || r > 1 || (r == -1 && error == NULL))
			abort();
	}
	const char *rest = password_split(stored, *def ? def : NULL, scheme, sizeof(scheme));
	if (rest < stored || rest > stored + strlen(stored))
		abort();
	(void)password_scheme_known(def);

	/* generation, for a scheme named by the default field: its value verifies */
	if (*def && strlen(plain) <= 64) {
		struct strbuf out;
		strbuf_init(&out, 1024);
		if (password_generate(plain, def, &out, &error) == 0) {
			if (password_verify(plain, out.s, NULL, "user@realm", &error) != 1)
				abort();
		}
		strbuf_free(&out);
	}
	free(def);
	free(plain);
	free(stored);
	return 0;
}
