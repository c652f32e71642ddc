/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/ber.h"
#include "core/ldap.h"
#include "core/passdb.h"

#include <unistd.h>

#include <stdlib.h>

static int
filter_ok(const char *f)
{
	char err[128];

	return ldap_filter_check(f, err, sizeof(err)) == 0;
}

TEST(ldap_escape_keeps_names_out_of_filter_syntax)
{
	struct strbuf sb;
	static const char name[] = "a*b(c)d\\e\0f";
	char filter[256];

	strbuf_init(&sb, 1024);
	ldap_escape(&sb, name, sizeof(name) - 1);
	CHECK(strcmp(sb.s, "a\\2Ab\\28c\\29d\\5Ce\\00f") == 0);
	/* an escaped name is one assertion value whatever it holds */
	snprintf(filter, sizeof(filter), "(&(objectClass=person)(uid=%s))", sb.s);
	CHECK(filter_ok(filter));
	strbuf_truncate(&sb, 0);
	ldap_escape(&sb, "*)(uid=*", 8);
	snprintf(filter, sizeof(filter), "(uid=%s)", sb.s);
	CHECK(strcmp(filter, "(uid=\\2A\\29\\28uid\\3D\\2A)") == 0);
	CHECK(filter_ok(filter));
	strbuf_free(&sb);
}

TEST(ldap_filter_syntax)
{
	CHECK(filter_ok("(uid=x)"));
	CHECK(filter_ok("(&(objectClass=posixAccount)(uid=a@b.c))"));
	CHECK(filter_ok("(|(uid=a)(!(mail=*))(cn=ab*c*d))"));
	CHECK(filter_ok("(uid>=5)"));
	CHECK(!filter_ok("uid=x"));
	CHECK(!filter_ok("(uid=x"));
	CHECK(!filter_ok("(uid=x))"));
	CHECK(!filter_ok("(uid=\\zz)"));
	CHECK(!filter_ok("(uid=a(b)"));
	CHECK(!filter_ok("(&)"));
	CHECK(!filter_ok("(uid=**)"));
	CHECK(!filter_ok("(cn:dn:=x)"));
	/* nesting is bounded */
	char deep[200] = "";
	for (int i = 0; i < 40; i++)
		strcat(deep, "(!");
	strcat(deep, "(a=b)");
	for (int i = 0; i < 40; i++)
		strcat(deep, ")");
	CHECK(!filter_ok(deep));
}

TEST(ber_roundtrip_and_limits)
{
	struct strbuf sb;
	struct ber b, v;
	unsigned int tag;
	long n;
	size_t total, s;
	char big[300];

	strbuf_init(&sb, 4096);
	s = ber_begin(&sb, BER_SEQUENCE);
	ber_put_int(&sb, BER_INTEGER, 300);
	ber_put_int(&sb, BER_INTEGER, -1);
	memset(big, 'x', sizeof(big));
	ber_put_octets(&sb, BER_OCTETS, big, sizeof(big));	/* long length form */
	ber_end(&sb, s);
	CHECK(!sb.error);
	CHECK_INT(ber_frame((const uint8_t *)sb.s, sb.len, 4096, &total), 1);
	CHECK_INT(total, sb.len);
	CHECK_INT(ber_frame((const uint8_t *)sb.s, sb.len - 1, 4096, &total), 0);
	CHECK_INT(ber_frame((const uint8_t *)sb.s, sb.len, 100, &total), -1);
	b.p = (const uint8_t *)sb.s;
	b.len = sb.len;
	CHECK_INT(ber_expect(&b, BER_SEQUENCE, &v), 0);
	CHECK_INT(ber_get_int(&v, BER_INTEGER, &n), 0);
	CHECK_INT(n, 300);
	CHECK_INT(ber_get_int(&v, BER_INTEGER, &n), 0);
	CHECK_INT(n, -1);
	CHECK_INT(ber_next(&v, &tag, &b), 0);
	CHECK_INT(tag, BER_OCTETS);
	CHECK_INT(b.len, sizeof(big));
	CHECK_INT(v.len, 0);
	strbuf_free(&sb);

	/* a length past the end, indefinite length, a 5-byte length, a multi-byte tag */
	static const uint8_t past[] = { 0x04, 0x05, 'a' }, indef[] = { 0x30, 0x80, 0, 0 },
	    five[] = { 0x04, 0x85, 0, 0, 0, 0, 1, 'a' }, mtag[] = { 0x1f, 0x01, 0x00 };
	b.p = past;
	b.len = sizeof(past);
	CHECK_INT(ber_next(&b, &tag, &v), -1);
	CHECK_INT(ber_frame(indef, sizeof(indef), 100, &total), -1);
	CHECK_INT(ber_frame(five, sizeof(five), 100, &total), -1);
	CHECK_INT(ber_frame(mtag, sizeof(mtag), 100, &total), -1);
}

