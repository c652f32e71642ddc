/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/conf.h"
#include "core/conf_known.h"

#include <stdlib.h>

static const struct conf_key schema[] = {
	{ "", "listen" }, { "", "login_greeting" }, { "protocol", "proxy_local_host" },
	{ "", "proxy_local_host" }, { "service/inet_listener", "port" },
	{ "passdb", "driver" }, { "passdb", "args" },
	{ NULL, NULL },
};
static const char *const services[] = { "imap-login", "stats inet_listener", NULL };
static const struct conf_applet app = { "proxyd", schema, services, 'p' };

/* Checks text; returns the number of errors, *errs what was printed (caller frees). */
static int
check(const char *text, struct conf_unused *u, char **errs)
{
	size_t len;
	FILE *f = open_memstream(errs, &len);
	struct conf *c = conf_load_string("t.conf", text, NULL, 0, f);
	int n = -1;
	if (c != NULL)
		n = conf_known_check(c, &app, u, f);
	fclose(f);
	conf_free(c);
	return n;
}

TEST(used_unused_and_unknown)
{
	struct conf_unused u;
	char *e;
	int n = check("listen = 127.0.0.1\nmail_location = maildir:~/M\nlogin_gretting = x\n"
	    "service imap-login {\n  service_count = 1\n  inet_listener imap {\n    port = 1\n"
	    "    reuse_port = yes\n  }\n}\nservice auth {\n}\nservice imap-logn {\n}\n"
	    "service stats {\n  unix_listener stats-writer {\n  }\n}\nuserdb {\n  driver = x\n}\n"
	    "plugin {\n  anything = 1\n}\nbogus {\n}\n", &u, &e);
	CHECK_INT(n, 3);
	CHECK_STR(e, "t.conf:3: unknown setting 'login_gretting' (did you mean 'login_greeting'?)\n"
	    "t.conf:13: unknown service 'imap-logn' (did you mean 'imap-login'?)\n"
	    "t.conf:25: unknown section 'bogus'\n");
	/* mail_location, service_count, reuse_port, service auth, the stats unix_listener,
	 * userdb, plugin */
	CHECK_INT(u.n, 7);
	conf_unused_free(&u);
	free(e);
}

TEST(not_implemented_unless_default)
{
	struct conf_unused u;
	char *e;
	int n = check("passdb {\n  driver = static\n  deny = no\n  skip = never\n}\n"
	    "passdb {\n  driver = static\n  deny = yes\n}\nauth_username_format = %n\n"
	    "ssl_verify_client_cert = n\n", &u, &e);
	CHECK_INT(n, 2);
	CHECK_STR(e, "t.conf:8: deny = yes: not implemented by mtool proxyd in section 'passdb'\n"
	    "t.conf:10: auth_username_format = %n: not implemented by mtool proxyd\n");
	CHECK_INT(u.n, 3);
	conf_unused_free(&u);
	free(e);
}

TEST(filters)
{
	struct conf_unused u;
	char *e;
	int n = check("protocol imap {\n  proxy_local_host = a\n  login_greeting = b\n"
	    "  mail_plugins = quota\n}\nprotocol lmtp {\n  postmaster_address = x@y\n}\n"
	    "service imap-login {\n  executable = imap-login\n}\n"
	    "service pop3-login {\n  executable = /bin/sh\n}\n", &u, &e);
	CHECK_INT(n, 1);
	CHECK_STR(e, "t.conf:3: login_greeting: mtool proxyd applies it only outside filter "
	    "sections, not in section 'protocol'\n");
	CHECK_INT(u.n, 4);
	conf_unused_free(&u);
	free(e);
}

TEST(default_of_a_setting_never_set)
{
	size_t len;
	char *e;
	FILE *f = open_memstream(&e, &len);
	struct conf *c = conf_load_string("t.conf", "protocols = $protocols imap\n"
	    "listen = $listen\nssl = $ssl\n", NULL, 0, f);
	fclose(f);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(conf_get(conf_root(c), "protocols", NULL), " imap");
		CHECK_STR(conf_get(conf_root(c), "listen", NULL), "*, ::");
		CHECK_STR(conf_get(conf_root(c), "ssl", NULL), "yes");
	}
	conf_free(c);
	free(e);
	CHECK(conf_known_default("mail_location", 13) != NULL);
	CHECK(conf_known_default("nosuch", 6) == NULL);
	CHECK(conf_known_default("passdb/", 7) == NULL);
}

TEST(dump)
{
	size_t len;
	char *e, *out;
	struct conf_unused u;
	FILE *f = open_memstream(&e, &len);
	struct conf *c = conf_load_string("t.conf", "listen = *, ::\nlogin_greeting = hi # x\n"
	    "mail_location = m\nproxy_local_host = \" a\"\nservice imap-login {\n"
	    "  inet_listener imap {\n    port = 2\n  }\n}\nprotocol imap {\n}\n", NULL, 0, f);
	CHECK(c != NULL && conf_known_check(c, &app, &u, f) == 0);
	fclose(f);
	f = open_memstream(&out, &len);
	if (c != NULL)
		conf_known_dump(c, &u, "proxyd", f);
	fclose(f);
	CHECK_STR(out, "# mtool proxyd: t.conf\nlogin_greeting = hi\nproxy_local_host = \" a\"\n"
	    "service imap-login {\n  inet_listener imap {\n    port = 2\n  }\n}\n"
	    "# accepted but not used by mtool proxyd:\n#   t.conf:3: mail_location\n");
	conf_unused_free(&u);
	conf_free(c);
	free(e);
	free(out);
}
