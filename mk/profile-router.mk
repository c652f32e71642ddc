# SPDX-License-Identifier: MIT
# mk/profile-router.mk: `make PROFILE=router`: proxyd for IMAP, POP3 and Submission with
# TLS and the passwd-file passdb, and doveadm's proxy list/kick, who and kick.
FEATURES := PROXYD POP3 SUBMISSION DOVEADM SMALL_PRINTF
SIZE_BUDGET_KIB := 256
# Size first (docs/build.md, "Where the router's bytes went"): -Oz (gcc 12) and no x86 CET
# code where the compiler has them, no PIE code (the binary is a static, non-PIE
# executable anyway), LTO; no separate code segment, RELRO or build id.
PROFILE_CFLAGS := -fno-pie -flto=auto -fmerge-all-constants -fno-jump-tables \
	$(call cc_opt,-Oz) $(call cc_opt,-fcf-protection=none)
PROFILE_LDFLAGS := -no-pie -Wl,--sort-section=alignment -Wl,-z,noseparate-code -Wl,-z,norelro \
	-Wl,--build-id=none
