# SPDX-License-Identifier: MIT
# mtool: one plain Makefile. `make` builds ./mtool (musl, static, BearSSL), `make check` runs
# every test, `make size` shows where the bytes are. Dependencies: scripts/deps.sh.

# CC is the static (musl) compiler: musl-gcc unless given (make CC=...; cross builds:
# scripts/cross.sh); STRIP the matching strip; BEARSSL_SRC a BearSSL source tree to build
# instead of Debian's source package.
ifeq ($(origin CC),default)
CC := musl-gcc
endif
MUSL_CC  ?= $(CC)
STRIP    ?= strip
HOST_CC  ?= gcc
PYTHON   ?= python3
BUILD    ?= build
BEARSSL  := $(BUILD)/bearssl
BEARSSL_LIB := $(BEARSSL)/libbearssl.a
# PROFILE=full (default) or router: which features (mk/features.mk) go in, and where the
# objects go (PROFILE_OUT, $(BUILD) for full) and the binary (PROFILE_BIN, ./mtool for full).
include mk/features.mk
OUT      := $(PROFILE_OUT)
# TLS_FAST=1 (set by a profile, or on the command line): BearSSL's special-purpose curve,
# RSA and Poly1305 code for faster handshakes (core/tls.c); 0: its smallest code.
TLS_FAST ?= 0
FEATURE_CFLAGS += -DTLS_FAST=$(TLS_FAST)
# make install, man pages and their lint, cross builds (their targets come after `all`)
.DEFAULT_GOAL := all
include mk/install.mk

