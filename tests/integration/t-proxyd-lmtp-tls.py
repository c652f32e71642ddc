# SPDX-License-Identifier: MIT
"""proxyd's LMTP proxy with TLS: STARTTLS and an ssl = yes listener toward the client
(smtplib.LMTP.starttls), and toward a real Dovecot LMTP backend the passdb fields ssl=yes
(verified against ssl_client_ca_file for the passdb's host), starttls=yes and
ssl=any-cert. A certificate that does not verify fails that backend's recipients with
451 and never falls back to plaintext; the others are delivered."""

import os
import re
import shutil
import smtplib
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard
from lmtpfix import lmtp_backend, start_lmtp_backend, inbox, transaction
from mtoolfix import Proxyd
from tlsfix import make_ca, make_cert


def main():
    ca = make_ca('ca')
    leaf = make_cert(ca, 'backend', ['localhost'])
    proxy_leaf = make_cert(ca, 'proxy', ['proxy.test'], ips=['127.0.0.1'])
    be = lmtp_backend('be', lmtps=True, ssl=True)
    os.makedirs(os.path.join(be.dir, 'ssl'), exist_ok=True)
    shutil.copy(leaf['chain'], os.path.join(be.dir, 'ssl', 'cert.pem'))
    shutil.copy(leaf['key'], os.path.join(be.dir, 'ssl', 'key.pem'))
    start_lmtp_backend(be)
    base = 'proxy hostip=127.0.0.1 '
    users = {
        'user1@example.org': base + 'host=localhost port=%d ssl=yes' % be.lmtps_port,
        'user2@example.org': base + 'host=localhost port=%d starttls=yes' % be.lmtp_port,
        'user3@example.org': base + 'host=wrong.test port=%d ssl=yes' % be.lmtps_port,
        'user4@example.org': base + 'host=wrong.test port=%d ssl=any-cert' % be.lmtps_port,
    }
    px = Proxyd(users=users, lmtp=True, tls=True,
                settings={'ssl_client_ca_file': '<' + ca['cert'], 'ssl_cert': '<' + proxy_leaf['chain'],
                          'ssl_key': '<' + proxy_leaf['key']})
    ctx = ssl.create_default_context(cafile=ca['cert'])
    with px:
        lm = smtplib.LMTP('127.0.0.1', px.lmtp_port)
        code, caps = lm.docmd('LHLO', 'client.example.org')
        report(b'STARTTLS' in caps, 'LHLO offers STARTTLS when ssl is configured', caps)
        code, text = lm.docmd('STARTTLS')
        report(code == 220, 'STARTTLS: 220', (code, text))
        lm.sock = ctx.wrap_socket(lm.sock, server_hostname='127.0.0.1')
        lm.file = None
        code, caps = lm.docmd('LHLO', 'client.example.org')
        report(code == 250 and b'STARTTLS' not in caps, 'LHLO over TLS no longer offers STARTTLS', caps)
        rr, dr = transaction(lm, ['user1@example.org', 'user2@example.org', 'user3@example.org',
                                  'user4@example.org'], b'Subject: over tls\r\n\r\nsecret\r\n')
        lm.quit()
        report([c for c, _ in rr] == [250, 250, 451, 250] and rr[2][1].startswith(b'4.4.0 Proxy failed (connect, '),
               'ssl=yes, starttls=yes, ssl=any-cert accepted; a name that does not verify: 451', rr)
        report([c for c, _ in dr] == [250, 250, 250], 'DATA over TLS both ways: 250 for each', dr)
        for u, what in (('user1@example.org', 'ssl=yes'), ('user2@example.org', 'starttls=yes'),
                        ('user4@example.org', 'ssl=any-cert')):
            msgs = [m for m in inbox(be, u) if b'Subject: over tls' in m]
            report(len(msgs) == 1 and re.search(rb'by \S+ with LMTPS', msgs[0]) is not None,
                   '%s: delivered, and the backend says it came over TLS (with LMTPS)' % what, msgs[:1])
        report(not any(b'Subject: over tls' in m for m in inbox(be, 'user3@example.org')),
               'nothing for the recipient whose backend did not verify')
        report(re.search(r'lmtp: Error: proxy: localhost:%d: TLS handshake failed: .*\(host=wrong\.test\)' % be.lmtps_port,
                         px.log()) is None and
               re.search(r'lmtp: Error: proxy: wrong\.test:%d: TLS handshake failed: .*\(host=wrong\.test\)' % be.lmtps_port,
                         px.log()) is not None, 'the failed verification is logged with the host name', px.log()[-1500:])

        # an ssl = yes LMTP listener
        raw = ctx.wrap_socket(socket.create_connection(('127.0.0.1', px.lmtps_port)), server_hostname='127.0.0.1')
        raw.settimeout(5)
        greeting = raw.recv(1000)
        raw.sendall(b'LHLO x\r\nQUIT\r\n')
        rest = b''
        while not rest.endswith(b'221 2.0.0 Bye\r\n'):
            d = raw.recv(1000)
            if not d:
                break
            rest += d
        raw.close()
        report(greeting.startswith(b'220 ') and b'STARTTLS' not in rest and rest.endswith(b'221 2.0.0 Bye\r\n'),
               'inet_listener lmtps { ssl = yes }: LMTP over TLS from the first byte', (greeting, rest))
        bad = px.check_log()
    report(not bad, 'no sanitizer reports or crashes in the proxyd log', bad)
    be.stop()


main_guard(main)
