/* SPDX-License-Identifier: MIT */
#include "tests/unit/unit.h"
#include "core/ip.h"

#include <string.h>

#include <sys/un.h>

TEST(ip_parse_and_format)
{
	static const struct {
		const char *in, *out;	/* out NULL: rejected */
		int family;
	} t[] = {
		{ "1.2.3.4", "1.2.3.4", AF_INET },
		{ "0.0.0.0", "0.0.0.0", AF_INET },
		{ "255.255.255.255", "255.255.255.255", AF_INET },
		{ "::1", "::1", AF_INET6 },
		{ "[::1]", "::1", AF_INET6 },
		{ "::", "::", AF_INET6 },
		{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1", AF_INET6 },
		{ "fe80::1:0:0:2", "fe80::1:0:0:2", AF_INET6 },
		{ "::ffff:10.1.2.3", "::ffff:10.1.2.3", AF_INET6 },
		{ "[::ffff:10.1.2.3]", "::ffff:10.1.2.3", AF_INET6 },
		/* the longest text form, with and without brackets */
		{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6 },
		{ "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6 },
		{ "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2550]", NULL, 0 },
		{ "[0ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]", NULL, 0 },
		{ "", NULL, 0 },
		{ "[]", NULL, 0 },
		{ "[", NULL, 0 },
		{ "[::1", NULL, 0 },
		{ "::1]", NULL, 0 },
		{ "[1.2.3.4]", NULL, 0 },
		{ "[::1]:143", NULL, 0 },
		{ "1.2.3", NULL, 0 },
		{ "1.2.3.4.5", NULL, 0 },
		{ "256.1.1.1", NULL, 0 },
		{ "127.1", NULL, 0 },
		{ " 1.2.3.4", NULL, 0 },
		{ "1.2.3.4 ", NULL, 0 },
		{ "1.2.3.4/8", NULL, 0 },
		{ "localhost", NULL, 0 },
		{ "fe80::1%eth0", NULL, 0 },
		{ "1:2:3:4:5:6:7:8:9", NULL, 0 },
		{ "[0000:0000:0000:0000:0000:0000:0000:0000:0000]", NULL, 0 },
	};
	struct ip_addr ip;
	char buf[IP_ADDR_STRLEN];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = ip_parse(t[i].in, &ip);
		if (t[i].out == NULL) {
			if (r != -1 || ip.family != 0)
				unit_fail(__FILE__, __LINE__, "ip_parse(\"%s\") accepted", t[i].in);
			continue;
		}
		CHECK_INT(r, 0);
		CHECK_INT(ip.family, t[i].family);
		CHECK_STR(ip_format(&ip, buf, sizeof(buf)), t[i].out);
	}
}

TEST(ip_format_edge_cases)
{
	struct ip_addr ip = { 0 };
	char buf[IP_ADDR_STRLEN], small[4];

	CHECK_STR(ip_format(&ip, buf, sizeof(buf)), "");
	CHECK_INT(ip_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.254", &ip), 0);
	CHECK_STR(ip_format(&ip, buf, sizeof(buf)), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
	CHECK_INT(ip_parse("::ffff:255.255.255.255", &ip), 0);
	CHECK_STR(ip_format(&ip, buf, sizeof(buf)), "::ffff:255.255.255.255");
	CHECK_INT(ip_parse("10.0.0.1", &ip), 0);
	CHECK_STR(ip_format(&ip, small, sizeof(small)), "");
}

TEST(ip_equal_and_loopback)
{
	static const struct {
		const char *a, *b;
		int equal;
	} t[] = {
		{ "1.2.3.4", "1.2.3.4", 1 },
		{ "1.2.3.4", "1.2.3.5", 0 },
		{ "1.2.3.4", "::ffff:1.2.3.4", 1 },
		{ "::ffff:1.2.3.4", "1.2.3.4", 1 },
		{ "::ffff:1.2.3.4", "::ffff:1.2.3.4", 1 },
		{ "::ffff:1.2.3.4", "1.2.3.5", 0 },
		{ "1.2.3.4", "::1.2.3.4", 0 },	/* IPv4-compatible, not mapped */
		{ "::1", "[::1]", 1 },
		{ "::1", "::2", 0 },
		{ "::1", "0.0.0.1", 0 },
		{ "0.0.0.0", "::", 0 },
	};
	struct ip_addr a, b, unset = { 0 };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK_INT(ip_parse(t[i].a, &a), 0);
		CHECK_INT(ip_parse(t[i].b, &b), 0);
		if (ip_equal(&a, &b) != t[i].equal)
			unit_fail(__FILE__, __LINE__, "ip_equal(%s, %s) != %d", t[i].a, t[i].b,
			    t[i].equal);
	}
	CHECK(ip_equal(&unset, &unset));
	CHECK(!ip_equal(&a, &unset));
	CHECK(!ip_equal(&unset, &a));

	static const struct {
		const char *ip;
		int loopback;
	} l[] = {
		{ "127.0.0.1", 1 }, { "127.255.0.9", 1 }, { "128.0.0.1", 0 }, { "126.0.0.1", 0 },
		{ "::1", 1 }, { "::2", 0 }, { "::", 0 }, { "::ffff:127.0.0.1", 1 },
		{ "::ffff:10.0.0.1", 0 }, { "::127.0.0.1", 0 },
	};
	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		CHECK_INT(ip_parse(l[i].ip, &a), 0);
		if (ip_is_loopback(&a) != l[i].loopback)
			unit_fail(__FILE__, __LINE__, "ip_is_loopback(%s) != %d", l[i].ip,
			    l[i].loopback);
	}
	CHECK(!ip_is_loopback(&unset));
}

/* per-client keys: mapped IPv4 is IPv4, IPv6 cut to the prefix (48 and 64 bits, and one
 * that ends inside a byte) */
TEST(ip_prefix_keys)
{
	static const struct {
		const char *in;
		unsigned int bits;
		const char *want;
	} t[] = {
		{ "192.0.2.7", 48, "192.0.2.7" },
		{ "::ffff:192.0.2.7", 48, "192.0.2.7" },
		{ "2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::" },
		{ "2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::" },
		{ "2001:db8:1:2ff:3:4:5:6", 60, "2001:db8:1:2f0::" },
		{ "2001:db8::1", 128, "2001:db8::1" },
	};
	struct ip_addr a, k, k2;
	char buf[IP_ADDR_STRLEN];
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK_INT(ip_parse(t[i].in, &a), 0);
		CHECK_STR(ip_format(ip_prefix(&a, t[i].bits, &k), buf, sizeof(buf)), t[i].want);
	}
	CHECK_INT(ip_parse("::ffff:192.0.2.7", &a), 0);
	ip_prefix(&a, 64, &k);
	CHECK_INT(ip_parse("192.0.2.7", &a), 0);
	ip_prefix(&a, 64, &k2);
	CHECK(ip_table_hash(&k) == ip_table_hash(&k2));
	CHECK(memcmp(&k, &k2, sizeof(k)) == 0);
}

