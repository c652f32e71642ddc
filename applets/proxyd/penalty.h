/* SPDX-License-Identifier: MIT */
/* applets/proxyd/penalty.h: Dovecot's auth penalty per client address (penalty.c). Not
 * for other applets. */
#ifndef PROXYD_PENALTY_H
#define PROXYD_PENALTY_H

#include "core/ip.h"

struct proxyd;

/* A client's last penalty when its address is exempt (login_trusted_networks). */
#define PENALTY_EXEMPT	((unsigned int)-1)

/* The penalty of the address now (0: none), with Dovecot's decay applied. */
unsigned int penalty_get(struct proxyd *, const struct ip_addr *);
/* Seconds a login waits before its passdb lookup for that penalty (0 for 0). */
unsigned int penalty_secs(unsigned int penalty);
/* After a failed login: the penalty becomes last + 1 (at most 4), unless the same user and
 * password failed from this address lately (a misconfigured client, not a guesser). */
void penalty_failed(struct proxyd *, const struct ip_addr *, unsigned int last, const char *user,
    const char *password);
/* After a successful login that had waited (last != 0). */
void penalty_reset(struct proxyd *, const struct ip_addr *);
void penalty_free(struct proxyd *);

#endif
