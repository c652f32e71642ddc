/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_director_state.c: directord's state file loader (state.c,
 * director_state_file: "mtool-directord-state\t1", then "host\tIP\tTAG\tVHOSTS\tU|D\t
 * LAST_UPDOWN\tHOSTNAME" and "user\tTAG\tHASH\tIP\tTIMESTAMP" lines, TAB-escaped). A file
 * that loads is saved and loaded again: the second load must succeed and give the same
 * hosts and as many users per tag.
 * Input: the file (on tmpfs when there is one: state_save() fsyncs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets/directord/directord.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "tests/fuzz/fuzz.h"

static void
dd_init(struct directord *dd, struct loop *l, const char *path)
{
	memset(dd, 0, sizeof(*dd));
	dd->loop = l;
	dd->admin_fd = dd->proxy_fd = -1;
	snprintf(dd->set.state_path, sizeof(dd->set.state_path), "%s", path);
	hosts_init(&dd->hosts);
	/* what state_load() replaces: director_mail_servers */
	if (hosts_parse(&dd->hosts, "10.0.0.1 10.0.1.1@tag1", stderr, "servers") < 0)
		abort();
}

static void
dd_done(struct directord *dd)
{
	for (struct dir_tag *t = dd->hosts.tags; t; t = t->next)
		users_dir_free(dd, &t->users);
	hosts_free(&dd->hosts);
}

static int
same_hosts(struct directord *a, struct directord *b)
{
	size_t na, nb;
	struct dir_host **ha = hosts_sorted(&a->hosts, &na);
	(void)hosts_sorted(&b->hosts, &nb);
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		struct dir_host *x = ha[i], *y = hosts_lookup(&b->hosts, &ha[i]->ip);
		if (y == NULL || strcmp(x->tag->name, y->tag->name) != 0 ||
		    x->vhost_count != y->vhost_count || x->down != y->down ||
		    x->last_updown != y->last_updown ||
		    strcmp(x->hostname ? x->hostname : "", y->hostname ? y->hostname : "") != 0)
			return 0;
	}
	for (struct dir_tag *t = a->hosts.tags; t; t = t->next) {
		struct dir_tag *u = hosts_tag(&b->hosts, t->name);
		if (t->users.count != (u != NULL ? u->users.count : 0))
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct loop *l;
	struct directord dd, dd2;

	if (l == NULL) {
		log_init("directord", getenv("FUZZ_DEBUG") != NULL, 0);
		if ((l = loop_new()) == NULL)
			abort();
	}
	char path[512];
	snprintf(path, sizeof(path), "%s", fuzz_shm_write_file("director.state", data, size));
	dd_init(&dd, l, path);
	if (state_load(&dd, fuzz_errf()) == 0) {
		if (state_save(&dd) < 0)
			abort();
		dd_init(&dd2, l, path);
		if (state_load(&dd2, fuzz_errf()) < 0 || !same_hosts(&dd, &dd2))
			abort();
		dd_done(&dd2);
	}
	dd_done(&dd);
	buf_pool_drain();
	return 0;
}