TEST(ip_net_parse_table)
{
	static const struct {
		const char *in, *ip;	/* ip NULL: rejected */
		unsigned int bits;
	} t[] = {
		{ "10.0.0.0/8", "10.0.0.0", 8 },
		{ "10.1.2.3/8", "10.0.0.0", 8 },
		{ "192.168.1.255/23", "192.168.0.0", 23 },
		{ "127.0.0.1", "127.0.0.1", 32 },
		{ "1.2.3.4/32", "1.2.3.4", 32 },
		{ "1.2.3.4/0", "0.0.0.0", 0 },
		{ "fe80::/10", "fe80::", 10 },
		{ "febf:ffff::1/10", "fe80::", 10 },
		{ "::1", "::1", 128 },
		{ "[::1]/128", "::1", 128 },
		{ "2001:db8::ff/121", "2001:db8::80", 121 },
		{ "::/0", "::", 0 },
		{ "1.2.3.4/33", NULL, 0 },
		{ "::/129", NULL, 0 },
		{ "1.2.3.4/", NULL, 0 },
		{ "1.2.3.4/-1", NULL, 0 },
		{ "1.2.3.4/+8", NULL, 0 },
		{ "1.2.3.4/8x", NULL, 0 },
		{ "1.2.3.4/ 8", NULL, 0 },
		{ "1.2.3.4/8/8", NULL, 0 },
		{ "/8", NULL, 0 },
		{ "", NULL, 0 },
		{ "host.example/8", NULL, 0 },
		{ "1.2.3.4/99999999999999999999", NULL, 0 },
	};
	struct ip_net net;
	char buf[IP_ADDR_STRLEN];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = ip_net_parse(t[i].in, &net);
		if (t[i].ip == NULL) {
			if (r != -1 || net.ip.family != 0)
				unit_fail(__FILE__, __LINE__, "ip_net_parse(\"%s\") accepted",
				    t[i].in);
			continue;
		}
		CHECK_INT(r, 0);
		CHECK_STR(ip_format(&net.ip, buf, sizeof(buf)), t[i].ip);
		CHECK_INT(net.bits, t[i].bits);
	}
}

