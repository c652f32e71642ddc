/* SPDX-License-Identifier: MIT */
#include "core/conf.h"
#include "core/conf_known.h"
#include "core/str.h"
#include "core/wildcard.h"
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHUNK_SIZE	16384
#define IS_WHITE(c)	((c) == ' ' || (c) == '\t' || (c) == '\r')
#define SHOW_MAX	80	/* bytes of an offending line quoted in an error */
#define LINE_TOOLONG	1
#define LINE_NUL	2

/* Every node and string lives in a list of chunks freed at once by conf_free(). */
struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct conf {
	struct conf_node root;
	struct chunk *chunks;
};

struct parse {
	struct conf *conf;
	FILE *errf;
	int nerrors;
	int oom;
	/* One logical line, shared by every input: a statement is done with before an
	 * !include reads on, and a continued line never spans an !include. */
	char *line;
};

struct input {
	const char *path;		/* arena copy: node->file and base of relative paths */
	FILE *fp;			/* NULL: read text */
	const char *text;
	unsigned int line;		/* physical lines read so far */
	dev_t dev;			/* of fp, to find include loops */
	ino_t ino;
	int depth;			/* of !include */
	const struct input *prev;	/* the including input */
	struct conf_node *cur;		/* section being filled */
	unsigned int open[CONF_SECTION_DEPTH];	/* lines of the sections opened here */
	int nopen;
	unsigned long skip;		/* sections ignored beyond CONF_SECTION_DEPTH */
};

static void *
conf_alloc(struct conf *c, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct chunk *ch = c->chunks;

	size = (size + align - 1) & ~(align - 1);
	if (ch == NULL || ch->size - ch->used < size) {
		size_t csize = size > CHUNK_SIZE / 4 ? size : CHUNK_SIZE;
		struct chunk *n = malloc(sizeof(*n) + csize);
		if (n == NULL)
			return NULL;
		n->size = csize;
		n->used = 0;
		/* a big block goes behind the current chunk so that its free space is still used */
		if (ch != NULL && csize != CHUNK_SIZE) {
			n->next = ch->next;
			ch->next = n;
		} else {
			n->next = ch;
			c->chunks = n;
		}
		ch = n;
	}
	void *p = (char *)ch->data + ch->used;
	ch->used += size;
	return p;
}

static void __attribute__((format(printf, 4, 5)))
perr(struct parse *p, const char *file, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	p->nerrors++;
	if (p->errf == NULL)
		return;
	if (line > 0)
		fprintf(p->errf, "%s:%u: ", file, line);
	else
		fprintf(p->errf, "%s: ", file);
	va_start(ap, fmt);
	vfprintf(p->errf, fmt, ap);
	va_end(ap);
	fputc('\n', p->errf);
}

/* Allocates from the config's arena; reports running out of memory once. */
static void *
palloc(struct parse *p, size_t size)
{
	void *m = conf_alloc(p->conf, size);
	if (m == NULL && !p->oom) {
		p->oom = 1;
		perr(p, p->conf->root.file ? p->conf->root.file : "mtool", 0, "out of memory");
	}
	return m;
}

static char *
pstrndup(struct parse *p, const char *s, size_t n)
{
	char *d = palloc(p, n + 1);
	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Copies the inside of a quoted string, dropping the backslash of each escape (as
 * Dovecot's str_unescape: "\x" is x for any x). */
static char *
unquote(struct parse *p, const char *s, size_t len)
{
	char *d = palloc(p, len + 1), *o = d;
	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		*o++ = s[i];
	}
	*o = '\0';
	return d;
}

/* Index of the quote closing the one at s[open], or len if it is not closed. */
static size_t
quote_end(const char *s, size_t len, size_t open)
{
	for (size_t i = open + 1; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == s[open])
			return i;
	}
	return len;
}

