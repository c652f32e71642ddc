# SPDX-License-Identifier: MIT
# mk/features.mk: the build-time features, busybox-style, one line each:
#   FEATURE.NAME := the source files only NAME uses (globs; tests/unit files too)
# A profile (mk/profile-PROFILE.mk) lists the features it builds; mk/profile-full.mk takes
# every row here but SMALL_PRINTF, so a new row is in the default build at once. A row may
# name no files: its define alone chooses something inside a file. A feature that is in
# compiles its files and passes -DMTOOL_WITH_NAME=1 to all code; one that is out drops its
# files (a file listed by several features needs all of them). In C, only registration
# points look at MTOOL_WITH_NAME, through core/feature.h: applets/applets.h, proxyd's
# protocol table, doveadm's command table, the passdb driver table, settings schemas.
# Files no row names are always built. docs/build.md describes the rows.

FEATURE.PROXYD           := applets/proxyd/*.c
FEATURE.POP3             := applets/proxyd/pop3_*.c
FEATURE.SUBMISSION       := applets/proxyd/submission_*.c
FEATURE.LMTP             := applets/proxyd/lmtp_*.c
FEATURE.MANAGESIEVE      := applets/proxyd/managesieve_*.c
FEATURE.DIRECTOR_CLIENT  := applets/proxyd/director.c
FEATURE.DIRECTORD        := applets/directord/*.c tests/unit/test_dirstats.c
FEATURE.REPLICATORD      := applets/replicatord/*.c tests/unit/test_replicator_listing.c
FEATURE.DOVEADM          := applets/doveadm/*.c
FEATURE.DOVEADM_DIRECTOR := applets/doveadm/cmd_director*.c applets/doveadm/dirclient.c
FEATURE.DOVEADM_REPLICATOR := applets/doveadm/cmd_replicator*.c
FEATURE.DOVEADM_JSON     := applets/doveadm/print_json.c
FEATURE.SQL              := core/sql.c core/pgsql.c core/mysql.c core/passdb_sql.c tests/unit/test_sql.c
FEATURE.LDAP             := core/ldap.c core/ber.c core/passdb_ldap.c tests/unit/test_ldap.c
# passdb driver auth: a Dovecot auth server over its auth-client protocol
FEATURE.AUTH_CLIENT      := core/passdb_auth.c core/authclient.c tests/unit/test_authclient.c
FEATURE.BACKEND_TLS      := applets/proxyd/ssl_backend.c
FEATURE.DNS              := core/dns.c core/dnspkt.c core/hostres.c tests/unit/test_dnspkt.c
FEATURE.HAPROXY          := core/haproxy.c applets/proxyd/haproxy_accept.c tests/unit/test_haproxy.c
# the executable's own vfprintf, without floating point (replaces musl's; glibc-based
# sanitizer and fuzz builds must not have it, so the full profile leaves it out)
FEATURE.SMALL_PRINTF     := core/printf.c
FEATURE.BCRYPT           := core/bcrypt.c tests/unit/test_crypt.c tests/unit/test_password.c
# no files: BearSSL's x86 AES-NI/PCLMUL/SSE2 code, picked at run time (core/tls.c)
FEATURE.TLS_FAST         :=
FEATURE.AUTH_CACHE       := core/authcache.c applets/doveadm/cmd_auth.c tests/unit/test_authcache.c
# no files: time zones (musl's TZ and /etc/localtime code); without it log times are UTC
FEATURE.LOCALTIME        :=
# no files: DES crypt(3) (DES-CRYPT, CRYPT without a '$' prefix), core/crypt.c
FEATURE.DES_CRYPT        :=
# no files: SASL XOAUTH2 and OAUTHBEARER (core/sasl.c)
FEATURE.OAUTH            :=
# no files: user and group names through the C library (musl: also nscd); without it
# core/sysdb.c reads /etc/passwd and /etc/group
FEATURE.NSS              :=
# no files: TLS session resumption for proxyd's clients (applets/proxyd/ssl.c)
FEATURE.TLS_SESSION_CACHE :=
# the table of Dovecot 2.3's settings (core/conf_known_tab.h, a choice inside it); without it only
# mtool's own settings and the config's sections and services are known
FEATURE.DOVECOT_SETTINGS := tests/unit/test_conf_known.c
# no files: %{md5:..}, %{sha1:..}, %{sha256:..} ... in templates (core/varexpand.c)
FEATURE.VAREXPAND_HASH   :=
# verbose_proctitle: the process title shows the connection counts
FEATURE.PROCTITLE        := core/proctitle.c applets/proxyd/title.c
# login_log_format_elements, login_log_format: without them Dovecot's default elements
FEATURE.LOGIN_LOG_FORMAT := applets/proxyd/loginlog.c
FEATURE.METRICS          := core/metrics.c core/http.c applets/proxyd/stats.c tests/unit/test_metrics.c tests/unit/test_dirstats.c

# --- derived from the rows above and the profile; nothing to edit below ---
FEATURES_ALL := $(sort $(patsubst FEATURE.%,%,$(filter FEATURE.%,$(.VARIABLES))))
PROFILE ?= full
ifeq ($(wildcard mk/profile-$(PROFILE).mk),)
$(error PROFILE=$(PROFILE): no mk/profile-$(PROFILE).mk (profiles: $(patsubst mk/profile-%.mk,%,$(wildcard mk/profile-*.mk))))
endif
# $(call cc_opt,-Oz): the option where the compiler has it (OpenWrt's and cross toolchains)
cc_opt = $(shell echo 'int x;' | $(CC) $(1) -Werror -x c -c -o /dev/null - 2>/dev/null && echo $(1))
include mk/profile-$(PROFILE).mk
ifneq ($(filter-out $(FEATURES_ALL),$(FEATURES)),)
$(error mk/profile-$(PROFILE).mk: unknown features: $(filter-out $(FEATURES_ALL),$(FEATURES)) (known: $(FEATURES_ALL)))
endif
FEATURES_OFF := $(filter-out $(FEATURES),$(FEATURES_ALL))
FEATURE_SRC_OFF := $(sort $(wildcard $(foreach f,$(FEATURES_OFF),$(FEATURE.$f))))
FEATURE_CFLAGS := $(FEATURES:%=-DMTOOL_WITH_%=1) -DMTOOL_PROFILE='"$(PROFILE)"' \
	-DMTOOL_FEATURES='"$(sort $(FEATURES))"'
# Where a profile's objects and binary go: the full build keeps the top-level names
# (./mtool), unless BUILD is elsewhere (cross builds: build/cross/ARCH/mtool).
PROFILE_OUT := $(if $(filter full,$(PROFILE)),$(BUILD),$(BUILD)/$(PROFILE))
PROFILE_BIN := $(if $(filter full,$(PROFILE)),$(if $(filter build,$(BUILD)),mtool,$(BUILD)/mtool),$(PROFILE_OUT)/mtool)
PROFILES := $(patsubst mk/profile-%.mk,%,$(wildcard mk/profile-*.mk))
