/* SPDX-License-Identifier: MIT */
/* core/varexpand.h: Dovecot 2.3's %-variables (%u, %Ld, %{user}, %1.2n, %{if;..},
 * %{sha256:user}, %{env:X}) for passdb arguments, extra fields and log formats. Not
 * Dovecot 2.4's syntax (%{user|lower}). */
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

/* The modifiers Dovecot 2.3 knows, each a function applied in the order written:
 * L lower case, U upper case, E backslash before ' " \, X decimal to hex, R reverse,
 * H Dovecot's str_hash (width: modulus, offset: digits) in hex, N the same from MD5,
 * M MD5 in hex, D "a.b" -> "a,dc=b", T trailing white space removed. */
#define VAR_MODIFIERS	"LUEXRHNMDT"

/* A caller's functions %{name:data} (Dovecot's func table: the auth process's passdb
 * and userdb): appends the value to out, escaped with escape when that is not NULL.
 * Returns 1 if done, 0 for a name it does not know, -1 on error. */
typedef int var_func_fn(struct strbuf *out, const char *name, size_t namelen,
    const char *data, size_t datalen, var_escape_fn *escape, void *ctx);

struct var_expand_params {
	const struct var_tab *tab;
	var_escape_fn *escape;	/* for table values and func's; NULL: none */
	var_func_fn *func;	/* NULL: none */
	void *ctx;		/* func's */
};

/* Appends tmpl to out with every variable replaced, as Dovecot's var_expand():
 *   %x or %{name}   the table's value; "%%" is a literal '%' unless the table has '%';
 *   %{pid} %{uid} %{gid} %{hostname}  this process's, unless the table has them;
 *   %{env:NAME}     the environment's NAME ("" if unset);
 *   %{md5:name} %{sha1:..} %{sha256:..} %{sha384:..} %{sha512:..}  the hash of the
 *                   long variable name's value (which may be a function: md5:env:X),
 *                   with options %{sha1;rounds=N,truncate=BITS,format=hex|hexuc|base64,
 *                   salt=TEMPLATE:name} (salt takes the rest of the options, expanded);
 *                   hexuc is upper case here, lower case in Dovecot 2.3 (its bug);
 *                   rounds at most 100000, and 400000 in one template (Dovecot: none);
 *   %{if;a;op;b;then[;else]}  the parts expanded, then compared: == < <= > >= != as
 *                   numbers, eq lt le gt ge ne as strings, * !* wildcards; ~ !~ (regex)
 *                   are an error in this build; a backslash escapes the next byte;
 *   func's names    %{passdb:field} and the like, when params->func has them;
 *   %Lx %MLx ...    the modifiers (VAR_MODIFIERS) in the order written; then:
 *   %<n>x           at most n bytes of the value;
 *   %0<n>x          the value padded on the left with '0' to n bytes, never cut;
 *   %<m>.<n>x       skip m bytes, then at most n (n 0: all of the rest);
 *   %-<m>.<n>x      keep only the last m bytes, then at most n;
 *   %<m>.-<n>x      skip m bytes, then all but the last n.
 * Widths count bytes, as in Dovecot. A '-' before a width without '.' is ignored.
 * As in Dovecot, a '%' (or modifiers) at the very end of tmpl expands to nothing, and
 * "%{" without a closing '}' is the unknown variable '{'.
 * Returns 0, or -1 for an unknown variable, a function's error ("if: ...", "Cannot parse
 * hash arguments...") or an output longer than out->max. On error
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

/* The same with a caller's functions. */
int var_expand_params(struct strbuf *out, const char *tmpl,
    const struct var_expand_params *params, const char **error);

/* 1 if error (a var_expand() error message) comes from the values rather than the
 * template: %{if;..} comparing a non-number. A check of a template with made-up values
 * at start-up ignores those. */
int var_error_from_values(const char *error);

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
	const char *mech;	/* "PLAIN", ...: %m */
	const char *secured;	/* %c: "TLS", "secured" (trusted network) or "" */
	const char *local_name;	/* TLS SNI */
	/* the connection's own addresses when rip/lip came from a PROXY header or XCLIENT
	 * (%{real_rip}); NULL: rip/lip and their ports */
	const char *real_rip, *real_lip;
	unsigned int real_rport, real_lport;
	/* the login before auth_username_translation/format (Dovecot's original_username):
	 * %{orig_user}, %{auth_user} and their username/domain; NULL: user */
	const char *orig_user;
};

#define VAR_STD_ENTRIES	48

/* The standard auth table, as Dovecot's auth process fills it:
 *   %u %{user}     user             %s %{service}
 *   %n %{username} user up to its first '@' (all of it without one)
 *   %d %{domain}   user after its first '@' ("" without one)
 *   %{domain_first} %{domain_last}  between the first and the next '@'; after the last
 *   %r %{rip} %{remote_ip}          %l %{lip} %{local_ip}
 *   %b %{rport} %{remote_port}      %a %{lport} %{local_port}
 *   %{real_rip} %{real_remote_ip} %{real_lip} ... %{real_rport} ...  the connection's
 *   %w %{password}  %{session}  %m %{mech} %{mechanism}  %c %{secured}  %{local_name}
 *   %p %{pid}      this process (Dovecot: the login process that asked)
 *   %{orig_user} %{auth_user} and their username/domain: c->orig_user (this table
 *                  has no master users)
 *   %h %{home} %k %{cert} %{login_user} %{master_user} %{session_pid} %{client_id}
 *                  are known and empty here, as they are in a proxy's passdb lookup.
 * Note that %a is the local port and %b the remote one, as in Dovecot. */
struct var_std {
	struct var_tab tab[VAR_STD_ENTRIES];
	char *username;		/* %n's copy and domain_first's; owned */
	char *domain_first;
	char *orig_username;	/* %{orig_username}'s copy when orig_user is given; owned */
	char rport[12], lport[12], real_rport[12], real_lport[12], pid[16];
};

/* Fills std from c. The table borrows c's strings: it is valid while they are and until
 * var_std_free(). Returns 0, or -1 if out of memory (std then needs no free). */
int var_std_init(struct var_std *std, const struct var_client *c);
void var_std_free(struct var_std *std);

#endif