static struct conf_node *
node_add(struct parse *p, struct conf_node *parent, const char *key, const char *name,
    const char *value, const char *file, unsigned int line)
{
	struct conf_node *n = palloc(p, sizeof(*n));
	if (n == NULL)
		return NULL;
	*n = (struct conf_node){ .key = key, .name = name, .value = value, .file = file,
	    .line = line, .parent = parent };
	if (parent->last_child != NULL)
		parent->last_child->next = n;
	else
		parent->children = n;
	parent->last_child = n;
	return n;
}

static const struct conf_node *
find_setting(const struct conf_node *sec, const char *key, size_t klen)
{
	const struct conf_node *found = NULL;
	for (const struct conf_node *n = sec->children; n != NULL; n = n->next)
		if (n->value != NULL && strncmp(n->key, key, klen) == 0 && n->key[klen] == '\0')
			found = n;
	return found;
}

/* The last child section of that type and name (name NULL: an unnamed one). */
static struct conf_node *
find_section(struct conf_node *sec, const char *type, size_t tlen, const char *name,
    size_t nlen)
{
	struct conf_node *found = NULL;
	for (struct conf_node *n = sec->children; n != NULL; n = n->next) {
		if (n->value != NULL || strncmp(n->key, type, tlen) != 0 || n->key[tlen] != '\0')
			continue;
		if (name == NULL ? n->name == NULL : n->name != NULL &&
		    strncmp(n->name, name, nlen) == 0 && n->name[nlen] == '\0')
			found = n;
	}
	return found;
}

static int
depth_of(const struct conf_node *n)
{
	int d = 0;
	for (; n->parent != NULL; n = n->parent)
		d++;
	return d;
}

/* path as written, or relative to the directory of base when it is not absolute. */
static char *
resolve(struct parse *p, const char *base, const char *path)
{
	const char *slash = strrchr(base, '/');
	size_t dlen = *path == '/' || slash == NULL ? 0 : (size_t)(slash - base) + 1;
	size_t plen = strlen(path);
	char *s = palloc(p, dlen + plen + 1);
	if (s != NULL) {
		memcpy(s, base, dlen);
		memcpy(s + dlen, path, plen + 1);
	}
	return s;
}

/* Appends the next physical line without its LF to buf at *len, keeping *len <= cap:
 * the rest of a longer line is dropped and flagged. Returns 0 at the end of input. */
static int
input_getline(struct input *in, char *buf, size_t *len, size_t cap, int *flags)
{
	int c, got = 0;

	for (;;) {
		if (in->fp != NULL)
			c = getc(in->fp);
		else
			c = *in->text != '\0' ? (unsigned char)*in->text++ : EOF;
		if (c == EOF || c == '\n') {
			got |= c == '\n';
			break;
		}
		got = 1;
		if (c == '\0')
			*flags |= LINE_NUL;
		else if (*len < cap)
			buf[(*len)++] = (char)c;
		else
			*flags |= LINE_TOOLONG;
	}
	if (got)
		in->line++;
	return got;
}

/* Drops leading white space, a comment and trailing white space from s in place and
 * returns the new length. '#' starts a comment at the start or after white space,
 * outside a quoted string (a quote counts only where a token starts, so that
 * "Dovecot's ready # comment" keeps its apostrophe and loses its comment). */
static size_t
clean_segment(char *s, size_t len)
{
	size_t i = 0;

	while (i < len && IS_WHITE(s[i]))
		i++;
	memmove(s, s + i, len - i);
	len -= i;
	for (i = 0; i < len; i++) {
		int start = i == 0 || IS_WHITE(s[i - 1]);
		if ((s[i] == '"' || s[i] == '\'') && (start || s[i - 1] == '=')) {
			i = quote_end(s, len, i);
		} else if (s[i] == '#' && start) {
			len = i;
			break;
		}
	}
	while (len > 0 && IS_WHITE(s[len - 1]))
		len--;
	return len;
}

/* fopen(path, "re") and fstat(); a directory fails with EISDIR here rather than with a
 * read error later. */
