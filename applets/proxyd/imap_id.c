/* SPDX-License-Identifier: MIT */
/* applets/proxyd/imap_id.c: the pre-login ID command (RFC 2971) as Dovecot 2.3's
 * imap-login handles it: the arguments are taken one at a time, so an ID of any length
 * passes as long as each string fits the login input buffer; a trusted proxy's x- fields
 * are applied from the first ID only; imap_id_retain keeps up to 256 bytes of the client's
 * fields for the backend; imap_id_log names the fields logged; imap_id_send is the
 * answer. */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "applets/proxyd/imap.h"
#include "applets/proxyd/settings.h"
#include "config.h"
#include "core/log.h"
#include "core/str.h"

#define ID_KEY_MAX	30	/* RFC 2971; Dovecot refuses a longer key */
#define ID_RETAIN_MAX	256	/* Dovecot's LOGIN_MAX_CLIENT_ID_LEN */
#define ID_LOG_VALUE	80	/* Dovecot logs this many bytes of a value */
/* the log line is at most LOG_LINE_MAX bytes; the fields get most of it */
#define ID_LOG_MAX	(LOG_LINE_MAX - 512)

enum { ID_LIST, ID_KEY, ID_VALUE };

struct imap_id {
	int state;
	int log;			/* this ID is logged (the first one, imap_id_log set) */
	char key[ID_KEY_MAX + 1];
	struct strbuf log_reply, retained, forward;
};

/* Dovecot's imap_append_quoted: CR, LF and 8-bit bytes are dropped, '"' and '\' escaped. */
static void
append_quoted(struct strbuf *sb, const char *s)
{
	strbuf_putc(sb, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\r' || ch == '\n' || ch >= 0x80)
			continue;
		if (ch == '"' || ch == '\\')
			strbuf_putc(sb, '\\');
		strbuf_putc(sb, (char)ch);
	}
	strbuf_putc(sb, '"');
}

/* Dovecot's str_sanitize: control bytes become '?', and more than max bytes end as max-3
 * bytes and "..." (not cutting a UTF-8 sequence). */
static void
append_sanitized(struct strbuf *sb, const char *s, size_t max)
{
	size_t n = strlen(s), keep = n;
	if (n > max) {
		keep = max - 3;
		while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
			keep--;
	}
	for (size_t i = 0; i < keep; i++)
		strbuf_putc(sb, (unsigned char)s[i] < 32 ? '?' : s[i]);
	if (n > max)
		strbuf_puts(sb, "...");
}

static int
word_listed(const char *list, const char *word)
{
	size_t wl = strlen(word);
	while (*list) {
		size_t n = strcspn(list, " ");
		if (n == wl && n > 0) {
			size_t i = 0;
			while (i < n && (list[i] | 0x20) == (word[i] | 0x20))
				i++;
			if (i == n)
				return 1;
		}
		list += n;
		list += *list == ' ';
	}
	return 0;
}

/* The x- fields a trusted proxy in front of us sends (protocols.md §9.2.8): applied from
 * the first ID only, never retained. Returns 1 if key is one of them. */
static int
id_x_field(struct client *c, struct imap_id *id, const char *key, const char *value, int first)
{
	static const char *const keys[] = {
		"x-originating-ip", "x-originating-port", "x-connected-ip", "x-connected-port",
		"x-proxy-ttl", "x-session-id", "x-session-ext-id", NULL,
	};
	long long n;
	const char *err;
	int known = str_has_prefix_nocase(key, "x-forward-");
	for (int i = 0; !known && keys[i]; i++)
		known = str_eq_nocase(key, keys[i]);
	if (!known || !c->trusted || !first || value == NULL)
		return known;
	if (str_eq_nocase(key, "x-originating-ip"))
		ip_parse(value, &c->rip);
	else if (str_eq_nocase(key, "x-originating-port") && str_to_num(value, 1, 65535, &n, &err) == 0)
		c->rport = (unsigned int)n;
	else if (str_eq_nocase(key, "x-connected-ip"))
		ip_parse(value, &c->lip);
	else if (str_eq_nocase(key, "x-connected-port") && str_to_num(value, 1, 65535, &n, &err) == 0)
		c->lport = (unsigned int)n;
	else if ((str_eq_nocase(key, "x-session-id") || str_eq_nocase(key, "x-session-ext-id")) &&
	    strlen(value) <= 64)
		str_copy(c->session_id, value, sizeof(c->session_id));
	else if (str_eq_nocase(key, "x-proxy-ttl") && str_to_num(value, 0, 1000, &n, &err) == 0)
		c->ttl = (unsigned int)n;
	else if (str_has_prefix_nocase(key, "x-forward-")) {
		if (id->forward.len)
			strbuf_putc(&id->forward, '\t');
		strbuf_printf(&id->forward, "%s=%s", key + 10, value);
	}
	return 1;
}

