# SPDX-License-Identifier: MIT
"""proxyd as a TLS client towards a real Dovecot backend configured with TLS: passdb fields
ssl=yes (chain and host name verified against ssl_client_ca_file), ssl=any-cert,
starttls=yes for IMAP and POP3, a client certificate for a backend that requires one.
A certificate that does not verify is a temporary failure for the client, the exact
reason in the log, and never a plaintext login."""

import imaplib
import os
import poplib
import re
import ssl
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, report, main_guard
from mtoolfix import Proxyd
from tlsfix import make_ca, make_cert

MSG = b'From: a@example.org\r\nSubject: tls both ways\r\n\r\n' + b'x' * 70000 + b'\r\n'


def backend_with_cert(name, leaf, **kw):
    be = DovecotBackend(name, ssl=True, **kw)
    os.makedirs(os.path.join(be.dir, 'ssl'), exist_ok=True)
    shutil.copy(leaf['chain'], os.path.join(be.dir, 'ssl', 'cert.pem'))
    shutil.copy(leaf['key'], os.path.join(be.dir, 'ssl', 'key.pem'))
    return be


def imap_login(port, user, ssl_ctx=None):
    try:
        m = imaplib.IMAP4_SSL('127.0.0.1', port, ssl_context=ssl_ctx) if ssl_ctx else imaplib.IMAP4('127.0.0.1', port)
        typ, data = m.login(user, 'pass')
        return m, typ, data
    except imaplib.IMAP4.error as e:
        return None, 'NO', [str(e).encode()]


