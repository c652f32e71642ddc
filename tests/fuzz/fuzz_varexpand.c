/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_varexpand.c: %-variable expansion of a template (passdb args, extra
 * fields, default_fields: from a config file, but with values a client chose: user,
 * password), with %{if;..}, hashes and a %{passdb:..} function. Input: the user name, LF,
 * then the template. */
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "core/varexpand.h"
#include "tests/fuzz/fuzz.h"

/* %{passdb:name[:default]} answering the user name for every field */
static int
func(struct strbuf *out, const char *name, size_t namelen, const char *data, size_t datalen,
    var_escape_fn *escape, void *ctx)
{
	(void)data;
	(void)datalen;
	if (namelen != 6 || strncmp(name, "passdb", 6) != 0)
		return 0;
	if (escape != NULL)
		escape(out, ctx, strlen(ctx));
	else
		strbuf_puts(out, ctx);
	return out->error ? -1 : 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *user = fuzz_take(&data, &size, '\n');
	char *tmpl = fuzz_strndup(data, size);
	struct var_client c = { user, "pass\"word", "imap", "192.0.2.1", "::1", 41234, 143, "sess",
	    "PLAIN", "TLS", "mail.example.org", "127.0.0.1", "127.0.0.2", 1, 2, "Orig@Example.ORG" };
	struct var_std std;
	if (var_std_init(&std, &c) < 0)
		abort();
	static var_escape_fn *const escapes[] = { NULL, var_escape_path, var_escape_str };
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		struct strbuf out;
		const char *error = NULL;
		strbuf_init(&out, i == 0 ? 65536 : 64);	/* also: the output limit */
		strbuf_puts(&out, "x");
		struct var_expand_params p = { std.tab, escapes[i], func, user };
		int r = var_expand_params(&out, tmpl, &p, &error);
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
