# SPDX-License-Identifier: MIT
# mk/profile-full.mk: `make`: every feature of mk/features.mk but SMALL_PRINTF (musl's own
# printf is kept where the sanitizer and fuzz builds, on glibc, share the feature list).
FEATURES := $(filter-out SMALL_PRINTF,$(FEATURES_ALL))
# stripped x86_64 bytes, checked by `make size` (scripts/size.py)
SIZE_BUDGET_KIB := 600
# The router's harmless options (docs/build.md, "Sizes"): no PIE code for this static,
# non-PIE executable, LTO, merged constants, no x86 CET (endbr64 is useless in a static
# binary without IBT), no build id, and text and read-only data in one segment.
PROFILE_CFLAGS := -fno-pie -flto=auto -fmerge-all-constants $(call cc_opt,-fcf-protection=none)
PROFILE_LDFLAGS := -no-pie -Wl,--sort-section=alignment -Wl,--build-id=none -Wl,-z,noseparate-code
