# SPDX-License-Identifier: MIT
# mk/profile-full.mk: `make`: every feature of mk/features.mk but SMALL_PRINTF (musl's own
# printf is kept where the sanitizer and fuzz builds, on glibc, share the feature list).
FEATURES := $(filter-out SMALL_PRINTF,$(FEATURES_ALL))
# stripped x86_64 bytes, checked by `make size` (scripts/size.py)
SIZE_BUDGET_KIB := 600
