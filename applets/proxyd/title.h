/* SPDX-License-Identifier: MIT */
/* applets/proxyd/title.h: verbose_proctitle: the process title shows the connections as
 * Dovecot's login processes show theirs ("[3 pre-login + 12 proxies]"), refreshed each
 * second. */
#ifndef APPLETS_PROXYD_TITLE_H
#define APPLETS_PROXYD_TITLE_H

#include <stdio.h>

struct conf;
struct proxyd;

/* Reads verbose_proctitle (default no) and, when yes, starts refreshing the title on
 * pd's loop (core/proctitle.h must have been initialised). Returns 0, or -1 with
 * "<file>:<line>: ..." on errf. */
#ifdef MTOOL_WITH_PROCTITLE
int title_start(struct proxyd *pd, const struct conf *conf, FILE *errf);

/* Stops the refresh; nothing to do when it never started. */
void title_stop(struct proxyd *pd);
#else
/* Feature PROCTITLE is out (mk/features.mk): verbose_proctitle is refused. */
static inline int
title_start(struct proxyd *pd, const struct conf *conf, FILE *errf)
{
	(void)pd, (void)conf, (void)errf;
	return 0;
}

static inline void
title_stop(struct proxyd *pd)
{
	(void)pd;
}
#endif

#endif
