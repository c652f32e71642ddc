/* SPDX-License-Identifier: MIT */
/* applets/replicatord/listing.c: users from the backends' userdb, through the doveadm
 * server's "user <mask>" command on each pair's initiator, which answers one line
 * {"userList":["user1@example.org",...]} and then "+" (replicator.md §7.5). A user
 * listed by a pair belongs to that pair. Unlike Dovecot's ADD <mask>, nothing blocks
 * while the list comes. At start-up, users new to the queue get their first full sync
 * spread at replicator_startup_rate per second instead of all at once. */
#include <stdlib.h>
#include <string.h>

#include "applets/replicatord/dvclient.h"
#include "core/log.h"
#include "core/str.h"
#include "core/tab.h"

#define LIST_LINE_MAX	(64u * 1024 * 1024)

struct listing {
	struct listing *next;
	struct dvreq q;
	struct repl *r;
	unsigned int pair;
	int startup, got_list;
	size_t added, listed;
};

/* One JSON string starting after its opening quote: unescaped into out (NUL-terminated,
 * at most outlen - 1 bytes). Returns the position after the closing quote, or NULL. */
static const char *
json_string(const char *p, char *out, size_t outlen, int *too_long)
{
	size_t n = 0;
	*too_long = 0;
	for (;;) {
		unsigned int c = (unsigned char)*p++;
		if (c == '\0' || c < 0x20)
			return NULL;
		if (c == '"')
			break;
		if (c == '\\') {
			switch (*p++) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case '/': c = '/'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				unsigned int v = 0;
				for (int i = 0; i < 4; i++) {
					char h = *p++;
					v <<= 4;
					if (h >= '0' && h <= '9') v |= (unsigned int)(h - '0');
					else if (h >= 'a' && h <= 'f') v |= (unsigned int)(h - 'a' + 10);
					else if (h >= 'A' && h <= 'F') v |= (unsigned int)(h - 'A' + 10);
					else return NULL;
				}
				/* names are UTF-8 already; a surrogate pair is not worth the code */
				if (v == 0 || (v >= 0xd800 && v <= 0xdfff))
					return NULL;
				char u8[3];
				size_t k = 0;
				if (v < 0x80) u8[k++] = (char)v;
				else if (v < 0x800) {
					u8[k++] = (char)(0xc0 | (v >> 6));
					u8[k++] = (char)(0x80 | (v & 0x3f));
				} else {
					u8[k++] = (char)(0xe0 | (v >> 12));
					u8[k++] = (char)(0x80 | ((v >> 6) & 0x3f));
					u8[k++] = (char)(0x80 | (v & 0x3f));
				}
				for (size_t i = 0; i < k; i++) {
					if (n + 1 < outlen) out[n++] = u8[i];
					else *too_long = 1;
				}
				continue;
			}
			default:
				return NULL;
			}
		}
		if (n + 1 < outlen)
			out[n++] = (char)c;
		else
			*too_long = 1;
	}
	out[n] = '\0';
	return p;
}

int
listing_parse(const char *line, void (*add)(void *, const char *), void *arg)
{
	static const char key[] = "{\"userList\":[";
	char name[256];
	int too_long;
	const char *p;

	if (strncmp(line, key, sizeof(key) - 1) != 0)
		return -1;
	p = line + sizeof(key) - 1;
	if (*p == ']')
		return strcmp(p, "]}") == 0 ? 0 : -1;
	for (;;) {
		if (*p++ != '"' || (p = json_string(p, name, sizeof(name), &too_long)) == NULL)
			return -1;
		if (!too_long)
			add(arg, name);
		if (*p == ',') {
			p++;
			continue;
		}
		return strcmp(p, "]}") == 0 ? 0 : -1;
	}
}

static void
list_add(void *arg, const char *name)
{
	struct listing *l = arg;
	struct repl *r = l->r;
	l->listed++;
	if (queue_find(r, name) != NULL)
		return;
	struct repl_user *u = queue_get(r, name, l->pair);
	if (u == NULL)
		return;
	if (l->startup) {
		u->not_before = loop_wall(r->loop) + (int64_t)(l->added / r->set.startup_rate);
	} else {
		u->last_update = loop_wall(r->loop);
	}
	l->added++;
}

static void
listing_end(struct listing *l, const char *reason)
{
	struct repl *r = l->r;
	if (reason != NULL)
		log_errorx("listing users on %s failed: %s", l->q.b->spec, reason);
	else
		log_info("listed %zu users on %s, %zu new", l->listed, l->q.b->spec, l->added);
	r->listings--;
	for (struct listing **pl = (struct listing **)&r->listing_head; *pl; pl = &(*pl)->next)
		if (*pl == l) {
			*pl = l->next;
			break;
		}
	strbuf_free(&l->q.cmd);
	free(l);
	sched_kick(r);
}

static void
list_done(struct dvreq *q, const char *reason)
{
	listing_end(q->arg, reason);
}

static int
list_line(struct dvreq *q, char *line)
{
	struct listing *l = q->arg;
	if (line[0] == '{' && !l->got_list) {
		l->got_list = 1;
		if (listing_parse(line, list_add, l) < 0) {
			dvclient_req_cancel(q);
			listing_end(l, "the doveadm server's user list does not parse");
			return 1;
		}
		return 0;
	}
	if (line[0] == '\0')
		return 0;
	dvclient_req_cancel(q);
	if (strcmp(line, "+") == 0)
		listing_end(l, NULL);
	else {
		char why[96];
		str_fmt(why, sizeof(why), "the doveadm server answered %.64s", line);
		listing_end(l, why);
	}
	return 1;
}

void
listing_start(struct repl *r, const char *mask, int startup)
{
	for (size_t i = 0; i < r->npairs; i++) {
		struct listing *l = calloc(1, sizeof(*l));
		if (l == NULL)
			return;
		l->r = r;
		l->pair = (unsigned int)i;
		l->startup = startup;
		struct dvreq *q = &l->q;
		q->b = &r->pairs[i].b[0];
		q->password = r->set.password;
		q->line_max = LIST_LINE_MAX;
		q->handshake_timeout_ms = r->set.connect_timeout_ms;
		q->reply_timeout_ms = 5 * 60 * 1000;
		q->line = list_line;
		q->done = list_done;
		q->arg = l;
		strbuf_init(&q->cmd, (size_t)-1);
		strbuf_puts(&q->cmd, "\t\tuser\t");
		tab_escape(&q->cmd, mask);
		strbuf_putc(&q->cmd, '\n');
		if (q->cmd.error || dvclient_req_start(r, q) < 0) {
			log_error("cannot list users on %s", q->b->spec);
			strbuf_free(&q->cmd);
			free(l);
			continue;
		}
		r->listings++;
		l->next = r->listing_head;
		r->listing_head = l;
	}
}

void
listing_abort_all(struct repl *r)
{
	while (r->listing_head) {
		struct listing *l = r->listing_head;
		r->listing_head = l->next;
		dvclient_req_cancel(&l->q);
		strbuf_free(&l->q.cmd);
		free(l);
	}
	r->listings = 0;
}
