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

void
imap_parser_reset(struct imap_parser *p)
{
	enum imap_parse_mode mode = p->mode;
	free(p->mem);
	memset(p, 0, sizeof(*p));
	p->mode = mode;
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
	p->state = p->mode == IMAP_PARSE_TAGGED ? S_TAG : p->mode == IMAP_PARSE_UNTAGGED ? S_NAME : S_ARGS;
}

/* Returns 0, or -1 when the block is full. */
static int
put(struct imap_parser *p, char c)
{
	if (p->used >= LOGIN_MAX_CMD)
		return -1;
	p->mem[p->used++] = c;
	return 0;
}

static int
add_arg(struct imap_parser *p, enum imap_arg_type type, const char *start)
{
	if (p->nargs >= LOGIN_MAX_ARGS)
		return -1;
	struct imap_arg *a = &p->args[p->nargs++];
	a->type = type;
	a->str = start;
	a->len = strlen(start);
	return 0;
}

int
imap_args_strings(const struct imap_parser *p, unsigned int n)
{
	if (p->nargs != n)
		return 0;
	for (unsigned int i = 0; i < n; i++)
		if (p->args[i].type != IMAP_ARG_ATOM && p->args[i].type != IMAP_ARG_STRING)
			return 0;
	return 1;
}

int
imap_parser_feed(struct imap_parser *p, const char *data, size_t len, size_t *used,
    enum imap_parse_status *status)
{
	size_t i = 0;

	if (p->mem == NULL && (p->mem = malloc(LOGIN_MAX_CMD)) == NULL)
		return -1;
	if (p->state == S_START)
		begin_command(p);
	*status = IMAP_PARSE_MORE;

#define BAD(msg)	do { p->error = (msg); p->state = S_SKIP; goto again; } while (0)
#define PUT(c)		do { if (put(p, (c)) < 0) goto too_long; } while (0)
#define ENDTOK()	do { PUT('\0'); } while (0)
#define TOK		(p->mem + p->tok)

	while (i < len) {
		unsigned char c = (unsigned char)data[i];
		switch (p->state) {
		case S_TAG:
			if (is_atom_char(c) && c != '+') {
				PUT((char)c);
				i++;
				continue;
			}
			if (c == ' ' && p->used > 0) {
				ENDTOK();
				p->tag = p->mem;
				p->tok = p->used;
				p->state = S_NAME;
				i++;
				continue;
			}
			BAD(p->used == 0 ? "Empty command" : "Invalid tag");
		case S_NAME:
			if (is_atom_char(c)) {
				PUT((char)c);
				i++;
				continue;
			}
			if (p->used == p->tok)
				BAD("Missing command name");
			ENDTOK();
			p->name = TOK;
			p->state = S_ARGS;
			continue;	/* the separator is handled as between arguments */
		case S_ARGS:
			i++;
			p->tok = p->used;
			switch (c) {
			case ' ':
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
				if (p->list_depth >= 8 || add_arg(p, IMAP_ARG_LIST_START, "") < 0)
					BAD("Too many arguments");
				p->list_depth++;
				continue;
			case ')':
				if (p->list_depth == 0)
					BAD("Unexpected ')'");
				if (add_arg(p, IMAP_ARG_LIST_END, "") < 0)
					BAD("Too many arguments");
				p->list_depth--;
				continue;
			default:
				if (!is_atom_char(c))
					BAD("Invalid characters in atom");
				PUT((char)c);
				p->state = S_ATOM;
				continue;
			}
		case S_ATOM:
			if (is_atom_char(c)) {
				PUT((char)c);
				i++;
				continue;
			}
			ENDTOK();
			if (add_arg(p, IMAP_ARG_ATOM, TOK) < 0)
				BAD("Too many arguments");
			p->state = S_ARGS;
			continue;
		case S_QUOTED:
			i++;
			if (c == '"') {
				ENDTOK();
				if (add_arg(p, IMAP_ARG_STRING, TOK) < 0)
					BAD("Too many arguments");
				p->state = S_ARGS;
			} else if (c == '\\') {
				p->state = S_QUOTED_ESC;
			} else if (c == '\r' || c == '\n' || c == '\0') {
				i -= c == '\n';	/* let S_SKIP see the LF */
				BAD("Missing '\"'");
			} else {
				PUT((char)c);
			}
			continue;
		case S_QUOTED_ESC:
			i++;
			if (c != '"' && c != '\\') {
				i -= c == '\n';
				BAD("Invalid escape in quoted string");
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
				p->state = S_LIT_CLOSE;
			} else {
				i -= c == '\n';
				BAD("Invalid literal size");
			}
			continue;
		case S_LIT_CLOSE:
			i++;
			if (c == '\r')
				continue;
			if (c != '\n')
				BAD("Literal must end the line");
			/* +1: the literal's NUL terminator */
			/* as Dovecot: a literal that cannot fit ends the connection,
			 * synchronizing or not */
			if (p->literal_left + 1 > LOGIN_MAX_CMD - p->used) {
				p->error = "Literal too large";
				goto too_long;
			}
			p->state = S_LIT_DATA;
			p->tok = p->used;
			if (!p->literal_nonsync) {
				*used = i;
				*status = IMAP_PARSE_LITERAL;
				return 0;
			}
			continue;
		case S_LIT_DATA: {
			size_t n = len - i < p->literal_left ? len - i : p->literal_left;
			/* login strings cannot hold NUL: eat the literal, then refuse the line */
			if (memchr(data + i, '\0', n) != NULL)
				p->error = "NUL in literal";
			memcpy(p->mem + p->used, data + i, n);
			p->used += n;
			p->literal_left -= n;
			i += n;
			if (p->literal_left > 0)
				continue;
			ENDTOK();
			if (p->error == NULL && add_arg(p, IMAP_ARG_STRING, TOK) < 0)
				p->error = "Too many arguments";
			p->state = p->error ? S_SKIP : S_ARGS;
			continue;
		}
		case S_LF:
			i++;
			if (c != '\n')
				BAD("Expected LF after CR");
			goto done;
		case S_SKIP:
			i++;
			if (c == '\n')
				goto bad_now;
			continue;
		}
	again:
		continue;
	}
	*used = i;
	return 0;

done:
	if (p->list_depth != 0) {
		p->error = "Missing ')'";
		goto bad_now;
	}
	*used = i;
	*status = IMAP_PARSE_DONE;
	p->state = S_START;
	return 0;
bad_now:
	*used = i;
	*status = IMAP_PARSE_BAD;
	p->state = S_START;
	return 0;
too_long:
	if (p->error == NULL)
		p->error = "Too long command";
	*used = i;
	*status = IMAP_PARSE_TOO_LONG;
	p->state = S_START;
	return 0;
#undef BAD
#undef PUT
#undef ENDTOK
#undef TOK
}
