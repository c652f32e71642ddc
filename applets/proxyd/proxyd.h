/* SPDX-License-Identifier: MIT */
/* applets/proxyd/proxyd.h: what the files of proxyd share: the process state, the client
 * session, the protocol operations. Not for other applets. */
#ifndef PROXYD_H
#define PROXYD_H

#include <stdint.h>

#include "core/ip.h"
#include "core/buf.h"
#include "core/conn.h"
#include "core/loop.h"
#include "core/sasl.h"

struct passdb_chain;
struct passdb_result;
struct proxyd_settings;
struct client;
struct lmtp_session;
struct proxyd;

/* Why a login failed, which decides the reply text per protocol (protocols.md §9). */
enum client_fail {
	FAIL_NONE,
	FAIL_AUTH,		/* wrong password or unknown user */
	FAIL_AUTH_TEMP,		/* passdb could not answer */
	FAIL_AUTH_REASON,	/* passdb said nologin/fail with reason=: text is the reason */
	FAIL_PROXY_TEMP,	/* connect, remote, protocol or internal proxy failure */
	FAIL_PROXY_CONFIG,	/* TTL loop, STARTTLS unsupported, LOGINDISABLED, self loop */
	FAIL_BACKEND,		/* the backend refused the login: text is its own reply */
	FAIL_BACKEND_TEMP,	/* the backend said "try later": text is its own reply */
};

#define CLIENT_FAIL_COUNT	(FAIL_BACKEND_TEMP + 1)

/* Where a client's login dialogue is: what its input is read as. */
enum login_state {
	LOGIN_CMD,		/* commands */
	LOGIN_SASL,		/* a SASL challenge is out: the client's response */
	LOGIN_BUSY,		/* passdb or backend login under way: input waits */
	LOGIN_CLOSING,		/* last words sent */
};

/* A protocol proxyd serves: what listeners, limits, logs and stats need. settings.c has
 * the one list of them (settings_protos). */
struct login_proto;
struct proxyd_proto {
	const char *name;		/* "imap": logs, passdb service, proxy list */
	const char *log_prefix;		/* "imap-login" */
	unsigned int port;		/* backend default port */
	unsigned int ssl_port;		/* with ssl=yes and no port */
	const char *bye_fmt;		/* last words to a refused or kicked client, or NULL */
	/* a login protocol: its dialogue (login.h), which client.c and login.c drive */
	const struct login_proto *login;
	/* a protocol without a login dialogue (LMTP) takes the connection itself */
	void (*accept)(struct proxyd *, int fd, const struct sockaddr *peer, const struct sockaddr *local,
	    int ssl);
};

extern const struct proxyd_proto imap_proto;
extern const struct proxyd_proto pop3_proto;
extern const struct proxyd_proto lmtp_proto;	/* lmtp_session.c */
extern const struct proxyd_proto submission_proto;
extern const struct proxyd_proto managesieve_proto;

/* Where and how the user is proxied, from the passdb's fields. */
struct proxy_dest {
	char *host;		/* as given (logs) */
	struct ip_addr ip;
	unsigned int port;
	struct ip_addr source_ip;	/* family 0: none */
	char *destuser;
	char *pass;		/* password for the backend */
	char *master;		/* master user for the backend login, or NULL */
	char *mech;		/* proxy_mech, or NULL (LOGIN/USER+PASS) */
	char *sasl_forward;	/* XOAUTH2/OAUTHBEARER: the client's response, sent on as it is */
	unsigned int timeout_ms;
	unsigned int nopipelining : 1;
	unsigned int not_trusted : 1;
	unsigned int ssl : 1;
	unsigned int starttls : 1;
	unsigned int any_cert : 1;
};

struct dns;
struct dns_query;

/* One client connection from accept until its relay starts. */
struct client {
	struct proxyd *pd;
	struct client *prev, *next;	/* pd->clients */
	const struct proxyd_proto *proto;	/* a login protocol: proto->login is set */
	enum login_state login_state;
	struct conn *conn;
	struct conn *backend;
	struct loop_timer timer;	/* one deadline at a time: auth delay, delay_until, backend */
	struct loop_timer login_timer;	/* login_timeout, from accept */

	struct ip_addr rip, lip;
	unsigned int rport, lport;
	char session_id[72];
	char conn_guid[33];		/* anvil's connection id: 32 hex digits */
	unsigned int ttl;
	int64_t created;		/* wall clock */
	uint64_t created_ms;		/* loop_now() */

