/* SPDX-License-Identifier: MIT */
/* applets/replicatord/rstate.c: replicator.db in Dovecot 2.3's format (replicator.md §3.7):
 * one line per user, user (TAB-escaped), priority 0-3, last update, last fast sync, last
 * full sync, failed 0/1, dsync state, last successful sync; mtool appends the pair's
 * first backend (column 9) and the state of syncs the second one initiates (column 10),
 * which Dovecot ignores. A file left by Dovecot's replicator is read as it is
 * (migration). Written whole to a temporary file, fsynced and renamed, so a crash leaves
 * the old file or the new one, never half of one; a file that does not parse is refused
 * (Dovecot silently stops at the first bad line and forgets the rest). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "applets/replicatord/replicatord.h"
#include "core/log.h"
#include "core/str.h"
#include "core/tab.h"

#define STATE_FILE_MAX	(1024u * 1024 * 1024)
#define STATE_FIELDS	16

static int
read_all(const char *path, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > STATE_FILE_MAX) {
		if (errno == 0)
			errno = EFBIG;
		close(fd);
		return -1;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		return -1;
	}
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= STATE_FILE_MAX) {
				errno = EFBIG;
				free(buf);
				close(fd);
				return -1;
			}
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				close(fd);
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Times far beyond any clock are refused, so that adding an interval to one (the retry,
 * the full sync interval) cannot overflow. */
static int
num(const char *s, int64_t *out)
{
	long long v;
	const char *err;
	if (str_to_num(s, 0, 0x3fffffffffffffffLL, &v, &err) < 0)
		return -1;
	*out = v;
	return 0;
}

static unsigned int
pair_of(const struct repl *r, const char *spec)
{
	for (size_t i = 0; i < r->npairs; i++)
		if (strcmp(r->pairs[i].b[0].spec, spec) == 0)
			return (unsigned int)i;
	return 0;
}

/* One line into a user; NULL on success, else what is wrong with it. */
static const char *
load_line(struct repl *r, char *line)
{
	char *f[STATE_FIELDS + 1];
	size_t n = tab_split(line, f, STATE_FIELDS);
	int64_t prio, upd, fast, full, failed, success = 0;

	if (n < 7)
		return "fewer than 7 fields";
	if (f[0][0] == '\0')
		return "empty user name";
	if (num(f[1], &prio) < 0 || prio > PRIO_SYNC)
		return "priority is not 0-3";
	if (num(f[2], &upd) < 0 || num(f[3], &fast) < 0 || num(f[4], &full) < 0 ||
	    (n >= 8 && num(f[7], &success) < 0))
		return "a time is not a number";
	if (num(f[5], &failed) < 0 || failed > 1)
		return "the failed field is not 0 or 1";
	struct repl_user *u = queue_find(r, f[0]);
	/* a user twice: the newer record wins, as in Dovecot */
	if (u != NULL && (u->last_update > upd || (u->last_update == upd && u->prio >= prio)))
		return NULL;
	if (u == NULL && (u = queue_get(r, f[0], n >= 9 ? pair_of(r, f[8]) : 0)) == NULL)
		return "unusable user name (or out of memory)";
	char *st = strdup(f[6]), *st2 = strdup(n >= 10 ? f[9] : "");
	if (st == NULL || st2 == NULL) {
		free(st);
		free(st2);
		return "out of memory";
	}
	free(u->state[0]);
	free(u->state[1]);
	u->state[0] = st;
	u->state[1] = st2;
	/* a request in the file: from which side is not recorded, so both sync */
	if (prio != PRIO_NONE)
		u->sides = 3;
	u->prio = (unsigned char)prio;
	u->last_update = upd;
	u->last_fast = fast;
	u->last_full = full;
	u->last_success = success;
	u->failed = failed != 0;
	/* the backoff is not in the file: a failed user is retried after retry_min */
	if (u->failed)
		u->retry_at = fast + r->set.retry_min;
	/* notifications sent while replicatord was down wait in the aggregators until
	 * their next notification (aggregator/replicator-connection.c sends its queue only
	 * then): one sync per user after a start catches them, spread at the start-up rate */
	if (r->set.startup_sync) {
		u->startup_sync = 1;
		u->sides = 3;
		u->not_before = loop_wall(r->loop) + (int64_t)(r->nusers / r->set.startup_rate);
	}
	return NULL;
}

