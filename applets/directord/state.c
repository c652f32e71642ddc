/* SPDX-License-Identifier: MIT */
/* applets/directord/state.c: the state file (director_state_file): the hosts as doveadm
 * left them and the user assignments, so that a restart of directord moves nobody.
 * Written whole to a temporary file, fsync'd, renamed over the old one and the directory
 * fsync'd: a crash leaves either the old or the new file, never a mix. Text, one record a
 * line, TAB-separated fields, TAB-escaped:
 *   mtool-directord-state	1
 *   host	IP	TAG	VHOSTS	U|D	LAST_UPDOWN	HOSTNAME
 *   user	TAG	HASH	IP	TIMESTAMP
 * Sessions are not saved: proxies report theirs again when they reconnect. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/directord/directord.h"
#include "core/log.h"
#include "core/str.h"
#include "core/tab.h"

#define STATE_MAGIC	"mtool-directord-state"

static int
num(const char *s, long long min, long long max, long long *v)
{
	const char *err;
	return str_to_num(s, min, max, v, &err);
}

static int
load_line(struct directord *dd, char *line, FILE *errf, unsigned int lineno)
{
	char *f[8];
	size_t n = tab_split(line, f, 8);
	long long v1, v2, v3;
	struct ip_addr ip;
	const char *path = dd->set.state_path;

	if (lineno == 1) {
		if (n < 2 || strcmp(f[0], STATE_MAGIC) != 0 || strcmp(f[1], "1") != 0) {
			fprintf(errf, "%s:1: not a directord state file (version 1)\n", path);
			return -1;
		}
		return 0;
	}
	if (strcmp(f[0], "host") == 0 && n >= 7 && ip_parse(f[1], &ip) == 0 &&
	    num(f[3], 0, DIRHASH_VHOST_MAX, &v1) == 0 && num(f[5], 0, INT64_MAX / 2, &v2) == 0 &&
	    (strcmp(f[4], "U") == 0 || strcmp(f[4], "D") == 0)) {
		struct dir_host *h = hosts_lookup(&dd->hosts, &ip);
		if (h == NULL && (h = hosts_add(&dd->hosts, &ip, f[2])) == NULL)
			return -1;
		h->vhost_count = (unsigned int)v1;
		h->down = f[4][0] == 'D';
		h->last_updown = v2;
		if (*f[6] && h->hostname == NULL)
			h->hostname = strdup(f[6]);
		return 0;
	}
	if (strcmp(f[0], "user") == 0 && n >= 5 && num(f[2], 1, 0xffffffffLL, &v1) == 0 &&
	    ip_parse(f[3], &ip) == 0 && num(f[4], 0, INT64_MAX / 2, &v3) == 0) {
		struct dir_host *h = hosts_lookup(&dd->hosts, &ip);
		if (h == NULL || strcmp(h->tag->name, f[1]) != 0) {
			fprintf(errf, "%s:%u: user on unknown host %s: dropped\n", path, lineno, f[3]);
			return 0;
		}
		if (users_find(&h->tag->users, (uint32_t)v1) == NULL &&
		    users_add(h->tag, (uint32_t)v1, h, v3) == NULL)
			return -1;
		return 0;
	}
	fprintf(errf, "%s:%u: malformed record: ignored\n", path, lineno);
	return 0;
}

int
state_load(struct directord *dd, FILE *errf)
{
	if (dd->set.state_path[0] == '\0')
		return 0;
	FILE *fp = fopen(dd->set.state_path, "r");
	if (fp == NULL) {
		if (errno == ENOENT)
			return 0;
		fprintf(errf, "%s: %s\n", dd->set.state_path, strerror(errno));
		return -1;
	}
	/* the saved hosts replace director_mail_servers, as a ring's state would */
	hosts_free(&dd->hosts);
	hosts_init(&dd->hosts);
	/* whole lines of any length: a line state_save() wrote is longer than the one it
	 * read when escaping grows a field, and the tail of a cut line is no record */
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned int lineno = 0;
	int ret = 0;
	while (ret == 0 && (len = getline(&line, &cap, fp)) > 0) {
		lineno++;
		if (line[len - 1] != '\n' || strlen(line) != (size_t)len) {
			fprintf(errf, "%s:%u: line truncated or with a NUL: ignored\n", dd->set.state_path, lineno);
			if (lineno == 1)
				ret = -1;
			continue;
		}
		line[len - 1] = '\0';
		ret = load_line(dd, line, errf, lineno);
	}
	free(line);
	fclose(fp);
	if (ret == 0) {
		unsigned int users = 0;
		for (struct dir_tag *t = dd->hosts.tags; t; t = t->next)
			users += (unsigned int)t->users.count;
		log_info("state restored from %s: %zu hosts, %u users", dd->set.state_path, dd->hosts.n, users);
	}
	return ret;
}

static void
put_fields(struct strbuf *sb, const char *const *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_putc(sb, '\t');
		tab_escape(sb, f[i]);
	}
	strbuf_putc(sb, '\n');
}

int
state_save(struct directord *dd)
{
	const char *path = dd->set.state_path;
	char tmp[600], num1[32], num2[32], num3[32];
	if (path[0] == '\0')
		return 0;
	struct strbuf sb;
	strbuf_init(&sb, (size_t)1 << 30);
	strbuf_puts(&sb, STATE_MAGIC "\t1\n");
	size_t n;
	struct dir_host **hosts = hosts_sorted(&dd->hosts, &n);
	for (size_t i = 0; i < n; i++) {
		struct dir_host *h = hosts[i];
		str_fmt(num1, sizeof(num1), "%u", h->vhost_count);
		str_fmt(num2, sizeof(num2), "%lld", (long long)h->last_updown);
		const char *f[] = { "host", h->ip_str, h->tag->name, num1, h->down ? "D" : "U", num2,
			h->hostname ? h->hostname : "" };
		put_fields(&sb, f, 7);
	}
	int64_t now = loop_wall(dd->loop);
	for (struct dir_tag *t = dd->hosts.tags; t; t = t->next) {
		for (struct dir_user *u = t->users.head; u; u = u->next) {
			if (u->host == NULL)
				continue;
			str_fmt(num1, sizeof(num1), "%u", u->hash);
			str_fmt(num3, sizeof(num3), "%lld", (long long)(u->nsessions ? now : u->timestamp));
			const char *f[] = { "user", t->name, num1, u->host->ip_str, num3 };
			put_fields(&sb, f, 5);
		}
	}
	if (sb.error) {
		log_errorx("%s: state too large or out of memory: not saved", path);
		strbuf_free(&sb);
		return -1;
	}
	str_fmt(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("open(%s)", tmp);
		strbuf_free(&sb);
		return -1;
	}
	size_t off = 0;
	while (off < sb.len) {
		ssize_t w = write(fd, sb.s + off, sb.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	int ok = off == sb.len && fsync(fd) == 0;
	if (!ok)
		log_error("write(%s)", tmp);
	close(fd);
	strbuf_free(&sb);
	if (!ok || rename(tmp, path) < 0) {
		if (ok)
			log_error("rename(%s, %s)", tmp, path);
		unlink(tmp);
		return -1;
	}
	/* the rename itself must reach the disk */
	char dir[600];
	str_copy(dir, path, sizeof(dir));
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	dd->state_dirty = 0;
	return 0;
}