static FILE *
open_file(const char *path, struct stat *st)
{
	FILE *fp = fopen(path, "re");
	int e;

	if (fp == NULL)
		return NULL;
	if (fstat(fileno(fp), st) != 0)
		e = errno;
	else if (S_ISDIR(st->st_mode))
		e = EISDIR;
	else
		return fp;
	fclose(fp);
	errno = e;
	return NULL;
}

static void parse_input(struct parse *, struct input *);

/* Reads one file into the current section of parent (an !include of it). */
static void
parse_file(struct parse *p, struct input *parent, const char *path, int try,
    unsigned int line)
{
	const char *kw = try ? "!include_try" : "!include";
	const char *copy;
	struct input in;
	struct stat st;
	FILE *fp;

	if ((fp = open_file(path, &st)) == NULL) {
		/* include_try ignores any file it cannot open, as Dovecot does */
		if (!try || errno == EISDIR)
			perr(p, parent->path, line, "%s: %s: %s", kw, path, strerror(errno));
		return;
	}
	for (const struct input *i = parent; i != NULL; i = i->prev) {
		if (i->fp != NULL && i->dev == st.st_dev && i->ino == st.st_ino) {
			perr(p, parent->path, line, "%s: %s: recursive include", kw, path);
			goto out;
		}
	}
	if (parent->depth >= CONF_INCLUDE_DEPTH) {
		perr(p, parent->path, line, "%s: %s: includes nested too deeply (limit %d)",
		    kw, path, CONF_INCLUDE_DEPTH);
		goto out;
	}
	if ((copy = pstrndup(p, path, strlen(path))) == NULL)
		goto out;
	in = (struct input){ .path = copy, .fp = fp, .dev = st.st_dev, .ino = st.st_ino,
	    .depth = parent->depth + 1, .prev = parent, .cur = parent->cur };
	parse_input(p, &in);
out:
	fclose(fp);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files whose names match the last component of pattern ('*' and '?', which do not
 * match a leading '.'), sorted by name as glob(3) does in the C locale. Wildcards in the
 * directory part are refused: Dovecot's configs put them in the file name only, and this
 * keeps glob(3) and its wide-character tables out of the binary. Returns the count (names
 * in *out, free both), 0 for no match, -1 with errno set (ENAMETOOLONG: too many). */
static int
match_files(const char *pattern, char ***out)
{
	const char *slash = strrchr(pattern, '/');
	const char *base = slash ? slash + 1 : pattern;
	int prefix = slash ? (int)(slash - pattern + 1) : 0;	/* kept in the names */
	char dir[PATH_MAX], **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	if (prefix >= (int)sizeof(dir))
		return errno = ENAMETOOLONG, -1;
	/* "a/b/" opens "a/b", "/" opens "/", no slash opens "." */
	str_fmt(dir, sizeof(dir), "%.*s", prefix > 1 ? prefix - 1 : prefix, prefix ? pattern : ".");
	if (strpbrk(dir, "*?[") != NULL)
		return errno = EINVAL, -1;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		size_t size = prefix + strlen(de->d_name) + 1;
		if ((de->d_name[0] == '.' && base[0] != '.') || !wildcard_match(de->d_name, base))
			continue;
		if (n == cap) {
			char **grown;
			if (cap == CONF_INCLUDE_FILES_MAX) {
				errno = ENAMETOOLONG;
				goto fail;
			}
			cap = cap ? cap * 2 : 16;
			if ((grown = realloc(names, cap * sizeof(*names))) == NULL)
				goto fail;
			names = grown;
		}
		if ((names[n] = malloc(size)) == NULL)
			goto fail;
		str_fmt(names[n++], size, "%.*s%s", prefix, pattern, de->d_name);
	}
	closedir(d);
	/* qsort's array may not be NULL, even for no elements (C11 7.22.5) */
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	return (int)n;
fail:
	closedir(d);
	while (n > 0)
		free(names[--n]);
	free(names);
	return -1;
}

