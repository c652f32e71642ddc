/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_imap_parser.c: proxyd's pre-login IMAP/ManageSieve command parser,
 * fed a client's bytes in pieces. Input: one byte of mode (IMAP tagged, ManageSieve
 * untagged, bare arguments) and piece size, then the bytes. */
#include <stdlib.h>
#include <string.h>

#include "applets/proxyd/imap_parser.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct imap_parser p = { 0 };
	p.mode = (enum imap_parse_mode)(data[0] % 3);
	size_t step = (data[0] >> 2) + 1;
	data++;
	size--;
	/* a copy of exactly size bytes, so that ASan sees any read past the end */
	char *in = malloc(size + 1);
	memcpy(in, data, size);
	size_t off = 0;
	while (off < size) {
		size_t n = size - off < step ? size - off : step, used = 0;
		enum imap_parse_status st;
		if (imap_parser_feed(&p, in + off, n, &used, &st) < 0)
			break;
		if (used > n)
			abort();
		off += used;
		if (st == IMAP_PARSE_TOO_LONG)
			break;
		if (st == IMAP_PARSE_DONE) {
			if (p.nargs > LOGIN_MAX_ARGS)
				abort();
			if (p.mode == IMAP_PARSE_TAGGED && (p.tag == NULL || p.name == NULL))
				abort();
			for (unsigned int i = 0; i < p.nargs; i++)
				if (p.args[i].str == NULL || strlen(p.args[i].str) > p.args[i].len)
					abort();
			(void)imap_args_strings(&p, p.nargs);
		}
		if (used == 0 && st != IMAP_PARSE_DONE && st != IMAP_PARSE_BAD)
			break;
	}
	imap_parser_reset(&p);
	free(in);
	return 0;
}
