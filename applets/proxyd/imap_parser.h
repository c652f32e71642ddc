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
	IMAP_PARSE_TOO_LONG,	/* a limit was exceeded (error says which); the caller must disconnect */
	IMAP_PARSE_ARG,		/* stream_cmd: one argument is ready in args[0] (see below) */
	IMAP_PARSE_SKIPPED,	/* imap_parser_skip_line() reached the end of the line */
};

/* What a line starts with. ManageSieve has IMAP's strings and literals but no tags, and
 * its SASL continuations are a bare string. */
enum imap_parse_mode {
	IMAP_PARSE_TAGGED,	/* tag, command name, arguments (IMAP) */
	IMAP_PARSE_UNTAGGED,	/* command name, arguments (ManageSieve): tag is NULL */
	IMAP_PARSE_ARGS,	/* arguments only: tag and name are NULL */
};

/* Dovecot's imap-login limits (docs/dovecot-login-behaviour.md §7, measured): a token must
 * fit its 1026-byte input buffer with the byte that ends it, an argument may not start
 * more than 8192 bytes into the line, a literal may not reach past byte 8192, lists nest
 * one deep; AUTHENTICATE's initial response may fill 8192 bytes with its CR. */
#define IMAP_PARSER_TOKEN_MAX	1026
#define IMAP_PARSER_LINE_MAX	8192
#define IMAP_PARSER_SASL_MAX	8192
#define IMAP_PARSER_TAG_MAX	126
/* tag, name and mechanism are tokens, each at most IMAP_PARSER_TOKEN_MAX */
#define IMAP_PARSER_MEM		(IMAP_PARSER_SASL_MAX + 3 * IMAP_PARSER_TOKEN_MAX + 64)

struct imap_parser {
	enum imap_parse_mode mode;	/* set by the owner; kept by imap_parser_reset() */
	/* Dovecot's limits (IMAP; set by the owner, kept by reset). Without dovecot_limits
	 * the only limit is LOGIN_MAX_CMD bytes for the whole command. */
	unsigned int dovecot_limits : 1;
	/* Command whose arguments are handed out one at a time (IMAP ID, which Dovecot reads
	 * the same way, so its length has no limit): each complete argument at the top level
	 * or inside the first list comes as IMAP_PARSE_ARG in args[0] (a LIST_START for '(',
	 * a LIST_END for ')'), then the storage is reused; the end of the line is DONE with
	 * no arguments. */
	const char *stream_cmd;
	/* Command whose arguments are not limited per token but together, to
	 * IMAP_PARSER_SASL_MAX bytes after the name (AUTHENTICATE's initial response). */
	const char *sasl_cmd;
	/* With this set (ManageSieve), sasl_cmd's strings after the first, and every string
	 * in IMAP_PARSE_ARGS mode, may hold this many bytes each instead (Pigeonhole's limit),
	 * and the line limit does not apply to them. */
	size_t sasl_content_max;
	char *mem;		/* token storage; allocated on first use */
	size_t used;
	size_t tok;		/* offset of the token being written */
	int state;
	size_t literal_left;
	unsigned int literal_nonsync : 1;
	unsigned int streaming : 1;	/* this command is stream_cmd */
	unsigned int sasl : 1;		/* this command is sasl_cmd */
	unsigned int skip_done : 1;	/* skipping on the owner's behalf */
	unsigned int args_overflow : 1;	/* more than LOGIN_MAX_ARGS arguments (not kept) */
	unsigned int list_depth;
	size_t line_off;	/* raw bytes of the line so far (since the last ARG when streaming) */
	size_t tok_raw;		/* raw bytes of the current token */
	size_t args_start;	/* storage offset where the arguments begin */

	/* results, valid after DONE until the next feed or reset */
	const char *tag;	/* NULL until parsed */
	const char *name;
	struct imap_arg args[LOGIN_MAX_ARGS];
	unsigned int nargs;
	const char *error;	/* after BAD or TOO_LONG */
	/* after BAD: Dovecot answers "<tag> BAD <error>" and does not count it as a bad
	 * command (an error inside the arguments, dovecot_limits only) */
	unsigned int bad_reply : 1;
	unsigned int arg_pending : 1;	/* an ARG was handed out; drop it on the next feed */
	size_t brace_off;	/* line offset just after a literal's '}' */
	size_t args_start_off;	/* sasl_cmd: line offset after the mechanism and its space */
};

/* Feeds bytes; *used says how many were taken. After DONE or BAD, feed the rest again
 * (after the caller handled the command) — the parser resets itself on the next feed.
 * Returns -1 only when the storage cannot be allocated (out of memory). */
int imap_parser_feed(struct imap_parser *, const char *data, size_t len, size_t *used,
    enum imap_parse_status *status);

/* Frees the storage (the mode and limits stay); the parser may be fed again afterwards. */
void imap_parser_reset(struct imap_parser *);

/* Frees the storage if no command is half read (call when the input is drained), so
 * that an idle connection holds none. */
void imap_parser_idle(struct imap_parser *);

/* After an ARG: ignore the rest of the line; the next feed reports SKIPPED at its end. */
void imap_parser_skip_line(struct imap_parser *);

/* True if the command's arguments are exactly n strings/atoms (no lists). */
int imap_args_strings(const struct imap_parser *, unsigned int n);

#endif