LIB_SRC  := $(filter-out $(FEATURE_SRC_OFF),$(sort $(wildcard core/*.c applets/*/*.c)))
SRC      := main.c $(LIB_SRC)
UNIT_SRC := $(filter-out $(FEATURE_SRC_OFF),$(sort $(wildcard tests/unit/*.c)))

WARN     := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
SIZEOPT  := -Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables
CFLAGS   ?=
CFLAGS_MUSL := $(WARN) $(SIZEOPT) -I. -I$(BEARSSL)/inc $(FEATURE_CFLAGS) -MMD -MP $(CFLAGS)
LDFLAGS_MUSL := -static -Wl,--gc-sections -Wl,-Map,$(OUT)/mtool.map $(PROFILE_LDFLAGS)
# Sanitizer builds use the host's glibc and Debian's libbearssl-dev.
CFLAGS_ASAN := $(WARN) -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all -I. $(FEATURE_CFLAGS) -MMD -MP $(CFLAGS)

MUSL_OBJ := $(SRC:%.c=$(OUT)/musl/%.o)
UNIT_MUSL_OBJ := $(LIB_SRC:%.c=$(OUT)/musl/%.o) $(UNIT_SRC:%.c=$(OUT)/musl/%.o)
ASAN_OBJ := $(SRC:%.c=$(OUT)/asan/%.o)
UNIT_ASAN_OBJ := $(LIB_SRC:%.c=$(OUT)/asan/%.o) $(UNIT_SRC:%.c=$(OUT)/asan/%.o)

# libFuzzer targets (docs/fuzzing.md): every tests/fuzz/fuzz_NAME.c is one, linked with
# the project's sources built by clang with coverage (glibc + libbearssl-dev, as ASan).
FUZZ_CC  ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 10
FUZZ_JOBS ?= 2
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_LIB_SRC := $(LIB_SRC) $(filter-out $(FUZZ_SRC),$(wildcard tests/fuzz/*.c))
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
CFLAGS_FUZZ := $(WARN) -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all -I. $(FEATURE_CFLAGS) -MMD -MP $(CFLAGS)

.PHONY: all demo check unit unit-asan integration size size-profile clean bearssl fuzz fuzz-check fuzz-build
all: $(PROFILE_BIN)

$(PROFILE_BIN): $(OUT)/mtool.unstripped
	$(STRIP) -s -R .comment -R '.note*' -o $@ $<

$(OUT)/mtool.unstripped: $(MUSL_OBJ) $(BEARSSL_LIB)
	$(MUSL_CC) $(CFLAGS_MUSL) $(LDFLAGS_MUSL) -o $@ $(MUSL_OBJ) $(BEARSSL_LIB)

# Objects follow the feature table and the profile too (they change -D flags).
$(OUT)/musl/%.o: %.c $(BEARSSL_LIB) mk/features.mk mk/profile-$(PROFILE).mk
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(CFLAGS_MUSL) -c -o $@ $<

$(OUT)/asan/%.o: %.c mk/features.mk mk/profile-$(PROFILE).mk
	@mkdir -p $(dir $@)
	$(HOST_CC) $(CFLAGS_ASAN) -c -o $@ $<

# BearSSL built with musl-gcc from Debian's source package (see scripts/bearssl.sh).
$(BEARSSL_LIB):
	BEARSSL_SRC="$(BEARSSL_SRC)" sh scripts/bearssl.sh $(BEARSSL) $(MUSL_CC)
bearssl: $(BEARSSL_LIB)

$(OUT)/unit-musl: $(UNIT_MUSL_OBJ) $(BEARSSL_LIB)
	$(MUSL_CC) $(CFLAGS_MUSL) -static -o $@ $(UNIT_MUSL_OBJ) $(BEARSSL_LIB)

$(OUT)/unit-asan: $(UNIT_ASAN_OBJ)
	$(HOST_CC) $(CFLAGS_ASAN) -o $@ $(UNIT_ASAN_OBJ) -lbearssl

# A sanitizer build of the whole tool, for the integration tests' sanitizer pass.
$(OUT)/mtool-asan: $(ASAN_OBJ)
	$(HOST_CC) $(CFLAGS_ASAN) -o $@ $(ASAN_OBJ) -lbearssl

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS_FUZZ) -fsanitize=fuzzer-no-link -c -o $@ $<

$(BUILD)/fuzz/libmtool.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $(FUZZ_LIB_OBJ)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.o $(BUILD)/fuzz/libmtool.a
	$(FUZZ_CC) $(CFLAGS_FUZZ) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libmtool.a -lbearssl

fuzz-build: $(FUZZ_BIN)
.SECONDARY: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/obj/tests/fuzz/%.o)

# make fuzz: every target for FUZZ_SECONDS (new inputs go to build/fuzz/corpus/NAME),
# FUZZ_JOBS of them at a time.
fuzz: fuzz-build
	FUZZ_JOBS=$(FUZZ_JOBS) sh tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(BUILD)/fuzz $(FUZZ_BIN)

# make check's part: every target over its checked-in corpus, then FUZZ_CHECK_SECONDS
# of fuzzing each, so a regression input or a shallow new crash fails the build.
fuzz-check: fuzz-build
	FUZZ_JOBS=$(FUZZ_JOBS) sh tests/fuzz/run.sh check $(FUZZ_CHECK_SECONDS) $(BUILD)/fuzz $(FUZZ_BIN)

unit: $(OUT)/unit-musl
	$(OUT)/unit-musl

unit-asan: $(OUT)/unit-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(OUT)/unit-asan

integration: $(PROFILE_BIN) $(OUT)/mtool-asan
	MTOOL=$(CURDIR)/$(PROFILE_BIN) MTOOL_ROUTER=$(CURDIR)/$(BUILD)/router/mtool MTOOL_ASAN=$(CURDIR)/$(OUT)/mtool-asan sh tests/integration/run

# make check: unit tests (musl), the same under ASan+UBSan (glibc), the fuzz targets over
# their corpora (clang), then the integration suite.
check:
	@sh scripts/deps.sh test
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-asan
	@$(MAKE) --no-print-directory man-lint
	@$(MAKE) --no-print-directory PROFILE=router
	@$(MAKE) --no-print-directory fuzz-check
	@$(MAKE) --no-print-directory integration

# The README's run command: build, then run the demo (scripts/demo.sh).
demo:
	@sh scripts/deps.sh run
	@$(MAKE) --no-print-directory mtool
	@sh scripts/demo.sh

# Every profile's size against its budget (SIZE_BUDGET_KIB in mk/profile-*.mk).
size:
	@fail=0; for p in $(PROFILES); do \
		$(MAKE) --no-print-directory PROFILE=$$p size-profile || fail=1; echo; done; exit $$fail
size-profile: $(PROFILE_BIN)
	@echo "== profile $(PROFILE): $(sort $(FEATURES))"
	@$(PYTHON) scripts/size.py --budget $(SIZE_BUDGET_KIB) $(OUT)/mtool.map $(PROFILE_BIN)

clean:
	rm -rf $(BUILD)/musl $(BUILD)/asan $(BUILD)/unit-* $(BUILD)/mtool* mtool \
		$(BUILD)/fuzz $(filter-out $(BUILD)/full,$(PROFILES:%=$(BUILD)/%))

-include $(MUSL_OBJ:.o=.d) $(ASAN_OBJ:.o=.d) $(UNIT_MUSL_OBJ:.o=.d) $(UNIT_ASAN_OBJ:.o=.d) \
	$(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/obj/tests/fuzz/%.d)
