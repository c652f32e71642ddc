/* SPDX-License-Identifier: MIT */
/* core/proctitle.h: the process title that ps(1) shows, written over the argument and
 * environment strings as Dovecot (and OpenSSH) do. Linux-style argv layout only: the
 * strings must be contiguous; elsewhere proctitle_set() does nothing. */
#ifndef CORE_PROCTITLE_H
#define CORE_PROCTITLE_H

/* Takes over argv[1..argc-1] and the environment strings after them: each is copied to
 * the heap and argv[i] / environ point at the copies from now on, so the caller may keep
 * using them. Call once, early, before anything keeps a pointer into argv or environ.
 * Returns 0, or -1 when out of memory (nothing changed then). */
#ifdef MTOOL_WITH_PROCTITLE
int proctitle_init(int argc, char **argv);

/* ps then shows the original argv[0] (and, for "mtool proxyd", the applet's name), then
 * title, cut to the space there is. "" clears it. */
void proctitle_set(const char *title);
#else
/* Feature PROCTITLE is out (mk/features.mk): the process title is never changed. */
static inline int
proctitle_init(int argc, char **argv)
{
	(void)argc, (void)argv;
	return 0;
}
#endif

#endif
