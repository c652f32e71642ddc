/* SPDX-License-Identifier: MIT */
/* The login name as Dovecot's auth_request_set_username() makes it (core/passdb_user). */
#include "tests/unit/unit.h"
#include "core/passdb.h"
#include "core/str.h"

#include <string.h>

/* A chain whose one passdb says which name it was asked for: %u in host, the template
 * variables in fields. */
static struct passdb_chain *
chain_with(const char *translation, const char *format, const char *realm, const char *sep)
{
	struct passdb_chain *c = passdb_chain_new();
	const char *err = NULL;

	if (passdb_chain_add(c, "static", "nopassword proxy host=%u orig=%{orig_user} n=%n",
	    NULL, NULL, NULL, &err) < 0 ||
	    passdb_chain_set_username(c, translation, format, realm, sep, &err) < 0)
		unit_fail(__FILE__, __LINE__, "chain: %s", err);
	passdb_chain_set_username_chars(c, PASSDB_USERNAME_CHARS);
	return c;
}

/* The user the passdb saw (host=), or the status as a word when it failed. */
static const char *
asked(struct passdb_chain *c, const char *user, char *buf, size_t len)
{
	struct passdb_request req = { user, "pw", "imap", "192.0.2.9", "10.0.0.1", 5, 143, "s" };
	struct passdb_result r;

	passdb_chain_lookup(c, &req, &r);
	if (r.status != PASSDB_OK)
		str_fmt(buf, len, "status %d", (int)r.status);
	else if (strcmp(passdb_field(&r, "host"), r.user) != 0)
		str_fmt(buf, len, "user %s but host %s", r.user, passdb_field(&r, "host"));
	else
		str_fmt(buf, len, "%s", r.user);
	passdb_result_free(&r);
	return buf;
}

TEST(passdb_username_format)
{
	unit_stderr_begin();
	struct passdb_chain *c;
	char b[256];

	/* a new chain changes nothing */
	c = passdb_chain_new();
	const char *err;
	CHECK_INT(passdb_chain_add(c, "static", "nopassword host=%u", NULL, NULL, NULL, &err), 0);
	struct passdb_request req = { "User@Example.COM", "pw", "imap", NULL, NULL, 0, 0, NULL };
	struct passdb_result r;
	CHECK_INT(passdb_chain_lookup(c, &req, &r), 1);
	CHECK_STR(r.user, "User@Example.COM");
	passdb_result_free(&r);
	passdb_chain_free(c);

	/* Dovecot's default %Lu */
	c = chain_with("", "%Lu", "", "");
	CHECK_STR(asked(c, "User@Example.COM", b, sizeof(b)), "user@example.com");
	CHECK_STR(asked(c, "", b, sizeof(b)), "status 2");	/* "Empty username" */
	CHECK_STR(asked(c, "a b", b, sizeof(b)), "status 2");	/* not in auth_username_chars */
	passdb_chain_free(c);

	/* %n strips the domain; the other variables see the name as translated */
	c = chain_with("", "%Ln", "", "");
	CHECK_STR(asked(c, "Joe@Example.COM", b, sizeof(b)), "joe");
	CHECK_STR(asked(c, "@example.com", b, sizeof(b)), "status 2");
	passdb_chain_free(c);

	/* translation comes first, byte by byte, then the chars check on the new byte,
	 * then the format; an odd last byte is ignored */
	c = chain_with("#@/@+", "%Lu", "", "");
	CHECK_STR(asked(c, "Joe#Example.com", b, sizeof(b)), "joe@example.com");
	CHECK_STR(asked(c, "joe/x", b, sizeof(b)), "joe@x");
	CHECK_STR(asked(c, "joe+x", b, sizeof(b)), "status 2");
	passdb_chain_free(c);
	c = chain_with(" _", "", "", "");
	CHECK_STR(asked(c, "Joe Smith", b, sizeof(b)), "Joe_Smith");
	passdb_chain_free(c);

	/* the realm before the format, only for names without '@' */
	c = chain_with("", "%Ld", "Example.NET", "");
	CHECK_STR(asked(c, "joe", b, sizeof(b)), "example.net");
	CHECK_STR(asked(c, "joe@Other.ORG", b, sizeof(b)), "other.org");
	passdb_chain_free(c);

	/* a master login: the part after the separator is the name that is looked up;
	 * another login user needs a master passdb, which there is not */
	c = chain_with("", "%Lu", "", "*");
	CHECK_STR(asked(c, "joe*joe", b, sizeof(b)), "joe");
	CHECK_STR(asked(c, "Joe*joe", b, sizeof(b)), "status 2");	/* compared as typed */
	CHECK_STR(asked(c, "ann*joe", b, sizeof(b)), "status 2");
	CHECK_STR(asked(c, "*joe", b, sizeof(b)), "status 2");
	CHECK_STR(asked(c, "Joe", b, sizeof(b)), "joe");
	passdb_chain_free(c);

	/* %{orig_user} is the login before the format (after the master split), in the
	 * passdb and in the format itself */
	c = chain_with("", "%Lu", "", "*");
	struct passdb_request oreq = { "joe*Joe@Example.COM", "pw", "imap", NULL, NULL, 0, 0, NULL };
	CHECK_INT(passdb_chain_lookup(c, &oreq, &r), 0);	/* "joe" is not "joe@example.com" */
	passdb_result_free(&r);
	oreq.user = "joe@example.com*Joe@Example.COM";
	CHECK_INT(passdb_chain_lookup(c, &oreq, &r), 1);
	CHECK_STR(r.user, "joe@example.com");
	CHECK_STR(passdb_field(&r, "orig"), "Joe@Example.COM");
	CHECK_STR(passdb_field(&r, "n"), "joe");
	passdb_result_free(&r);
	passdb_chain_free(c);
	c = chain_with("", "%{orig_username}-%Ld", "", "");
	CHECK_STR(asked(c, "Joe@Example.COM", b, sizeof(b)), "Joe-example.com");
	passdb_chain_free(c);

	/* a format that fails on these values is an internal failure */
	c = chain_with("", "%{if;%n;<;3;a;b}", "", "");
	CHECK_STR(asked(c, "x", b, sizeof(b)), "status 4");
	passdb_chain_free(c);

	/* a bad template is refused at set-up, and the chain keeps its settings */
	c = chain_with("", "%Lu", "", "");
	CHECK(passdb_chain_set_username(c, "", "%q", "", "", &err) < 0);
	CHECK_CONTAINS(err, "Unknown variable");
	CHECK_STR(asked(c, "JOE", b, sizeof(b)), "joe");
	passdb_chain_free(c);

	/* logged in Dovecot's words */
	const char *log = unit_stderr_end();
	CHECK_CONTAINS(log, "passdb(a b,192.0.2.9,<s>): Username character disallowed by "
	    "auth_username_chars: 0x20 (username: a b)");
	CHECK_CONTAINS(log, "Empty username");
	CHECK_CONTAINS(log, "Master user login attempted without master passdbs");
	CHECK_CONTAINS(log, "Master user login attempted to use empty login username");
	CHECK_CONTAINS(log, "Failed to expand username_format=%{if;%n;<;3;a;b}: ");
}
