/* SPDX-License-Identifier: MIT */
/* core/xtext.h: RFC 3461 xtext, the encoding of SMTP/LMTP parameter values (XCLIENT,
 * ORCPT, XRCPTFORWARD): printable ASCII stays, '+', '=' and everything else is "+XX". */
#ifndef CORE_XTEXT_H
#define CORE_XTEXT_H

#include "core/str.h"

/* Appends s encoded; errors are the strbuf's (its sticky flag). */
void xtext_encode(struct strbuf *, const char *s);

/* Decodes s in place. Returns 0, or -1 if a '+' is not followed by two hex digits or a
 * byte (encoded or not) is a control character, a space or not ASCII: XCLIENT values
 * never hold those. */
int xtext_decode(char *s);

#endif
