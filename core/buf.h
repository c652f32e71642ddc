/* SPDX-License-Identifier: MIT */
/* core/buf.h: byte buffers that hold memory only while they hold data, and a line reader
 * with a hard limit. Not a stream: no I/O here; callers read into buf_space() and write
 * from buf_data(). */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stddef.h>

/* Blocks of this size are kept on a small free list, so that a relay that fills and
 * drains a buffer per burst does not call malloc each time. */
#define BUF_BLOCK	16384

/* Zero-initialised is a valid empty buffer. */
struct buf {
	char *mem;
	size_t head, tail, cap;
};

static inline size_t buf_len(const struct buf *b) { return b->tail - b->head; }
/* "" for a buffer without memory: NULL + 0 is undefined in C, and so is memcpy(d, NULL, 0) */
static inline const char *buf_data(const struct buf *b) { return b->mem ? b->mem + b->head : ""; }

/* Makes at least want bytes writable at the tail (compacting or growing to at least
 * BUF_BLOCK). Returns the writable pointer and sets *avail, or NULL if out of memory
 * or want is 0. */
char *buf_space(struct buf *, size_t want, size_t *avail);
/* Marks n bytes written at the tail. */
void buf_commit(struct buf *, size_t n);
/* Drops n bytes from the head; an emptied buffer gives its memory back. */
void buf_consume(struct buf *, size_t n);
/* Appends; returns 0 or -1 (out of memory, buffer unchanged). */
int buf_append(struct buf *, const void *data, size_t len);
/* Gives the memory back if the buffer is empty (after buf_getline emptied it). */
void buf_shrink(struct buf *);
/* Frees the memory whatever it holds. */
void buf_release(struct buf *);

/* Takes the next line out of the buffer. Returns 1 with *line NUL-terminated (LF and a
 * preceding CR removed) and *len its length; 0 if no complete line is buffered; -1 if
 * more than max bytes are buffered without an LF, or the line itself is longer than
 * max (the caller reports "line too long"; the buffer is left as it is).
 * *line points into the buffer and is valid until the next call on it. */
int buf_getline(struct buf *, size_t max, char **line, size_t *len);

/* Returns the pooled blocks to the system (tests, shutdown). */
void buf_pool_drain(void);

#endif
