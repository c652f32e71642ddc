/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "applets/directord/dirstats.h"
#include "applets/directord/ring.h"
#include "core/buf.h"

static char *
render(void)
{
	static char text[65536];
	struct buf b = { 0 };
	CHECK_INT(metrics_render(&b, 0), 0);
	size_t n = buf_len(&b) < sizeof(text) - 1 ? buf_len(&b) : sizeof(text) - 1;
	memcpy(text, buf_data(&b), n);
	text[n] = '\0';
	buf_release(&b);
	return text;
}

/* ring lines are counted by their command, several lines of one send each, and a command
 * Dovecot does not have (or a prefix of one) under "other" */
TEST(dirstats_ring_commands)
{
	static struct directord dd;
	static struct ring ring;
	metrics_reset();
	dd.ring = &ring;
	dirstats_init(&dd);
	const char *sent = "OPTIONS\tconsistent-hashing\nDONE\n";
	dirstats_ring_msgs(1, sent, strlen(sent));
	dirstats_ring_msgs(0, "USER-KICK\tbob", 13);
	dirstats_ring_msgs(0, "USER", 4);
	dirstats_ring_msgs(0, "USER-KIC\tx", 10);
	dirstats_ring_msgs(0, "user\tx", 6);
	const char *t = render();
	CHECK_CONTAINS(t, "mtool_director_ring_messages_total{direction=\"sent\",command=\"OPTIONS\"} 1\n");
	CHECK_CONTAINS(t, "mtool_director_ring_messages_total{direction=\"sent\",command=\"DONE\"} 1\n");
	CHECK_CONTAINS(t, "mtool_director_ring_messages_total{direction=\"received\",command=\"USER-KICK\"} 1\n");
	CHECK_CONTAINS(t, "mtool_director_ring_messages_total{direction=\"received\",command=\"USER\"} 1\n");
	CHECK_CONTAINS(t, "mtool_director_ring_messages_total{direction=\"received\",command=\"other\"} 2\n");
	CHECK_CONTAINS(t, "mtool_director_ring_synced 0\n");
	metrics_reset();
}
