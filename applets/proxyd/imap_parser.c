/* SPDX-License-Identifier: MIT */
/* Implementation notes: a byte-at-a-time state machine. Pre-login commands are a few
 * hundred bytes, so per-byte work costs nothing here, and it lets a command arrive split
 * anywhere (even inside "{12}\r\n") without buffering the raw line. Tokens are written
 * NUL-terminated into one fixed block, so argument pointers never move. */
#include "applets/proxyd/imap_parser.h"

#include <stdlib.h>
#include <string.h>

enum {
	S_START, S_TAG, S_NAME, S_ARGS, S_ATOM, S_QUOTED, S_QUOTED_ESC,
	S_LIT_SIZE, S_LIT_CLOSE, S_LIT_LF, S_LIT_DATA, S_LF, S_SKIP,
};

static int
is_atom_char(unsigned char c)
{
	/* RFC 3501 atom-specials, but ']' allowed: clients send it in tags and atoms */
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '"' &&
	    c != '\\' && c != '%' && c != '*';
}

/* An argument's atom also takes the list-wildcards: Dovecot's parser refuses only '(',
 * ')', '{', '"' and controls there (IS_ATOM_PARSER_INPUT), so an unquoted master login
 * "joe*admin" logs in through Dovecot (tried) and must through mtool too. A backslash
 * stays refused, as the tests have it. */
static int
is_arg_atom_char(unsigned char c)
{
	return is_atom_char(c) || c == '%' || c == '*';
}

void
imap_parser_reset(struct imap_parser *p)
{
	struct imap_parser keep = *p;
	free(p->mem);
	memset(p, 0, sizeof(*p));
	p->mode = keep.mode;
	p->dovecot_limits = keep.dovecot_limits;
	p->stream_cmd = keep.stream_cmd;
	p->sasl_cmd = keep.sasl_cmd;
	p->sasl_content_max = keep.sasl_content_max;
}

void
imap_parser_idle(struct imap_parser *p)
{
	if (p->state == S_START && p->mem != NULL)
		imap_parser_reset(p);
}

void
imap_parser_skip_line(struct imap_parser *p)
{
	p->state = S_SKIP;
	p->skip_done = 1;
}

static size_t
mem_size(const struct imap_parser *p)
{
	return p->dovecot_limits ? IMAP_PARSER_MEM : LOGIN_MAX_CMD;
}

static void
begin_command(struct imap_parser *p)
{
	p->used = p->tok = 0;
	p->tag = p->name = p->error = NULL;
	p->nargs = 0;
	p->list_depth = 0;
	p->literal_left = 0;
	p->literal_nonsync = 0;
	p->streaming = p->sasl = p->skip_done = p->args_overflow = 0;
	p->bad_reply = p->arg_pending = 0;
	p->line_off = p->tok_raw = p->args_start = p->args_start_off = 0;
	p->state = p->mode == IMAP_PARSE_TAGGED ? S_TAG : p->mode == IMAP_PARSE_UNTAGGED ? S_NAME : S_ARGS;
}

static int
name_is(const char *name, const char *want)
{
	if (want == NULL)
		return 0;
	for (; *name && *want; name++, want++)
		if ((*name | 0x20) != (*want | 0x20))
			return 0;
	return *name == *want;
}

/* Returns 0, or -1 when the block is full. */
static int
put(struct imap_parser *p, char c)
{
	if (p->used >= mem_size(p))
		return -1;
	p->mem[p->used++] = c;
	return 0;
}

static int
add_arg(struct imap_parser *p, enum imap_arg_type type, const char *start)
{
	if (p->nargs >= LOGIN_MAX_ARGS) {
		if (!p->dovecot_limits)
			return -1;
		/* Dovecot limits the line, not the count: an argument beyond what any
		 * pre-login command uses is counted and dropped */
		p->args_overflow = 1;
		p->used = p->tok;
		return 0;
	}
	struct imap_arg *a = &p->args[p->nargs++];
	a->type = type;
	a->str = start;
	a->len = strlen(start);
	return 0;
}

