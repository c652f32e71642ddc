/* SPDX-License-Identifier: MIT */
/* Implementation notes: the whole file is read into one buffer and parsed in place; the
 * table is an array of entries pointing into that buffer plus an open-addressing index
 * (FNV-1a, linear probing, at most half full). A reload builds a complete new table
 * before it replaces the old one, so a failure leaves the old one untouched. */
#include "core/passwd_file.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pwf_table {
	char *buf;
	struct passwd_entry *entries;
	size_t n;
	uint32_t *index;	/* entry number + 1; 0 is empty */
	size_t mask;
};

/* What tells one version of the file from another. */
struct pwf_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct passwd_file {
	char *path;
	int missing_is_error;
	int missing_logged;
	struct pwf_table *table;
	struct pwf_stamp loaded;	/* of table */
	struct pwf_stamp failed;	/* of the last version that failed to load */
	int have_failed;
};

static uint32_t
hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void
table_free(struct pwf_table *t)
{
	if (t == NULL)
		return;
	free(t->buf);
	free(t->entries);
	free(t->index);
	free(t);
}

static const struct passwd_entry *
table_find(const struct pwf_table *t, const char *user)
{
	for (size_t i = hash_str(user) & t->mask; t->index[i] != 0; i = (i + 1) & t->mask)
		if (strcmp(t->entries[t->index[i] - 1].user, user) == 0)
			return &t->entries[t->index[i] - 1];
	return NULL;
}

/* db-passwd-file.c's passwd_file_add() for a passdb: only the password and the extra
 * fields matter. fields[7], when there, is the rest of the line with its colons: Dovecot
 * splits on every ':' and joins fields 8 onward again, which comes to the same. */
static void
parse_fields(struct passwd_entry *e, char **fields, size_t nfields)
{
	char *pass = nfields > 1 ? fields[1] : NULL;
	size_t len = pass != NULL ? strlen(pass) : 0;

	e->user = fields[0];
	e->password = pass;
	e->scheme = NULL;
	e->extra = NULL;
	/* libpam-pwdfile's "password[NN]": 34 is MD5, 56 Dovecot's own DIGEST-MD5 */
	if (len > 4 && pass[0] != '{' && pass[0] != '$' && pass[len - 1] == ']' &&
	    pass[len - 4] == '[') {
		int num = (pass[len - 3] - '0') * 10 + (pass[len - 2] - '0');
		e->scheme = num == 34 ? "PLAIN-MD5" : num == 56 ? "DIGEST-MD5" : "CRYPT";
		pass[len - 4] = '\0';
	}
	/* an empty 8th field is the legacy form, whose 9th is userdb-only mail */
	if (nfields == 8 && fields[7][0] != '\0' && fields[7][0] != ':')
		e->extra = fields[7];
}

static int
table_add(struct pwf_table *t, size_t *cap, const char *path, char *line, unsigned int lineno)
{
	char *fields[8], *p = line, *colon;
	size_t nfields = 0;
	struct passwd_entry e;

	fields[nfields++] = p;
	while (nfields < 8 && (colon = strchr(p, ':')) != NULL) {
		*colon = '\0';
		p = colon + 1;
		fields[nfields++] = p;
	}
	parse_fields(&e, fields, nfields);
	e.line = lineno;
	if (table_find(t, e.user) != NULL) {
		log_errorx("passwd-file %s: User %s exists more than once", path, e.user);
		return 0;
	}
	if (t->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct passwd_entry *ne = realloc(t->entries, ncap * sizeof(*ne));
		if (ne == NULL)
			return -1;
		t->entries = ne;
		*cap = ncap;
	}
	if ((t->n + 1) * 2 > t->mask + 1) {
		size_t nsize = (t->mask + 1) * 2;
		uint32_t *ni = calloc(nsize, sizeof(*ni));
		if (ni == NULL)
			return -1;
		for (size_t k = 0; k < t->n; k++) {
			size_t i = hash_str(t->entries[k].user) & (nsize - 1);
			while (ni[i] != 0)
				i = (i + 1) & (nsize - 1);
			ni[i] = (uint32_t)k + 1;
		}
		free(t->index);
		t->index = ni;
		t->mask = nsize - 1;
	}
	t->entries[t->n] = e;
	size_t i = hash_str(e.user) & t->mask;
	while (t->index[i] != 0)
		i = (i + 1) & t->mask;
	t->index[i] = (uint32_t)++t->n;
	return 0;
}

/* Reads the open file fd (fstat'ed as st) into a new table, or returns NULL with the
 * reason logged. */