TEST(ip_net_match_table)
{
	static const struct {
		const char *net, *ip;
		int match;
	} t[] = {
		{ "10.0.0.0/8", "10.255.1.2", 1 },
		{ "10.0.0.0/8", "11.0.0.0", 0 },
		{ "10.0.0.0/8", "::ffff:10.9.9.9", 1 },
		{ "10.0.0.0/8", "::ffff:11.9.9.9", 0 },
		{ "10.0.0.0/8", "::10.9.9.9", 0 },
		{ "192.168.0.0/23", "192.168.1.200", 1 },
		{ "192.168.0.0/23", "192.168.2.0", 0 },
		{ "127.0.0.1", "127.0.0.1", 1 },
		{ "127.0.0.1", "127.0.0.2", 0 },
		{ "0.0.0.0/0", "203.0.113.7", 1 },
		{ "0.0.0.0/0", "::1", 0 },
		{ "fe80::/10", "fe80::1", 1 },
		{ "fe80::/10", "febf::1", 1 },
		{ "fe80::/10", "fec0::1", 0 },
		{ "fe80::/10", "10.0.0.1", 0 },
		{ "::1", "::1", 1 },
		{ "::1", "127.0.0.1", 0 },
		{ "::/0", "::1", 1 },
		{ "::/0", "1.2.3.4", 1 },	/* as ::ffff:1.2.3.4 */
		{ "::ffff:0:0/96", "1.2.3.4", 1 },
		{ "::ffff:10.0.0.0/104", "10.1.1.1", 1 },
		{ "::ffff:10.0.0.0/104", "11.1.1.1", 0 },
		{ "2001:db8::80/121", "2001:db8::ff", 1 },
		{ "2001:db8::80/121", "2001:db8::7f", 0 },
	};
	struct ip_net net;
	struct ip_addr ip, unset = { 0 };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK_INT(ip_net_parse(t[i].net, &net), 0);
		CHECK_INT(ip_parse(t[i].ip, &ip), 0);
		if (ip_net_match(&net, &ip) != t[i].match)
			unit_fail(__FILE__, __LINE__, "ip_net_match(%s, %s) != %d", t[i].net,
			    t[i].ip, t[i].match);
	}
	CHECK_INT(ip_net_parse("0.0.0.0/0", &net), 0);
	CHECK(!ip_net_match(&net, &unset));
	/* a hand-built net with impossible bits must not read past the address */
	net.bits = 200;
	CHECK(!ip_net_match(&net, &ip));
}

