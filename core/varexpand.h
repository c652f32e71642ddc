/* SPDX-License-Identifier: MIT */
/* core/varexpand.h: Dovecot 2.3's %-variables (%u, %Ld, %{user}, %1.2n) for passdb
 * arguments and extra fields. Not Dovecot 2.4's syntax: no %{env:..}, hashes or functions. */
#ifndef CORE_VAREXPAND_H
#define CORE_VAREXPAND_H

#include "core/str.h"

/* One variable: %key (key != 0) and/or %{long_key} (long_key != NULL). A table is an
 * array ended by an entry with key 0 and long_key NULL. value NULL expands to "". */
struct var_tab {
	char key;
	const char *long_key;
	const char *value;
};

/* Rewrites a variable's value on its way into the output (see var_expand_escape). */
typedef void var_escape_fn(struct strbuf *out, const char *value, size_t len);

/* Appends tmpl to out with every variable replaced, as Dovecot's var_expand():
 *   %x or %{name}   the table's value; "%%" is a literal '%' unless the table has '%';
 *   %Lx %Ux %L{name} lowercase / uppercase (ASCII) the value; the last one counts;
 *   %Nx             at most N bytes of the value;
 *   %0Nx            the value padded on the left with '0' to N bytes, never cut;
 *   %M.Nx           skip M bytes, then at most N (N 0: all of the rest);
 *   %-M.Nx          keep only the last M bytes, then at most N;
 *   %M.-Nx          skip M bytes, then all but the last N.
 * Widths count bytes, as in Dovecot. A '-' before a width without '.' is ignored.
 * As in Dovecot, a '%' (or modifiers) at the very end of tmpl expands to nothing, and
 * "%{" without a closing '}' is the unknown variable '{'.
 * Returns 0, or -1 for an unknown variable or an output longer than out->max. On error
 * out keeps what it held before the call followed by the message ("Unknown variable
 * '%x'", "Unknown variable '%name'" as Dovecot words it, or "Expanded value too long"),
 * and *error points at that message: valid until out changes. If even the message does
 * not fit, or out had its sticky error set already, *error is a static string. */
int var_expand(struct strbuf *out, const char *tmpl, const struct var_tab *tab,
    const char **error);

/* var_expand() with every table value passed through escape before the case and width
 * modifiers act on it, as Dovecot orders them ("%%" is not escaped). escape may be
 * NULL. */
int var_expand_escape(struct strbuf *out, const char *tmpl, const struct var_tab *tab,
    var_escape_fn *escape, const char **error);

/* Appends every variable of tmpl (with its modifiers, "%Lu", "%{domain}") to out, each
 * followed by a tab; "%%" is no variable. Dovecot builds its auth cache keys this way. */
void var_template_vars(struct strbuf *out, const char *tmpl);

/* Escapes for var_expand_escape(). var_escape_path cuts the value at its first '/' so
 * that a user name cannot reach another directory (Dovecot's path_fix for passwd-file
 * paths). var_escape_str puts a backslash before '"', '\'' and '\\' (Dovecot's
 * str_escape, which passwd-file's username_format uses). */
void var_escape_path(struct strbuf *out, const char *value, size_t len);
void var_escape_str(struct strbuf *out, const char *value, size_t len);

/* What a passdb lookup knows about the client, for var_std_init(). Strings are borrowed;
 * NULL (or a port of 0) is unknown and expands to "" (ports: "0"). */
struct var_client {
	const char *user;
	const char *password;	/* what the client typed: %w */
	const char *service;
	const char *rip, *lip;
	unsigned int rport, lport;
	const char *session;
};

#define VAR_STD_ENTRIES	16

/* The standard auth table, as Dovecot's auth process fills it:
 *   %u %{user}     user             %s %{service}
 *   %n %{username} user up to its first '@' (all of it without one)
 *   %d %{domain}   user after its first '@' ("" without one)
 *   %r %{rip} %{remote_ip}          %l %{lip} %{local_ip}
 *   %b %{rport} %{remote_port}      %a %{lport} %{local_port}
 *   %w %{password}                  %{session}
 * Note that %a is the local port and %b the remote one, as in Dovecot. */
struct var_std {
	struct var_tab tab[VAR_STD_ENTRIES];
	char *username;		/* %n's copy; owned */
	char rport[12], lport[12];
};

/* Fills std from c. The table borrows c's strings: it is valid while they are and until
 * var_std_free(). Returns 0, or -1 if out of memory (std then needs no free). */
int var_std_init(struct var_std *std, const struct var_client *c);
void var_std_free(struct var_std *std);

#endif
