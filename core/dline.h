/* SPDX-License-Identifier: MIT */
/* core/dline.h: Dovecot's line protocols on admin sockets: LF-terminated lines of
 * TAB-separated, TAB-escaped fields, the optional VERSION handshake, a server side on the
 * event loop and a blocking client for command-line tools. Not a protocol: what the
 * lines mean is the caller's. */
#ifndef CORE_DLINE_H
#define CORE_DLINE_H

#include <stddef.h>
#include <sys/types.h>

#include "core/loop.h"
#include "core/str.h"

#define DLINE_MAX_FIELDS	64

/* How a server connection greets and what it expects first. */
struct dline_set {
	const char *version_send;	/* "VERSION\tservice\t1\t0" to send on accept, or NULL */
	const char *expect_service;	/* the client's first line must be VERSION for this
					 * service (any minor, major below), or NULL for none */
	unsigned int expect_major;
	size_t line_max;		/* longest input line; longer ones end the connection */
};

struct dline_conn;

/* fields are unescaped, NUL-terminated and valid only during the call. */
typedef void dline_line_cb(struct dline_conn *, char **fields, size_t nfields, void *arg);
/* The connection is gone (reason for the log); it is freed after this returns. */
typedef void dline_close_cb(struct dline_conn *, const char *reason, void *arg);

/* Takes ownership of fd. Returns NULL (fd closed) if out of memory. */
struct dline_conn *dline_conn_new(struct loop *, int fd, const struct dline_set *,
    dline_line_cb *, dline_close_cb *, void *arg);
/* Sends one line of fields, each TAB-escaped, joined by TAB, LF-terminated. */
int dline_send(struct dline_conn *, const char *const *fields, size_t n);
/* Sends line as it is plus LF (for replies whose format is not fields, e.g. anvil's). */
int dline_send_raw(struct dline_conn *, const char *line);
/* Stops (1) or resumes (0) reading: a server that answers one command at a time. */
void dline_pause(struct dline_conn *, int paused);
/* Frees now; no close callback follows. Safe inside the line callback. */
void dline_conn_free(struct dline_conn *);

/* A blocking line reader for command-line clients (doveadm): reads LF-terminated lines
 * from a socket as Dovecot's istream does for them (a last line without LF at EOF is
 * dropped), can wait with a timeout (anvil's version detection) and can say whether a
 * line is already buffered (ipc's "unexpected input" after a reply). */
struct dline_reader {
	int fd;
	char *buf;
	size_t start, len, cap;
};
void dline_reader_init(struct dline_reader *, int fd);
/* The next line (LF removed, NUL-terminated, valid until the next call): returns 1;
 * 0 at EOF; -1 on a read error (errno) or a line over DLINE_READER_MAX (EMSGSIZE); -2 if
 * timeout_ms >= 0 passed without a whole line (-1 waits for ever). */
int dline_reader_line(struct dline_reader *, char **line, int timeout_ms);
/* 1 if a whole line is already buffered (no read needed). */
int dline_reader_buffered(const struct dline_reader *);
/* Frees the buffer and closes fd. */
void dline_reader_free(struct dline_reader *);

#endif
