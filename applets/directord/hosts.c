/* SPDX-License-Identifier: MIT */
/* applets/directord/hosts.c: the mail hosts, sorted by address as Dovecot sorts them, and
 * one vhost ring per tag, rebuilt lazily after a change (mail-host.c's model). */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "applets/directord/directord.h"
#include "core/log.h"
#include "core/str.h"

void
hosts_init(struct host_list *l)
{
	memset(l, 0, sizeof(*l));
}

static void
host_free(struct dir_host *h)
{
	free(h->hostname);
	free(h);
}

void
hosts_free(struct host_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		host_free(l->hosts[i]);
	free(l->hosts);
	for (struct dir_tag *t = l->tags, *next; t; t = next) {
		next = t->next;
		dirhash_ring_free(&t->ring);
		free(t->users.buckets);
		free(t->name);
		free(t);
	}
	memset(l, 0, sizeof(*l));
}

struct dir_tag *
hosts_tag(struct host_list *l, const char *name)
{
	for (struct dir_tag *t = l->tags; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

struct dir_tag *
hosts_tag_get(struct host_list *l, const char *name)
{
	struct dir_tag *t = hosts_tag(l, name);
	if (t != NULL)
		return t;
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->name = strdup(name)) == NULL) {
		free(t);
		return NULL;
	}
	/* appended: Dovecot iterates tags in creation order (USER-LIST) */
	struct dir_tag **pp = &l->tags;
	while (*pp)
		pp = &(*pp)->next;
	*pp = t;
	return t;
}

struct dir_host *
hosts_lookup(struct host_list *l, const struct ip_addr *ip)
{
	for (size_t i = 0; i < l->n; i++)
		if (dirhash_ip_cmp(&l->hosts[i]->ip, ip) == 0)
			return l->hosts[i];
	return NULL;
}

struct dir_host *
hosts_add(struct host_list *l, const struct ip_addr *ip, const char *tag)
{
	struct dir_host *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct dir_host **p = realloc(l->hosts, cap * sizeof(*p));
		if (p == NULL) {
			free(h);
			return NULL;
		}
		l->hosts = p;
		l->cap = cap;
	}
	h->ip = *ip;
	ip_format(ip, h->ip_str, sizeof(h->ip_str));
	h->vhost_count = 100;
	h->tag = hosts_tag_get(l, tag);
	if (h->tag == NULL) {
		free(h);
		return NULL;
	}
	l->hosts[l->n++] = h;
	l->unsorted = 1;
	return h;
}

void
hosts_remove(struct host_list *l, struct dir_host *h)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->hosts[i] == h) {
			memmove(&l->hosts[i], &l->hosts[i + 1], (l->n - i - 1) * sizeof(*l->hosts));
			l->n--;
			break;
		}
	}
	host_free(h);
	l->unsorted = 1;
}

static int
host_cmp(const void *a, const void *b)
{
	const struct dir_host *const *x = a, *const *y = b;
	return dirhash_ip_cmp(&(*x)->ip, &(*y)->ip);
}

static void
hosts_sort(struct host_list *l)
{
	if (!l->unsorted)
		return;
	qsort(l->hosts, l->n, sizeof(*l->hosts), host_cmp);
	for (struct dir_tag *t = l->tags; t; t = t->next) {
		dirhash_ring_clear(&t->ring);
		for (size_t i = 0; i < l->n; i++) {
			struct dir_host *h = l->hosts[i];
			if (h->down || h->tag != t)
				continue;
			if (dirhash_ring_add(&t->ring, h, &h->ip, h->ip_str, h->vhost_count) < 0) {
				log_errorx("out of memory building the vhost ring of tag '%s'", t->name);
				return;
			}
		}
		dirhash_ring_sort(&t->ring);
	}
	l->unsorted = 0;
}

struct dir_host **
hosts_sorted(struct host_list *l, size_t *n)
{
	hosts_sort(l);
	*n = l->n;
	return l->hosts;
}

struct dir_host *
hosts_by_hash(struct host_list *l, uint32_t hash, const char *tag)
{
	hosts_sort(l);
	struct dir_tag *t = hosts_tag(l, tag);
	return t ? dirhash_ring_lookup(&t->ring, hash) : NULL;
}

