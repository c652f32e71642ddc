/* SPDX-License-Identifier: MIT */
/* tests/fuzz/directord_fuzz.h: a directord in the fuzzer's process (mail hosts, two tags,
 * its admin and proxy sockets on the event loop), set up afresh for every input so that
 * one input's HOST-REMOVE does not change the next one's world. For fuzz_director_admin.c
 * (doveadm director's socket) and fuzz_director_proxy.c (proxyd's mtool-director socket). */
#ifndef DIRECTORD_FUZZ_H
#define DIRECTORD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* data is one connection's input to the proxy socket (proxy = 1) or to the admin socket
 * (proxy = 0; a proxy has then looked "user1" up and started a session for it first). */
void fuzz_directord(int proxy, const uint8_t *data, size_t size);

#endif