static struct pwf_table *
table_load(const char *path, int fd, const struct stat *st)
{
	struct pwf_table *t;
	size_t len = 0, cap = 0;
	unsigned int lineno = 0;
	char *line, *next;

	if (!S_ISREG(st->st_mode)) {
		log_errorx("passwd-file %s: not a regular file", path);
		return NULL;
	}
	if (st->st_size > PASSWD_FILE_SIZE_MAX) {
		log_errorx("passwd-file %s: file is %lld bytes, more than the %d allowed", path,
		    (long long)st->st_size, PASSWD_FILE_SIZE_MAX);
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->buf = malloc((size_t)st->st_size + 1)) == NULL ||
	    (t->index = calloc(64, sizeof(*t->index))) == NULL)
		goto nomem;
	t->mask = 63;
	/* the file may change while we read: never more than fstat() promised */
	while (len < (size_t)st->st_size) {
		ssize_t n = read(fd, t->buf + len, (size_t)st->st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("passwd-file %s: read(%s) failed", path, path);
			table_free(t);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	t->buf[len] = '\0';

	for (line = t->buf; line < t->buf + len; line = next) {
		char *lf = memchr(line, '\n', (size_t)(t->buf + len - line));
		size_t llen = lf != NULL ? (size_t)(lf - line) : (size_t)(t->buf + len - line);

		next = line + llen + (lf != NULL);
		lineno++;
		line[llen] = '\0';
		if (llen > 0 && line[llen - 1] == '\r')
			line[--llen] = '\0';
		if (llen > PASSWD_FILE_LINE_MAX) {
			log_errorx("passwd-file %s: line %u is longer than %d bytes, skipped", path,
			    lineno, PASSWD_FILE_LINE_MAX);
			continue;
		}
		if (line[0] == '\0' || line[0] == ':' || line[0] == '#')
			continue;
		if (table_add(t, &cap, path, line, lineno) < 0)
			goto nomem;
	}
	log_debug("passwd-file %s: Read %zu users", path, t->n);
	return t;
nomem:
	log_errorx("passwd-file %s: out of memory reading the file", path);
	table_free(t);
	return NULL;
}

struct passwd_file *
passwd_file_new(const char *path, int missing_is_error)
{
	struct passwd_file *pf = calloc(1, sizeof(*pf));

	if (pf == NULL || (pf->path = strdup(path)) == NULL) {
		free(pf);
		return NULL;
	}
	pf->missing_is_error = missing_is_error;
	return pf;
}

static void
stamp_of(const struct stat *st, struct pwf_stamp *s)
{
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
}

static int
stamp_eq(const struct pwf_stamp *a, const struct pwf_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

int
passwd_file_sync(struct passwd_file *pf)
{
	struct pwf_table *t;
	struct pwf_stamp now;
	struct stat st;
	int fd;

	if (stat(pf->path, &st) < 0) {
		if (errno != ENOENT) {
			log_error("passwd-file %s: stat(%s) failed", pf->path, pf->path);
			return pf->table != NULL ? 1 : -1;
		}
		if (!pf->missing_is_error)
			log_info("passwd-file %s: missing passwd file", pf->path);
		else if (!pf->missing_logged)
			log_errorx("passwd-file %s: missing passwd file", pf->path);
		pf->missing_logged = 1;
		table_free(pf->table);
		pf->table = NULL;
		return 0;
	}
	pf->missing_logged = 0;
	stamp_of(&st, &now);
	if (pf->table != NULL && stamp_eq(&now, &pf->loaded))
		return 1;
	/* a version that failed is not retried (and logged) on every lookup */
	if (pf->have_failed && stamp_eq(&now, &pf->failed))
		return pf->table != NULL ? 1 : -1;

	fd = open(pf->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		log_error("passwd-file %s: open(%s) failed", pf->path, pf->path);
		pf->failed = now;
		pf->have_failed = 1;
		return pf->table != NULL ? 1 : -1;
	}
	/* what we read is what fstat() describes, even if the path was replaced */
	if (fstat(fd, &st) < 0) {
		log_error("passwd-file %s: fstat(%s) failed", pf->path, pf->path);
		close(fd);
		return pf->table != NULL ? 1 : -1;
	}
	t = table_load(pf->path, fd, &st);
	close(fd);
	if (t == NULL) {
		stamp_of(&st, &pf->failed);
		pf->have_failed = 1;
		if (pf->table != NULL)
			log_errorx("passwd-file %s: keeping the users read before", pf->path);
		return pf->table != NULL ? 1 : -1;
	}
	table_free(pf->table);
	pf->table = t;
	stamp_of(&st, &pf->loaded);
	pf->have_failed = 0;
	return 1;
}

const struct passwd_entry *
passwd_file_lookup(const struct passwd_file *pf, const char *user)
{
	return pf->table != NULL ? table_find(pf->table, user) : NULL;
}

size_t
passwd_file_count(const struct passwd_file *pf)
{
	return pf->table != NULL ? pf->table->n : 0;
}

const char *
passwd_file_path(const struct passwd_file *pf)
{
	return pf->path;
}

void
passwd_file_free(struct passwd_file *pf)
{
	if (pf == NULL)
		return;
	table_free(pf->table);
	free(pf->path);
	free(pf);
}
