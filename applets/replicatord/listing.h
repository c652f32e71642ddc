/* SPDX-License-Identifier: MIT */
/* applets/replicatord/listing.h: asks each pair's initiator for its users ("user MASK")
 * and adds them; at start-up they are spread over time. */
#ifndef REPLICATORD_LISTING_H
#define REPLICATORD_LISTING_H

#include "applets/replicatord/replicatord.h"

void listing_start(struct repl *, const char *mask, int startup);
void listing_abort_all(struct repl *);
/* Parses the doveadm server's {"userList":["u1",...]} line (JSON string escapes, \uXXXX
 * outside the surrogates); calls add for each name that fits 255 bytes. 0, or -1 if the
 * line is not exactly that. */
int listing_parse(const char *line, void (*add)(void *, const char *), void *arg);

#endif
