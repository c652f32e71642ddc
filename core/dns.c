/* SPDX-License-Identifier: MIT */
/* Implementation notes: one cache entry per name, also while its lookup runs: callers of
 * the same name wait on the entry, so a name is asked once however many logins need it.
 * A lookup owns one connected UDP socket per try (a new source port and new ids each
 * time; replies from anyone else never reach a connected socket) and, for an answer
 * that came back truncated, a TCP connection to the same server. A temporary failure is
 * kept for the rest of the loop turn only, so that a caller who retries from its callback
 * gets the same answer instead of a new query. */
#include "core/dns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dnspkt.h"
#include "core/log.h"
#include "core/str.h"

#define DNS_SERVERS_MAX		3	/* as the C library: MAXNS */
#define DNS_SEARCH_MAX		6	/* as the C library: MAXDNSRCH */
#define DNS_BUCKETS		256
#define DNS_FILE_MAX		(1 << 20)
#define DNS_UDP_MAX		1500	/* no EDNS is sent, so answers are 512 bytes at most */
#define DNS_RECHECK_MS		1000	/* how often the two files are looked at for changes */

enum { T_A, T_AAAA, T_N };
static const uint16_t qtypes[T_N] = { DNSPKT_TYPE_A, DNSPKT_TYPE_AAAA };

enum entry_state { E_PENDING, E_OK, E_FAIL };

struct dns_query {
	struct entry *e;
	dns_cb *cb;
	void *arg;
	struct dns_query *next;
};

struct tcp {
	int fd;			/* -1 when not in use */
	struct loop_io io;
	uint8_t out[2 + DNSPKT_QUERY_MAX];
	size_t outlen, sent;
	uint8_t *in;		/* the length prefix, then the message */
	size_t want, got;
};

struct lookup {
	struct dns *dns;
	struct entry *e;
	int fd;
	struct loop_io io;
	struct loop_timer timer;
	unsigned int try;
	uint16_t id[T_N];
	int done[T_N];
	struct dnspkt_answer ans[T_N];
	struct tcp tcp[T_N];
	char qname[DNSPKT_NAME_MAX + 1];	/* the candidate being asked */
	unsigned int cand;	/* its index: the search list applied to the name */
	const char *error;	/* of the last failed try */
	const char *fail_now;	/* this try failed while sending: move on at the next turn */
};

struct entry {
	struct entry *hnext;
	char name[DNSPKT_NAME_MAX + 1];
	enum entry_state state;
	struct ip_addr ip;
	uint64_t expires;	/* loop_now(); E_OK and E_FAIL hold until then */
	char error[128];
	struct dns_query *waiters;
	struct lookup *lk;
	int busy;		/* its waiters are being called: not to be evicted */
	int absolute;		/* asked with a final dot: no search list */
};

struct host {
	char *name;
	struct ip_addr ip;
};

/* What tells a changed file: as the C library's resolv.conf check. */
struct file_id {
	struct timespec mtime;
	off_t size;
	ino_t ino;
	int exists;
};

struct dns {
	struct loop *loop;
	char *paths[2];			/* resolv.conf, hosts */
	struct file_id ids[2];
	uint64_t checked;		/* loop_now() of the last look at them */
	struct sockaddr_storage servers[DNS_SERVERS_MAX];
	socklen_t server_len[DNS_SERVERS_MAX];
	unsigned int nservers;
	unsigned int timeout_ms, attempts, ndots;
	char search[DNS_SEARCH_MAX][DNSPKT_NAME_MAX + 1];
	unsigned int nsearch;
	struct host *hosts;
	size_t nhosts;
	struct entry *buckets[DNS_BUCKETS];
	unsigned int nentries;
};

/* ---- configuration files ---------------------------------------------------------- */

