/* SPDX-License-Identifier: MIT */
/* applets/replicatord/notify.h: the notify listeners (notify.c): the aggregator's
 * protocol and the replication plugin's lines. */
#ifndef REPLICATORD_NOTIFY_H
#define REPLICATORD_NOTIFY_H

#include "applets/replicatord/replicatord.h"

void notify_ref(struct notify_conn *);
void notify_unref(struct notify_conn *);
void notify_answer(struct notify_conn *, unsigned int id, int ok);
void notify_close_all(struct repl *);
/* pair, side: the backend the listener serves, or -1 to match peer against them */
void notify_accept_fd(struct repl *, int fd, const struct ip_addr *peer, int pair, int side);
/* The replication plugin's own lines, on its replication-notify socket or FIFO. */
void notify_plugin_accept_fd(struct repl *, int fd, int fifo);

#endif