def main():
    ca, wrong = make_ca('ca'), make_ca('wrongca')
    leaf = make_cert(ca, 'backend', ['localhost'])
    proxy_leaf = make_cert(ca, 'proxy', ['proxy.test'], ips=['127.0.0.1'])
    client_leaf = make_cert(ca, 'client', ['proxy-client.test'], kind='ec')

    with backend_with_cert('be', leaf) as be:
        be.deliver('user1@example.org', MSG)
        imaps, imap, pop3s, pop3 = be.imaps_port, be.imap_port, be.pop3s_port, be.pop3_port
        base = 'proxy hostip=127.0.0.1 destuser=%s '
        users = {
            'good': base % 'user1@example.org' + 'host=localhost port=%d ssl=yes' % imaps,
            'badname': base % 'user3@example.org' + 'host=wrong.test port=%d ssl=yes' % imaps,
            'starttls': base % 'user2@example.org' + 'host=localhost port=%d starttls=yes' % imap,
            'pgood': base % 'user4@example.org' + 'host=localhost port=%d ssl=yes' % pop3s,
            'pstarttls': base % 'user5@example.org' + 'host=localhost port=%d starttls=yes' % pop3,
        }
        px = Proxyd(users=users, tls=True,
                    settings={'ssl_client_ca_file': '<' + ca['cert'], 'ssl_cert': '<' + proxy_leaf['chain'],
                              'ssl_key': '<' + proxy_leaf['key']})
        with px:
            m, typ, data = imap_login(px.imap_port, 'good')
            report(typ == 'OK', 'ssl=yes with the backend\'s CA trusted: login succeeds', data)
            if m:
                m.select('INBOX')
                typ, data = m.fetch('1', '(BODY.PEEK[])')
                report(typ == 'OK' and data[0][1] == MSG, 'FETCH through a TLS backend connection', repr(data)[:200])
                m.logout()
            ctx = ssl.create_default_context(cafile=ca['cert'])
            m, typ, data = imap_login(px.imaps_port, 'good', ctx)
            report(typ == 'OK', 'TLS on both sides: imaps client, ssl=yes backend', data)
            if m:
                m.select('INBOX')
                typ, data = m.fetch('1', '(BODY.PEEK[])')
                report(typ == 'OK' and data[0][1] == MSG, 'FETCH with TLS on both sides of the relay', repr(data)[:200])
                m.logout()
            report(be.wait_log(r'imap-login: Info: Login: user=<user1@example.org>.*TLS') is not None,
                   'the backend saw the proxy\'s login over TLS', be.log()[-1500:])

            m, typ, data = imap_login(px.imap_port, 'badname')
            report(typ != 'OK' and b'UNAVAILABLE' in data[0], 'a wrong host name: temporary failure to the client', data)
            report(px.wait_log(r'proxy\(badname,127\.0\.0\.1:%d\): TLS handshake failed: certificate does not '
                               r'match the host name \(host=wrong\.test\)' % imaps) is not None,
                   'a wrong host name: the reason is logged', px.log()[-1500:])
            report('user=<user3@example.org>' not in be.log(), 'a wrong host name: no login reached the backend',
                   be.log()[-1000:])

            m, typ, data = imap_login(px.imap_port, 'starttls')
            report(typ == 'OK', 'starttls=yes (IMAP): login succeeds', data)
            if m:
                m.logout()
            report(be.wait_log(r'Login: user=<user2@example.org>.*TLS') is not None,
                   'starttls=yes (IMAP): the backend saw the login over TLS', be.log()[-1500:])

            p = poplib.POP3('127.0.0.1', px.pop3_port)
            p.user('pgood')
            r = p.pass_('pass')
            report(r.startswith(b'+OK'), 'ssl=yes (POP3): login succeeds', r)
            p.quit()
            p = poplib.POP3('127.0.0.1', px.pop3_port)
            p.user('pstarttls')
            r = p.pass_('pass')
            report(r.startswith(b'+OK'), 'starttls=yes (POP3): login succeeds', r)
            p.quit()
            report(be.wait_log(r'pop3-login: Info: Login: user=<user5@example.org>.*TLS') is not None,
                   'starttls=yes (POP3): the backend saw the login over TLS', be.log()[-1500:])
            report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))

        # the wrong CA: not trusted, unless any-cert
        users2 = {'good': users['good'], 'anycert': (base % 'user1@example.org') +
                  'host=localhost port=%d ssl=any-cert' % imaps,
                  'stany': (base % 'user2@example.org') + 'host=127.0.0.1 port=%d starttls=any-cert' % imap}
        px2 = Proxyd(name='wrongca', users=users2, settings={'ssl_client_ca_file': '<' + wrong['cert']})
        with px2:
            n_before = be.log().count('Login: user=<user1@example.org>')
            m, typ, data = imap_login(px2.imap_port, 'good')
            report(typ != 'OK' and b'UNAVAILABLE' in data[0], 'a CA that did not sign the backend: temporary failure', data)
            report(px2.wait_log(r'proxy\(good,127\.0\.0\.1:%d\): TLS handshake failed: certificate is not trusted '
                                r'\(unknown CA\) \(host=localhost\)' % imaps) is not None,
                   'the wrong CA: the reason is logged', px2.log()[-1500:])
            report(be.log().count('Login: user=<user1@example.org>') == n_before,
                   'the wrong CA: no login reached the backend (no plaintext fallback)', be.log()[-800:])
            m, typ, data = imap_login(px2.imap_port, 'anycert')
            report(typ == 'OK', 'ssl=any-cert: login succeeds with an untrusted certificate', data)
            if m:
                m.logout()
            m, typ, data = imap_login(px2.imap_port, 'stany')
            report(typ == 'OK', 'starttls=any-cert to an IP address: login succeeds', data)
            if m:
                m.logout()
            report(not px2.check_log(), 'no crash or sanitizer report (wrong CA)', '\n'.join(px2.check_log()))

    # a backend that requires a client certificate from the proxy
    req = {'ssl_verify_client_cert': 'yes', 'ssl_ca': '<' + ca['cert'], 'ssl_require_crl': 'no',
           'auth_ssl_require_client_cert': 'yes'}
    with backend_with_cert('be2', leaf, settings=req) as be2:
        users3 = {'cc': 'proxy hostip=127.0.0.1 destuser=user1@example.org host=localhost port=%d ssl=yes' % be2.imaps_port}
        px3 = Proxyd(name='nocert', users=users3, settings={'ssl_client_ca_file': '<' + ca['cert']})
        with px3:
            m, typ, data = imap_login(px3.imap_port, 'cc')
            report(typ != 'OK', 'without ssl_client_cert the backend refuses the login', data)
        px4 = Proxyd(name='withcert', users=users3,
                     settings={'ssl_client_ca_file': '<' + ca['cert'], 'ssl_client_cert': '<' + client_leaf['chain'],
                               'ssl_client_key': '<' + client_leaf['key']})
        with px4:
            m, typ, data = imap_login(px4.imap_port, 'cc')
            report(typ == 'OK', 'with ssl_client_cert (ECDSA) the backend accepts the login', data)
            if m:
                m.logout()
            report(not px4.check_log(), 'no crash or sanitizer report (client certificate)', '\n'.join(px4.check_log()))


main_guard(main)