static void
include(struct parse *p, struct input *in, const char *pattern, int try, unsigned int line)
{
	const char *kw = try ? "!include_try" : "!include";
	char *path = resolve(p, in->path, pattern), **names;
	int n;

	if (path == NULL)
		return;
	if (strpbrk(path, "*?[") == NULL) {
		/* a plain name: let fopen say why it is not there */
		parse_file(p, in, path, try, line);
		return;
	}
	if (strchr(path, '[') != NULL) {
		perr(p, in->path, line, "%s: %s: '[' classes are not supported, use * and ?", kw, path);
		return;
	}
	n = match_files(path, &names);
	if (n < 0 && errno == EINVAL)
		perr(p, in->path, line, "%s: %s: wildcards only in the file name", kw, path);
	else if (n < 0 && errno == ENAMETOOLONG)
		perr(p, in->path, line, "%s: %s: more than %d files match", kw, path,
		    CONF_INCLUDE_FILES_MAX);
	else if (n < 0)
		perr(p, in->path, line, "%s: %s: %s", kw, path, strerror(errno));
	else if (n == 0 && !try)
		perr(p, in->path, line, "%s: %s: no file matches", kw, path);
	for (int i = 0; i < n; i++) {
		parse_file(p, in, names[i], try, line);
		free(names[i]);
	}
	free(names);
}

/* The content of the file of a "key = <path" value, verbatim. */
static const char *
read_value_file(struct parse *p, struct input *in, unsigned int line, const char *key,
    const char *name)
{
	char *path = resolve(p, in->path, name), *v = NULL, chunk[4096];
	struct strbuf sb;
	struct stat st;
	FILE *fp;
	size_t n;

	if (path == NULL)
		return NULL;
	if ((fp = open_file(path, &st)) == NULL) {
		perr(p, in->path, line, "%s: %s: %s", key, path, strerror(errno));
		return NULL;
	}
	strbuf_init(&sb, CONF_VALUE_FILE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && !sb.error) {
		if (n > CONF_VALUE_FILE_MAX - sb.len)
			break;
		strbuf_append(&sb, chunk, n);
	}
	if (ferror(fp))
		perr(p, in->path, line, "%s: %s: %s", key, path, strerror(errno));
	else if (n > 0 && !sb.error)
		perr(p, in->path, line, "%s: %s: file too large (limit %d bytes)", key, path,
		    CONF_VALUE_FILE_MAX);
	else if (sb.error)
		perr(p, in->path, line, "%s: %s: out of memory", key, path);
	else if (memchr(sb.s, '\0', sb.len) != NULL)
		perr(p, in->path, line, "%s: %s: file contains a NUL byte", key, path);
	else
		v = pstrndup(p, sb.s, sb.len);
	strbuf_free(&sb);
	fclose(fp);
	return v;
}

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_';
}

/* Expands "$name" where a word starts with it: the value of the setting name set
 * earlier in this section or an enclosing one, else Dovecot's default of a setting it
 * knows (core/conf_known.h); "$ENV:name" is the environment
 * variable (empty if unset), as in Dovecot 2.3. Any other '$' is kept. */
static const char *
expand(struct parse *p, struct input *in, unsigned int line, const char *v)
{
	struct strbuf sb;
	const char *s = v, *res = NULL;

	strbuf_init(&sb, CONF_LINE_MAX);
	while (*s != '\0') {
		if (*s != '$' || (s > v && !IS_WHITE(s[-1])) || !is_name_char(s[1])) {
			strbuf_putc(&sb, *s++);
			continue;
		}
		const char *name = s + 1, *val = NULL;
		size_t nlen = 0;
		while (is_name_char(name[nlen]))
			nlen++;
		if (nlen == 3 && strncmp(name, "ENV", 3) == 0 && name[3] == ':') {
			char *env;
			name += 4;
			for (nlen = 0; is_name_char(name[nlen]); nlen++)
				;
			if ((env = pstrndup(p, name, nlen)) == NULL)
				goto out;
			val = getenv(env);
			strbuf_puts(&sb, val != NULL ? val : "");
		} else {
			for (const struct conf_node *sec = in->cur; sec && !val; sec = sec->parent) {
				const struct conf_node *n = find_setting(sec, name, nlen);
				val = n != NULL ? n->value : NULL;
			}
			/* a setting never set is Dovecot's default ("protocols = $protocols imap") */
			if (val == NULL)
				val = conf_known_default(name, nlen);
			if (val == NULL) {
				perr(p, in->path, line, "undefined variable '$%.*s'", (int)nlen, name);
				goto out;
			}
			strbuf_puts(&sb, val);
		}
		s = name + nlen;
	}
	if (sb.error)
		perr(p, in->path, line, "value too long after expanding variables (limit %d bytes)",
		    CONF_LINE_MAX);
	else
		res = pstrndup(p, sb.s, sb.len);
out:
	strbuf_free(&sb);
	return res;
}