int
imap_args_strings(const struct imap_parser *p, unsigned int n)
{
	if (p->nargs != n || p->args_overflow)
		return 0;
	for (unsigned int i = 0; i < n; i++)
		if (p->args[i].type != IMAP_ARG_ATOM && p->args[i].type != IMAP_ARG_STRING)
			return 0;
	return 1;
}

/* A SASL response: sasl_cmd's arguments after the mechanism, or a ManageSieve
 * continuation. */
static int
sasl_arg(const struct imap_parser *p)
{
	return (p->sasl && p->nargs > 0) || (p->mode == IMAP_PARSE_ARGS && p->sasl_content_max);
}

/* Dovecot's token limit: the token and the byte that ends it must fit the input buffer. */
static int
token_full(const struct imap_parser *p)
{
	return p->dovecot_limits && !sasl_arg(p) && p->tok_raw > IMAP_PARSER_TOKEN_MAX;
}

/* An atom needs one more byte after it to be known complete. */
static int
atom_full(const struct imap_parser *p)
{
	return p->dovecot_limits && !sasl_arg(p) && p->tok_raw >= IMAP_PARSER_TOKEN_MAX;
}

/* Pigeonhole's limit on one SASL string. */
static int
sasl_full(const struct imap_parser *p)
{
	return p->sasl_content_max && sasl_arg(p) && p->used - p->tok > p->sasl_content_max;
}

int
imap_parser_feed(struct imap_parser *p, const char *data, size_t len, size_t *used,
    enum imap_parse_status *status)
{
	size_t i = 0, base;

	if (p->mem == NULL && (p->mem = malloc(mem_size(p))) == NULL)
		return -1;
	if (p->state == S_START)
		begin_command(p);
	if (p->arg_pending) {
		/* the owner has handled the streamed argument: reuse its storage */
		p->arg_pending = 0;
		p->nargs = 0;
		p->used = p->tok = p->args_start;
		p->line_off = 0;
	}
	*status = IMAP_PARSE_MORE;
	/* OFF: raw offset in the line of the byte at i (unsigned wrap-around is fine) */
	base = p->line_off;
#define OFF		(base + i)

#define BAD(msg)	do { p->error = (msg); p->state = S_SKIP; goto again; } while (0)
/* an error inside the arguments: with Dovecot's limits, answered with its own text */
#define ARGBAD(msg)	do { p->bad_reply = p->dovecot_limits; BAD(msg); } while (0)
#define PUT(c)		do { if (put(p, (c)) < 0) goto too_long; } while (0)
#define ENDTOK()	do { PUT('\0'); } while (0)
#define TOK		(p->mem + p->tok)
#define STREAM_OUT()	do { if (p->streaming && p->list_depth <= 1) goto arg_out; } while (0)

