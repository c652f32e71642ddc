/* SPDX-License-Identifier: MIT */
/* applets/proxyd/loginlog.h: Dovecot's login_log_format_elements: the "user=<..>,
 * method=.., rip=.." part of every login log line, as the operator's dovecot.conf
 * formats it (%-variables of core/varexpand.h over the client, %{passdb:field}). */
#ifndef APPLETS_PROXYD_LOGINLOG_H
#define APPLETS_PROXYD_LOGINLOG_H

#include <stddef.h>
#include <stdio.h>

struct client;
struct conf;

/* Reads login_log_format_elements and login_log_format from conf's top level. Returns 0,
 * or -1 with "<file>:<line>: ..." on errf: an unknown variable, or a login_log_format
 * other than Dovecot's "%$: %s" (the message, then the elements: the only order here). */
#ifdef MTOOL_WITH_LOGIN_LOG_FORMAT
int loginlog_configure(const struct conf *conf, FILE *errf);

/* The elements for c into buf (always terminated), or NULL when the setting is not set:
 * the caller then writes Dovecot's default itself. Elements whose variables all expand
 * to nothing are left out, except those with %u or %n (and, Dovecot's quirk, those with
 * %{passdb:..}), as Dovecot does. */
const char *loginlog_tail(const struct client *c, char *buf, size_t len);

/* Frees what loginlog_configure() kept. */
void loginlog_free(void);
#else
/* Feature LOGIN_LOG_FORMAT is out (mk/features.mk): its settings are refused, every
 * login line has Dovecot's default elements. */
static inline int
loginlog_configure(const struct conf *conf, FILE *errf)
{
	(void)conf, (void)errf;
	return 0;
}

static inline const char *
loginlog_tail(const struct client *c, char *buf, size_t len)
{
	(void)c, (void)buf, (void)len;
	return NULL;
}

static inline void
loginlog_free(void)
{
}
#endif

#endif