TEST(ip_net_list)
{
	static const char trusted[] = "127.0.0.0/8 ::1, 192.168.0.0/16";
	struct ip_addr ip;
	const char *bad = NULL;

	CHECK_INT(ip_parse("127.0.0.5", &ip), 0);
	CHECK_INT(ip_net_list_match(trusted, &ip, &bad), 1);
	CHECK_INT(ip_parse("::1", &ip), 0);
	CHECK_INT(ip_net_list_match(trusted, &ip, &bad), 1);
	CHECK_INT(ip_parse("::ffff:192.168.3.4", &ip), 0);
	CHECK_INT(ip_net_list_match(trusted, &ip, &bad), 1);
	CHECK_INT(ip_parse("10.0.0.1", &ip), 0);
	CHECK_INT(ip_net_list_match(trusted, &ip, &bad), 0);
	CHECK_INT(ip_net_list_match("", &ip, &bad), 0);
	CHECK_INT(ip_net_list_match(" ,, \t", &ip, &bad), 0);
	CHECK_INT(ip_net_list_match(",10.0.0.0/8,", &ip, &bad), 1);
	CHECK_INT(ip_net_list_match(trusted, NULL, &bad), 0);
	CHECK_INT(ip_net_list_match("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]/128",
	    &ip, &bad), 0);

	/* a bad token is reported even after a match, and wherever it is */
	static const struct {
		const char *list;
		size_t bad_at;
	} t[] = {
		{ "10.0.0.0/8 bogus ::1", 11 },
		{ "10.0.0.0/33", 0 },
		{ "10.0.0.0/8,, 1.2.3.4/", 13 },
		{ "::1 localhost", 4 },
		{ "1.2.3.4 [::1]:143", 8 },
		{ "1.2.3.4 0000000000000000000000000000000000000000000000000000000001.2.3.4", 8 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bad = NULL;
		CHECK_INT(ip_net_list_match(t[i].list, &ip, &bad), -1);
		CHECK(bad == t[i].list + t[i].bad_at);
	}
	CHECK_INT(ip_net_list_match("x", &ip, NULL), -1);
}

TEST(sockaddr_round_trip)
{
	static const char *const addrs[] = { "192.0.2.1", "2001:db8::5", "::ffff:1.2.3.4" };
	struct sockaddr_storage ss;
	socklen_t len;
	struct ip_addr ip, back;
	unsigned int port;

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		CHECK_INT(ip_parse(addrs[i], &ip), 0);
		CHECK_INT(ip_to_sockaddr(&ip, 143, &ss, &len), 0);
		CHECK_INT(len, ip.family == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6));
		CHECK_INT(ss.ss_family, ip.family);
		CHECK_INT(ip_from_sockaddr((struct sockaddr *)&ss, &back, &port), 0);
		CHECK_INT(port, 143);
		CHECK_INT(back.family, ip.family);
		CHECK(ip_equal(&ip, &back));
	}
	CHECK_INT(ip_to_sockaddr(&ip, 0, &ss, &len), 0);
	CHECK_INT(ip_to_sockaddr(&ip, 65536, &ss, &len), -1);
	memset(&back, 0, sizeof(back));
	CHECK_INT(ip_to_sockaddr(&back, 143, &ss, &len), -1);

	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	port = 99;
	CHECK_INT(ip_from_sockaddr((struct sockaddr *)&sun, &back, &port), 0);
	CHECK_INT(back.family, 0);
	CHECK_INT(port, 0);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_PACKET;
	CHECK_INT(ip_from_sockaddr((struct sockaddr *)&ss, &back, NULL), -1);
	CHECK_INT(back.family, 0);
}

TEST(hostport_table)
{
	static const struct {
		const char *in, *host;	/* host NULL: rejected */
		unsigned int port;
	} t[] = {
		{ "mail.example.com", "mail.example.com", 993 },
		{ "mail.example.com:143", "mail.example.com", 143 },
		{ "1.2.3.4:143", "1.2.3.4", 143 },
		{ "1.2.3.4", "1.2.3.4", 993 },
		{ "[::1]:143", "::1", 143 },
		{ "[::1]", "::1", 993 },
		{ "::1", "::1", 993 },
		{ "2001:db8::1:143", "2001:db8::1:143", 993 },
		{ "h:1", "h", 1 },
		{ "h:65535", "h", 65535 },
		{ "h:0143", "h", 143 },
		{ "h:0", NULL, 0 },
		{ "h:65536", NULL, 0 },
		{ "h:", NULL, 0 },
		{ "h:-1", NULL, 0 },
		{ "h:+1", NULL, 0 },
		{ "h:14x", NULL, 0 },
		{ "h: 143", NULL, 0 },
		{ ":143", NULL, 0 },
		{ "", NULL, 0 },
		{ "[]:143", NULL, 0 },
		{ "[::1", NULL, 0 },
		{ "[::1]143", NULL, 0 },
		{ "[::1]:", NULL, 0 },
		{ "[::1]:99999", NULL, 0 },
	};
	char s[64];
	const char *host;
	unsigned int port;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK(strlen(t[i].in) < sizeof(s));
		memcpy(s, t[i].in, strlen(t[i].in) + 1);
		int r = ip_hostport_parse(s, &host, &port, 993);
		if (t[i].host == NULL) {
			if (r != -1)
				unit_fail(__FILE__, __LINE__, "hostport_parse(\"%s\") accepted",
				    t[i].in);
			continue;
		}
		CHECK_INT(r, 0);
		CHECK_STR(host, t[i].host);
		CHECK_INT(port, t[i].port);
	}
	memcpy(s, "h", 2);
	CHECK_INT(ip_hostport_parse(s, &host, &port, 0), 0);
	CHECK_INT(port, 0);
}
