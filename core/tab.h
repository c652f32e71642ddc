/* SPDX-License-Identifier: MIT */
/* core/tab.h: the TAB escaping of Dovecot's admin and auth sockets, where fields
 * are TAB-separated and 0x01 escapes 0x01, TAB, CR and LF. Not a line reader. */
#ifndef CORE_TAB_H
#define CORE_TAB_H

#include <stddef.h>

#include "core/str.h"

/* Appends s escaped: 0x01 as 0x01 '1', TAB as 0x01 't', CR as 0x01 'r', LF as 0x01 'n';
 * other bytes as they are. Errors are the strbuf's (its sticky flag). */
void tab_escape(struct strbuf *, const char *s);

/* Unescapes s in place and NUL-terminates the result. Besides the four escapes above,
 * 0x01 '0' gives a NUL byte (so the returned length, not strlen(), is the length) and
 * 0x01 followed by any other byte gives that byte. A lone 0x01 at the end is dropped,
 * as Dovecot does: it escapes nothing. Returns the new length. */
size_t tab_unescape(char *s);

/* Splits line (without its LF) in place on TAB and unescapes each field into fields[].
 * A line always has at least one field: "" is one empty field, "a\t\tb" three.
 * Returns the number of fields; if the line has more than max, the first max are
 * filled and max + 1 is returned, so that callers can either reject the line or
 * ignore the rest. lens may be NULL; otherwise lens[i] gets each field's length, which
 * differs from strlen(fields[i]) only if the field held an escaped NUL. */
size_t tab_split_lens(char *line, char **fields, size_t *lens, size_t max);

/* tab_split_lens() without lengths, for protocols whose fields never carry NUL. */
size_t tab_split(char *line, char **fields, size_t max);

#endif