static void
id_pair(struct client *c, struct imap_id *id, const char *key, const char *value)
{
	const struct proxyd_settings *set = c->pd->set;
	int first = !imap_of(c)->id_seen;

	if (!id_x_field(c, id, key, value, first) && set->imap_id_retain) {
		size_t kvlen = strlen(key) + 3 + (value ? strlen(value) : 3) + 2;
		if (id->retained.len + kvlen < ID_RETAIN_MAX) {
			if (id->retained.len)
				strbuf_putc(&id->retained, ' ');
			append_quoted(&id->retained, key);
			strbuf_putc(&id->retained, ' ');
			if (value)
				append_quoted(&id->retained, value);
			else
				strbuf_puts(&id->retained, "NIL");
		}
	}
	if (id->log && (strcmp(set->imap_id_log, "*") == 0 || word_listed(set->imap_id_log, key)) &&
	    !id->log_reply.error) {
		size_t before = id->log_reply.len;
		if (before)
			strbuf_puts(&id->log_reply, ", ");
		append_sanitized(&id->log_reply, key, ID_KEY_MAX);
		strbuf_putc(&id->log_reply, '=');
		if (value)
			append_sanitized(&id->log_reply, value, ID_LOG_VALUE);
		else
			strbuf_puts(&id->log_reply, "NIL");
		if (id->log_reply.error) {
			/* the log line is full: say so once, log no more fields */
			id->log_reply.error = 0;
			strbuf_truncate(&id->log_reply, before);
			strbuf_puts(&id->log_reply, before ? ", ..." : "...");
			id->log_reply.error = 1;
		}
	}
}

static struct imap_id *
id_new(void)
{
	struct imap_id *id = calloc(1, sizeof(*id));
	if (id == NULL)
		return NULL;
	strbuf_init(&id->log_reply, ID_LOG_MAX);
	strbuf_init(&id->retained, ID_RETAIN_MAX);
	strbuf_init(&id->forward, 4096);
	return id;
}

void
imap_id_free(struct client *c)
{
	struct imap_id *id = imap_of(c)->id;
	if (id == NULL)
		return;
	strbuf_free(&id->log_reply);
	strbuf_free(&id->retained);
	strbuf_free(&id->forward);
	free(id);
	imap_of(c)->id = NULL;
}

int
imap_id_arg(struct client *c, const struct imap_arg *a)
{
	struct imap_client *ic = imap_of(c);
	struct imap_id *id = ic->id;

	if (id == NULL && (id = ic->id = id_new()) == NULL)
		return -2;
	int nil = a->type == IMAP_ARG_ATOM && str_eq_nocase(a->str, "NIL");
	switch (id->state) {
	case ID_LIST:
		if (nil)
			return 1;
		if (a->type != IMAP_ARG_LIST_START)
			return -1;
		id->log = !ic->id_seen && *c->pd->set->imap_id_log != '\0';
		id->state = ID_KEY;
		return 0;
	case ID_KEY:
		if (a->type == IMAP_ARG_LIST_END)
			return 1;
		if (a->type != IMAP_ARG_STRING || a->len > ID_KEY_MAX)
			return -1;
		memcpy(id->key, a->str, a->len + 1);
		id->state = ID_VALUE;
		return 0;
	default:
		if (a->type == IMAP_ARG_LIST_END)
			return 1;	/* a key without a value: as Dovecot, ignored */
		if (a->type != IMAP_ARG_STRING && !nil)
			return -1;
		id_pair(c, id, id->key, nil ? NULL : a->str);
		id->state = ID_KEY;
		return 0;
	}
}

