/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_replicator_state.c: replicatord's state file loader (rstate.c:
 * replicator.db, Dovecot 2.3's lines "user TAB prio TAB last-update TAB last-fast TAB
 * last-full TAB failed TAB state TAB last-success" and mtool's two more columns, the
 * pair's first backend and the second side's state), with two backend pairs. A file that
 * loads is saved and loaded again: the second load must succeed and give the same users.
 * Input: the file (on tmpfs when there is one: rstate_save() fsyncs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets/replicatord/replicatord.h"
#include "core/log.h"
#include "core/loop.h"
#include "tests/fuzz/fuzz.h"

static void
repl_init(struct repl *r, struct loop *l, const char *path)
{
	static const char *const specs[4] = {
		"/run/dovecot/doveadm-server", "127.0.0.1:24245", "[::1]:24245", "127.0.0.3:24245",
	};
	memset(r, 0, sizeof(*r));
	r->loop = l;
	r->fifo_wfd = -1;
	r->set.retry_min = 30;
	r->set.retry_max = 300;
	r->set.startup_rate = 10;
	r->set.startup_sync = 1;
	snprintf(r->set.state_path, sizeof(r->set.state_path), "%s", path);
	/* missing: the Dovecot import is not tried a second time */
	snprintf(r->set.import_path, sizeof(r->set.import_path), "%s.none", path);
	if ((r->pairs = calloc(2, sizeof(*r->pairs))) == NULL)
		abort();
	r->npairs = 2;
	for (int i = 0; i < 4; i++)
		if (dvclient_backend_parse(&r->pairs[i / 2].b[i % 2], specs[i]) < 0)
			abort();
}

static void
repl_done(struct repl *r)
{
	queue_free_all(r);
	for (size_t i = 0; i < r->npairs; i++) {
		dvclient_backend_free(&r->pairs[i].b[0]);
		dvclient_backend_free(&r->pairs[i].b[1]);
	}
	free(r->pairs);
}

static int
same_user(const struct repl_user *a, const struct repl_user *b)
{
	return a->prio == b->prio && a->last_update == b->last_update &&
	    a->last_fast == b->last_fast && a->last_full == b->last_full &&
	    a->last_success == b->last_success && a->failed == b->failed && a->pair == b->pair &&
	    strcmp(a->state[0], b->state[0]) == 0 && strcmp(a->state[1], b->state[1]) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct loop *l;
	struct repl r, r2;

	if (l == NULL) {
		log_init("replicator", getenv("FUZZ_DEBUG") != NULL, 0);
		if ((l = loop_new()) == NULL)
			abort();
	}
	char path[512];
	snprintf(path, sizeof(path), "%s", fuzz_shm_write_file("replicator.db", data, size));
	repl_init(&r, l, path);
	if (rstate_load(&r, fuzz_errf()) == 0) {
		if (rstate_save(&r) < 0)
			abort();
		repl_init(&r2, l, path);
		/* what was saved loads, and gives the same users */
		if (rstate_load(&r2, fuzz_errf()) < 0 || r2.nusers != r.nusers)
			abort();
		for (size_t i = 0; i < r.nusers; i++) {
			struct repl_user *u = queue_find(&r2, r.users[i]->name);
			if (u == NULL || !same_user(r.users[i], u))
				abort();
		}
		repl_done(&r2);
	}
	repl_done(&r);
	return 0;
}
