/* SPDX-License-Identifier: MIT */
/* core/feature.h's macros for a feature in and one out, and conf_check's rows of a
 * feature that is out of the build. */
#include <stdio.h>
#include <stdlib.h>

#include "core/conf.h"
#include "core/feature.h"
#include "tests/unit/unit.h"

#define MTOOL_WITH_UNIT_IN 1	/* as the Makefile passes -DMTOOL_WITH_X=1 */
/* MTOOL_WITH_UNIT_OUT is not defined */

static const int in_list[] = { 1, FEATURE_IF(MTOOL_WITH_UNIT_IN, 2, 3,) 4 };
static const int out_list[] = { 1, FEATURE_IF(MTOOL_WITH_UNIT_OUT, 2, 3,) 4 };
static const int not_list[] = { FEATURE_IF_NOT(MTOOL_WITH_UNIT_OUT, 5,) FEATURE_IF_NOT(MTOOL_WITH_UNIT_IN, 6,) 7 };

#if !FEATURE_ON(MTOOL_WITH_UNIT_IN) || FEATURE_ON(MTOOL_WITH_UNIT_OUT)
#error "FEATURE_ON in #if"
#endif

TEST(feature_macros)
{
	CHECK_INT(sizeof(in_list) / sizeof(in_list[0]), 4);
	CHECK_INT(in_list[2], 3);
	CHECK_INT(sizeof(out_list) / sizeof(out_list[0]), 2);
	CHECK_INT(out_list[1], 4);
	CHECK_INT(sizeof(not_list) / sizeof(not_list[0]), 2);
	CHECK_INT(not_list[0], 5);
	CHECK(FEATURE_OFF(MTOOL_WITH_UNIT_IN, "in") == NULL);
	CHECK_STR(FEATURE_OFF(MTOOL_WITH_UNIT_OUT, "out"), "out");
}

static const struct conf_key schema[] = {
	{ "", "base_dir" },
	CONF_FEATURE_BEGIN(MTOOL_WITH_UNIT_OUT, "out"),
	{ "", "out_setting" }, { "service", "out_key" },
	CONF_FEATURE_END, CONF_FEATURE_BEGIN(MTOOL_WITH_UNIT_IN, "in"),
	{ "", "in_setting" },
	CONF_FEATURE_END,
	{ "service", "port" },
	{ NULL, NULL },
};

TEST(feature_conf_rows)
{
	char *errs;
	size_t len;
	FILE *f = open_memstream(&errs, &len);
	struct conf *c = conf_load_string("t.conf", "base_dir = /x\nout_setting = 1\nin_setting = 2\n"
	    "service a {\n  port = 1\n  out_key = 2\n}\ntypo = 3\n", NULL, 0, NULL);
	CHECK(c != NULL);
	CHECK_INT(conf_check(c, schema, f), 3);
	fclose(f);
	CHECK_STR(errs, "t.conf:2: out_setting: not in this build (feature out)\n"
	    "t.conf:6: out_key: not in this build (feature out) in section 'service'\n"
	    "t.conf:8: unknown setting 'typo'\n");
	free(errs);
	conf_free(c);
}