/* The value after "key =": quoted, <file or plain with $variables. NULL on error. */
static const char *
parse_value(struct parse *p, struct input *in, unsigned int line, const char *key,
    const char *v)
{
	size_t len = strlen(v);

	if (*v == '"' || *v == '\'') {
		size_t e = quote_end(v, len, 0);
		if (e == len) {
			perr(p, in->path, line, "%s: missing closing quote", key);
			return NULL;
		}
		if (e + 1 != len) {
			perr(p, in->path, line, "%s: garbage after closing quote", key);
			return NULL;
		}
		return unquote(p, v + 1, e - 1);
	}
	if (*v == '<') {
		for (v++; IS_WHITE(*v); v++)
			;
		if (*v == '\0') {
			perr(p, in->path, line, "%s: '<' without a file name", key);
			return NULL;
		}
		return read_value_file(p, in, line, key, v);
	}
	return expand(p, in, line, v);
}

static void
open_section(struct parse *p, struct input *in, unsigned int line, const char *s,
    size_t klen, const char *r)
{
	const char *name = NULL, *key;
	struct conf_node *n = NULL;
	size_t nlen = 0;
	int quoted = 0;

	if (*r == '"' || *r == '\'') {
		nlen = quote_end(r, strlen(r), 0);
		if (r[nlen] == '\0') {
			perr(p, in->path, line, "missing closing quote");
			return;
		}
		name = r + 1;
		quoted = 1;
		r += nlen + 1;	/* past the closing quote */
		nlen--;		/* the bytes between the quotes */
	} else if (*r != '{') {
		for (name = r; *r != '\0' && !IS_WHITE(*r) && *r != '{'; r++)
			;
		nlen = (size_t)(r - name);
	}
	while (IS_WHITE(*r))
		r++;
	if (*r != '{' || klen == 0) {
		size_t l = strlen(s);
		perr(p, in->path, line, "expected 'key = value', got '%.*s%s'",
		    (int)(l > SHOW_MAX ? SHOW_MAX : l), s, l > SHOW_MAX ? "..." : "");
		return;
	}
	if (r[1] != '\0') {
		perr(p, in->path, line, "garbage after '{'");
		return;
	}
	if (depth_of(in->cur) >= CONF_SECTION_DEPTH) {
		perr(p, in->path, line, "sections nested too deeply (limit %d)", CONF_SECTION_DEPTH);
		in->skip = 1;
		return;
	}
	if (name != NULL) {
		if ((name = quoted ? unquote(p, name, nlen) : pstrndup(p, name, nlen)) == NULL)
			return;
		n = find_section(in->cur, s, klen, name, strlen(name));
	}
	if (n == NULL) {
		if ((key = pstrndup(p, s, klen)) == NULL ||
		    (n = node_add(p, in->cur, key, name, NULL, in->path, line)) == NULL)
			return;
	}
	in->open[in->nopen++] = line;
	in->cur = n;
}