TEST(ldap_entry_parse)
{
	/* SearchResultEntry: uid=a with mail: x, y and an attribute holding a NUL */
	struct strbuf sb;
	struct ldap_result r;
	char store[256];
	size_t used = 0, s, a, pa, set;
	struct ber body;
	long id;
	unsigned int op;

	strbuf_init(&sb, 4096);
	s = ber_begin(&sb, BER_SEQUENCE);
	ber_put_int(&sb, BER_INTEGER, 7);
	a = ber_begin(&sb, 0x64);
	ber_put_octets(&sb, BER_OCTETS, "uid=a", 5);
	pa = ber_begin(&sb, BER_SEQUENCE);
	set = ber_begin(&sb, BER_SEQUENCE);
	ber_put_octets(&sb, BER_OCTETS, "mail", 4);
	size_t vs = ber_begin(&sb, BER_SET);
	ber_put_octets(&sb, BER_OCTETS, "x", 1);
	ber_put_octets(&sb, BER_OCTETS, "y", 1);
	ber_end(&sb, vs);
	ber_end(&sb, set);
	ber_end(&sb, pa);
	ber_end(&sb, a);
	ber_end(&sb, s);
	memset(&r, 0, sizeof(r));
	CHECK_INT(ldap_msg_parse((const unsigned char *)sb.s, sb.len, &id, &op, &body), 0);
	CHECK_INT(id, 7);
	CHECK_INT(op, 0x64);
	CHECK_INT(ldap_entry_parse(&body, &r, store, sizeof(store), &used), 0);
	CHECK(r.dn != NULL && strcmp(r.dn, "uid=a") == 0);
	CHECK_INT(r.nattrs, 1);
	CHECK(strcmp(r.names[0], "mail") == 0 && strcmp(r.values[0], "x") == 0);
	CHECK_INT(r.nvalues[0], 2);
	/* too small a store is an error, not a cut value */
	memset(&r, 0, sizeof(r));
	used = 0;
	CHECK_INT(ldap_msg_parse((const unsigned char *)sb.s, sb.len, &id, &op, &body), 0);
	CHECK_INT(ldap_entry_parse(&body, &r, store, 8, &used), -1);
	/* trailing bytes after the message are refused */
	strbuf_putc(&sb, 0);
	CHECK_INT(ldap_msg_parse((const unsigned char *)sb.s, sb.len, &id, &op, &body), -1);
	strbuf_free(&sb);
}

/* dovecot-ldap.conf.ext errors name the file and line, or the setting */
TEST(passdb_ldap_conf_errors)
{
	static const struct {
		const char *text, *err;	/* err: a part of the message */
	} t[] = {
		{ "uris = ldap://127.0.0.1\nbase = dc=x\nfilter = (uid=%u)\n",
		    ":3: Unknown setting: filter" },
		{ "base = dc=x\n", "neither uris nor hosts set" },
		{ "uris = ldaps://127.0.0.1\ntls_ca_cert_file = /nonexistent/ca.pem\n",
		    "/nonexistent/ca.pem" },
		{ "uris = ldaps://127.0.0.1:0\n", "bad LDAP server" },
		{ "uris = ldap://host.example.org\n", "no resolver" },
		{ "uris = 127.0.0.1:99999\n", "bad LDAP server" },
		{ "uris = ldapi://relative\n", "needs the socket's path" },
		{ "uris = 127.0.0.1\nscope = everything\n", "Unknown scope: everything" },
		{ "uris = 127.0.0.1\nldap_version = 2\n", "LDAPv3" },
		{ "uris = 127.0.0.1\ntls = maybe\n", "tls must be yes or no" },
		{ "uris = 127.0.0.1\ntls = yes\ntls_require_cert = sometimes\n",
		    "Unknown tls_require_cert: sometimes" },
		{ "uris = 127.0.0.1\npass_filter = (uid=%q)\n", "Unknown variable" },
		{ "uris = 127.0.0.1\npass_attrs = =x=%{ldap:}\n", "bad %{ldap:...}" },
		{ "uris = 127.0.0.1\ndefault_pass_scheme = NOPE\n", "Unknown default_pass_scheme" },
	};
	struct passdb_chain *c = passdb_chain_new();
	const char *err;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char path[] = "/tmp/mtool-unit-ldap.XXXXXX";
		int fd = mkstemp(path);
		size_t n = strlen(t[i].text);
		CHECK(fd >= 0 && write(fd, t[i].text, n) == (ssize_t)n);
		close(fd);
		int r = passdb_chain_add(c, "ldap", path, NULL, NULL, NULL, &err);
		if (r != -1 || strstr(err, t[i].err) == NULL)
			unit_fail(__FILE__, __LINE__, "%s: %d \"%s\"", t[i].text, r,
			    r < 0 ? err : "");
		unlink(path);
	}
	CHECK_INT(passdb_chain_add(c, "ldap", "/nonexistent/ldap.conf", NULL, NULL, NULL, &err),
	    -1);
	/* a good one: the defaults fill in the rest */
	char path[] = "/tmp/mtool-unit-ldap.XXXXXX";
	int fd = mkstemp(path);
	static const char good[] = "hosts = 127.0.0.1:389 [::1] ldaps://[::1]:1636\n"
	    "tls = yes\ntls_require_cert = never\nauth_bind = yes\n"
	    "pass_attrs = uid=user, mail, =host=%{ldap:mailHost:10.0.0.1}\n";
	CHECK(fd >= 0 && write(fd, good, sizeof(good) - 1) == (ssize_t)sizeof(good) - 1);
	close(fd);
	CHECK_INT(passdb_chain_add(c, "ldap", path, NULL, NULL, NULL, &err), 0);
	unlink(path);
	passdb_chain_free(c);
}
