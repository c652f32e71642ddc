/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_passwdfile.c: a passwd-file as passdb passwd-file reads it (the file may
 * be written by a provisioning tool fed by users: names, extra fields), then every user
 * looked up, and the file read again after a change. Input: the file, NUL, a second
 * version of it. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "core/passwd_file.h"
#include "tests/fuzz/fuzz.h"

static void
check(struct passwd_file *pf, const char *text)
{
	if (passwd_file_sync(pf) != 1)
		return;
	size_t n = passwd_file_count(pf);
	/* every line's first field that is a user must be found again */
	char *copy = strdup(text), *save = NULL;
	size_t found = 0;
	for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (colon != NULL)
			*colon = '\0';
		const struct passwd_entry *e = passwd_file_lookup(pf, line);
		if (e != NULL) {
			if (strcmp(e->user, line) != 0 || e->line == 0)
				abort();
			found++;
		}
	}
	if (n == 0 && found)
		abort();
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *first = fuzz_take(&data, &size, '\0');
	fuzz_dir_clean();
	char path[600];
	strcpy(path, fuzz_write_file("passwd", first, strlen(first)));
	struct passwd_file *pf = passwd_file_new(path, 1);
	check(pf, first);
	if (size > 0) {
		/* a new version: another inode, so the sync sees it whatever the clock says */
		char *second = fuzz_strndup(data, size);
		rename(fuzz_write_file("passwd.new", second, strlen(second)), path);
		check(pf, second);
		free(second);
	}
	passwd_file_free(pf);
	free(first);
	return 0;
}
