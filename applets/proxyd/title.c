/* SPDX-License-Identifier: MIT */
#include "applets/proxyd/title.h"

#include <string.h>

#include "applets/proxyd/proxyd.h"
#include "applets/proxyd/relay.h"
#include "core/ip.h"
#include "core/conf.h"
#include "core/loop.h"
#include "core/proctitle.h"
#include "core/str.h"

static struct loop_timer timer;
static int running;
static char last[128];

/* Dovecot's login_refresh_proctitle(): one client shows its address and state, more
 * show counts ("proxies" only when there are some). */
static void
refresh(struct loop_timer *t, void *arg)
{
	struct proxyd *pd = arg;
	char title[128], ip[IP_ADDR_STRLEN];
	unsigned int total = pd->nclients + pd->nrelays;

	(void)t;
	if (total == 0)
		title[0] = '\0';
	else if (total > 1)
		str_fmt(title, sizeof(title), pd->nrelays > 0 ? "[%u pre-login + %u proxies]" :
		    "[%u pre-login]", pd->nclients, pd->nrelays);
	else if (pd->clients != NULL)
		str_fmt(title, sizeof(title), "[%s pre-login]",
		    ip_format(&pd->clients->rip, ip, sizeof(ip)));
	else
		str_fmt(title, sizeof(title), "[%s proxy]", pd->relays->info->rip);
	if (strcmp(title, last) != 0) {
		str_copy(last, title, sizeof(last));
		proctitle_set(title);
	}
	loop_timer_set(pd->loop, &timer, 1000, refresh, pd);
}

int
title_start(struct proxyd *pd, const struct conf *conf, FILE *errf)
{
	const struct conf_node *n = conf_find(conf_root(conf), "verbose_proctitle");
	int on = 0;

	if (n != NULL && conf_parse_bool(n, &on, errf) < 0)
		return -1;
	if (!on)
		return 0;
	running = 1;
	refresh(NULL, pd);
	return 0;
}

void
title_stop(struct proxyd *pd)
{
	if (running)
		loop_timer_cancel(pd->loop, &timer);
	running = 0;
}
