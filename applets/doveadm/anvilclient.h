/* SPDX-License-Identifier: MIT */
/* applets/doveadm/anvilclient.h: the anvil client of `who` and `kick`: speaks version 1
 * (Dovecot 2.3) or version 2 (Dovecot 2.4, mtool proxyd; docs/anvil-protocol.md),
 * whichever the server does. */
#ifndef DOVEADM_ANVILCLIENT_H
#define DOVEADM_ANVILCLIENT_H

#include <stddef.h>

#include "applets/doveadm/who.h"

/* How long a silent anvil is given to greet before it is taken for version 1. A version
 * 2 server writes its VERSION line as it accepts; a version 1 server never writes
 * first. Waiting is what every `who` against Dovecot 2.3 costs; a slower version 2
 * server is still recognised afterwards, by its VERSION line in reply. */
#define ANVIL_GREETING_WAIT_MS	250

/* The anvil client. */
struct anvil {
	const char *path;
	int version;			/* 1 or 2 */
	struct dline_reader r;
	char *header;			/* version 2: the dump's header line (storage) */
	char **alt_fields;		/* version 2: passdb field names of the alt columns */
	size_t nalt_fields;
	char **fields;			/* the current line's fields (freed by the next) */
	int hello_sent;			/* version 2: our VERSION and handshake lines */
	char *pending;			/* version 1: the first dump line, read by anvil_open */
	char *pending_used;		/* ... once anvilclient_dump_next() returned it */
	int done;			/* the dump's empty line was read */
	int failed;			/* version 2: an error was printed; exit 75 */
};

/* Connects (fatal on failure, with doveadm's texts) and finds out the version: a
 * version 2 server greets first ("VERSION\tanvil-server\t2\t0"); one that says nothing
 * for ANVIL_GREETING_WAIT_MS gets version 1's CONNECT-DUMP request (its only use here),
 * and its first reply line decides: a late greeting means version 2 after all. */
void anvilclient_open(struct anvil *, const char *path);

/* Sends CONNECT-DUMP (and the version 1 handshake, in one write as doveadm does);
 * for version 2 also reads the header line. Failures are fatal. */
void anvilclient_dump_start(struct anvil *);

/* The next connection: 1, or 0 at the end of the dump. Version 1 lines that do not
 * parse are reported ("Error: Invalid input: LINE") and skipped, as doveadm 2.3 does;
 * in version 2 they end the dump with an error (exit 75, as doveadm 2.4). */
int anvilclient_dump_next(struct anvil *, struct who_line *);

/* Version 2: sends each command line (KICK-USER/KICK-ALT-USER; after the dump or
 * without one) and adds up the counts anvil replies; errors are printed ("Error:
 * ...") and set *failed. Commands are pipelined, ANVIL_KICK_PIPELINE at a time. */
unsigned int anvilclient_kick(struct anvil *, char **cmds, size_t n, int *failed);

void anvilclient_close(struct anvil *);

#endif
