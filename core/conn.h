/* SPDX-License-Identifier: MIT */
/* core/conn.h: one non-blocking stream connection: fd, optional TLS (core/tls.h), input
 * buffer with a line reader and a hard limit, output queue, idle timeout, one callback.
 * Not a protocol: callers read lines or bytes (plaintext, TLS or not) and decide what to
 * write.
 *
 * Rules: conn_write() and friends only queue (and try one write); they never call the
 * callback, so a caller's stack never sees its own connection freed under it. Errors met
 * while writing are reported as CONN_EV_ERROR on a later loop turn. The callback may
 * call conn_free() on its own connection. Buffers are held only while they hold bytes. */
#ifndef CORE_CONN_H
#define CORE_CONN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/loop.h"

struct conn;

enum conn_event {
	CONN_EV_CONNECTED,	/* conn_connect() finished */
	CONN_EV_DATA,		/* new input is buffered */
	CONN_EV_DRAINED,	/* the output queue became empty */
	CONN_EV_EOF,		/* the peer closed its side; buffered input was reported first */
	CONN_EV_TIMEOUT,	/* no input for the idle timeout */
	CONN_EV_ERROR,		/* I/O error; conn_error() says which */
};

typedef void conn_cb(struct conn *, enum conn_event, void *arg);

/* Takes ownership of fd (made non-blocking unless it already is: accept4 with
 * SOCK_NONBLOCK saves the system call). Input lines are limited to line_max bytes.
 * Returns NULL if out of memory (fd closed). */
struct conn *conn_new(struct loop *, int fd, size_t line_max, conn_cb *, void *arg);

/* Starts a non-blocking connect to dst, bound to src first when src is not NULL.
 * CONN_EV_CONNECTED or CONN_EV_ERROR follows. Returns NULL with errno set if the
 * socket cannot even be created or bound. */
struct conn *conn_connect(struct loop *, const struct sockaddr *dst, socklen_t dstlen,
    const struct sockaddr *src, socklen_t srclen, size_t line_max, conn_cb *, void *arg);

void conn_set_cb(struct conn *, conn_cb *, void *arg);
void conn_set_line_max(struct conn *, size_t line_max);

/* Next complete input line (see buf_getline): 1 line, 0 none yet, -1 too long.
 * *line is valid until the next conn_* call on this connection or the return to the loop. */
int conn_getline(struct conn *, char **line, size_t *len);
/* Raw buffered input (for literals): pointer and length, then consume what was used. */
const char *conn_peek(struct conn *, size_t *len);
void conn_consume(struct conn *, size_t n);

/* Queue output. Return 0, or -1 if the queue cannot grow (out of memory) or the
 * connection already failed; the error is then reported through the callback. */
int conn_write(struct conn *, const void *data, size_t len);
int conn_puts(struct conn *, const char *s);
int conn_printf(struct conn *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t conn_out_pending(const struct conn *);

/* Idle timeout in milliseconds (0 = none), restarted by every read. */
void conn_set_timeout(struct conn *, unsigned int msec);
/* Stop (1) or resume (0) reading: back-pressure and "wait for the backend". */
void conn_pause_read(struct conn *, int paused);
/* Resumes reading and, if input is already buffered, reports CONN_EV_DATA on the next
 * loop turn: for a caller that left pipelined input waiting while it was busy. */
void conn_resume(struct conn *);
/* Writes what is queued, then closes the fd and frees the connection without calling
 * the callback again (used after a final BYE). */
void conn_close_after_flush(struct conn *);

int conn_fd(const struct conn *);
/* Bytes written to the socket so far. */
uint64_t conn_bytes_out(const struct conn *);
/* errno of the failure reported by CONN_EV_ERROR. */
int conn_error(const struct conn *);

/* TLS (core/tls.h). conn_start_tls() puts the engine t (owned by the connection from
 * now on) between the socket and the buffers: input buffered so far is discarded (bytes
 * sent before the handshake must not count as sent over TLS), output queued so far still
 * goes out in plaintext first (the "OK, begin TLS" reply), later output waits for the
 * handshake. Callers keep reading lines and writing plaintext as before. A failed
 * handshake or a bad record is CONN_EV_ERROR with conn_error_str() saying why.
 * Returns 0, or -1 if TLS is already on (t is freed). */
struct tls;
int conn_start_tls(struct conn *, struct tls *t);
int conn_tls_active(const struct conn *);
int conn_tls_ready(const struct conn *);	/* handshake done */
struct tls *conn_tls(const struct conn *);
/* The reason of the failure reported by CONN_EV_ERROR, in words. */
const char *conn_error_str(const struct conn *);

/* Hands the fd to the caller and frees the connection. Input read but not consumed and
 * output queued but not sent are moved to *in and *out (zero-initialised by the caller,
 * who then owns them), so no byte is lost; the TLS engine, if any, goes to *tls (which
 * may be NULL only for a plaintext connection). With to non-NULL, the fd stays
 * registered with the loop under to (events, cb and arg: see loop_io_transfer); with
 * NULL it is unregistered. Returns the fd, or -1 if the registration could not move
 * (fd closed). */
struct buf;
int conn_detach(struct conn *, struct buf *in, struct buf *out, struct tls **tls,
    struct loop_io *to, uint32_t events, loop_io_cb *cb, void *arg);

/* Closes the fd and frees everything; no callback follows. Safe inside the callback. */
void conn_free(struct conn *);

#endif
