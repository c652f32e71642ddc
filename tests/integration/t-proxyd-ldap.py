# SPDX-License-Identifier: MIT
"""passdb ldap against a real OpenLDAP slapd started here (ldapfix.Slapd): a chain of two
dovecot-ldap.conf.ext files, the first over TCP with the password checked by the proxy
({SSHA} userPassword read by the service DN), the second over ldapi:// with auth_bind; run by
mtool proxyd and by a real Dovecot 2.3 proxy (dovecot-ldap), which must give the same answers:
proxy fields from attributes and %{ldap:attr} templates, nopassword (the password forwarded),
destuser, unknown users, names with filter syntax in them (RFC 4515 escaping: *, (, ), \\),
then a directory that stops and comes back; hosts= failover and a wrong dnpass."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures
from fixtures import DovecotBackend, main_guard, report
from ldapfix import DovecotLdapProxy, LdapProxyd, Slapd, ssha, write_ldap_conf
from sqlfix import compare_logins, finds_nothing, login

TEMPFAIL = 'a NO [UNAVAILABLE] Temporary authentication failure.'


def main():
    with DovecotBackend('be') as be:
        hp = {'mailProxyHost': '127.0.0.1', 'mailProxyPort': str(be.imap_port)}
        pw = ssha('pass')
        users = [
            dict(uid='user1@example.org', userPassword=pw, description='check', **hp),
            dict(uid='user2@example.org', mailNoPassword='y', description='check', **hp),
            dict(uid='alias@example.org', mailNoPassword='y', mailDestUser='user2@example.org',
                 description='check', **hp),
            dict(uid='p(a)r*n@example.org', userPassword=pw, description='check',
                 mailDestUser='user1@example.org', **hp),
            dict(uid='user3@example.org', userPassword=pw, description='bind', **hp),
            dict(uid='twin@example.org', mailNoPassword='y', description=['check', 'bind'],
                 mailDestUser='user1@example.org', **hp),
        ]
        ld = Slapd(users)
        with ld:
            tmpl = '=proxy=y, =host=%{ldap:mailProxyHost}, =port=%{ldap:mailProxyPort}'
            check = write_ldap_conf(
                'check', ld.uri_tcp, '(&(objectClass=inetOrgPerson)(uid=%u)(description=check))',
                'uid=user, userPassword=password, mailNoPassword=nopassword, '
                'mailDestUser=destuser, ' + tmpl)
            bind = write_ldap_conf(
                'bind', ld.uri_unix, '(&(objectClass=inetOrgPerson)(uid=%u)(description=bind))',
                tmpl, 'auth_bind = yes\n')
            confs = [check, bind]
            anychar = {'auth_username_chars': ''}
            dv = DovecotLdapProxy(confs, name='dvproxy', backend=be, settings=anychar)
            px = LdapProxyd(confs, settings=anychar)
            with dv, px:
                cases = [
                    ('user1@example.org', 'pass', '{SSHA} userPassword checked by the proxy'),
                    ('user1@example.org', 'wrong', 'a wrong password against {SSHA}'),
                    ('user2@example.org', 'pass', 'nopassword: the password is forwarded'),
                    ('user2@example.org', 'wrong', 'nopassword: the backend refuses a wrong one'),
                    ('alias@example.org', 'pass', 'destuser from an attribute'),
                    ('user3@example.org', 'pass', 'auth_bind over ldapi://'),
                    ('user3@example.org', 'wrong', 'auth_bind: a wrong password'),
                    ('user3@example.org', '', 'auth_bind: an empty password'),
                    ('nobody@example.org', 'pass', 'user not found'),
                    ('p(a)r*n@example.org', 'pass', 'a real name with ( ) and *'),
                    ('twin@example.org', 'pass', 'found by both passdbs, the first answers'),
                    ('*', 'pass', 'filter injection: *'),
                    ('user1*', 'pass', 'filter injection: a trailing *'),
                    ('*)(uid=*', 'pass', 'filter injection: closing the filter'),
                    ('user1@example.org)(|(uid=*', 'pass', 'filter injection: an OR'),
                    ('p(a)r*', 'pass', 'filter injection: a prefix of a real name'),
                    ('\\2a', 'pass', 'filter injection: an escape written out'),
                    ('user1@example.org\\', 'pass', 'a backslash at the end'),
                    ('üser€@example.org', 'pass', 'multibyte user name'),
                ]
                compare_logins(px, dv, cases)
                finds_nothing(px, ('*', '*)(uid=*', 'p(a)r*', 'user1*'))
                r, _ = login(px.imap_port, 'user1@example.org', 'pass')
                report(r.startswith('a OK'), 'a proxied login succeeds', r)

                # the directory goes away: a temporary failure at once, then recovery
                ld.stop()
                mine, took = login(px.imap_port, 'user1@example.org', 'pass')
                report(mine == TEMPFAIL and took < 3, 'slapd down: temporary failure at once',
                       '%r in %.2fs' % (mine, took))
                mine, took = login(px.imap_port, 'user3@example.org', 'pass')
                report(mine == TEMPFAIL and took < 3, 'slapd down: auth_bind fails temporarily too',
                       '%r in %.2fs' % (mine, took))
                report(px.wait_log(r'ldap_search\(\) failed', timeout=2) is not None,
                       'slapd down: the failure is logged')
                ld.start()
                deadline = time.monotonic() + 15
                while True:
                    r, _ = login(px.imap_port, 'user1@example.org', 'pass')
                    if r.startswith('a OK') or time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
                report(r.startswith('a OK'), 'slapd back: logins work again', r)
                r, _ = login(px.imap_port, 'user3@example.org', 'pass')
                report(r.startswith('a OK'), 'slapd back: auth_bind over ldapi:// reconnects', r)
            report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))

            # hosts = with a first server that refuses connections; a wrong dnpass
            with open(check) as f:
                text = f.read()
            failover = os.path.join(os.path.dirname(check), 'ldap-failover.conf.ext')
            with open(failover, 'w') as f:
                f.write(text.replace('uris = %s' % ld.uri_tcp, 'hosts = 127.0.0.1:%d 127.0.0.1:%d'
                                     % (fixtures.free_port(), ld.port)))
            baddn = os.path.join(os.path.dirname(check), 'ldap-baddn.conf.ext')
            with open(baddn, 'w') as f:
                f.write(text.replace('dnpass = ', 'dnpass = not'))
            for conf, what in ((failover, 'hosts=: the first is down, the second answers'),
                               (baddn, 'a wrong dnpass: temporary failure')):
                with LdapProxyd([conf], name='px-' + os.path.basename(conf)) as p2:
                    r, _ = login(p2.imap_port, 'user1@example.org', 'pass')
                    want = 'a OK' if conf == failover else TEMPFAIL
                    report(r.startswith(want), what, r)
                    if conf == baddn:
                        report(p2.wait_log(r'bind as cn=dovecot,dc=example,dc=org failed: '
                                           r'resultCode 49', timeout=2) is not None,
                               'a wrong dnpass: the bind failure is logged')
                report(not p2.check_log(), 'no crash or sanitizer report', '\n'.join(p2.check_log()))


main_guard(main)
