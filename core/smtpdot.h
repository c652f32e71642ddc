/* SPDX-License-Identifier: MIT */
/* core/smtpdot.h: the byte-level rules of an SMTP/LMTP message body (RFC 5321 4.5.2):
 * finding the final "." line of a DATA stream, and dot-stuffing raw text (BDAT chunks)
 * into that form. Fed with bytes in pieces of any size; no I/O and no allocation: what
 * is to be kept goes to the caller's out() function. Not a line reader: lines may be
 * of any length. */
#ifndef CORE_SMTPDOT_H
#define CORE_SMTPDOT_H

#include <stddef.h>

/* Zero-initialised: at the start of a line. */
struct smtpdot {
	int state;
};

/* Receives bytes to keep; returns 0, or -1 to stop the scan (its error). */
typedef int smtpdot_out_fn(void *arg, const char *data, size_t len);

/* Scans a DATA stream as it arrives: every byte before the final "." line goes to out
 * unchanged (still dot-stuffed, CRLFs as sent); the "." line itself (".\r\n", or ".\n"
 * from a client with bare LFs) does not. Returns the number of bytes of in that belong
 * to the message, its end line included: after *done is set, in[return value..] is what
 * the client sent after DATA (pipelined commands). Returns (size_t)-1 if out failed.
 * A "." or ".\r" at the end of in is held back until the next call decides. */
size_t smtpdot_data_scan(struct smtpdot *, const char *in, size_t len, smtpdot_out_fn *out,
    void *arg, int *done);

/* Dot-stuffs raw message text (a BDAT chunk): a line that starts with '.' gets a second
 * one. Returns 0, or -1 if out failed. */
int smtpdot_stuff(struct smtpdot *, const char *in, size_t len, smtpdot_out_fn *out, void *arg);

/* After smtpdot_stuff(): 1 if the text so far ends inside a line, so that a CRLF must
 * come before the final ".". */
int smtpdot_in_line(const struct smtpdot *);

#endif
