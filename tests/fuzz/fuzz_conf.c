/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_conf.c: the config parser over whole files with !include, !include_try,
 * <file values and $variables, through a private temporary directory; then the schema
 * check and the registry's (core/conf_known.h) with its -n dump, the protocol filter and
 * the typed getters over every setting, and overrides.
 * Input: files separated by NUL bytes: main.conf, then files named "1", "2", ... that
 * main.conf may include ("!include 1", "!include_try *"). Inputs naming /dev, /proc,
 * /sys, /run, /tmp or ".." are skipped: a FIFO or /dev/zero would block the fuzzer, not
 * mtool's users (config files are the administrator's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/conf_known.h"
#include "tests/fuzz/fuzz.h"

static const struct conf_key schema[] = {
	{ "", "log_path" }, { "", "protocols" }, { "", "login_trusted_networks" },
	{ "", "ssl" }, { "", "mail_max_userip_connections" },
	{ "service", "*" }, { "service/inet_listener", "port" }, { "service/inet_listener", "ssl" },
	{ "passdb", "driver" }, { "passdb", "args" },
	{ "protocol", NULL }, { "protocol", "imap_id_send" }, { "local", NULL }, { "remote", NULL },
	{ NULL, NULL },
};

static const char *const services[] = { "imap-login", "stats inet_listener", NULL };
static const struct conf_applet app = { "fuzz", schema, services, 'p' };

static void
walk(const struct conf_node *n, int depth)
{
	if (depth > CONF_SECTION_DEPTH + 1)
		abort();
	for (const struct conf_node *c = n->children; c != NULL; c = c->next) {
		if (c->parent != n || c->key == NULL || c->file == NULL)
			abort();
		if (c->value == NULL) {
			walk(c, depth + 1);
			continue;
		}
		int b;
		unsigned long long u;
		(void)conf_parse_bool(c, &b, NULL);
		(void)conf_parse_uint(c, 1000000, &u, NULL);
		(void)conf_parse_time_ms(c, &u, NULL);
		(void)conf_parse_size(c, &u, NULL);
		if (conf_find(n, c->key) == NULL)
			abort();
	}
}

static int
unsafe(const char *s)
{
	static const char *const bad[] = { "/dev", "/proc", "/sys", "/run", "/tmp", ".." };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(s, bad[i]) != NULL)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *files[9];
	size_t nfiles = 0;
	while (nfiles < 9 && (size > 0 || nfiles == 0))
		files[nfiles++] = fuzz_take(&data, &size, '\0');
	int skip = 0;
	for (size_t i = 0; i < nfiles; i++)
		skip |= unsafe(files[i]);
	if (skip)
		goto out;

	fuzz_dir_clean();
	char main_path[512];
	snprintf(main_path, sizeof(main_path), "%s", fuzz_write_file("main.conf", files[0], strlen(files[0])));
	for (size_t i = 1; i < nfiles; i++) {
		char name[4];
		snprintf(name, sizeof(name), "%zu", i);
		fuzz_write_file(name, files[i], strlen(files[i]));
	}
	FILE *errf = fopen("/dev/null", "w");
	char *ov[] = { "protocol/imap/ssl=yes", "passdb/args=x", "service/a/b/c=d", "=x", "k" };
	struct conf *c = conf_load(main_path, ov, sizeof(ov) / sizeof(ov[0]), errf);
	if (c != NULL) {
		const struct conf_node *root = conf_root(c);
		walk(root, 0);
		(void)conf_check(c, schema, errf);
		struct conf_unused u;
		(void)conf_known_check(c, &app, &u, errf);
		conf_known_dump(c, &u, "fuzz", errf);
		conf_unused_free(&u);
		(void)conf_get_proto(c, "imap", "ssl", NULL);
		for (const struct conf_node *s = NULL; (s = conf_next_section(root, s, NULL)) != NULL;)
			(void)conf_get(s, "driver", NULL);
		conf_free(c);
	}
	/* the same text from memory, relative includes from the same directory */
	char name[600];
	snprintf(name, sizeof(name), "%s/mem.conf", fuzz_dir());
	conf_free(conf_load_string(name, files[0], NULL, 0, errf));
	fclose(errf);
out:
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	return 0;
}
