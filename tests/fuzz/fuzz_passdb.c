/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_passdb.c: a passdb lookup with what a database answers: a passwd-file
 * (the stand-in for an SQL row or an LDAP entry, which reach the same code) whose extra
 * fields the chain applies as Dovecot's auth_request_set_field() does (password and its
 * schemes, user renames, allow_nets, nopassword, noauthenticate, fail, passdb_import,
 * :protected/:remove), then a static passdb, under the result rules the first byte picks.
 * The answer has a user name and unique field keys (core/passdb.h).
 * Input: one byte (bits 0-2: passwd-file's rule on success, bits 3-4 its rule on failure,
 * bit 5: auth_username_chars), the login name, LF, the password, LF,
 * the passwd-file. Stored values that cost seconds by design are skipped
 * (fuzz_stored_cost_ok). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/passdb.h"
#include "tests/fuzz/fuzz.h"

/* Every ':'-separated field of every line is cheap to verify. */
static int
cost_ok(char *file)
{
	int ok = 1;
	for (char *line = file; ok && line != NULL; ) {
		char *nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		for (char *f = line; ok && f != NULL; ) {
			char *colon = strchr(f, ':');
			if (colon != NULL)
				*colon = '\0';
			ok = fuzz_stored_cost_ok(f);
			if (colon != NULL)
				*colon = ':';
			f = colon != NULL ? colon + 1 : NULL;
		}
		if (nl != NULL)
			*nl = '\n';
		line = nl != NULL ? nl + 1 : NULL;
	}
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rules[8] = {
		NULL, "return-ok", "return", "return-fail", "continue", "continue-ok",
		"continue-fail", "return-ok",
	};
	static int logged;
	if (size < 1)
		return 0;
	if (!logged++)
		log_init("auth", getenv("FUZZ_DEBUG") != NULL, 0);
	unsigned int mode = data[0];
	data++, size--;
	char *user = fuzz_take(&data, &size, '\n');
	char *password = fuzz_take(&data, &size, '\n');
	char *file = fuzz_strndup(data, size);
	if (!cost_ok(file))
		goto out;
	fuzz_dir_clean();
	char args[700];
	snprintf(args, sizeof(args), "scheme=PLAIN %s", fuzz_write_file("passwd", file, strlen(file)));

	struct passdb_chain *chain = passdb_chain_new();
	const char *error;
	if (chain == NULL ||
	    passdb_chain_add(chain, "passwd-file", args, rules[mode & 7], rules[(mode >> 3) & 3], NULL,
	    &error) < 0 ||
	    passdb_chain_add(chain, "static", "proxy=y host=%{rip} nopassword", NULL, NULL, NULL,
	    &error) < 0)
		abort();
	if (mode & 0x20)
		passdb_chain_set_username_chars(chain, PASSDB_USERNAME_CHARS);
	struct passdb_request req = {
		.user = user, .password = password, .service = "imap", .rip = "192.0.2.9",
		.lip = "127.0.0.1", .rport = 50000, .lport = 143, .session = "fuzzsession",
	};
	struct passdb_result res;
	(void)passdb_chain_lookup(chain, &req, &res);
	if (res.user == NULL)
		abort();
	for (size_t a = 0; a < res.nfields; a++)
		for (size_t b = a + 1; b < res.nfields; b++)
			if (strcmp(res.fields[a].key, res.fields[b].key) == 0)
				abort();
	passdb_result_free(&res);
	passdb_chain_free(chain);
out:
	free(user);
	free(password);
	free(file);
	return 0;
}