static int
load_file(struct repl *r, const char *path, FILE *errf)
{
	char *buf;
	size_t len;

	if (read_all(path, &buf, &len) < 0) {
		if (errno == ENOENT)
			return 1;
		fprintf(errf, "replicatord: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	unsigned int lineno = 0;
	char *p = buf, *end = buf + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		lineno++;
		if (nl == NULL) {
			fprintf(errf, "%s:%u: the last line has no newline: the file was cut short\n",
			    path, lineno);
			free(buf);
			return -1;
		}
		*nl = '\0';
		const char *err = load_line(r, p);
		if (err != NULL) {
			fprintf(errf, "%s:%u: corrupted replicator record: %s\n", path, lineno, err);
			free(buf);
			return -1;
		}
		p = nl + 1;
	}
	free(buf);
	return 0;
}

int
rstate_load(struct repl *r, FILE *errf)
{
	if (r->set.state_path[0] == '\0')
		return 0;
	int ret = load_file(r, r->set.state_path, errf);
	if (ret == 1 && strcmp(r->set.import_path, r->set.state_path) != 0) {
		/* first start: take over what Dovecot's replicator left */
		ret = load_file(r, r->set.import_path, errf);
		if (ret == 0) {
			log_info("imported %zu users from Dovecot's %s", r->nusers, r->set.import_path);
			r->dirty = 1;
			return 0;
		}
	}
	r->dirty = 0;
	return ret < 0 ? -1 : 0;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
rstate_save(struct repl *r)
{
	char tmp[sizeof(r->set.state_path) + 8];
	struct strbuf sb;

	if (r->set.state_path[0] == '\0')
		return 0;
	strbuf_init(&sb, (size_t)-1);
	for (size_t i = 0; i < r->nusers; i++) {
		const struct repl_user *u = r->users[i];
		unsigned int prio = u->prio;
		int64_t full = u->last_full;
		if (u->syncing) {
			/* as if the sync had not started: if we die now, it runs again */
			prio = u->sync_prio > prio ? u->sync_prio : prio;
			full = u->sync_old_full;
		}
		tab_escape(&sb, u->name);
		strbuf_printf(&sb, "\t%u\t%lld\t%lld\t%lld\t%d\t", prio, (long long)u->last_update,
		    (long long)u->last_fast, (long long)full, u->failed ? 1 : 0);
		tab_escape(&sb, u->state[0]);
		strbuf_printf(&sb, "\t%lld\t", (long long)u->last_success);
		tab_escape(&sb, r->pairs[u->pair].b[0].spec);
		strbuf_putc(&sb, '\t');
		tab_escape(&sb, u->state[1]);
		strbuf_putc(&sb, '\n');
	}
	if (sb.error) {
		log_errorx("cannot save %s: out of memory", r->set.state_path);
		strbuf_free(&sb);
		return -1;
	}
	str_fmt(tmp, sizeof(tmp), "%s.tmp", r->set.state_path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, sb.s, sb.len) < 0 || fsync(fd) < 0) {
		log_error("cannot write %s", tmp);
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		strbuf_free(&sb);
		return -1;
	}
	strbuf_free(&sb);
	if (close(fd) < 0 || rename(tmp, r->set.state_path) < 0) {
		log_error("cannot replace %s", r->set.state_path);
		unlink(tmp);
		return -1;
	}
	/* the rename itself must survive a crash too */
	char dir[sizeof(r->set.state_path)];
	str_copy(dir, r->set.state_path, sizeof(dir));
	char *slash = strrchr(dir, '/');
	if (slash != NULL) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	r->dirty = 0;
	r->saved_ms = loop_now(r->loop);
	return 0;
}