	while (i < len) {
		unsigned char c = (unsigned char)data[i];
		if (p->sasl && p->nargs > 0 && !p->sasl_content_max &&
		    OFF - p->args_start_off >= IMAP_PARSER_SASL_MAX && c != '\n' && p->state != S_SKIP) {
			p->error = "Authentication response too large";
			goto too_long;
		}
		switch (p->state) {
		case S_TAG:
			if (is_atom_char(c) && c != '+') {
				p->tok_raw++;
				if (atom_full(p))
					goto buffer_full;
				PUT((char)c);
				i++;
				continue;
			}
			if (c == ' ' && p->used > 0) {
				if (p->dovecot_limits && p->used > IMAP_PARSER_TAG_MAX)
					BAD("Invalid tag");
				ENDTOK();
				p->tag = p->mem;
				p->tok = p->used;
				p->tok_raw = 0;
				p->state = S_NAME;
				i++;
				continue;
			}
			BAD(p->used == 0 ? "Empty command" : "Invalid tag");
		case S_NAME:
			if (is_atom_char(c)) {
				p->tok_raw++;
				if (atom_full(p))
					goto buffer_full;
				PUT((char)c);
				i++;
				continue;
			}
			if (p->used == p->tok)
				BAD("Missing command name");
			ENDTOK();
			p->name = TOK;
			p->streaming = name_is(p->name, p->stream_cmd);
			p->sasl = name_is(p->name, p->sasl_cmd);
			p->args_start = p->used;
			p->state = S_ARGS;
			continue;	/* the separator is handled as between arguments */
		case S_ARGS:
			if (c != ' ' && p->dovecot_limits && !p->sasl && !sasl_arg(p) && OFF > IMAP_PARSER_LINE_MAX)
				ARGBAD("IMAP command line too large");
			i++;
			p->tok = p->used;
			p->tok_raw = 1;
			switch (c) {
			case ' ':
				if (p->sasl && p->nargs == 1 && p->args_start_off == 0)
					p->args_start_off = OFF;	/* just after the space */
				continue;
			case '\r':
				p->state = S_LF;
				continue;
			case '\n':
				goto done;
			case '"':
				p->state = S_QUOTED;
				continue;
			case '{':
				p->literal_left = 0;
				p->literal_nonsync = 0;
				p->state = S_LIT_SIZE;
				continue;
			case '(':
				if (p->streaming) {
					/* the owner judges a nested list (ID refuses it) */
					if (add_arg(p, IMAP_ARG_LIST_START, "") < 0)
						BAD("Too many arguments");
					p->list_depth++;
					goto arg_out;
				}
				if (p->dovecot_limits && p->list_depth >= 1)
					ARGBAD("Too many '('");
				if (p->list_depth >= 8 || add_arg(p, IMAP_ARG_LIST_START, "") < 0)
					BAD("Too many arguments");
				p->list_depth++;
				continue;
			case ')':
				if (p->list_depth == 0)
					ARGBAD("Unexpected ')'");
				if (add_arg(p, IMAP_ARG_LIST_END, "") < 0)
					BAD("Too many arguments");
				p->list_depth--;
				STREAM_OUT();
				continue;
			default:
				if (!is_arg_atom_char(c))
					ARGBAD(c >= 0x80 && p->dovecot_limits ? "8bit data in atom" :
					    "Invalid characters in atom");
				PUT((char)c);
				p->state = S_ATOM;
				continue;
			}
		case S_ATOM:
			if (is_arg_atom_char(c)) {
				p->tok_raw++;
				if (atom_full(p))
					goto buffer_full;
				PUT((char)c);
				if (sasl_full(p))
					goto sasl_too_long;
				i++;
				continue;
			}
			ENDTOK();
			if (add_arg(p, IMAP_ARG_ATOM, TOK) < 0)
				BAD("Too many arguments");
			p->state = S_ARGS;
			STREAM_OUT();
			continue;
		case S_QUOTED:
			i++;
			p->tok_raw++;
			if (token_full(p))
				goto buffer_full;
			if (c == '"') {
				ENDTOK();
				if (add_arg(p, IMAP_ARG_STRING, TOK) < 0)
					BAD("Too many arguments");
				p->state = S_ARGS;
				STREAM_OUT();
			} else if (c == '\\') {
				p->state = S_QUOTED_ESC;
			} else if (c == '\r' || c == '\n' || c == '\0') {
				i -= c == '\n';	/* let S_SKIP see the LF */
				ARGBAD(c == '\0' && p->dovecot_limits ? "NULs not allowed in strings" : "Missing '\"'");
			} else {
				PUT((char)c);
				if (sasl_full(p))
					goto sasl_too_long;
			}
			continue;
		case S_QUOTED_ESC:
			i++;
			p->tok_raw++;
			if (token_full(p))
				goto buffer_full;
			if (c == '\r' || c == '\n' || c == '\0') {
				i -= c == '\n';
				ARGBAD("Missing '\"'");
			}
			if (c != '"' && c != '\\') {
				/* as Dovecot: any other escape just loses its backslash */
				if (!p->dovecot_limits) {
					i -= c == '\n';
					BAD("Invalid escape in quoted string");
				}
			}
			PUT((char)c);
			p->state = S_QUOTED;
			continue;
		case S_LIT_SIZE:
			i++;
			if (c >= '0' && c <= '9' && !p->literal_nonsync) {
				/* saturate: whether a huge literal is refused or ends the
				 * connection depends on the '+' that may still come */
				p->literal_left = p->literal_left * 10 + (c - '0');
				if (p->literal_left > LOGIN_MAX_CMD)
					p->literal_left = LOGIN_MAX_CMD + 1;
			} else if (c == '+' && !p->literal_nonsync) {
				p->literal_nonsync = 1;
			} else if (c == '}') {
				p->brace_off = OFF;	/* i is already past the '}' */
				p->state = S_LIT_CLOSE;
			} else {
				i -= c == '\n';
				ARGBAD("Invalid literal size");
			}
			continue;
		case S_LIT_CLOSE:
			i++;
			if (c == '\r')
				continue;
			if (c != '\n')
				ARGBAD("Literal must end the line");
			if (p->sasl_content_max && sasl_arg(p)) {
				if (p->literal_left > p->sasl_content_max)
					goto sasl_too_long;
			} else if (p->dovecot_limits && !p->sasl) {
				/* as Dovecot: the literal may not reach past the line limit */
				if (p->brace_off >= IMAP_PARSER_LINE_MAX ||
				    p->literal_left > IMAP_PARSER_LINE_MAX - p->brace_off) {
					p->error = "Literal too large";
					goto too_long;
				}
			} else if (p->literal_left + 1 > mem_size(p) - p->used) {
				/* +1: the literal's NUL terminator. As Dovecot: a literal that
				 * cannot fit ends the connection, synchronizing or not */
				p->error = "Literal too large";
				goto too_long;
			}
			p->state = S_LIT_DATA;
			p->tok = p->used;
			p->tok_raw = 0;
			if (!p->literal_nonsync) {
				*used = i;
				p->line_off = OFF;
				*status = IMAP_PARSE_LITERAL;
				return 0;
			}
			continue;
		case S_LIT_DATA: {
			size_t n = len - i < p->literal_left ? len - i : p->literal_left;
			if (p->dovecot_limits && !sasl_arg(p) && p->tok_raw + n > IMAP_PARSER_TOKEN_MAX)
				goto buffer_full;
			if (n > mem_size(p) - p->used)
				goto too_long;
			/* login strings cannot hold NUL: eat the literal, then refuse the line */
			if (memchr(data + i, '\0', n) != NULL)
				p->error = "NUL in literal";
			memcpy(p->mem + p->used, data + i, n);
			p->used += n;
			p->tok_raw += n;
			p->literal_left -= n;
			i += n;
			if (p->literal_left > 0)
				continue;
			ENDTOK();
			if (p->error == NULL && add_arg(p, IMAP_ARG_STRING, TOK) < 0)
				p->error = "Too many arguments";
			p->state = p->error ? S_SKIP : S_ARGS;
			if (p->error == NULL)
				STREAM_OUT();
			continue;
		}
		case S_LF:
			i++;
			if (c != '\n')
				ARGBAD(p->dovecot_limits ? "CR sent without LF" : "Expected LF after CR");
			goto done;
		case S_SKIP:
			i++;
			if (c == '\n') {
				if (p->skip_done)
					goto skipped;
				goto bad_now;
			}
			continue;
		}
	again:
		continue;
	}
	*used = i;
	p->line_off = OFF;
	return 0;

arg_out:
	*used = i;
	p->line_off = OFF;
	p->arg_pending = 1;
	*status = IMAP_PARSE_ARG;
	return 0;
done:
	if (p->list_depth != 0) {
		p->error = "Missing ')'";
		p->bad_reply = p->dovecot_limits;
		goto bad_now;
	}
	*used = i;
	*status = IMAP_PARSE_DONE;
	p->state = S_START;
	return 0;
skipped:
	*used = i;
	*status = IMAP_PARSE_SKIPPED;
	p->state = S_START;
	return 0;
bad_now:
	*used = i;
	*status = IMAP_PARSE_BAD;
	p->state = S_START;
	return 0;
sasl_too_long:
	p->error = "Authentication response too large";
	goto too_long;
buffer_full:
	p->error = "Input buffer full";
too_long:
	if (p->error == NULL)
		p->error = "Too long command";
	*used = i;
	*status = IMAP_PARSE_TOO_LONG;
	p->state = S_START;
	return 0;
#undef BAD
#undef ARGBAD
#undef PUT
#undef ENDTOK
#undef TOK
#undef STREAM_OUT
#undef OFF
}
