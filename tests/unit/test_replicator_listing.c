/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "applets/replicatord/replicatord.h"

#include <string.h>

struct names {
	char buf[1024];
	int n;
};

static void
add(void *arg, const char *name)
{
	struct names *nm = arg;
	strcat(nm->buf, name);
	strcat(nm->buf, "|");
	nm->n++;
}

static int
parse(const char *line, struct names *nm)
{
	memset(nm, 0, sizeof(*nm));
	return listing_parse(line, add, nm);
}

TEST(replicator_listing_ok)
{
	struct names nm;
	CHECK_INT(parse("{\"userList\":[]}", &nm), 0);
	CHECK_INT(nm.n, 0);
	CHECK_INT(parse("{\"userList\":[\"user1@example.org\",\"user2@example.org\"]}", &nm), 0);
	CHECK_STR(nm.buf, "user1@example.org|user2@example.org|");
	/* JSON escapes, as Dovecot's json_append_escaped writes them */
	CHECK_INT(parse("{\"userList\":[\"a\\\"b\\\\c\\/d\\te\",\"\\u00e4x\",\"\\u20ac\"]}", &nm), 0);
	CHECK_STR(nm.buf, "a\"b\\c/d\te|\xc3\xa4x|\xe2\x82\xac|");
}

TEST(replicator_listing_bad)
{
	struct names nm;
	static const char *const bad[] = {
		"", "{", "{\"userList\":[", "{\"userList\":[\"a\"", "{\"userList\":[\"a\"]",
		"{\"userList\":[\"a\"]}x", "{\"userList\":[\"a\",]}", "{\"userList\":[a]}",
		"{\"userList\":[\"a\\x\"]}", "{\"userList\":[\"\\u12\"]}", "{\"userList\":[\"\\ud800\"]}",
		"{\"userList\":[\"\\u0000\"]}", "{\"userList\":[\"a\nb\"]}", "{\"users\":[]}",
		"{\"userList\":[\"a\"],\"x\":1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(parse(bad[i], &nm), -1);
}

TEST(replicator_listing_long_name_skipped)
{
	struct names nm;
	char line[1024];
	char name[300];
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(line, sizeof(line), "{\"userList\":[\"%s\",\"ok\"]}", name);
	CHECK_INT(parse(line, &nm), 0);
	CHECK_STR(nm.buf, "ok|");
}
