/* SPDX-License-Identifier: MIT */
/* core/base64.h: RFC 4648 base64, standard alphabet, as SASL and HTTP Basic use it.
 * Not the URL-safe alphabet and not MIME: no line breaks, whitespace is an error. */
#ifndef CORE_BASE64_H
#define CORE_BASE64_H

#include <stddef.h>

/* Length of the padded encoding of n bytes, without the NUL; SIZE_MAX if that would
 * overflow (no buffer is that large, so base64_encode then fails cleanly). */
size_t base64_encoded_len(size_t n);

/* Largest number of bytes that n characters of base64 can decode to. */
size_t base64_decoded_max(size_t n);

/* Encodes n bytes of in into out with padding and a NUL. Returns the length written
 * (without the NUL). If outlen < base64_encoded_len(n) + 1 nothing is encoded, out is
 * "" (when outlen > 0) and 0 is returned; so 0 for n > 0 always means "too small". */
size_t base64_encode(const void *in, size_t n, char *out, size_t outlen);

/* Decodes n characters of in (no NUL needed) into out and sets *outn. Padding may be
 * complete or missing (clients of Dovecot's SASL omit it), never partial: "Zm8=" and
 * "Zm8" decode, "Zg=" does not. Rejected with -1: characters outside the alphabet
 * (whitespace too), '=' anywhere but at the end, a length of 4k+1, and non-zero unused
 * bits in the last character ("Zh==" for "f"), which would give two spellings of one
 * value. Returns -2 if the result would exceed outlen (checked before the characters
 * are). On error *outn is not set and out may hold partial output. */
int base64_decode(const char *in, size_t n, void *out, size_t outlen, size_t *outn);

#endif
