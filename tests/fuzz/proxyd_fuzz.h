/* SPDX-License-Identifier: MIT */
/* tests/fuzz/proxyd_fuzz.h: a whole proxyd in the fuzzer's process (settings, passdb,
 * TLS, admin sockets, the event loop), a client connection on a socketpair fed the
 * fuzzer's bytes, and a backend that is the fuzzer too. For the login targets
 * (fuzz_login_*.c, fuzz_lmtp.c) and the admin ones (fuzz_ipc.c, fuzz_anvil.c,
 * fuzz_authmaster.c).
 *
 * Client input: one flags byte (bit 0: the client comes from a trusted network, so
 * XCLIENT/ID forwarding is accepted; bits 1-7: the size of the pieces it is sent in),
 * the client's bytes, then optionally two NUL bytes and what every backend connection
 * receives (greeting and replies at once). The passwd-file knows "user" (password
 * "pass", proxied to the fuzzer's backend; for LMTP "user@example.org"), "tls" (the same
 * with STARTTLS towards the backend), "nologin" (refused with a reason), "dir" (proxied
 * where the director says) and "local" (no proxy field). */
#ifndef PROXYD_FUZZ_H
#define PROXYD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* proto: "imap", "pop3", "submission", "sieve" or "lmtp". */
void fuzz_proxyd_login(const char *proto, const uint8_t *data, size_t size);

/* The admin sockets: an IMAP client is left logging in ("user", waiting for its
 * backend), then data is written to the ipc (sock = 0), anvil (1) or auth-master (2)
 * socket as one connection's input. */
void fuzz_proxyd_admin(int sock, const uint8_t *data, size_t size);

/* proxyd as directord's client: an IMAP client logs in twice as "dir" (proxy without a
 * host: the director is asked), and data is what directord answers on the proxy socket
 * (VERSION, HOST/FAIL for lookups 1 and 2, KICK, KICK-USER, KICK-ALT). */
void fuzz_proxyd_director(const uint8_t *data, size_t size);

#endif
