/* SPDX-License-Identifier: MIT */
/* core/passdb_tmpl.h: a passdb's default_fields and override_fields (Dovecot's
 * passdb-template): space-separated key[=value] pairs whose values are %-expanded
 * (core/varexpand.h, with %{passdb:field}) for each lookup and set as the passdb's
 * fields. Not for applets, which give the strings to passdb_chain_set_fields(). */
#ifndef CORE_PASSDB_TMPL_H
#define CORE_PASSDB_TMPL_H

#include <stddef.h>

struct passdb_lookup;
struct passdb_tmpl;

/* Parses args; NULL with the reason in errbuf for an empty key or a bad variable, and
 * *tmpl NULL for an empty args (then 0 is returned too). Returns 0 or -1. */
int passdb_tmpl_new(const char *args, struct passdb_tmpl **tmpl, char *errbuf, size_t errlen);

/* Sets every field of tmpl (NULL: none) in L, in order, through passdb_set_field() as
 * Dovecot's auth_request_set_field() would ("password=" with the PLAIN default scheme).
 * Returns 0, or -1 with the expansion's error in errbuf. */
int passdb_tmpl_export(const struct passdb_tmpl *tmpl, struct passdb_lookup *L, char *errbuf,
    size_t errlen);

/* NULL is fine. */
void passdb_tmpl_free(struct passdb_tmpl *tmpl);

#endif
