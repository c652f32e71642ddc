/* SPDX-License-Identifier: MIT */
/* applets/directord/directord.c: start-up of directord. The daemon itself is not written yet; until it is,
 * the applet says so plainly instead of pretending to run. */
#include <stdio.h>
#include <stdlib.h>

#include "applets/applets.h"
#include "config.h"
#include "core/daemon.h"

static const struct opt_cmd directord_cmd = {
	"directord", "[-dD] [-c FILE] [-o KEY=VALUE]...",
	"user-to-backend director, ring peer", daemon_opts,
};

int
directord_main(int argc, char **argv)
{
	struct daemon_args args;
	daemon_parse_args(argc, argv, &directord_cmd, &args);
	free(args.overrides);
	fprintf(stderr, "directord: not implemented in this version of mtool\n");
	return 1;
}