uint32_t
hosts_hash(struct host_list *l)
{
	uint32_t crc = 0;
	hosts_sort(l);
	for (size_t i = 0; i < l->n; i++) {
		struct dir_host *h = l->hosts[i];
		crc = dirhash_hosts_hash_add(crc, &h->ip, h->vhost_count, h->down, h->tag->name);
	}
	return dirhash_hosts_hash_final(crc);
}

/* ip1-ip2: IPv4 may differ in the last octet only, IPv6 in the last 16 bits (Dovecot) */
static int
add_range(struct host_list *l, const struct ip_addr *a, const struct ip_addr *b, const char *tag,
    FILE *errf, const char *what, const char *text)
{
	unsigned char *pa, *pb;
	size_t len, fixed;
	if (a->family != b->family) {
		fprintf(errf, "%s: IP address family mismatch: %s\n", what, text);
		return -1;
	}
	if (dirhash_ip_cmp(a, b) > 0) {
		fprintf(errf, "%s: IP addresses reversed: %s\n", what, text);
		return -1;
	}
	struct ip_addr cur = *a;
	if (a->family == AF_INET) {
		pa = (unsigned char *)&cur.u.v4;
		pb = (unsigned char *)&b->u.v4;
		len = 4;
		fixed = 3;
	} else {
		pa = cur.u.v6.s6_addr;
		pb = (unsigned char *)b->u.v6.s6_addr;
		len = 16;
		fixed = 14;
	}
	if (memcmp(pa, pb, fixed) != 0) {
		fprintf(errf, "%s: IP address range too large: %s\n", what, text);
		return -1;
	}
	for (;;) {
		if (hosts_lookup(l, &cur) == NULL && hosts_add(l, &cur, tag) == NULL)
			return -1;
		if (memcmp(pa, pb, len) == 0)
			break;
		/* increment the varying tail */
		for (size_t i = len; i-- > fixed;)
			if (++pa[i] != 0)
				break;
	}
	return 0;
}

int
hosts_parse(struct host_list *l, const char *servers, FILE *errf, const char *what)
{
	int ret = 0;
	const char *s = servers;
	if (s[strspn(s, " \t")] == '\0')
		return 0;	/* hosts come from doveadm (and the state file) */
	while (*s) {
		s += strspn(s, " \t");
		size_t n = strcspn(s, " \t");
		if (n == 0)
			break;
		char item[512], *tag = "", *dash;
		str_fmt(item, sizeof(item), "%.*s", (int)n, s);
		s += n;
		char *at = strchr(item, '@');
		if (at) {
			*at = '\0';
			tag = at + 1;
		}
		struct ip_addr ip, ip2;
		if ((dash = strchr(item, '-')) != NULL) {
			*dash = '\0';
			if (ip_parse(item, &ip) == 0 && ip_parse(dash + 1, &ip2) == 0) {
				char text[512];
				str_fmt(text, sizeof(text), "%s-%s", item, dash + 1);
				if (add_range(l, &ip, &ip2, tag, errf, what, text) < 0)
					ret = -1;
				continue;
			}
			*dash = '-';
		}
		if (ip_parse(item, &ip) == 0) {
			if (hosts_lookup(l, &ip) == NULL && hosts_add(l, &ip, tag) == NULL)
				ret = -1;
			continue;
		}
		/* a name: every address it has, remembered by name */
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
		if (getaddrinfo(item, NULL, &hints, &res) != 0) {
			fprintf(errf, "%s: Unknown mail host: %s\n", what, item);
			ret = -1;
			continue;
		}
		for (ai = res; ai; ai = ai->ai_next) {
			if (ip_from_sockaddr(ai->ai_addr, &ip, NULL) < 0 || hosts_lookup(l, &ip))
				continue;
			struct dir_host *h = hosts_add(l, &ip, tag);
			if (h == NULL || (h->hostname = strdup(item)) == NULL)
				ret = -1;
		}
		freeaddrinfo(res);
	}
	if (l->n == 0) {
		fprintf(errf, "%s: %s\n", what, ret < 0 ? "No valid servers specified" : "Empty server list");
		ret = -1;
	}
	return ret;
}
