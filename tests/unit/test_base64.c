/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/base64.h"

#include <stdint.h>

/* RFC 4648 section 10 */
static const struct {
	const char *plain, *enc;
} rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

TEST(base64_rfc4648_vectors)
{
	char enc[16];
	unsigned char dec[16];
	size_t n, outn;

	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		const char *p = rfc4648[i].plain, *e = rfc4648[i].enc;
		CHECK_INT(base64_encoded_len(strlen(p)), strlen(e));
		n = base64_encode(p, strlen(p), enc, sizeof(enc));
		CHECK_INT(n, strlen(e));
		CHECK_STR(enc, e);

		outn = 99;
		CHECK_INT(base64_decode(e, strlen(e), dec, sizeof(dec), &outn), 0);
		CHECK_MEM(dec, outn, p, strlen(p));
		CHECK(base64_decoded_max(strlen(e)) >= strlen(p));

		/* the same without padding */
		size_t unpadded = strcspn(e, "=");
		outn = 99;
		CHECK_INT(base64_decode(e, unpadded, dec, sizeof(dec), &outn), 0);
		CHECK_MEM(dec, outn, p, strlen(p));
		CHECK_INT(base64_decoded_max(unpadded), strlen(p));
	}
}

TEST(base64_rejects)
{
	static const char *const bad[] = {
		"Z", "Zm9vY", "Zg=", "Zg===", "=", "==", "===", "====", "Zg=a", "=Zg=",
		"Zm=v", "Zg==Zg==", "Zm9v!", "Zm 9v", "Zm9v\n", " Zm9v", "Zm9v\r\n",
		"Zm9-", "Zm9_", "Zh==", "Zh", "Zm9=", "Zm9", "Zm\xc3\xa4",
	};
	unsigned char dec[16];
	size_t outn = 77;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (base64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec), &outn) != -1)
			unit_fail(__FILE__, __LINE__, "base64_decode(\"%s\") accepted", bad[i]);
	}
	CHECK_INT(outn, 77);
	/* an embedded NUL counts as a character, not as the end */
	CHECK_INT(base64_decode("Zm9v\0Zm9v", 9, dec, sizeof(dec), &outn), -1);
	/* the canonical spellings of the two rejected ones above */
	CHECK_INT(base64_decode("Zg", 2, dec, sizeof(dec), &outn), 0);
	CHECK_INT(base64_decode("Zm8", 3, dec, sizeof(dec), &outn), 0);
}

TEST(base64_output_too_small)
{
	char enc[9];
	unsigned char dec[8];
	size_t outn = 77;

	/* encode: room for the characters but not the NUL is too small */
	memset(enc, 'x', sizeof(enc));
	CHECK_INT(base64_encode("foobar", 6, enc, 8), 0);
	CHECK_STR(enc, "");
	CHECK_INT(base64_encode("foobar", 6, enc, 9), 8);
	CHECK_STR(enc, "Zm9vYmFy");
	CHECK_INT(base64_encode("f", 1, enc, 1), 0);
	CHECK_INT(base64_encode("", 0, enc, 1), 0);
	CHECK_STR(enc, "");
	CHECK_INT(base64_encode("f", 1, enc, 0), 0);
	CHECK_INT(base64_encoded_len(SIZE_MAX), SIZE_MAX);
	CHECK_INT(base64_encoded_len(SIZE_MAX / 4 * 3 - 3), (SIZE_MAX / 4 - 1) * 4);

	CHECK_INT(base64_decode("Zm9vYmFy", 8, dec, 5, &outn), -2);
	CHECK_INT(base64_decode("Zm9vYg==", 8, dec, 3, &outn), -2);
	CHECK_INT(base64_decode("Zm9vYg", 6, dec, 3, &outn), -2);
	CHECK_INT(outn, 77);
	CHECK_INT(base64_decode("Zm9vYg==", 8, dec, 4, &outn), 0);
	CHECK_MEM(dec, outn, "foob", 4);
	CHECK_INT(base64_decode("Zm9vYmFy", 8, dec, 6, &outn), 0);
	CHECK_MEM(dec, outn, "foobar", 6);
	CHECK_INT(base64_decode("", 0, NULL, 0, &outn), 0);
	CHECK_INT(outn, 0);
}

TEST(base64_binary_round_trip)
{
	unsigned char all[256], dec[256];
	char enc[345];
	size_t outn;
	uint32_t rnd = 1;

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	CHECK_INT(base64_encode(all, sizeof(all), enc, sizeof(enc)), 344);
	CHECK_INT(base64_decode(enc, 344, dec, sizeof(dec), &outn), 0);
	CHECK_MEM(dec, outn, all, sizeof(all));

	/* every length, every tail shape, random content */
	for (size_t len = 0; len <= sizeof(all); len++) {
		unsigned char in[256];
		for (size_t i = 0; i < len; i++) {
			rnd = rnd * 1103515245 + 12345;
			in[i] = (unsigned char)(rnd >> 16);
		}
		size_t n = base64_encode(in, len, enc, sizeof(enc));
		CHECK_INT(n, base64_encoded_len(len));
		CHECK_INT(base64_decode(enc, n, dec, len, &outn), 0);
		CHECK_MEM(dec, outn, in, len);
	}
}
