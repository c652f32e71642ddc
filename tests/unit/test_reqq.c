/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/reqq.h"

#include <string.h>

struct item {
	struct reqq_item it;
	int ended;
	const char *error;
};

static void
end(struct reqq_item *it, const char *error, void *arg)
{
	struct item *i = (struct item *)it;

	(void)arg;
	i->ended++;
	i->error = error;
}

TEST(reqq_in_flight_sent_once_more_then_failed)
{
	struct reqq q;
	struct item a = { 0 }, b = { 0 }, c = { 0 };

	reqq_init(&q, 16, end, NULL);
	reqq_push(&q, &a.it);
	reqq_push(&q, &b.it);
	reqq_send(&q);
	CHECK_INT(q.nsent, 1);
	reqq_push(&q, &c.it);
	/* a connection that worked broke: a waits again, first */
	CHECK_INT(reqq_broken(&q, 1, "lost", 1000), 0);
	CHECK(q.queue == &a.it && a.it.next == &b.it && b.it.next == &c.it);
	CHECK_INT(a.ended, 0);
	reqq_send(&q);
	reqq_send(&q);
	b.it.dropped = 1;
	/* again: a was sent twice and ends, b was given up and ends, c waits */
	CHECK_INT(reqq_broken(&q, 1, "lost again", 2000), 0);
	CHECK_INT(a.ended, 1);
	CHECK_STR(a.error, "lost again");
	CHECK_INT(b.ended, 1);
	CHECK(q.queue == &c.it && c.it.next == NULL && q.sent == NULL && q.nsent == 0);
	CHECK_INT(reqq_unlink(&q, &c.it), 1);
	CHECK_INT(reqq_unlink(&q, &c.it), 0);
}

TEST(reqq_delay_doubles_and_holds)
{
	struct reqq q;
	struct item a = { 0 }, b = { 0 };

	reqq_init(&q, 4, end, NULL);
	reqq_push(&q, &a.it);
	CHECK_INT(reqq_broken(&q, 0, "refused", 1000), 1);
	CHECK_INT(a.ended, 1);
	CHECK_INT(reqq_broken(&q, 0, "refused", 2000), 2);
	CHECK_INT(reqq_broken(&q, 0, "refused", 3000), 4);
	CHECK_INT(reqq_broken(&q, 0, "refused", 4000), 4);	/* the maximum */
	reqq_push(&q, &b.it);
	CHECK_INT(reqq_hold(&q, "still refused", 7999), 1);
	CHECK_INT(b.ended, 1);
	CHECK_STR(b.error, "still refused");
	CHECK_INT(reqq_hold(&q, "x", 8000), 0);
	reqq_connected(&q);
	CHECK_INT(reqq_broken(&q, 0, "refused", 9000), 1);
	memset(&b, 0, sizeof(b));
	reqq_push(&q, &b.it);
	reqq_send(&q);
	reqq_end_all(&q, "closed");
	CHECK_INT(b.ended, 1);
	CHECK(q.queue == NULL && q.sent == NULL);
}
