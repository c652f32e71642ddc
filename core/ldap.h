/* SPDX-License-Identifier: MIT */
/* core/ldap.h: an LDAPv3 client connection on the event loop (RFC 4511): simple binds
 * and searches, StartTLS and ldaps://, no library. One connection to the first of its servers that answers,
 * bound as dn (when given) each time it connects; searches are pipelined, a bind waits
 * until nothing else is in flight and holds the connection until its answer. A lost
 * connection is made again for the next request; operations in flight when it broke are
 * sent once more. When no server can be reached, requests fail at once for a delay that
 * doubles from 1 s to 60 s. Not for applets: core/passdb_ldap.c is its user. */
#ifndef CORE_LDAP_H
#define CORE_LDAP_H

#include <stddef.h>

#define LDAP_MSG_MAX		(256 * 1024)	/* one response message */
#define LDAP_ATTRS_MAX		64		/* attributes kept of one entry */
#define LDAP_SERVERS_MAX	8
#define LDAP_FILTER_MAX		4096

enum ldap_scope { LDAP_SCOPE_BASE, LDAP_SCOPE_ONELEVEL, LDAP_SCOPE_SUBTREE };
enum ldap_deref { LDAP_DEREF_NEVER, LDAP_DEREF_SEARCHING, LDAP_DEREF_FINDING,
	LDAP_DEREF_ALWAYS };

#define LDAP_INVALID_CREDENTIALS	49

/* An answer. error NULL: the operation ran (code 0, or a search's sizeLimitExceeded);
 * else code is the server's resultCode or -1 (no server, connection lost, bad answer).
 * A search gives its first entry (dn NULL when none) and how many came; attribute
 * values are the first of each attribute. Valid during the callback only. */
struct ldap_result {
	const char *error;
	int code;
	unsigned int nentries;
	const char *dn;
	unsigned int nattrs;
	const char *names[LDAP_ATTRS_MAX];
	const char *values[LDAP_ATTRS_MAX];
	unsigned int nvalues[LDAP_ATTRS_MAX];	/* how many each attribute had */
};

typedef void ldap_cb(const struct ldap_result *, void *arg);

struct ldap_client;
struct ldap_op;
struct loop;

/* servers: "ldap://host[:port]", "ldaps://host[:port]" (TLS from the start, port 636:
 * see ldap_client_set_tls), "ldapi://<%2F-encoded path>" or "host[:port]" (IP
 * addresses and localhost: there is no resolver here), space- or comma-separated.
 * dn NULL: no bind at connect. NULL with the reason in err. */
struct ldap_client *ldap_client_new(const char *servers, const char *dn, const char *pw,
    char *err, size_t errlen);
void ldap_client_set_loop(struct ldap_client *, struct loop *);

/* TLS for ldaps:// servers, and StartTLS (RFC 4511 4.14) before the bind on the others
 * when starttls is set: trust anchors from ca_file and/or ca_dir (both NULL: the system
 * store), an optional client certificate; verify: the chain and the server's name as
 * the URI gives it (an IP address is matched as text against the DNS names). 0, or -1
 * with err. */
struct ldap_tls_set {
	const char *ca_file, *ca_dir, *cert_file, *key_file;
	int starttls, verify;
};
int ldap_client_set_tls(struct ldap_client *, const struct ldap_tls_set *, char *err,
    size_t errlen);

/* Checks an RFC 4515 filter string; 0, or -1 with the reason in err. */
int ldap_filter_check(const char *filter, char *err, size_t errlen);
/* RFC 4515 escaping of a value that goes into a filter (and RFC 4514's of one that
 * goes into a DN, which reads the same \XX form): every byte outside [A-Za-z0-9.@_-]
 * becomes \XX, so no name can add filter or DN syntax. */
struct strbuf;
void ldap_escape(struct strbuf *out, const char *value, size_t len);

/* Queue a search (the filter in RFC 4515 text) or a simple bind; cb runs once from the
 * loop unless the operation is aborted. NULL: out of memory or a bad filter. */
struct ldap_op *ldap_search(struct ldap_client *, const char *base, enum ldap_scope,
    enum ldap_deref, const char *filter, const char *const *attrs, size_t nattrs,
    ldap_cb *cb, void *arg);
struct ldap_op *ldap_bind(struct ldap_client *, const char *dn, const char *pw,
    ldap_cb *cb, void *arg);
/* Forgets op; its callback will not run. close_conn: the answer is not worth waiting
 * for (a timeout), the connection is made again. */
void ldap_op_abort(struct ldap_op *, int close_conn);

/* Pending operations fail. NULL is fine. */
void ldap_client_free(struct ldap_client *);

/* Parses one LDAPMessage (a whole BER element) for response handling: its message id,
 * protocolOp tag and contents. For the fuzz target and the client. 0 or -1. */
struct ber;
int ldap_msg_parse(const unsigned char *p, size_t n, long *msgid, unsigned int *op,
    struct ber *body);
/* Adds what a SearchResultEntry body says to r (the first entry only: later ones are
 * counted). Strings are copied into store (cap bytes). 0 or -1 (malformed, too big). */
int ldap_entry_parse(struct ber *body, struct ldap_result *r, char *store, size_t cap,
    size_t *used);
/* An LDAPResult body: resultCode and diagnosticMessage (copied, cut to msglen). 0/-1. */
int ldap_result_parse(struct ber *body, long *code, char *msg, size_t msglen);

#endif
