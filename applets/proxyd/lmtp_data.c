/* SPDX-License-Identifier: MIT */
/* applets/proxyd/lmtp_data.c: the DATA of one transaction, spooled to an unlinked file
 * in mail_temp_dir (as Dovecot's LMTP does before it proxies), so that a message of any
 * size takes no more memory than one input buffer. The spool keeps the message as it
 * came on the wire, dot-stuffing included, without the final ".": every backend gets
 * the same bytes followed by ".\r\n", which keeps the stuffing correct in both
 * directions without touching each line. No line length limit applies inside DATA
 * (a 1 MiB header line is delivered, as Dovecot delivers it); the message size limit
 * is lmtp_proxy_max_mail_size. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/proxyd/lmtp.h"
#include "applets/proxyd/settings.h"
#include "core/str.h"

enum dot_state {
	DOT_BOL,	/* at the start of a line */
	DOT_MID,	/* inside a line */
	DOT_DOT,	/* a line started with ".": held back */
	DOT_DOTCR,	/* ".\r" held back */
};

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
	s->dot_state = DOT_BOL;
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
spool_write(struct lmtp_session *s, const char *p, size_t n)
{
	unsigned long long max = s->pd->set->lmtp_max_mail_size;
	if (n == 0 || s->too_big)
		return 0;
	if (max && (unsigned long long)s->spool_size + n > max) {
		/* read on to the final "." and answer 552 then, as Dovecot does */
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
	size_t len, i = 0, run = 0;
	const char *p = conn_peek(s->conn, &len);
	int done = 0;

	while (i < len && !done) {
		switch (s->dot_state) {
		case DOT_BOL:
			if (p[i] == '.') {
				if (spool_write(s, p + run, i - run) < 0)
					return -1;
				s->dot_state = DOT_DOT;
				run = ++i;
			} else {
				s->dot_state = DOT_MID;
			}
			break;
		case DOT_MID: {
			const char *lf = memchr(p + i, '\n', len - i);
			if (lf == NULL) {
				i = len;
			} else {
				i = (size_t)(lf - p) + 1;
				s->dot_state = DOT_BOL;
			}
			break;
		}
		case DOT_DOT:
			if (p[i] == '\r') {
				s->dot_state = DOT_DOTCR;
				run = ++i;
			} else if (p[i] == '\n') {
				done = 1;	/* ".\n": a client with bare LFs ends the same way */
				i++;
			} else {
				/* a stuffed or plain line starting with '.': kept as sent */
				if (spool_write(s, ".", 1) < 0)
					return -1;
				s->dot_state = DOT_MID;
			}
			break;
		case DOT_DOTCR:
			if (p[i] == '\n') {
				done = 1;
				i++;
			} else {
				if (spool_write(s, ".\r", 2) < 0)
					return -1;
				s->dot_state = DOT_MID;
			}
			break;
		}
	}
	if (!done && s->dot_state != DOT_DOT && s->dot_state != DOT_DOTCR && spool_write(s, p + run, i - run) < 0)
		return -1;
	if (p)
		conn_consume(s->conn, i);
	return done;
}
