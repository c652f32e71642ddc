/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_xtext.c: RFC 3461 xtext as XCLIENT and ORCPT values arrive, and the
 * round trip of what decodes. */
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "core/xtext.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	struct strbuf sb;
	strbuf_init(&sb, 4 * size + 16);
	xtext_encode(&sb, s);
	char *enc = strdup(sb.s);
	if (sb.error || xtext_decode(enc) != 0 || strcmp(enc, s) != 0) {
		/* decoding refuses control characters, spaces and non-ASCII that encoding keeps
		 * as +XX: only a string without them must round-trip */
		for (const unsigned char *p = (const unsigned char *)s; *p; p++)
			if (*p <= ' ' || *p >= 0x7f)
				goto skip;
		abort();
	}
skip:
	free(enc);
	strbuf_free(&sb);
	(void)xtext_decode(s);
	free(s);
	return 0;
}
