# SPDX-License-Identifier: MIT
# mk/profile-router.mk: `make PROFILE=router`: proxyd for IMAP, POP3 and Submission with
# TLS and the passwd-file passdb, and doveadm's proxy list/kick, who and kick.
FEATURES := PROXYD POP3 SUBMISSION DOVEADM SMALL_PRINTF
SIZE_BUDGET_KIB := 256
PROFILE_LDFLAGS := -no-pie -Wl,--sort-section=alignment -Wl,-z,noseparate-code -Wl,-z,norelro -Wl,--build-id=none
PROFILE_CFLAGS := -fcf-protection=none -fno-pie -Oz -flto=auto -fmerge-all-constants -fno-jump-tables
