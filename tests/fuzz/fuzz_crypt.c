/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_crypt.c: crypt(3) settings as a passwd-file or LDAP entry stores them
 * ($1$, $5$, $6$, $2y$, DES), and bcrypt directly. A result is a setting that gives
 * itself back. Input: key, LF, setting. Costs a client cannot choose (bcrypt 2^31
 * rounds) are skipped: fuzz_cost_ok() in tests/fuzz/fuzz.c. */
#include <stdlib.h>
#include <string.h>

#include "core/bcrypt.h"
#include "core/crypt.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *key = fuzz_take(&data, &size, '\n');
	char *setting = fuzz_strndup(data, size);
	if (!fuzz_cost_ok(setting, strlen(setting)))
		goto out;
	char out[CRYPT_OUT_MAX], again[CRYPT_OUT_MAX];
	int n = crypt_hash(key, setting, out, sizeof(out));
	if (n >= 0) {
		if ((size_t)n != strlen(out) || n >= CRYPT_OUT_MAX)
			abort();
		/* a hash is a setting for itself; DES keeps only 8 key bytes, so the same */
		if (crypt_hash(key, out, again, sizeof(again)) != n || strcmp(out, again) != 0)
			abort();
	} else if (out[0] != '\0') {
		abort();
	}
	/* too small a buffer never overflows */
	(void)crypt_hash(key, setting, out, 20);
	n = bcrypt_hash(key, setting, out, sizeof(out));
	if (n >= 0 && (n != 60 || strlen(out) != 60))
		abort();
out:
	free(setting);
	free(key);
	return 0;
}
