/* SPDX-License-Identifier: MIT */
/* applets/proxyd/imap_parser.h: reads one pre-login IMAP command (tag, name, arguments:
 * atoms, quoted strings, literals, parenthesised lists) from bytes as they arrive.
 * Not a full IMAP parser: only what a client may send before it is logged in.
 * I/O-agnostic, so the proxy, the unit tests and the fuzzer run the same code. */
#ifndef PROXYD_IMAP_PARSER_H
#define PROXYD_IMAP_PARSER_H

#include <stddef.h>

#include "config.h"

enum imap_arg_type {
	IMAP_ARG_ATOM,		/* includes NIL: compare the text */
	IMAP_ARG_STRING,	/* quoted or literal */
	IMAP_ARG_LIST_START,
	IMAP_ARG_LIST_END,
};

struct imap_arg {
	enum imap_arg_type type;
	const char *str;	/* NUL-terminated; "" for list markers */
	size_t len;
};

enum imap_parse_status {
	IMAP_PARSE_MORE,	/* everything fed was used; the command is not complete */
	IMAP_PARSE_LITERAL,	/* a synchronizing literal was announced: send "+ OK" and go on */
	IMAP_PARSE_DONE,	/* a command is ready: tag, name, args */
	IMAP_PARSE_BAD,		/* the line was malformed (error says why); the line was skipped */
	IMAP_PARSE_TOO_LONG,	/* the command exceeds LOGIN_MAX_CMD; the caller must disconnect */
};

/* What a line starts with. ManageSieve has IMAP's strings and literals but no tags, and
 * its SASL continuations are a bare string. */
enum imap_parse_mode {
	IMAP_PARSE_TAGGED,	/* tag, command name, arguments (IMAP) */
	IMAP_PARSE_UNTAGGED,	/* command name, arguments (ManageSieve): tag is NULL */
	IMAP_PARSE_ARGS,	/* arguments only: tag and name are NULL */
};

struct imap_parser {
	enum imap_parse_mode mode;	/* set by the owner; kept by imap_parser_reset() */
	char *mem;		/* token storage, LOGIN_MAX_CMD bytes; allocated on first use */
	size_t used;
	size_t tok;		/* offset of the token being written */
	int state;
	size_t literal_left;
	unsigned int literal_nonsync : 1;
	unsigned int list_depth;

	/* results, valid after DONE until the next feed or reset */
	const char *tag;	/* NULL until parsed */
	const char *name;
	struct imap_arg args[LOGIN_MAX_ARGS];
	unsigned int nargs;
	const char *error;	/* after BAD or TOO_LONG */
};

/* Feeds bytes; *used says how many were taken. After DONE or BAD, feed the rest again
 * (after the caller handled the command) — the parser resets itself on the next feed.
 * Returns -1 only when the storage cannot be allocated (out of memory). */
int imap_parser_feed(struct imap_parser *, const char *data, size_t len, size_t *used,
    enum imap_parse_status *status);

/* Frees the storage (the mode stays); the parser may be fed again afterwards. */
void imap_parser_reset(struct imap_parser *);

/* True if the command's arguments are exactly n strings/atoms (no lists). */
int imap_args_strings(const struct imap_parser *, unsigned int n);

#endif