	unsigned int trusted : 1;	/* login_trusted_networks */
	unsigned int secured : 1;	/* TLS, or trusted/loopback as Dovecot counts it */
	unsigned int tls : 1;		/* TLS on the client connection (implicit or STARTTLS) */
	unsigned int authenticating : 1;
	unsigned int proxying : 1;	/* backend connection under way */
	unsigned int destroyed : 1;
	unsigned int logged_in : 1;	/* relay started; only freeing is left */
	unsigned int sasl_waiting : 1;	/* a SASL challenge is out, the client must answer */
	unsigned int last_fail_backend_auth : 1;
	enum client_fail last_fail;	/* of the last failed login, for the disconnect log */
	unsigned int auth_successes;
	unsigned int auth_attempts;
	unsigned int bad_cmds;
	unsigned int reconnects;
	unsigned int director_lookup_id;	/* a director lookup is out (director.c) */
	unsigned int last_penalty;	/* auth penalty of rip when this login began (penalty.c) */
	unsigned int passdb_lookup_id;	/* the passdb has not answered yet */
	struct dns_query *dns_q;	/* waiting for host='s address (route.c) */

	/* the login being processed */
	char *user;			/* the name the client gave */
	char *virtual_user;		/* after passdb renames (user=) */
	char *password;			/* what the client typed, for forwarding */
	const char *mech_name;		/* for logs: PLAIN, LOGIN */
	struct sasl_server *sasl;
	struct passdb_result *passdb;
	struct proxy_dest dest;
	uint64_t proxy_deadline;	/* loop_now() ms when the backend login must be done */
	const char *backend_state;	/* where the backend dialogue is, for logs; NULL: connecting */
	char *client_id;		/* retained IMAP ID pairs (as sent), or NULL */
	char *forward;			/* forwarded fields from a trusted upstream, TAB-joined */

	void *proto_state;		/* owned by the protocol file */
};

/* Process-wide state of one proxyd process. */
struct proxyd {
	struct loop *loop;
	const struct proxyd_settings *set;
	struct passdb_chain *passdb;
	struct client *clients;		/* every client not yet relaying */
	unsigned int nclients;
	struct relay *relays;		/* every established session, for list and kick */
	unsigned int nrelays;
	struct backend_rec *backends;	/* see relay.h */
	struct admin *admin;		/* admin sockets: admin.c */
	char **alt_keys;		/* user_* keys seen, first-seen order: sessions.c */
	unsigned int nalt_keys;
	struct lmtp_session *lmtp_sessions;	/* lmtp_session.c */
	unsigned int nlmtp;
	uint64_t guid_prefix, guid_next;	/* conn_guid: random per process, then counted */
	unsigned int source_rr;		/* round-robin index into login_source_ips */
	struct tls_server *tls_server;	/* client-facing certificates; NULL with ssl = no */
	struct proxyd_tls_local *tls_local;	/* local NET { ssl_cert ssl_key } (ssl.c) */
	unsigned int ntls_local;
	struct tls_client *tls_client;	/* backend-facing trust anchors; NULL until needed */
	struct dns *dns;		/* host= names (core/dns.h) */
	int shutting_down;
	struct limits *limits;		/* limits.c */
	struct penalty *penalty;	/* penalty.c */
	struct haproxy_accept *haproxy_pending;	/* haproxy_accept.c */
};

/* proxyd.c: a connection accepted on ls (its PROXY header, if any, already read) meets
 * the limits, then its protocol. peer and local are the client's addresses. */
struct listener_set;
void proxyd_admit(struct proxyd *, const struct listener_set *ls, int fd, const struct sockaddr *peer,
    const struct sockaddr *local, int how);

/* client.c */
/* Dovecot's session id: 48 bits of the microsecond clock, the client port and the raw
 * client address, base64: 16 characters for IPv4, 32 for IPv6 (out: at least 33). */
void client_session_id(char *out, size_t outlen, const struct ip_addr *rip, unsigned int rport);
/* how, for client_create and proxyd_admit: */
#define CLIENT_TLS		0x1	/* implicit TLS (ssl = yes listener) */
#define CLIENT_PROXIED		0x2	/* addresses from a PROXY header (haproxy_accept.c) */
#define CLIENT_PROXIED_TLS	0x4	/* and the header says the client used TLS */
struct client *client_create(struct proxyd *, const struct proxyd_proto *, int fd,
    const struct sockaddr *peer, const struct sockaddr *local, int how);
