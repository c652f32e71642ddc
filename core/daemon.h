/* SPDX-License-Identifier: MIT */
/* core/daemon.h: the command line every daemon applet shares ([-dD] [-c FILE]
 * [-o KEY=VALUE]...), going to the background with a pid file, the directories a daemon
 * needs, and what every daemon does on signals from a service manager (SIGUSR1 reopens
 * the log; readiness for systemd through core/sdnotify). Not a service manager. */
#ifndef CORE_DAEMON_H
#define CORE_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

#include "core/opt.h"

struct daemon_args {
	const char *conf_path;
	char **overrides;	/* points into argv; free() the array only */
	size_t noverrides;
	int debug;
	int background;
	int check;		/* -n: check the configuration, print it (conf_known_dump) */
};

/* The option rows for -c, -o, -D, -d, -n, for an applet's opt_cmd. */
extern const struct opt daemon_opts[];

/* Parses argv with cmd (whose opts should be daemon_opts); exits 2 on usage errors. */
void daemon_parse_args(int argc, char **argv, const struct opt_cmd *cmd, struct daemon_args *);

/* Forks into the background (setsid, stdin/stdout to /dev/null; stderr stays for the
 * log unless log_path says otherwise); the parent writes the child's pid to pidfile
 * (NULL: none), "PID\n", mode 0644, replacing a stale one, then exits 0 (1 when it cannot:
 * the child is stopped). Call it while still root when the file's directory is root's.
 * Returns 0 in the child, -1 with errno when fork fails. */
int daemon_background(const char *pidfile);

/* Makes dir when it is missing: its parents 0755, dir itself with mode and, when running
 * as root, owned by user ("" or NULL: root). An existing dir is left as it is. Fatal
 * (with the path) when it cannot be made. */
void daemon_mkdir(const char *dir, mode_t mode, const char *user);

struct loop;
/* The daemon is serving: SIGUSR1 now reopens the log (log_reopen), and systemd hears
 * READY=1. daemon_notify() sends the other states ("RELOADING=1", "STOPPING=1"). */
void daemon_started(struct loop *);
void daemon_notify(const char *state);

#endif