/* One logical line: trimmed, without comments, not empty. */
static void
statement(struct parse *p, struct input *in, const char *s, unsigned int line)
{
	size_t klen = 0;
	const char *r;
	int inc, try;

	while (s[klen] != '\0' && !IS_WHITE(s[klen]) && s[klen] != '=' && s[klen] != '{')
		klen++;
	for (r = s + klen; IS_WHITE(*r); r++)
		;
	try = klen == 12 && strncmp(s, "!include_try", 12) == 0;
	inc = try || (klen == 8 && strncmp(s, "!include", 8) == 0);
	if (in->skip > 0) {
		/* inside a section nested too deeply: only count its braces */
		if (klen == 1 && *s == '}' && *r == '\0')
			in->skip--;
		else if (!inc && *r != '=' && s[strlen(s) - 1] == '{')
			in->skip++;
		return;
	}
	if (inc) {
		if (*r == '\0')
			perr(p, in->path, line, "%s: missing file name", try ? "!include_try" : "!include");
		else
			include(p, in, r, try, line);
	} else if (*r == '=' && klen > 0) {
		const char *key = pstrndup(p, s, klen), *value;
		for (r++; IS_WHITE(*r); r++)
			;
		if (key != NULL && (value = parse_value(p, in, line, key, r)) != NULL)
			node_add(p, in->cur, key, NULL, value, in->path, line);
	} else if (klen == 1 && *s == '}') {
		if (*r != '\0')
			perr(p, in->path, line, "garbage after '}'");
		else if (in->nopen == 0)
			perr(p, in->path, line, "unexpected '}'");
		else {
			in->nopen--;
			in->cur = in->cur->parent;
		}
	} else {
		open_section(p, in, line, s, klen, r);
	}
}

static void
parse_input(struct parse *p, struct input *in)
{
	char *buf = p->line;
	size_t len = 0;
	unsigned int first = 0;
	int flags = 0, eof;

	do {
		size_t start = len;
		eof = !input_getline(in, buf, &len, CONF_LINE_MAX, &flags);
		len = start + clean_segment(buf + start, len - start);
		if (first == 0 && (len > 0 || flags))
			first = in->line;
		if (!eof && len > start && buf[len - 1] == '\\') {
			/* joined with one space, as Dovecot does */
			for (len--; len > start && IS_WHITE(buf[len - 1]); len--)
				;
			buf[len++] = ' ';
			continue;
		}
		/* an empty line does not end a continued one (Dovecot) */
		if (len == start && start > 0 && !eof)
			continue;
		while (len > 0 && IS_WHITE(buf[len - 1]))
			len--;
		buf[len] = '\0';
		if (flags & LINE_TOOLONG)
			perr(p, in->path, first, "line too long (limit %d bytes)", CONF_LINE_MAX);
		else if (flags & LINE_NUL)
			perr(p, in->path, first, "NUL byte in line");
		else if (len > 0)
			statement(p, in, buf, first);
		len = 0;
		flags = 0;
		first = 0;
	} while (!eof);
	if (in->fp != NULL && ferror(in->fp))
		perr(p, in->path, in->line, "read error: %s", strerror(errno));
	if (in->skip > 0)
		perr(p, in->path, in->line, "missing '}'");
	for (; in->nopen > 0; in->nopen--, in->cur = in->cur->parent)
		perr(p, in->path, in->open[in->nopen - 1], "missing '}' for section '%s%s%s'",
		    in->cur->key, in->cur->name ? " " : "", in->cur->name ? in->cur->name : "");
}

static char *
trim(char *s)
{
	size_t len;

	while (IS_WHITE(*s))
		s++;
	for (len = strlen(s); len > 0 && IS_WHITE(s[len - 1]); len--)
		s[len - 1] = '\0';
	return s;
}

/* "key=value" or "type[/name]/.../key=value" (see conf_load_string), taken apart in
 * p->line, which the file no longer needs. */