/* imap_id_send: IMAP astrings in pairs, a value "*" meaning mtool's own; "" = NIL. */
static const char *
id_default(const char *key, struct utsname *u)
{
	if (str_eq_nocase(key, "name"))
		return "mtool";
	if (str_eq_nocase(key, "version"))
		return MTOOL_VERSION;
	if (str_eq_nocase(key, "os") || str_eq_nocase(key, "os-version")) {
		if (u->sysname[0] == '\0' && uname(u) < 0)
			return NULL;
		return str_eq_nocase(key, "os") ? u->sysname : u->release;
	}
	return NULL;
}

/* Next astring of s (atom up to a space, or a quoted string with \-escapes) into out;
 * returns the rest, or NULL at the end or on a syntax error. */
static const char *
next_word(const char *s, char *out, size_t outlen, int *quoted)
{
	size_t n = 0;
	while (*s == ' ')
		s++;
	if (*s == '\0')
		return NULL;
	*quoted = *s == '"';
	if (*quoted) {
		for (s++; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1])
				s++;
			if (n + 1 < outlen)
				out[n++] = *s;
		}
		if (*s != '"')
			return NULL;
		s++;
	} else {
		for (; *s && *s != ' '; s++)
			if (n + 1 < outlen)
				out[n++] = *s;
	}
	out[n] = '\0';
	return s;
}

void
imap_id_reply(const char *setting, struct strbuf *sb)
{
	char key[256], value[256];
	struct utsname u = { .sysname = "" };
	size_t start = sb->len;
	int kq, vq;
	const char *s = setting;

	strbuf_putc(sb, '(');
	while (s && (s = next_word(s, key, sizeof(key), &kq)) != NULL) {
		const char *v = NULL;
		if (sb->len > start + 1)
			strbuf_putc(sb, ' ');
		append_quoted(sb, key);
		strbuf_putc(sb, ' ');
		if ((s = next_word(s, value, sizeof(value), &vq)) != NULL)
			v = !vq && strcmp(value, "*") == 0 ? id_default(key, &u) :
			    !vq && str_eq_nocase(value, "NIL") ? NULL : value;
		if (v)
			append_quoted(sb, v);
		else
			strbuf_puts(sb, "NIL");
	}
	if (sb->len == start + 1) {
		strbuf_truncate(sb, start);
		strbuf_puts(sb, "NIL");
	} else {
		strbuf_putc(sb, ')');
	}
}

void
imap_id_finish(struct client *c, const char *tag)
{
	struct imap_client *ic = imap_of(c);
	struct imap_id *id = ic->id;
	struct strbuf sb;

	if (id != NULL) {
		if (id->log) {
			char tail[512];
			log_set_prefix(c->proto->log_prefix);
			log_info("ID sent: %s: %s", id->log_reply.s, client_log_tail(c, tail, sizeof(tail)));
		}
		/* as Dovecot: each ID replaces what an earlier one retained */
		free(c->client_id);
		c->client_id = id->retained.len && !id->retained.error ? strdup(id->retained.s) : NULL;
		if (id->forward.len && !id->forward.error) {
			free(c->forward);
			c->forward = strdup(id->forward.s);
		}
		imap_id_free(c);
	} else {
		free(c->client_id);
		c->client_id = NULL;
	}
	ic->id_seen = 1;
	strbuf_init(&sb, 8192);
	strbuf_puts(&sb, "* ID ");
	imap_id_reply(c->pd->set->imap_id_send, &sb);
	strbuf_printf(&sb, "\r\n%s OK ID completed.\r\n", tag);
	conn_write(c->conn, sb.s, sb.len);
	strbuf_free(&sb);
}
