/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_varexpand.c: %-variable expansion of a template (passdb args, extra
 * fields: from a config file, but with values a client chose: user, password). Input:
 * the user name, LF, then the template. */
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "core/varexpand.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *user = fuzz_take(&data, &size, '\n');
	char *tmpl = fuzz_strndup(data, size);
	struct var_client c = { user, "pass\"word", "imap", "192.0.2.1", "::1", 41234, 143, "sess" };
	struct var_std std;
	if (var_std_init(&std, &c) < 0)
		abort();
	static var_escape_fn *const escapes[] = { NULL, var_escape_path, var_escape_str };
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		struct strbuf out;
		const char *error = NULL;
		strbuf_init(&out, i == 0 ? 65536 : 64);	/* also: the output limit */
		strbuf_puts(&out, "x");
		int r = var_expand_escape(&out, tmpl, std.tab, escapes[i], &error);
		if (r < 0 && error == NULL)
			abort();
		if (out.len > out.max || strlen(out.s) > out.len)
			abort();
		strbuf_free(&out);
	}
	var_std_free(&std);
	free(tmpl);
	free(user);
	return 0;
}
