/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_replicator_listing.c: replicatord's parser of the doveadm server's
 * user list (listing.c's listing_parse(): {"userList":["user1",...]} with JSON string
 * escapes), the line alone; fuzz_replicator_doveadm has it inside the conversation.
 * Input: the line. */
#include <stdlib.h>
#include <string.h>

#include "applets/replicatord/replicatord.h"
#include "tests/fuzz/fuzz.h"

static void
add(void *arg, const char *name)
{
	/* a name that does not fit the queue's 255 bytes is never handed on */
	if (strlen(name) > 255)
		abort();
	(*(size_t *)arg)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_strndup(data, size);
	size_t n = 0, len = strlen(line);
	if (listing_parse(line, add, &n) == 0 &&
	    (strncmp(line, "{\"userList\":[", 13) != 0 || len < 15 || strcmp(line + len - 2, "]}") != 0))
		abort();
	free(line);
	return 0;
}
