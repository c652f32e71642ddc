/* SPDX-License-Identifier: MIT */
#include "core/base64.h"

#include <stdint.h>

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encoded_len(size_t n)
{
	if (n / 3 >= SIZE_MAX / 4)
		return SIZE_MAX;
	return (n + 2) / 3 * 4;
}

size_t
base64_decoded_max(size_t n)
{
	return n / 4 * 3 + (n % 4 > 1 ? n % 4 - 1 : 0);
}

size_t
base64_encode(const void *in, size_t n, char *out, size_t outlen)
{
	const unsigned char *p = in;
	size_t len = base64_encoded_len(n), i, o = 0;
	uint32_t v;

	if (len == SIZE_MAX || outlen <= len) {
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < n) {
		v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
base64_decode(const char *in, size_t n, void *out, size_t outlen, size_t *outn)
{
	unsigned char *o = out;
	size_t len, i, w = 0;
	uint32_t v = 0;
	int c;

	/* only a whole final quantum may carry padding, and then all of it */
	if (n % 4 == 0 && n > 0 && in[n - 1] == '=')
		n -= in[n - 2] == '=' ? 2 : 1;
	if (n % 4 == 1)
		return -1;
	len = base64_decoded_max(n);
	if (len > outlen)
		return -2;
	for (i = 0; i < n; i++) {
		if ((c = b64_value((unsigned char)in[i])) < 0)
			return -1;
		v = v << 6 | (uint32_t)c;
		if (i % 4 == 3) {
			o[w++] = (unsigned char)(v >> 16);
			o[w++] = (unsigned char)(v >> 8);
			o[w++] = (unsigned char)v;
			v = 0;
		}
	}
	if (n % 4 == 2) {
		if (v & 0xf)
			return -1;
		o[w++] = (unsigned char)(v >> 4);
	} else if (n % 4 == 3) {
		if (v & 0x3)
			return -1;
		o[w++] = (unsigned char)(v >> 10);
		o[w++] = (unsigned char)(v >> 2);
	}
	*outn = w;
	return 0;
}
