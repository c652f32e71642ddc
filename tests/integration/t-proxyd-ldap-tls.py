# SPDX-License-Identifier: MIT
"""passdb ldap over TLS against a real OpenLDAP slapd (ldapfix.Slapd with a certificate from
tlsfix, and `security tls=1`: plaintext operations on TCP are refused, so a login that works
went over TLS): StartTLS (tls = yes) on ldap://, ldaps://, auth_bind over StartTLS,
tls_ca_cert_file and tls_require_cert (demand refuses a server whose certificate another CA
signed, never accepts it), and the same TCP URI without tls = yes refused by the server."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, main_guard, report
from ldapfix import LdapProxyd, Slapd, ssha, write_ldap_conf
from sqlfix import login
from tlsfix import make_ca, make_cert

TEMPFAIL = 'a NO [UNAVAILABLE] Temporary authentication failure.'


def main():
    ca = make_ca('ldapca')
    other = make_ca('otherca')
    leaf = make_cert(ca, 'slapd', ['localhost', '127.0.0.1'], ips=['127.0.0.1'])
    leaf['ca'] = ca['cert']
    with DovecotBackend('be') as be:
        hp = {'mailProxyHost': '127.0.0.1', 'mailProxyPort': str(be.imap_port)}
        users = [dict(uid='user1@example.org', userPassword=ssha('pass'), description='check', **hp),
                 dict(uid='user3@example.org', userPassword=ssha('pass'), description='bind', **hp)]
        with Slapd(users, tls=leaf) as ld:
            tmpl = '=proxy=y, =host=%{ldap:mailProxyHost}, =port=%{ldap:mailProxyPort}'
            check = '(&(objectClass=inetOrgPerson)(uid=%u)(description=check))'
            bind = '(&(objectClass=inetOrgPerson)(uid=%u)(description=bind))'
            attrs = 'uid=user, userPassword=password, ' + tmpl
            cafile = 'tls_ca_cert_file = %s\n' % ca['cert']
            cases = [
                ('starttls', ld.uri_tcp, check, attrs, 'tls = yes\n' + cafile, 'user1@example.org',
                 'pass', 'a OK', 'StartTLS (tls = yes), certificate verified'),
                ('ldaps', ld.uri_ldaps, check, attrs, cafile, 'user1@example.org', 'pass', 'a OK',
                 'ldaps://, certificate verified'),
                ('bindtls', ld.uri_tcp, bind, tmpl, 'tls = yes\nauth_bind = yes\n' + cafile,
                 'user3@example.org', 'pass', 'a OK', 'auth_bind over StartTLS'),
                ('bindtls2', ld.uri_tcp, bind, tmpl, 'tls = yes\nauth_bind = yes\n' + cafile,
                 'user3@example.org', 'wrong', 'AUTHENTICATIONFAILED',
                 'auth_bind over StartTLS: a wrong password'),
                ('wrongca', ld.uri_ldaps, check, attrs,
                 'tls_ca_cert_file = %s\ntls_require_cert = demand\n' % other['cert'],
                 'user1@example.org', 'pass', TEMPFAIL,
                 'tls_require_cert = demand: a certificate of another CA is refused'),
                ('never', ld.uri_tcp, check, attrs,
                 'tls = yes\ntls_ca_cert_file = %s\ntls_require_cert = never\n' % other['cert'],
                 'user1@example.org', 'pass', 'a OK', 'tls_require_cert = never: accepted'),
                ('plain', ld.uri_tcp, check, attrs, '', 'user1@example.org', 'pass', TEMPFAIL,
                 'without tls = yes the server (security tls=1) refuses the bind'),
            ]
            for i, (name, uri, flt, at, extra, user, pw, want, what) in enumerate(cases):
                conf = write_ldap_conf('tls-' + name, uri, flt, at, extra)
                with LdapProxyd([conf], name='px-' + name) as px:
                    r, _ = login(px.imap_port, user, pw, source_ip='127.0.5.%d' % (i + 1))
                    report(r.startswith(want) if want.startswith('a ') else want in r, what, r)
                    report(not px.check_log(), 'no crash or sanitizer report (%s)' % name,
                           '\n'.join(px.check_log()))


main_guard(main)
