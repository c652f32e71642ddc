/* SPDX-License-Identifier: MIT */
/* core/feature.h: build-time features at their registration points. A feature NAME is in
 * the build when the Makefile passes -DMTOOL_WITH_NAME=1 (the profile lists it, see
 * mk/features.mk); its own source files are then compiled too. Code outside a feature
 * never tests these macros in its logic: only the tables that list applets, protocols,
 * commands, drivers and settings do, so that a feature left out is absent from them and
 * its names can still say "not in this build".
 *   FEATURE_IF(MTOOL_WITH_NAME, tokens...)       the tokens when NAME is in, else nothing
 *   FEATURE_IF_NOT(MTOOL_WITH_NAME, tokens...)   the reverse
 *   FEATURE_OFF(MTOOL_WITH_NAME, "name")         NULL when NAME is in, else "name"
 *   FEATURE_ON(MTOOL_WITH_NAME)                  1 or 0, also in #if
 * The tokens may hold commas. The trick is Linux's IS_ENABLED(): MTOOL_WITH_NAME is
 * either 1 or not a macro, and only FEATURE_PH_1 turns into the comma that shifts the
 * argument list. */
#ifndef CORE_FEATURE_H
#define CORE_FEATURE_H

#define FEATURE_PH_1 0,
#define FEATURE_SECOND(ignored, val, ...) val
#define FEATURE_PICK(arg_or_junk) FEATURE_SECOND(arg_or_junk 1, 0, 0)
#define FEATURE_ON_(val) FEATURE_PICK(FEATURE_PH_##val)
#define FEATURE_ON(opt) FEATURE_ON_(opt)

#define FEATURE_CAT_(a, b) a##b
#define FEATURE_CAT(a, b) FEATURE_CAT_(a, b)
#define FEATURE_KEEP_1(...) __VA_ARGS__
#define FEATURE_KEEP_0(...)
#define FEATURE_DROP_1(...)
#define FEATURE_DROP_0(...) __VA_ARGS__

#define FEATURE_IF(opt, ...) FEATURE_CAT(FEATURE_KEEP_, FEATURE_ON(opt))(__VA_ARGS__)
#define FEATURE_IF_NOT(opt, ...) FEATURE_CAT(FEATURE_DROP_, FEATURE_ON(opt))(__VA_ARGS__)
#define FEATURE_OFF(opt, name) (FEATURE_ON(opt) ? (const char *)0 : (name))

/* What --version prints: the profile's name and its features, from the Makefile. */
#ifndef MTOOL_PROFILE
#define MTOOL_PROFILE "custom"
#endif
#ifndef MTOOL_FEATURES
#define MTOOL_FEATURES ""
#endif

#endif
