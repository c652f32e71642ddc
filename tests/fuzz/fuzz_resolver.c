/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_resolver.c: the resolver (core/dns.c) with its files and a nameserver
 * the fuzzer plays: resolv.conf (nameserver, search, domain, options) and /etc/hosts
 * read, a name looked up (IP literals, hosts, the search list, A and AAAA together,
 * retries across servers, the cache), and every query that reaches 127.0.0.1:53
 * answered with the fuzzer's bytes, whose ID is set to the query's (a real resolver
 * drops other answers before reading them; the dns target has the packet parser alone).
 * In a network namespace of its own (fuzz_own_netns()), so that a nameserver line naming
 * any address reaches nothing; without one every input is skipped.
 * Input: one byte (bit 0: the answer's question section is the query's, put after the
 * answer's 12-byte header), resolv.conf, NUL, hosts, NUL, the name, NUL, the answer. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/dns.h"
#include "core/log.h"
#include "core/loop.h"
#include "tests/fuzz/fuzz.h"

#define QUERIES_MAX	16

static void
done(const struct ip_addr *ip, const char *error, void *arg)
{
	char buf[IP_ADDR_STRLEN];
	*(int *)arg = 1;
	if (ip != NULL && ip->family != AF_INET && ip->family != AF_INET6)
		abort();
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "fuzz_resolver: %s\n", ip ? ip_format(ip, buf, sizeof(buf)) : error);
}

/* Answers the queries waiting on the nameserver socket. 1 if there were any. */
static int
answer(int fd, unsigned int mode, const uint8_t *ans, size_t alen, unsigned int *count)
{
	uint8_t q[512], out[1024];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n;
	int moved = 0;
	while ((n = recvfrom(fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &flen)) > 0) {
		moved = 1;
		if ((*count)++ >= QUERIES_MAX || n < 12)
			continue;
		size_t len = 0;
		if ((mode & 1) && alen >= 12) {
			memcpy(out, ans, 12);
			memcpy(out + 12, q + 12, (size_t)n - 12);
			len = 12 + (size_t)n - 12;
			size_t rest = alen - 12 < sizeof(out) - len ? alen - 12 : sizeof(out) - len;
			memcpy(out + len, ans + 12, rest);
			len += rest;
		} else {
			len = alen < sizeof(out) ? alen : sizeof(out);
			memcpy(out, ans, len);
		}
		if (len >= 2)
			memcpy(out, q, 2);
		(void)sendto(fd, out, len, MSG_DONTWAIT, (struct sockaddr *)&from, flen);
		flen = sizeof(from);
	}
	return moved;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct loop *l;
	static int ns = -1;
	if (size < 1 || !fuzz_own_netns())
		return 0;
	if (l == NULL) {
		log_init("resolver", getenv("FUZZ_DEBUG") != NULL, 0);
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53),
			.sin_addr.s_addr = htonl(0x7f000001) };
		ns = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if ((l = loop_new()) == NULL || ns < 0 ||
		    bind(ns, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			abort();
	}
	unsigned int mode = data[0];
	data++, size--;
	char *resolv = fuzz_take(&data, &size, '\0');
	char *hosts = fuzz_take(&data, &size, '\0');
	char *name = fuzz_take(&data, &size, '\0');
	char rpath[512];
	fuzz_dir_clean();
	snprintf(rpath, sizeof(rpath), "%s", fuzz_write_file("resolv.conf", resolv, strlen(resolv)));
	struct dns *d = dns_new(l, rpath, fuzz_write_file("hosts", hosts, strlen(hosts)));
	if (d == NULL)
		abort();
	struct ip_addr ip;
	const char *error;
	struct dns_query *q;
	int finished = 0;
	unsigned int count = 0;
	int r = dns_lookup(d, name, &ip, &error, done, &finished, &q);
	if (r != 0 && getenv("FUZZ_DEBUG"))
		done(r > 0 ? &ip : NULL, error, &finished);
	if (r == 0) {
		for (int i = 0, idle = 0; i < 200 && idle < 3 && !finished; i++) {
			int moved = answer(ns, mode, data, size, &count);
			fuzz_loop_turn(l);
			idle = moved ? 0 : idle + 1;
		}
		/* the same name again: from the cache, or joining a lookup under way */
		int again = 0;
		struct dns_query *q2;
		if (dns_lookup(d, name, &ip, &error, done, &again, &q2) == 0)
			dns_cancel(q2);
		if (!finished)
			dns_cancel(q);
	}
	dns_free(d);
	/* answers that came too late */
	(void)answer(ns, mode, data, size, &count);
	free(resolv);
	free(hosts);
	free(name);
	return 0;
}
