/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz.h: what the libFuzzer targets share (tests/fuzz/fuzz.c): turning the
 * fuzzer's bytes into the strings and files the code under test takes. Each target is
 * one tests/fuzz/fuzz_NAME.c defining LLVMFuzzerTestOneInput; see docs/fuzzing.md. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated malloc'd copy of data (NUL bytes inside stay: the string ends at the
 * first). Aborts if out of memory, which is the fuzzer's problem, not the target's. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Splits the input at the first byte sep: *a gets the part before (NUL-terminated,
 * malloc'd), the rest stays in *data and *size. Without sep, *a is all of it and the rest is
 * empty. */
char *fuzz_take(const uint8_t **data, size_t *size, uint8_t sep);

/* A fresh private directory for the files of one input (conf includes, passwd-files),
 * made once per process and emptied by fuzz_dir_clean(). Returns its path. */
const char *fuzz_dir(void);
void fuzz_dir_clean(void);
/* Writes len bytes to fuzz_dir()/name; returns the full path (static buffer). */
const char *fuzz_write_file(const char *name, const void *data, size_t len);

/* The same in a private directory on tmpfs (/dev/shm; fuzz_dir() without one), for files
 * their code saves with fsync(), which costs milliseconds an input on a disk. The
 * directory is removed at exit (with the files written here and their ".tmp"). */
const char *fuzz_shm_write_file(const char *name, const void *data, size_t len);

/* Where a loader's error lines go: stderr with FUZZ_DEBUG set, else /dev/null. */
FILE *fuzz_errf(void);

/* Whether a crypt(3) setting (or a stored password value, "{SCHEME.HEX}..." decoded
 * as password_verify() would) costs little enough to fuzz: bcrypt cost at most 05 and
 * SHA-crypt rounds at most 10000. Higher ones are slow by design and only come from
 * trusted files, not from clients. */
int fuzz_cost_ok(const char *setting, size_t len);
int fuzz_stored_cost_ok(const char *stored);

/* Event-loop targets: one pass of loop_run() (a 0 ms timer stops it), so that an input
 * costs no waiting. */
struct loop;
void fuzz_loop_turn(struct loop *);

/* One side of a conversation the fuzzer plays over a socket: what is still to send, in
 * pieces of step bytes. */
struct fuzz_side {
	int fd;
	const uint8_t *data;
	size_t size, step;
};
/* Sends the next piece and reads (and drops) what came. Returns 1 if anything moved. */
int fuzz_side_move(struct fuzz_side *);
/* A connected non-blocking UNIX socket to path (aborts if it cannot connect). */
int fuzz_unix_connect(const char *path);

/* Moves the process into a network namespace of its own with only its loopback up (once;
 * later calls say how that went), so that a target may connect to any address and reach
 * nothing but its own sockets. 1, or 0 (with a message) without the privilege. */
int fuzz_own_netns(void);

/* A test certificate and its key (tests/unit/test_cert.h: self-signed P-256 for
 * unit.test), and an RSA pair for the RSA code paths. */
extern const char *const fuzz_cert_pem, *const fuzz_key_pem;
extern const char fuzz_rsa_cert_pem[], fuzz_rsa_key_pem[];

#endif
