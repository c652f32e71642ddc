/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/authclient.h"

#include <string.h>

static int
parse(const char *text, unsigned int *id, struct authclient_reply *r)
{
	static char line[512];
	size_t n = strlen(text);

	memcpy(line, text, n + 1);
	return authclient_reply_parse(line, n, id, r);
}

TEST(authclient_reply_ok_fields)
{
	struct authclient_reply r;
	unsigned int id = 0;

	CHECK_INT(parse("OK\t42\tuser=a\x01tb\tproxy\thost=10.0.0.1\tpass=p=q\treason=x\x01ny",
	    &id, &r), 1);
	CHECK_INT(id, 42);
	CHECK_INT(r.status, AUTHCLIENT_OK);
	CHECK_STR(r.user, "a\tb");
	CHECK_INT(r.nfields, 4);
	CHECK_STR(r.keys[0], "proxy");
	CHECK(r.values[0] == NULL);
	CHECK_STR(r.keys[1], "host");
	CHECK_STR(r.values[1], "10.0.0.1");
	CHECK_STR(r.values[2], "p=q");
	CHECK_STR(r.values[3], "x\ny");
}

TEST(authclient_reply_fail_codes)
{
	struct authclient_reply r;
	unsigned int id;

	CHECK_INT(parse("FAIL\t7\tuser=u\tcode=temp_fail\treason=db down", &id, &r), 1);
	CHECK_INT(r.status, AUTHCLIENT_TEMPFAIL);
	CHECK_STR(r.code, "temp_fail");
	CHECK_INT(r.nfields, 1);
	CHECK_STR(r.keys[0], "reason");
	CHECK_INT(parse("FAIL\t8\tnodelay\tcode=user_disabled", &id, &r), 1);
	CHECK_INT(r.status, AUTHCLIENT_FAIL);
	CHECK_STR(r.keys[0], "nodelay");
	CHECK_INT(parse("FAIL\t9", &id, &r), 1);
	CHECK_INT(r.status, AUTHCLIENT_FAIL);
	CHECK_INT(parse("CONT\t3\tAAAA", &id, &r), 0);
	CHECK_INT(id, 3);
}

TEST(authclient_reply_malformed)
{
	struct authclient_reply r;
	unsigned int id;
	static char nul[] = "OK\t1\tuser=a\x01" "0b";
	char many[4096];
	size_t n;

	CHECK_INT(parse("OK", &id, &r), -1);
	CHECK_INT(parse("OK\t0\tuser=a", &id, &r), -1);		/* ids start at 1 */
	CHECK_INT(parse("OK\t4294967296", &id, &r), -1);
	CHECK_INT(parse("OK\t1x", &id, &r), -1);
	CHECK_INT(parse("OK\t1\t=v", &id, &r), -1);
	CHECK_INT(parse("OK\t1\t\tproxy", &id, &r), -1);
	CHECK_INT(parse("DONE\t1", &id, &r), -1);
	/* an escaped NUL would cut a value short */
	CHECK_INT(authclient_reply_parse(nul, sizeof(nul) - 1, &id, &r), -1);
	n = (size_t)snprintf(many, sizeof(many), "OK\t1");
	for (int i = 0; i <= AUTHCLIENT_FIELDS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "\tf%d", i);
	CHECK_INT(authclient_reply_parse(many, n, &id, &r), -1);
}
