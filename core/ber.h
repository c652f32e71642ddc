/* SPDX-License-Identifier: MIT */
/* core/ber.h: the subset of ASN.1 BER that LDAPv3 uses (RFC 4511 section 5.1): one-byte
 * tags, definite lengths of at most 4 length bytes, integers of at most 4 bytes. A
 * decoder that never reads past its input and refuses everything else; an encoder into
 * a core/str.h strbuf (its max is the message limit). */
#ifndef CORE_BER_H
#define CORE_BER_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* Universal and LDAP's context tags as one byte (class, constructed bit, number). */
#define BER_BOOLEAN	0x01
#define BER_INTEGER	0x02
#define BER_OCTETS	0x04
#define BER_ENUM	0x0a
#define BER_SEQUENCE	0x30
#define BER_SET		0x31

/* What is left to read of one element's contents (or of a whole message). */
struct ber {
	const uint8_t *p;
	size_t len;
};

/* How long the element at the start of p is, header included: 1 and *total when it is
 * all there, 0 when more bytes are needed, -1 when it cannot be BER we take (multi-byte
 * tag, indefinite length, a length field over 4 bytes) or is longer than max. */
int ber_frame(const uint8_t *p, size_t n, size_t max, size_t *total);

/* Takes the next element off b: its tag and its contents (val). 0, or -1 when b ends or
 * holds no well-formed element. */
int ber_next(struct ber *b, unsigned int *tag, struct ber *val);
/* ber_next() that wants the given tag. */
int ber_expect(struct ber *b, unsigned int tag, struct ber *val);
/* An INTEGER or ENUMERATED (by tag) of 1 to 4 bytes, into *v. 0 or -1. */
int ber_get_int(struct ber *b, unsigned int tag, long *v);

/* Encoder. ber_begin() writes the tag and room for a short length and returns where
 * the element starts; ber_end() sets its length (moving the contents when the length
 * needs the long form). Errors stick in the strbuf. */
size_t ber_begin(struct strbuf *, unsigned int tag);
void ber_end(struct strbuf *, size_t start);
void ber_put_int(struct strbuf *, unsigned int tag, long v);
void ber_put_octets(struct strbuf *, unsigned int tag, const void *s, size_t len);

#endif
