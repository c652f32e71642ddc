/* SPDX-License-Identifier: MIT */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

/* The free list is per process; every applet is single-threaded. */
#define BUF_POOL_MAX	64

static struct {
	void *blocks[BUF_POOL_MAX];
	unsigned int n;
} buf_pool;

static void *
block_get(size_t size)
{
	if (size == BUF_BLOCK && buf_pool.n > 0)
		return buf_pool.blocks[--buf_pool.n];
	return malloc(size);
}

static void
block_put(void *p, size_t size)
{
	if (size == BUF_BLOCK && buf_pool.n < BUF_POOL_MAX)
		buf_pool.blocks[buf_pool.n++] = p;
	else
		free(p);
}

void
buf_pool_drain(void)
{
	while (buf_pool.n > 0)
		free(buf_pool.blocks[--buf_pool.n]);
}

void
buf_release(struct buf *b)
{
	if (b->mem)
		block_put(b->mem, b->cap);
	b->mem = NULL;
	b->head = b->tail = b->cap = 0;
}

char *
buf_space(struct buf *b, size_t want, size_t *avail)
{
	if (want == 0)
		return NULL;
	if (b->cap - b->tail < want && b->head > 0) {
		memmove(b->mem, b->mem + b->head, b->tail - b->head);
		b->tail -= b->head;
		b->head = 0;
	}
	if (b->cap - b->tail < want) {
		size_t cap = b->cap ? b->cap : BUF_BLOCK;
		while (cap - b->tail < want) {
			if (cap > ((size_t)-1) / 2)
				return NULL;
			cap *= 2;
		}
		char *mem = block_get(cap);
		if (mem == NULL)
			return NULL;
		if (b->mem) {
			memcpy(mem, b->mem, b->tail);
			block_put(b->mem, b->cap);
		}
		b->mem = mem;
		b->cap = cap;
	}
	*avail = b->cap - b->tail;
	return b->mem + b->tail;
}

void
buf_shrink(struct buf *b)
{
	if (b->head >= b->tail)
		buf_release(b);
}

void
buf_commit(struct buf *b, size_t n)
{
	b->tail += n;
}

void
buf_consume(struct buf *b, size_t n)
{
	b->head += n;
	if (b->head >= b->tail)
		buf_release(b);
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
	size_t avail;
	if (len == 0)
		return 0;
	char *p = buf_space(b, len, &avail);
	if (p == NULL)
		return -1;
	memcpy(p, data, len);
	b->tail += len;
	return 0;
}

int
buf_getline(struct buf *b, size_t max, char **line, size_t *len)
{
	size_t n = buf_len(b);
	if (n == 0)
		return 0;	/* and mem may be NULL: no pointer arithmetic on it */
	char *start = b->mem + b->head;
	char *lf = memchr(start, '\n', n);

	if (lf == NULL)
		return n > max ? -1 : 0;
	size_t l = (size_t)(lf - start);
	size_t eol = l;
	if (l > 0 && start[l - 1] == '\r')
		l--;
	if (l > max)
		return -1;
	b->head += eol + 1;
	start[l] = '\0';
	*line = start;
	*len = l;
	/* an emptied buffer keeps its memory until the next call, so *line stays valid */
	return 1;
}
