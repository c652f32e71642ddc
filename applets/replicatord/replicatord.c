/* SPDX-License-Identifier: MIT */
/* applets/replicatord/replicatord.c: start-up of replicatord. The daemon itself is not written yet; until it is,
 * the applet says so plainly instead of pretending to run. */
#include <stdio.h>
#include <stdlib.h>

#include "applets/applets.h"
#include "config.h"
#include "core/daemon.h"

static const struct opt_cmd replicatord_cmd = {
	"replicatord", "[-dD] [-c FILE] [-o KEY=VALUE]...",
	"replication scheduler", daemon_opts,
};

int
replicatord_main(int argc, char **argv)
{
	struct daemon_args args;
	daemon_parse_args(argc, argv, &replicatord_cmd, &args);
	free(args.overrides);
	fprintf(stderr, "replicatord: not implemented in this version of mtool\n");
	return 1;
}
