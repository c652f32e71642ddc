/* SPDX-License-Identifier: MIT */
/* tests/fuzz/directord_fuzz.h: a directord in the fuzzer's process (mail hosts, two tags,
 * its admin and proxy sockets on the event loop), set up afresh for every input so that
 * one input's HOST-REMOVE does not change the next one's world. For fuzz_director_admin.c
 * (doveadm director's socket), fuzz_director_proxy.c (proxyd's mtool-director socket) and
 * fuzz_ring.c (a peer director on the ring port). */
#ifndef DIRECTORD_FUZZ_H
#define DIRECTORD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

enum fuzz_directord_socket {
	FUZZ_DIRECTORD_ADMIN, FUZZ_DIRECTORD_PROXY, FUZZ_DIRECTORD_RING, FUZZ_DIRECTORD_HEALTH,
};

/* data is one connection's input to the proxy socket, or to the admin socket or the ring
 * (a proxy has then looked "user1" up and started a session for it first). The ring: this
 * directord is 127.0.0.1:9090 in a ring with 127.0.0.2:9091, and data comes in on a
 * connection from 127.0.0.2, all in a network namespace of the process's own (so that a
 * DIRECTOR or CONNECT line naming any address reaches nothing); without one (no privilege
 * to make it) the ring inputs are skipped, with a message once. The health checks: in
 * the same kind of namespace, the only mail host is 127.0.0.2 and data[0] chooses its
 * director_health_check_ports entry (one of HEALTH_PORTS in directord_fuzz.c, modulo
 * their number; bit 7: with a test user, bit 6: any certificate); the rest is what the
 * backend answers to one probe. */
void fuzz_directord(enum fuzz_directord_socket sock, const uint8_t *data, size_t size);

#endif