/* Logs the disconnect with reason (Dovecot's wording) and frees the client. */
void client_destroy(struct client *, const char *reason);
/* Starts authentication with the passdb for user/password (mech for logs). */
void client_auth(struct client *, const char *mech, const char *authzid, const char *user, const char *pass);
/* Closes every client that is still logging in (shutdown). */
void client_destroy_all(struct proxyd *);
/* What the established session shows (and the passdb's user_* fields), copied into one
 * block for the relay (relay.h); free() frees it. */
struct relay_info;
struct relay_info *client_relay_info(struct client *);
/* Called by the protocol when the backend login succeeded and the client got its reply:
 * hands both connections to the relay and frees the client. */
void client_proxy_established(struct client *);
/* Called by the protocol when the backend login failed. log_reason (may be NULL) is
 * logged through client_log_proxy, at error level when log_error is set. */
void client_proxy_failed(struct client *, enum client_fail, const char *text, const char *log_reason);
/* The backend login failed in a way that a new connection may cure (closed, [UNAVAILABLE],
 * [SYS/TEMP], bad banner): reconnect within the timeout, or finally fail with why/text. */
void backend_retry_or_fail(struct client *, enum client_fail why, const char *text, const char *log_reason);
/* "Temporary authentication failure. [<hostname>:<YYYY-mm-dd HH:MM:SS>]", Dovecot's text
 * for a passdb that could not answer, into buf. */
const char *client_auth_temp_text(struct client *, char *buf, size_t len);
/* One attribute of XCLIENT from a trusted proxy in front of us (POP3, Submission and
 * ManageSieve share them): ADDR, PORT, SESSION, TTL, FORWARD. Returns 1 if taken, 0 if
 * the name is not one of these, -1 if the value is invalid. */