static char *
read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = malloc(DNS_FILE_MAX + 1);
	size_t n = 0;
	while (buf && n < DNS_FILE_MAX) {
		ssize_t r = read(fd, buf + n, DNS_FILE_MAX - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* Splits the next line of *s into at most max space-separated words (a '#' or ';' ends
 * the line's text). Returns the number of words, -1 at the end of the text. */
static int
next_line(char **s, char **w, int max)
{
	if (**s == '\0')
		return -1;
	char *line = *s, *end = strchr(line, '\n');
	*s = end ? end + 1 : line + strlen(line);
	if (end)
		*end = '\0';
	line[strcspn(line, "#;")] = '\0';
	int n = 0;
	for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t && n < max; t = strtok_r(NULL, " \t\r", &save))
		w[n++] = t;
	return n;
}

static void
add_server(struct dns *d, const struct ip_addr *ip)
{
	if (d->nservers >= DNS_SERVERS_MAX)
		return;
	struct sockaddr_storage *ss = &d->servers[d->nservers];
	memset(ss, 0, sizeof(*ss));
	if (ip->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(53);
		sin->sin_addr = ip->u.v4;
		d->server_len[d->nservers++] = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(53);
		sin6->sin6_addr = ip->u.v6;
		d->server_len[d->nservers++] = sizeof(*sin6);
	}
}

static void
load_resolv_conf(struct dns *d, const char *path)
{
	char *text = read_file(path), *s = text, *w[8];
	int n;
	while (text && (n = next_line(&s, w, 8)) >= 0) {
		struct ip_addr ip;
		long long v;
		const char *err;
		if (n >= 2 && strcmp(w[0], "nameserver") == 0 && ip_parse(w[1], &ip) == 0)
			add_server(d, &ip);
		/* as the C library: the last search or domain line wins */
		if (n >= 2 && (strcmp(w[0], "search") == 0 || strcmp(w[0], "domain") == 0)) {
			d->nsearch = 0;
			for (int i = 1; i < n && d->nsearch < DNS_SEARCH_MAX; i++) {
				size_t l = strlen(w[i]);
				l -= l > 0 && w[i][l - 1] == '.';
				if (l > 0 && l < 200) {
					memcpy(d->search[d->nsearch], w[i], l);
					d->search[d->nsearch++][l] = '\0';
				}
			}
		}
		for (int i = 1; n >= 2 && strcmp(w[0], "options") == 0 && i < n; i++) {
			if (strncmp(w[i], "timeout:", 8) == 0 && str_to_num(w[i] + 8, 1, 30, &v, &err) == 0)
				d->timeout_ms = (unsigned int)v * 1000;
			else if (strncmp(w[i], "attempts:", 9) == 0 && str_to_num(w[i] + 9, 1, 5, &v, &err) == 0)
				d->attempts = (unsigned int)v;
			else if (strncmp(w[i], "ndots:", 6) == 0 && str_to_num(w[i] + 6, 0, 15, &v, &err) == 0)
				d->ndots = (unsigned int)v;
		}
	}
	free(text);
	if (d->nservers == 0) {
		struct ip_addr lo;
		ip_parse("127.0.0.1", &lo);
		add_server(d, &lo);
	}
}

static void
load_hosts(struct dns *d, const char *path)
{
	char *text = read_file(path), *s = text, *w[16];
	int n;
	size_t cap = 0;
	while (text && (n = next_line(&s, w, 16)) >= 0) {
		struct ip_addr ip;
		if (n < 2 || ip_parse(w[0], &ip) < 0)
			continue;
		for (int i = 1; i < n; i++) {
			if (d->nhosts == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct host *h = realloc(d->hosts, nc * sizeof(*h));
				if (h == NULL)
					goto out;
				d->hosts = h;
				cap = nc;
			}
			if ((d->hosts[d->nhosts].name = strdup(w[i])) == NULL)
				goto out;
			d->hosts[d->nhosts++].ip = ip;
		}
	}
out:
	free(text);
}

static void
file_id_get(const char *path, struct file_id *id)
{
	struct stat st;
	memset(id, 0, sizeof(*id));
	if (stat(path, &st) == 0) {
		id->exists = 1;
		id->mtime = st.st_mtim;
		id->size = st.st_size;
		id->ino = st.st_ino;
	}
}

static void
free_hosts(struct dns *d)
{
	for (size_t i = 0; i < d->nhosts; i++)
		free(d->hosts[i].name);
	free(d->hosts);
	d->hosts = NULL;
	d->nhosts = 0;
}

/* (Re)reads both files. Running lookups go on with the new servers; answers already
 * cached stay until their TTL. */
static void
load_all(struct dns *d)
{
	d->nservers = d->nsearch = 0;
	d->timeout_ms = 5000;	/* the C library's defaults */
	d->attempts = 2;
	d->ndots = 1;
	free_hosts(d);
	file_id_get(d->paths[0], &d->ids[0]);
	file_id_get(d->paths[1], &d->ids[1]);
	load_resolv_conf(d, d->paths[0]);
	load_hosts(d, d->paths[1]);
}

static void
recheck(struct dns *d)
{
	uint64_t now = loop_now(d->loop);
	if (now - d->checked < DNS_RECHECK_MS)
		return;
	d->checked = now;
	for (int i = 0; i < 2; i++) {
		struct file_id id;
		file_id_get(d->paths[i], &id);
		if (id.exists != d->ids[i].exists || id.size != d->ids[i].size || id.ino != d->ids[i].ino ||
		    id.mtime.tv_sec != d->ids[i].mtime.tv_sec || id.mtime.tv_nsec != d->ids[i].mtime.tv_nsec) {
			log_info("dns: %s changed: read again", d->paths[i]);
			load_all(d);
			return;
		}
	}
}

struct dns *
dns_new(struct loop *l, const char *resolv_conf, const char *hosts)
{
	struct dns *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->loop = l;
	d->paths[0] = strdup(resolv_conf ? resolv_conf : "/etc/resolv.conf");
	d->paths[1] = strdup(hosts ? hosts : "/etc/hosts");
	if (d->paths[0] == NULL || d->paths[1] == NULL) {
		dns_free(d);
		return NULL;
	}
	load_all(d);
	d->checked = loop_now(l);
	return d;
}

/* ---- the cache -------------------------------------------------------------------- */

static struct entry **
slot(struct dns *d, const char *name)
{
	return &d->buckets[str_hash(name) % DNS_BUCKETS];
}

static struct entry *
find(struct dns *d, const char *name, int absolute)
{
	for (struct entry *e = *slot(d, name); e; e = e->hnext)
		if (strcmp(e->name, name) == 0 && e->absolute == absolute)
			return e;
	return NULL;
}

static void
unlink_entry(struct dns *d, struct entry *e)
{
	for (struct entry **p = slot(d, e->name); *p; p = &(*p)->hnext)
		if (*p == e) {
			*p = e->hnext;
			d->nentries--;
			return;
		}
}

/* Makes room by dropping the answer that expires first (never a running lookup). */
static int
evict(struct dns *d)
{
	struct entry *victim = NULL;
	for (unsigned int b = 0; b < DNS_BUCKETS; b++)
		for (struct entry *e = d->buckets[b]; e; e = e->hnext)
			if (e->state != E_PENDING && !e->busy && (victim == NULL || e->expires < victim->expires))
				victim = e;
	if (victim == NULL)
		return -1;
	unlink_entry(d, victim);
	free(victim);
	return 0;
}

/* ---- one lookup on the network ---------------------------------------------------- */

static void lookup_try(struct lookup *);

/* The *cand'th name to ask for e->name, as the C library's res_search: a name with at
 * least ndots dots is asked as it is first, then with each search domain; one with fewer
 * dots the other way round; one that ends with a dot only as it is. A domain that would
 * make the name too long is passed over (*cand moves on). Returns 0, or -1 when there
 * are no more. */
static int
candidate(const struct dns *d, const char *name, int absolute, unsigned int *candp, char *out)
{
	unsigned int cand = *candp;
	unsigned int dots = 0, nsearch = absolute ? 0 : d->nsearch;
	for (const char *p = name; *p; p++)
		dots += *p == '.';
	for (;;) {
		if (cand > nsearch)
			return -1;
		unsigned int asis = dots >= d->ndots ? 0 : nsearch;
		*candp = cand;
		if (cand == asis) {
			str_copy(out, name, DNSPKT_NAME_MAX + 1);
			return 0;
		}
		const char *dom = d->search[cand > asis ? cand - 1 : cand];
		if (strlen(name) + 1 + strlen(dom) <= 253) {
			str_fmt(out, DNSPKT_NAME_MAX + 1, "%s.%s", name, dom);
			return 0;
		}
		cand++;
	}
}

static void
tcp_close(struct lookup *lk, int t)
{
	struct tcp *tc = &lk->tcp[t];
	if (tc->fd >= 0) {
		loop_io_del(lk->dns->loop, &tc->io);
		close(tc->fd);
	}
	tc->fd = -1;
	free(tc->in);
	tc->in = NULL;
}

static void
lookup_close(struct lookup *lk)
{
	if (lk->fd >= 0) {
		loop_io_del(lk->dns->loop, &lk->io);
		close(lk->fd);
		lk->fd = -1;
	}
	for (int t = 0; t < T_N; t++)
		tcp_close(lk, t);
	loop_timer_cancel(lk->dns->loop, &lk->timer);
}

/* Ends the lookup: the entry holds the outcome, the waiters hear it. */
static void
finish(struct lookup *lk, const struct ip_addr *ip, uint32_t ttl, const char *error)
{
	struct dns *d = lk->dns;
	struct entry *e = lk->e;
	uint64_t now = loop_now(d->loop);

	if (ip != NULL)
		e->ip = *ip;	/* ip may point into lk */
	lookup_close(lk);
	/* after the loop's batch: the other TCP socket's event may be in it still */
	loop_defer_free(d->loop, free, lk);
	e->lk = NULL;
	if (ip != NULL) {
		e->state = E_OK;
		e->expires = now + (uint64_t)(ttl < DNS_TTL_MAX ? ttl : DNS_TTL_MAX) * 1000;
	} else {
		e->state = E_FAIL;
		str_copy(e->error, error, sizeof(e->error));
		e->expires = now + (uint64_t)ttl * 1000;
	}
	/* one at a time: a callback may cancel another waiter */
	e->busy = 1;
	while (e->waiters) {
		struct dns_query *q = e->waiters;
		e->waiters = q->next;
		q->cb(ip ? &e->ip : NULL, ip ? NULL : e->error, q->arg);
		free(q);
	}
	e->busy = 0;
}

/* Returns 1 if the lookup has ended. */
static int
check_done(struct lookup *lk)
{
	struct dnspkt_answer *a = &lk->ans[T_A], *aaaa = &lk->ans[T_AAAA];
	char msg[128];

	if (lk->done[T_A] && a->naddrs > 0) {
		finish(lk, &a->addrs[0], a->ttl, NULL);
		return 1;
	}
	int nx = (lk->done[T_A] && a->rcode == DNSPKT_RCODE_NXDOMAIN) ||
	    (lk->done[T_AAAA] && aaaa->rcode == DNSPKT_RCODE_NXDOMAIN);
	if (!nx && !(lk->done[T_A] && lk->done[T_AAAA]))
		return 0;
	if (!nx && aaaa->naddrs > 0) {
		finish(lk, &aaaa->addrs[0], aaaa->ttl, NULL);
		return 1;
	}
	/* "no such name" or "no address": kept for the SOA's negative TTL, bounded */
	uint32_t ttl = UINT32_MAX;
	for (int t = 0; t < T_N; t++)
		if (lk->done[t] && lk->ans[t].neg_ttl_known && lk->ans[t].neg_ttl < ttl)
			ttl = lk->ans[t].neg_ttl;
	if (ttl == UINT32_MAX)
		ttl = DNS_NEG_TTL_DEFAULT;
	if (ttl > DNS_NEG_TTL_MAX)
		ttl = DNS_NEG_TTL_MAX;
	/* not under this name: the next one of the search list, if any */
	unsigned int next = lk->cand + 1;
	if (candidate(lk->dns, lk->e->name, lk->e->absolute, &next, lk->qname) == 0) {
		lk->cand = next;
		lk->try = 0;
		memset(lk->done, 0, sizeof(lk->done));
		lookup_try(lk);
		return 1;
	}
	str_fmt(msg, sizeof(msg), nx ? "Host not found (NXDOMAIN)" : "No address for the name (NODATA)");
	finish(lk, NULL, ttl, msg);
	return 1;
}

static void
next_try(struct lookup *lk, const char *error)
{
	lk->error = error;
	if (++lk->try >= lk->dns->attempts * lk->dns->nservers) {
		char msg[128];
		str_fmt(msg, sizeof(msg), "Temporary failure in name resolution (%s)", lk->error);
		finish(lk, NULL, 0, msg);
		return;
	}
	lookup_try(lk);
}

static void
timeout_cb(struct loop_timer *t, void *arg)
{
	struct lookup *lk = arg;
	(void)t;
	next_try(lk, lk->fail_now ? lk->fail_now : "timed out");
}

static int tcp_start(struct lookup *, int t);

/* A parsed answer for type t. Returns 1 if the lookup has ended or moved to another try
 * (the caller's socket is then gone), 0 if it goes on. */
static int
answer(struct lookup *lk, int t, const struct dnspkt_answer *a)
{
	if (a->truncated) {
		if (lk->tcp[t].fd < 0 && tcp_start(lk, t) < 0) {
			next_try(lk, "TCP connection failed");
			return 1;
		}
		return 0;
	}
	if (a->rcode != DNSPKT_RCODE_OK && a->rcode != DNSPKT_RCODE_NXDOMAIN) {
		next_try(lk, a->rcode == DNSPKT_RCODE_SERVFAIL ? "server failure" : "refused");
		return 1;
	}
	lk->done[t] = 1;
	lk->ans[t] = *a;
	return check_done(lk);
}

/* A message from the server: as answer(), or 2 if it answers nothing we asked (it is
 * ignored: the right answer may still come). */
static int
received(struct lookup *lk, const uint8_t *p, size_t len, int only)
{
	for (int t = 0; t < T_N; t++) {
		struct dnspkt_answer a;
		const char *err;
		if (lk->done[t] || (only >= 0 && t != only))
			continue;
		if (dnspkt_parse(p, len, lk->id[t], lk->qname, qtypes[t], &a, &err) == 0)
			return answer(lk, t, &a);
	}
	return 2;
}

static void
udp_cb(struct loop_io *io, uint32_t events, void *arg)
{
	struct lookup *lk = arg;
	uint8_t buf[DNS_UDP_MAX];
	(void)io;
	(void)events;
	for (;;) {
		ssize_t n = recv(lk->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* ECONNREFUSED: nobody listens there */
			next_try(lk, strerror(errno));
			return;
		}
		if (received(lk, buf, (size_t)n, -1) == 1)
			return;
	}
}

static void
tcp_cb(struct loop_io *io, uint32_t events, void *arg)
{
	struct lookup *lk = arg;
	int t = io == &lk->tcp[T_A].io ? T_A : T_AAAA;
	struct tcp *tc = &lk->tcp[t];

	if (tc->sent < tc->outlen) {
		ssize_t n = send(tc->fd, tc->out + tc->sent, tc->outlen - tc->sent, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			next_try(lk, "TCP connection failed");
			return;
		}
		tc->sent += (size_t)n;
		if (tc->sent == tc->outlen)
			loop_io_set(lk->dns->loop, &tc->io, EPOLLIN);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	ssize_t n = recv(tc->fd, tc->in + tc->got, tc->want - tc->got, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		next_try(lk, n == 0 ? "TCP connection closed" : "TCP connection failed");
		return;
	}
	tc->got += (size_t)n;
	if (tc->got < tc->want)
		return;
	if (tc->want == 2) {
		size_t l = (size_t)tc->in[0] << 8 | tc->in[1];
		uint8_t *in = l >= 12 ? realloc(tc->in, 2 + l) : NULL;
		if (in == NULL) {
			next_try(lk, "bad TCP answer");
			return;
		}
		tc->in = in;
		tc->want = 2 + l;
		return;
	}
	uint8_t *msg = tc->in;
	size_t len = tc->want - 2;
	tc->in = NULL;	/* tcp_close may run from inside received() */
	int r = received(lk, msg + 2, len, t);
	free(msg);
	if (r == 2)
		next_try(lk, "bad TCP answer");	/* it cannot come another way here */
	else if (r == 0)
		tcp_close(lk, t);
}

static int
tcp_start(struct lookup *lk, int t)
{
	struct dns *d = lk->dns;
	unsigned int s = lk->try % d->nservers;
	struct tcp *tc = &lk->tcp[t];
	int q = dnspkt_query(tc->out + 2, sizeof(tc->out) - 2, lk->id[t], lk->qname, qtypes[t]);
	if (q < 0)
		return -1;
	tc->out[0] = (uint8_t)(q >> 8);
	tc->out[1] = (uint8_t)q;
	tc->outlen = (size_t)q + 2;
	tc->sent = tc->got = 0;
	tc->want = 2;
	if ((tc->in = malloc(2)) == NULL)
		return -1;
	tc->fd = socket(d->servers[s].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (tc->fd < 0)
		return -1;
	if ((connect(tc->fd, (struct sockaddr *)&d->servers[s], d->server_len[s]) < 0 &&
	    errno != EINPROGRESS) ||
	    loop_io_add(d->loop, &tc->io, tc->fd, EPOLLOUT, tcp_cb, lk) < 0) {
		close(tc->fd);
		tc->fd = -1;
		return -1;
	}
	return 0;
}

static uint16_t
random_id(void)
{
	uint16_t id;
	static uint16_t fallback = 0x5a17;
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = fallback += 0x9e37;
	return id;
}

static void
lookup_try(struct lookup *lk)
{
	struct dns *d = lk->dns;
	unsigned int s = lk->try % d->nservers;

	lookup_close(lk);
	lk->fail_now = NULL;
	if (loop_timer_set(d->loop, &lk->timer, d->timeout_ms, timeout_cb, lk) < 0) {
		finish(lk, NULL, 0, "Temporary failure in name resolution (out of memory)");
		return;
	}
	lk->fd = socket(d->servers[s].ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lk->fd < 0 || connect(lk->fd, (struct sockaddr *)&d->servers[s], d->server_len[s]) < 0 ||
	    loop_io_add(d->loop, &lk->io, lk->fd, EPOLLIN, udp_cb, lk) < 0) {
		if (lk->fd >= 0)
			close(lk->fd);
		lk->fd = -1;
		lk->error = strerror(errno);
		return;	/* the timer moves on */
	}
	for (int t = 0; t < T_N; t++) {
		uint8_t q[DNSPKT_QUERY_MAX];
		if (lk->done[t])
			continue;
		lk->id[t] = random_id();
		int n = dnspkt_query(q, sizeof(q), lk->id[t], lk->qname, qtypes[t]);
		/* a lost datagram is a timeout like any other; a refusal (the ICMP error of
		 * the first query, reported to the second) moves on at once */
		if (n > 0 && send(lk->fd, q, (size_t)n, MSG_NOSIGNAL) < 0 && errno != EAGAIN &&
		    errno != ENOBUFS && lk->fail_now == NULL) {
			lk->fail_now = strerror(errno);
			loop_timer_set(d->loop, &lk->timer, 0, timeout_cb, lk);
		}
	}
}

static int
lookup_start(struct dns *d, struct entry *e)
{
	struct lookup *lk = calloc(1, sizeof(*lk));
	if (lk == NULL)
		return -1;
	lk->dns = d;
	lk->e = e;
	lk->fd = -1;
	if (candidate(d, e->name, e->absolute, &lk->cand, lk->qname) < 0) {
		free(lk);
		return -1;
	}
	for (int t = 0; t < T_N; t++)
		lk->tcp[t].fd = -1;
	e->lk = lk;
	e->state = E_PENDING;
	lookup_try(lk);
	return 0;
}

/* ---- the interface ---------------------------------------------------------------- */

int
dns_lookup(struct dns *d, const char *name, struct ip_addr *ip, const char **error,
    dns_cb *cb, void *arg, struct dns_query **q)
{
	char key[DNSPKT_NAME_MAX + 1];
	uint8_t scratch[DNSPKT_QUERY_MAX];
	size_t n = strlen(name);

	*q = NULL;
	if (ip_parse(name, ip) == 0)
		return 1;
	recheck(d);
	for (size_t i = 0; i < d->nhosts; i++)
		if (dnspkt_name_eq(d->hosts[i].name, name)) {
			*ip = d->hosts[i].ip;
			return 1;
		}
	if (n > DNSPKT_NAME_MAX - 1 || dnspkt_query(scratch, sizeof(scratch), 0, name, DNSPKT_TYPE_A) < 0) {
		*error = "Invalid host name";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		key[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	/* "mail." and "mail" differ once a search list applies */
	int absolute = n > 0 && name[n - 1] == '.';
	n -= absolute;
	key[n] = '\0';

	struct entry *e = find(d, key, absolute);
	if (e != NULL && e->state != E_PENDING && e->expires >= loop_now(d->loop)) {
		if (e->state == E_OK) {
			*ip = e->ip;
			return 1;
		}
		*error = e->error;
		return -1;
	}
	if (e == NULL) {
		if (d->nentries >= DNS_CACHE_MAX && evict(d) < 0) {
			*error = "Temporary failure in name resolution (too many names being resolved)";
			return -1;
		}
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			*error = "Out of memory";
			return -1;
		}
		memcpy(e->name, key, n + 1);
		e->absolute = absolute;
		e->hnext = *slot(d, key);
		*slot(d, key) = e;
		d->nentries++;
		e->state = E_FAIL;
	}
	struct dns_query *dq = calloc(1, sizeof(*dq));
	if (dq == NULL || (e->state != E_PENDING && lookup_start(d, e) < 0)) {
		free(dq);
		*error = "Out of memory";
		return -1;
	}
	if (e->state != E_PENDING) {
		/* it failed at once (out of memory for its timer) */
		free(dq);
		*error = e->error;
		return -1;
	}
	dq->e = e;
	dq->cb = cb;
	dq->arg = arg;
	dq->next = e->waiters;
	e->waiters = dq;
	*q = dq;
	return 0;
}

void
dns_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	for (struct dns_query **p = &q->e->waiters; *p; p = &(*p)->next)
		if (*p == q) {
			*p = q->next;
			break;
		}
	free(q);
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	for (unsigned int b = 0; b < DNS_BUCKETS; b++)
		while (d->buckets[b]) {
			struct entry *e = d->buckets[b];
			d->buckets[b] = e->hnext;
			if (e->lk) {
				lookup_close(e->lk);
				loop_defer_free(d->loop, free, e->lk);
			}
			while (e->waiters) {
				struct dns_query *q = e->waiters;
				e->waiters = q->next;
				free(q);
			}
			free(e);
		}
	free_hosts(d);
	free(d->paths[0]);
	free(d->paths[1]);
	free(d);
}
