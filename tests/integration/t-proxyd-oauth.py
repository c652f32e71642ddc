# SPDX-License-Identifier: MIT
"""XOAUTH2 and OAUTHBEARER pass through proxyd: proxyd takes the user name from the
client's response, looks the user up in its passdb (no password to check), and hands the
response as it came to a real Dovecot backend that validates the token against an OAuth2
introspection endpoint (a small local HTTP server of this test). A bad token is refused by
the backend and the client gets Dovecot's failure text."""

import base64
import imaplib
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard
from mtoolfix import Proxyd

TOKENS = {'good-token-1': 'user1@example.org', 'good-token-2': 'user2@example.org'}


class Introspect(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0))).decode()
        token = parse_qs(body).get('token', [''])[0]
        user = TOKENS.get(token)
        out = json.dumps({'active': 'true', 'username': user} if user else {'active': 'false'}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


def xoauth2(user, token):
    return b'user=%s\x01auth=Bearer %s\x01\x01' % (user.encode(), token.encode())


def oauthbearer(user, token):
    return b'n,a=%s,\x01host=127.0.0.1\x01auth=Bearer %s\x01\x01' % (user.encode(), token.encode())


def main():
    http = HTTPServer(('127.0.0.1', 0), Introspect)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        run(http.server_address[1])
    finally:
        http.shutdown()


def run(http_port):
    ext = os.path.join(os.environ['TESTDIR'], 'oauth2.conf.ext')
    with open(ext, 'w') as f:
        f.write('introspection_mode = post\nintrospection_url = http://127.0.0.1:%d/introspect\n'
                'username_attribute = username\nactive_attribute = active\nactive_value = true\n' % http_port)
    os.chmod(ext, 0o644)
    extra = ('auth_mechanisms = plain login xoauth2 oauthbearer\n'
             'passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s\n}\n' % ext)
    with DovecotBackend('be', extra_conf=extra) as be:
        be.deliver('user1@example.org', 'Subject: token mail\r\n\r\nx\r\n')
        hp = 'proxy host=127.0.0.1 port=%d' % be.imap_port
        px = Proxyd(users={
            'user1@example.org': ('', hp + ' nopassword proxy_mech=XOAUTH2'),
            'user2@example.org': ('', 'proxy host=127.0.0.1 port=%d nopassword proxy_mech=OAUTHBEARER' % be.pop3_port),
            'user3@example.org': hp,
        }, settings={'auth_mechanisms': 'plain login xoauth2 oauthbearer'})
        with px:
            m = imaplib.IMAP4('127.0.0.1', px.imap_port)
            report('AUTH=XOAUTH2' in m.capabilities and 'AUTH=OAUTHBEARER' in m.capabilities,
                   'XOAUTH2 and OAUTHBEARER are offered', m.capabilities)
            typ, data = m.authenticate('XOAUTH2', lambda _: xoauth2('user1@example.org', 'good-token-1'))
            report(typ == 'OK', 'imaplib XOAUTH2 through the proxy, token checked by Dovecot', data)
            typ, data = m.select('INBOX')
            report(typ == 'OK' and data[0] == b'1', 'the token\'s user is logged in', data)
            m.logout()
            report(be.wait_log(r'Login: user=<user1@example.org>, method=XOAUTH2, rip=127\.0\.0\.1') is not None,
                   'the backend logged method=XOAUTH2 with the client address')

            raw = RawClient('127.0.0.1', px.imap_port)
            raw.line()
            raw.send(b'a AUTHENTICATE XOAUTH2 %s\r\n' % base64.b64encode(xoauth2('user1@example.org', 'bad-token')))
            l = raw.until(b'a ')[-1]
            report(l == b'a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n', 'a bad token is refused by the backend', l)
            raw.close()

            raw = RawClient('127.0.0.1', px.imap_port)
            raw.line()
            raw.send(b'a AUTHENTICATE XOAUTH2 %s\r\n' % base64.b64encode(xoauth2('user3@example.org', 'x')))
            l = raw.until(b'a ')[-1]
            report(l == b'a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n',
                   'no proxy_mech=XOAUTH2 in the passdb: refused by the proxy', l)
            raw.close()
            report(px.wait_log(r'XOAUTH2 can only be passed through') is not None, 'and logged why')

            # OAUTHBEARER over POP3, without an initial response
            raw = RawClient('127.0.0.1', px.pop3_port)
            raw.line()
            raw.send(b'AUTH OAUTHBEARER\r\n')
            cont = raw.line()
            raw.send(base64.b64encode(oauthbearer('user2@example.org', 'good-token-2')) + b'\r\n')
            l = raw.line()
            report(cont == b'+ \r\n' and l.startswith(b'+OK'), 'POP3 OAUTHBEARER through the proxy', [cont, l])
            raw.send(b'QUIT\r\n')
            raw.close()
        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))


main_guard(main)