int client_xclient_attr(struct client *, const char *name, const char *value);
/* Whether cleartext authentication is allowed on this connection now. */
int client_cleartext_allowed(const struct client *);
/* The mechanisms offered (space-separated, upper case). */
const char *client_mechanisms(const struct client *);
int client_mechanism_offered(const struct client *, enum sasl_mech);
/* Log with the client's prefix ("imap-login: ...") and context. */
void client_log_info(struct client *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void client_log_debug(struct client *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The "user=<...>, method=..., rip=..., lip=..., secured, session=<...>" tail of login log
 * lines, as Dovecot writes it. */
const char *client_log_tail(struct client *, char *buf, size_t len);
/* "proxy(USER,BACKEND_IP:PORT): MESSAGE: TAIL" at info (error = 0) or error level. */
void client_log_proxy(struct client *, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* route.c: after a successful passdb lookup, where and how the user is proxied */
void client_proxy_begin(struct client *);
/* delay_until: 1 if the login now waits, 0 to go on, -1 after a failure reply */
int client_delay_until(struct client *, const char *value);
void client_log_unknown_fields(struct client *, const struct passdb_result *);
/* Replies to the client now (the protocol's text for why) and forgets the login. */
void client_fail_now(struct client *, enum client_fail, const char *text);
/* "proxy(USER): MESSAGE: TAIL" at error level: a login that fails before a backend is
 * chosen, for a reason the operator must see. */
void client_log_user_error(struct client *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends the passdb's forward_* fields: as IMAP ID pairs (" "x-forward-K" V") with
 * astring() quoting values, or as an XCLIENT " FORWARD=<base64>" attribute. */
struct strbuf;
void client_forward_imap(struct client *, struct strbuf *,
    int (*astring)(struct client *, struct strbuf *, const char *));
void client_forward_xclient(struct client *, struct strbuf *);
/* "XCLIENT ADDR=<ip> PORT=<port> SESSION=<id> TTL=<ttl-1>[ FORWARD=<base64>]\r\n", the
 * way Dovecot's POP3 and ManageSieve proxies tell a backend about the client. */
void client_xclient_compose(struct client *, struct strbuf *);
/* The forward_* fields, TAB-escaped and joined, as base64 (malloc'd), or NULL if none. */
char *client_forward_base64(struct client *);

/* backend.c */
void backend_connect(struct client *);
/* The mechanism and initial response (base64, into ir; "" for LOGIN, which has none) of
 * the proxy's own SASL login, as Dovecot's SASL client: PLAIN with authzid = destuser and
 * authcid = master or destuser, LOGIN for proxy_mech=LOGIN, a passed-through token as the
 * client sent it. Returns the mechanism's name, or NULL after failing the login. */
const char *backend_sasl_start(struct client *, char *ir, size_t irlen);
/* The answer (base64, into out) to a SASL challenge from the backend during the proxy's
 * own login: the user, then the password for proxy_mech=LOGIN (*step counts them); for a
 * passed-through token the end of the exchange (RFC 7628). -1 if no challenge was due. */
int backend_sasl_answer(struct client *, unsigned int *step, char *out, size_t outlen);
/* Writes a line (CRLF added) to the backend. */
void backend_send(struct client *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* lmtp_session.c: closes every LMTP session (shutdown); nothing to close without LMTP */
#ifdef MTOOL_WITH_LMTP
void lmtp_destroy_all(struct proxyd *);
#else
static inline void lmtp_destroy_all(struct proxyd *pd) { (void)pd; }
#endif

/* route.c: the passdb-field parsers that LMTP shares with the logins */
/* Forgets the client's DNS lookup, if one is out (client_destroy). */
void route_client_gone(struct client *);
int route_port_field(const char *value, unsigned int *port);
int route_timeout_field(const char *value, unsigned int *ms);
/* proxy_maybe: is ip[:port] this proxy (the connection's local address, or one of
 * auth_proxy_self)? */
int route_is_self(struct proxyd *, const struct ip_addr *lip, unsigned int lport,
    const struct ip_addr *ip, unsigned int port, int port_given);
/* Appends the forward_* fields of r (without the prefix) as TAB-escaped "key=value"
 * joined by TABs, as Dovecot forwards them (XCLIENT FORWARD= base64s this, LMTP's
 * XRCPTFORWARD= xtext-encodes it); appends nothing when r has none. */
void route_forward_fields(const struct passdb_result *, struct strbuf *);
/* ssl.c: TLS for any login protocol */
/* Loads the certificates and trust anchors of set (start-up: before privileges are
 * dropped; SIGHUP: again, replacing them for new connections only). Returns 0, or -1
 * with a message in err. */
int proxyd_tls_load(struct proxyd *, const struct proxyd_settings *, char *err, size_t errlen);
void proxyd_tls_free(struct proxyd *);
/* Whether the client may ask for STARTTLS now (ssl enabled, not yet TLS). */
int client_starttls_allowed(const struct client *);
/* Starts TLS on the client connection now: the protocol has queued its "go ahead"
 * reply, which still goes out in plaintext; input buffered so far is discarded (no
 * command injection across the upgrade); everything after is TLS and the client
 * counts as secured. Protocol-independent: IMAP STARTTLS, POP3 STLS, SMTP STARTTLS and
 * ManageSieve STARTTLS all end here. Returns 0, or -1 (the caller replies and goes on in
 * plaintext; the reason is logged). */
/* The certificates for a connection to local address lip: those of the first
 * "local NET { }" block that holds lip, else the top level's. */
struct proxyd_tls_local {
	char *net;
	struct tls_server *srv;
};
struct tls_server *proxyd_tls_server(struct proxyd *, const struct ip_addr *lip);
int client_start_tls(struct client *);
/* ssl_backend.c (feature BACKEND_TLS): TLS toward the backends */
struct tls_client;
#ifdef MTOOL_WITH_BACKEND_TLS
/* The trust anchors and client certificate of set (ssl_client_*), into *out; 0, or -1
 * with a message in err. */
int backend_tls_load(const struct proxyd_settings *, struct tls_client **out, char *err,
    size_t errlen);
void backend_tls_free(struct tls_client *);
/* Starts TLS towards the backend (ssl=yes at connect, or after its STARTTLS reply);
 * verifies the chain and the host name unless any-cert. On -1 the login has failed. */
int backend_start_tls(struct client *);
/* The host name the backend's certificate must carry. */
const char *backend_tls_name(const struct client *);
#else
/* Out of this build: ssl=yes or ssl=any-cert/starttls in the passdb fails the login with
 * a reason that says so. */
static inline int
backend_tls_load(const struct proxyd_settings *set, struct tls_client **out, char *err,
    size_t errlen)
{
	(void)set, (void)err, (void)errlen;
	*out = NULL;
	return 0;
}
static inline void backend_tls_free(struct tls_client *cli) { (void)cli; }
static inline int
backend_start_tls(struct client *c)
{
	client_proxy_failed(c, FAIL_PROXY_TEMP, NULL,
	    "ssl=yes/starttls: TLS to backends is not in this build (feature backend_tls)");
	return -1;
}
static inline const char *backend_tls_name(const struct client *c) { return c->dest.host; }
#endif

/* relay.c */
struct relay;
int relay_start(struct client *);
void relay_kick(struct relay *, const char *reason);
void relay_shutdown_all(struct proxyd *);

#endif
