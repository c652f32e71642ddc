/* SPDX-License-Identifier: MIT */
/* core/passdb_ldap.h: Dovecot's passdb driver "ldap": args is the path of a
 * dovecot-ldap.conf.ext (uris or hosts, dn, dnpass, base, scope, deref, pass_filter,
 * pass_attrs, auth_bind, auth_bind_userdn, default_pass_scheme, ldap_version = 3, tls and
 * tls_ca_cert_file/_dir, tls_cert_file, tls_key_file, tls_require_cert; the
 * userdb and iterate settings are accepted and unused). The lookup is a search with
 * pass_filter (each variable's value escaped as RFC 4515 says) on a connection bound as
 * dn; pass_attrs maps the entry's attributes to passdb fields. With auth_bind the
 * password is checked by binding as the entry's DN (or auth_bind_userdn, without a
 * search) on a second connection. Not for applets: core/passdb_drv.c is its caller. */
#ifndef CORE_PASSDB_LDAP_H
#define CORE_PASSDB_LDAP_H

#include <stddef.h>

#include "core/passdb_req.h"

struct passdb_ldap;
struct loop;

#ifdef MTOOL_WITH_LDAP

/* Reads the file now (errors with file:line). NULL with the reason in eb. */
struct passdb_ldap *passdb_ldap_new(const char *args, char *eb, size_t el);
/* PASSDB_PENDING, then passdb_lookup_done() from the loop; or INTERNAL_FAILURE at once */
enum passdb_status passdb_ldap_lookup(struct passdb_ldap *, struct passdb_lookup *L);
void passdb_ldap_cancel(struct passdb_ldap *, struct passdb_lookup *L, int expired);
void passdb_ldap_set_loop(struct passdb_ldap *, struct loop *);
void passdb_ldap_free(struct passdb_ldap *);
#else
/* Feature LDAP is out (mk/features.mk): stand-ins never reached, as in passdb_sql.h. */
static inline struct passdb_ldap *passdb_ldap_new(const char *a, char *eb, size_t el)
{ (void)a; (void)eb; (void)el; return 0; }
static inline enum passdb_status passdb_ldap_lookup(struct passdb_ldap *d, struct passdb_lookup *L)
{ (void)d; (void)L; return PASSDB_INTERNAL_FAILURE; }
static inline void passdb_ldap_cancel(struct passdb_ldap *d, struct passdb_lookup *L, int e)
{ (void)d; (void)L; (void)e; }
static inline void passdb_ldap_set_loop(struct passdb_ldap *d, struct loop *l) { (void)d; (void)l; }
static inline void passdb_ldap_free(struct passdb_ldap *d) { (void)d; }
#endif

#endif
