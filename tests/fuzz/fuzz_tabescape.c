/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_tabescape.c: Dovecot's TAB-escaped lines (auth, ipc, anvil, director
 * admin): splitting and unescaping a peer's line, and escape/unescape round trips. */
#include <stdlib.h>
#include <string.h>

#include "core/dline.h"
#include "core/str.h"
#include "core/tab.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_strndup(data, size);
	char *fields[DLINE_MAX_FIELDS];
	size_t lens[DLINE_MAX_FIELDS];
	size_t n = tab_split_lens(line, fields, lens, DLINE_MAX_FIELDS);
	if (n == 0 || n > DLINE_MAX_FIELDS + 1)
		abort();
	for (size_t i = 0; i < n && i < DLINE_MAX_FIELDS; i++) {
		if (strlen(fields[i]) > lens[i] || fields[i][lens[i]] != '\0')
			abort();
		/* a field without NUL escapes back to something that unescapes to it */
		if (strlen(fields[i]) != lens[i])
			continue;
		struct strbuf sb;
		strbuf_init(&sb, 2 * lens[i] + 16);
		tab_escape(&sb, fields[i]);
		if (sb.error || strchr(sb.s, '\t') || strchr(sb.s, '\n') || strchr(sb.s, '\r'))
			abort();
		size_t back = tab_unescape(sb.s);
		if (back != lens[i] || memcmp(sb.s, fields[i], back) != 0)
			abort();
		strbuf_free(&sb);
	}
	free(line);
	line = fuzz_strndup(data, size);
	char *small[3];
	(void)tab_split(line, small, 3);
	free(line);
	return 0;
}
