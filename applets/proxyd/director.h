/* SPDX-License-Identifier: MIT */
/* applets/proxyd/director.h: proxyd as a client of directord (docs/director-proxy-protocol.md):
 * where a user goes when the passdb says proxy without a host, which sessions are open,
 * and kicks coming back. One connection per proxyd process, reconnected with backoff.
 * Not a director: the hashing and the assignments live in directord. */
#ifndef PROXYD_DIRECTOR_H
#define PROXYD_DIRECTOR_H

struct client;
struct proxyd;

/* route.c: the director's answer for c (see director_lookup) */
void client_director_reply(struct client *, const char *ip, const char *hostname, const char *error);
typedef void director_reply_fn(void *arg, const char *ip, const char *hostname, const char *error);

#ifdef MTOOL_WITH_DIRECTOR_CLIENT
/* Starts connecting if director_socket is set. Returns 0 (or -1 out of memory). */
int director_init(struct proxyd *);
void director_close(struct proxyd *);
/* Whether logins can be sent to the director at all (director_socket is set). */
int director_enabled(const struct proxyd *);

/* Asks where user (with director_tag tag, "" for none) goes. The answer comes later through
 * client_director_reply(): an address and the configured host name (or ""), or error
 * (a reason for the log) with ip NULL; at once when directord is unreachable. */
void director_lookup(struct client *, const char *user, const char *tag);
/* The same for any caller (LMTP recipients): fn gets the answer, at once when directord
 * is unreachable; *idp holds the lookup's id until then (0 once answered), for
 * director_lookup_cancel(), which forgets it (fn is not called). */
void director_lookup_fn(const char *user, const char *tag, director_reply_fn *, void *arg,
    unsigned int *idp);
void director_lookup_cancel(unsigned int *idp);
/* The client is going away: forget its lookup, and its session unless it became a relay. */
void director_client_gone(struct client *);

/* A login routed by the director is going to ip now (START); the session is known by
 * the client's conn_guid until director_session_end() (a relay that closes, or a login
 * that fails). Unknown guids are ignored, so both can be called for any session. */
void director_session_start(struct client *, const char *user, const char *tag, const char *ip);
void director_session_end(struct proxyd *, const char *conn_guid);

#else
/* Out of this build (mk/features.mk): director_socket is refused by the settings, so no
 * login ever asks (director_enabled() is 0) and there is nothing to start or end. */
static inline int director_init(struct proxyd *pd) { (void)pd; return 0; }
static inline void director_close(struct proxyd *pd) { (void)pd; }
static inline int director_enabled(const struct proxyd *pd) { (void)pd; return 0; }
static inline void director_lookup(struct client *c, const char *user, const char *tag)
{ (void)user; (void)tag; client_director_reply(c, NULL, NULL, "director: not in this build"); }
static inline void director_lookup_fn(const char *user, const char *tag, director_reply_fn *fn,
    void *arg, unsigned int *idp)
{ (void)user; (void)tag; *idp = 0; fn(arg, NULL, NULL, "director: not in this build"); }
static inline void director_lookup_cancel(unsigned int *idp) { *idp = 0; }
static inline void director_client_gone(struct client *c) { (void)c; }
static inline void director_session_start(struct client *c, const char *user, const char *tag,
    const char *ip) { (void)c; (void)user; (void)tag; (void)ip; }
static inline void director_session_end(struct proxyd *pd, const char *conn_guid)
{ (void)pd; (void)conn_guid; }
#endif

#endif
