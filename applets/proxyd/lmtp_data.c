/* SPDX-License-Identifier: MIT */
/* applets/proxyd/lmtp_data.c: the message of one transaction, spooled to an unlinked
 * file in mail_temp_dir (as Dovecot's LMTP does before it proxies), so that a message of
 * any size takes no more memory than one input buffer. The spool holds the message as it
 * goes on the wire, dot-stuffed, without the final ".": DATA is kept as the client sent
 * it, BDAT chunks are stuffed on the way in (core/smtpdot), and every backend gets the
 * same bytes followed by ".\r\n". No line length limit applies inside the message (a
 * 1 MiB header line is delivered, as Dovecot delivers it); the size limit is
 * lmtp_proxy_max_mail_size. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/proxyd/lmtp.h"
#include "applets/proxyd/settings.h"
#include "core/str.h"

int
lmtp_spool_open(struct lmtp_session *s)
{
	const char *dir = s->pd->set->mail_temp_dir;
	lmtp_spool_close(s);
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* file systems without O_TMPFILE: a named file, unlinked at once */
		char path[512];
		str_fmt(path, sizeof(path), "%s/mtool-lmtp.XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		return -1;
	s->spool_fd = fd;
	s->spool_size = 0;
	memset(&s->dot, 0, sizeof(s->dot));
	s->too_big = 0;
	return 0;
}

void
lmtp_spool_close(struct lmtp_session *s)
{
	if (s->spool_fd >= 0)
		close(s->spool_fd);
	s->spool_fd = -1;
	s->spool_size = 0;
}

static int
spool_write(void *arg, const char *p, size_t n)
{
	struct lmtp_session *s = arg;
	unsigned long long max = s->pd->set->lmtp_max_mail_size;
	if (n == 0 || s->too_big)
		return 0;
	if (max && (unsigned long long)s->spool_size + n > max) {
		/* read on to the end and answer 552 then, as Dovecot does */
		s->too_big = 1;
		return 0;
	}
	while (n > 0) {
		ssize_t w = pwrite(s->spool_fd, p, n, s->spool_size);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s->spool_size += w;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
lmtp_spool_feed(struct lmtp_session *s)
{
	size_t len;
	int done;
	const char *p = conn_peek(s->conn, &len);
	if (p == NULL)
		return 0;
	size_t used = smtpdot_data_scan(&s->dot, p, len, spool_write, s, &done);
	if (used == (size_t)-1)
		return -1;
	conn_consume(s->conn, used);
	return done;
}

int
lmtp_spool_chunk(struct lmtp_session *s, int discard)
{
	size_t len;
	const char *p = conn_peek(s->conn, &len);
	if (p == NULL)
		return s->bdat_left == 0;
	if (len > s->bdat_left)
		len = (size_t)s->bdat_left;
	if (!discard && smtpdot_stuff(&s->dot, p, len, spool_write, s) < 0)
		return -1;
	conn_consume(s->conn, len);
	s->bdat_left -= len;
	return s->bdat_left == 0;
}

int
lmtp_spool_chunks_end(struct lmtp_session *s)
{
	/* the backends get DATA: the text must end with a line break before the "." */
	return smtpdot_in_line(&s->dot) ? spool_write(s, "\r\n", 2) : 0;
}
