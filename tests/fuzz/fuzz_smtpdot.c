/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_smtpdot.c: the end of an SMTP/LMTP DATA stream found in pieces of any
 * size, and BDAT dot-stuffing, checked against each other: stuffed text scanned as DATA
 * gives the text back. Input: one byte of piece size, then the stream. */
#include <stdlib.h>
#include <string.h>

#include "core/smtpdot.h"
#include "core/str.h"
#include "tests/fuzz/fuzz.h"

static int
collect(void *arg, const char *data, size_t len)
{
	strbuf_append(arg, data, len);
	return ((struct strbuf *)arg)->error ? -1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = data[0] + 1;
	data++;
	size--;
	char *in = malloc(size ? size : 1);
	memcpy(in, data, size);

	/* DATA: scanned in pieces */
	struct smtpdot d = { 0 };
	struct strbuf kept;
	strbuf_init(&kept, size + 16);
	int done = 0;
	size_t off = 0;
	while (off < size && !done) {
		size_t n = size - off < step ? size - off : step;
		size_t used = smtpdot_data_scan(&d, in + off, n, collect, &kept, &done);
		if (used == (size_t)-1 || used > n)
			abort();
		off += used;
		if (!done && used != n)
			abort();
	}
	if (kept.len > off)
		abort();

	/* BDAT: stuffed, then scanned as DATA with its end line, must give the stuffed text */
	struct smtpdot s = { 0 };
	struct strbuf stuffed, back;
	strbuf_init(&stuffed, 2 * size + 16);
	strbuf_init(&back, 2 * size + 16);
	for (off = 0; off < size; off += step)
		if (smtpdot_stuff(&s, in + off, size - off < step ? size - off : step, collect, &stuffed) < 0)
			abort();
	if (smtpdot_in_line(&s))
		strbuf_puts(&stuffed, "\r\n");
	strbuf_puts(&stuffed, ".\r\n");
	struct smtpdot d2 = { 0 };
	done = 0;
	size_t used = smtpdot_data_scan(&d2, stuffed.s, stuffed.len, collect, &back, &done);
	if (!done || used != stuffed.len || back.len + 3 != stuffed.len ||
	    memcmp(back.s, stuffed.s, back.len) != 0)
		abort();
	strbuf_free(&back);
	strbuf_free(&stuffed);
	strbuf_free(&kept);
	free(in);
	return 0;
}
