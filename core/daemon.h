/* SPDX-License-Identifier: MIT */
/* core/daemon.h: the command line every daemon applet shares ([-dD] [-c FILE]
 * [-o KEY=VALUE]...) and going to the background. Not a service manager. */
#ifndef CORE_DAEMON_H
#define CORE_DAEMON_H

#include <stddef.h>

#include "core/opt.h"

struct daemon_args {
	const char *conf_path;
	char **overrides;	/* points into argv; free() the array only */
	size_t noverrides;
	int debug;
	int background;
};

/* The option rows for -c, -o, -D, -d, for an applet's opt_cmd. */
extern const struct opt daemon_opts[];

/* Parses argv with cmd (whose opts should be daemon_opts); exits 2 on usage errors. */
void daemon_parse_args(int argc, char **argv, const struct opt_cmd *cmd, struct daemon_args *);

/* Forks into the background (setsid, stdin/stdout to /dev/null; stderr stays for the
 * log unless log_path says otherwise). Returns 0 in the child; the parent exits 0. */
int daemon_background(void);

#endif