static void
apply_override(struct parse *p, const char *ov, unsigned int idx)
{
	struct conf_node *sec = &p->conf->root, *n;
	char *key = p->line, *value, *sl;

	if (str_copy(key, ov, CONF_LINE_MAX + 1) > CONF_LINE_MAX) {
		perr(p, "-o", idx, "override too long (limit %d bytes)", CONF_LINE_MAX);
		return;
	}
	if ((value = strchr(key, '=')) == NULL) {
		perr(p, "-o", idx, "expected 'key=value', got '%s'", ov);
		return;
	}
	*value++ = '\0';
	key = trim(key);
	value = trim(value);
	for (; (sl = strchr(key, '/')) != NULL; sec = n) {
		char *name = sl + 1, *nsl = strchr(name, '/');
		int named = nsl != NULL && nsl > name;
		*sl = '\0';
		if (named && (n = find_section(sec, key, strlen(key), name,
		    (size_t)(nsl - name))) != NULL) {
			key = nsl + 1;
		} else if ((n = find_section(sec, key, strlen(key), NULL, 0)) != NULL) {
			key = name;
		} else if (*key == '\0') {
			break;
		} else if (depth_of(sec) >= CONF_SECTION_DEPTH) {
			perr(p, "-o", idx, "sections nested too deeply (limit %d)",
			    CONF_SECTION_DEPTH);
			return;
		} else {
			/* two or more components left before the key: type and name */
			if (named)
				*nsl = '\0';
			if ((key = pstrndup(p, key, strlen(key))) == NULL ||
			    (named && (name = pstrndup(p, name, strlen(name))) == NULL) ||
			    (n = node_add(p, sec, key, named ? name : NULL, NULL, "-o", idx)) == NULL)
				return;
			key = named ? nsl + 1 : sl + 1;
		}
	}
	if (sl != NULL || *key == '\0') {
		size_t klen = strcspn(ov, "=");
		perr(p, "-o", idx, "invalid setting path '%.*s'", (int)klen, ov);
		return;
	}
	if ((key = pstrndup(p, key, strlen(key))) != NULL &&
	    (value = pstrndup(p, value, strlen(value))) != NULL)
		node_add(p, sec, key, NULL, value, "-o", idx);
}

/* Reads fp (whose stat is st) or else text. */
static struct conf *
load(const char *name, FILE *fp, const struct stat *st, const char *text,
    char *const *overrides, size_t noverrides, FILE *errf)
{
	struct parse p = { .errf = errf };
	struct input in;

	p.conf = calloc(1, sizeof(*p.conf));
	p.line = malloc(CONF_LINE_MAX + 2);
	if (p.conf == NULL || p.line == NULL ||
	    (p.conf->root.file = pstrndup(&p, name, strlen(name))) == NULL) {
		if (!p.oom)
			perr(&p, name, 0, "out of memory");
		goto out;
	}
	p.conf->root.key = "";
	in = (struct input){ .path = p.conf->root.file, .fp = fp, .text = text,
	    .dev = fp != NULL ? st->st_dev : 0, .ino = fp != NULL ? st->st_ino : 0,
	    .cur = &p.conf->root };
	parse_input(&p, &in);
	for (size_t i = 0; i < noverrides; i++)
		apply_override(&p, overrides[i], (unsigned int)i + 1);
out:
	free(p.line);
	if (p.nerrors > 0) {
		conf_free(p.conf);
		return NULL;
	}
	return p.conf;
}

struct conf *
conf_load(const char *path, char *const *overrides, size_t noverrides, FILE *errf)
{
	struct conf *c;
	struct stat st;
	FILE *fp;

	if ((fp = open_file(path, &st)) == NULL) {
		if (errf != NULL)
			fprintf(errf, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	c = load(path, fp, &st, NULL, overrides, noverrides, errf);
	fclose(fp);
	return c;
}

struct conf *
conf_load_string(const char *name, const char *text, char *const *overrides,
    size_t noverrides, FILE *errf)
{
	return load(name, NULL, NULL, text, overrides, noverrides, errf);
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	while (c->chunks != NULL) {
		struct chunk *next = c->chunks->next;
		free(c->chunks);
		c->chunks = next;
	}
	free(c);
}

const struct conf_node *
conf_root(const struct conf *c)
{
	return &c->root;
}

const struct conf_node *
conf_find(const struct conf_node *section, const char *key)
{
	return find_setting(section, key, strlen(key));
}
