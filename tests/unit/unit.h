/* SPDX-License-Identifier: MIT */
/* tests/unit/unit.h: the unit-test harness. TEST(name) { ... } registers itself; CHECK*
 * record a failure and go on. The runner prints "N passed, N failed" last. */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *file;
	const char *name;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *);
/* Set it in a forked child that leaves through exit() (code under test that exits): it
 * turns off the sanitizer's leak check there; the parent's memory is checked at its exit. */
extern int unit_in_child;
void unit_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Points stderr (where the code under test logs) at a temporary file until
 * unit_stderr_end(), which restores it and returns what was written: NUL-terminated,
 * at most 64 KiB, valid until the next capture. Captures do not nest. */
void unit_stderr_begin(void);
const char *unit_stderr_end(void);

#define TEST(name) \
	static void test_##name(void); \
	static struct unit_test unit_##name = { __FILE__, #name, test_##name, NULL }; \
	__attribute__((constructor)) static void unit_reg_##name(void) { unit_register(&unit_##name); } \
	static void test_##name(void)

#define CHECK(cond) \
	do { if (!(cond)) unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); } while (0)

#define CHECK_INT(a, b) \
	do { long long a_ = (long long)(a), b_ = (long long)(b); \
	     if (a_ != b_) unit_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, a_, b_); } while (0)

#define CHECK_STR(a, b) \
	do { const char *a_ = (a), *b_ = (b); \
	     if (a_ == NULL || b_ == NULL ? a_ != b_ : strcmp(a_, b_) != 0) \
		unit_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)

#define CHECK_MEM(a, alen, b, blen) \
	do { size_t al_ = (alen), bl_ = (blen); \
	     if (al_ != bl_ || memcmp((a), (b), al_) != 0) \
		unit_fail(__FILE__, __LINE__, "%s (%zu bytes) differs from %s (%zu bytes)", #a, al_, #b, bl_); } while (0)

/* hay contains needle (a logged line, say). */
#define CHECK_CONTAINS(hay, needle) \
	do { const char *h_ = (hay), *n_ = (needle); \
	     if (h_ == NULL || strstr(h_, n_) == NULL) \
		unit_fail(__FILE__, __LINE__, "%s does not contain \"%s\"", #hay, n_); } while (0)

#endif
