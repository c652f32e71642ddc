# SPDX-License-Identifier: MIT
# mk/profile-full.mk: `make`: every feature of mk/features.mk.
FEATURES := $(FEATURES_ALL)
# stripped x86_64 bytes, checked by `make size` (scripts/size.py)
SIZE_BUDGET_KIB := 600
# BearSSL's faster big-number code for TLS handshakes (core/tls.c; docs/build.md)
TLS_FAST := 1
