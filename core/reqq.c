/* SPDX-License-Identifier: MIT */
/* Implementation notes: lists are detached before any item ends, since the owner's
 * callbacks may push new requests while this runs. */
#include "core/reqq.h"

#include <stddef.h>

void
reqq_init(struct reqq *q, unsigned int delay_max_s, reqq_end_fn *end, void *arg)
{
	q->queue = q->sent = NULL;
	q->nsent = 0;
	q->delay_s = 0;
	q->delay_max_s = delay_max_s;
	q->retry_at = 0;
	q->end = end;
	q->arg = arg;
}

void
reqq_push(struct reqq *q, struct reqq_item *it)
{
	struct reqq_item **tail = &q->queue;

	while (*tail != NULL)
		tail = &(*tail)->next;
	it->next = NULL;
	*tail = it;
}

void
reqq_send(struct reqq *q)
{
	struct reqq_item *it = q->queue, **tail = &q->sent;

	if (it == NULL)
		return;
	q->queue = it->next;
	while (*tail != NULL)
		tail = &(*tail)->next;
	it->next = NULL;
	*tail = it;
	q->nsent++;
}

static int
unlink_from(struct reqq_item **head, struct reqq_item *it)
{
	for (struct reqq_item **pp = head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == it) {
			*pp = it->next;
			return 1;
		}
	return 0;
}

int
reqq_unlink(struct reqq *q, struct reqq_item *it)
{
	if (unlink_from(&q->queue, it))
		return 1;
	if (!unlink_from(&q->sent, it))
		return 0;
	q->nsent--;
	return 2;
}

static void
end_list(struct reqq *q, struct reqq_item *list, const char *error)
{
	while (list != NULL) {
		struct reqq_item *next = list->next;
		q->end(list, error, q->arg);
		list = next;
	}
}

unsigned int
reqq_broken(struct reqq *q, int ready, const char *error, uint64_t now_ms)
{
	struct reqq_item *again = NULL, **at = &again, *failed = NULL, **ft = &failed, *next;
	unsigned int grew = 0;

	for (struct reqq_item *it = q->sent; it != NULL; it = next) {
		next = it->next;
		it->next = NULL;
		if (!it->dropped && it->retried++ == 0) {
			*at = it;
			at = &it->next;
		} else {
			*ft = it;
			ft = &it->next;
		}
	}
	*at = q->queue;
	q->queue = again;
	q->sent = NULL;
	q->nsent = 0;
	if (!ready) {
		q->delay_s = q->delay_s == 0 ? 1 : q->delay_s * 2 > q->delay_max_s ?
		    q->delay_max_s : q->delay_s * 2;
		q->retry_at = now_ms + q->delay_s * 1000ULL;
		grew = q->delay_s;
		*ft = q->queue;
		q->queue = NULL;
	}
	end_list(q, failed, error);
	return grew;
}

int
reqq_hold(struct reqq *q, const char *error, uint64_t now_ms)
{
	struct reqq_item *list = q->queue;

	if (now_ms >= q->retry_at)
		return 0;
	q->queue = NULL;
	end_list(q, list, error);
	return 1;
}

void
reqq_connected(struct reqq *q)
{
	q->delay_s = 0;
}

void
reqq_end_all(struct reqq *q, const char *error)
{
	struct reqq_item *s = q->sent, *w = q->queue;

	q->sent = q->queue = NULL;
	q->nsent = 0;
	end_list(q, s, error);
	end_list(q, w, error);
}
