# SPDX-License-Identifier: MIT
"""proxyd in front of a real Dovecot backend, with real clients: imaplib, poplib, curl.
Password forwarding, the client's address forwarded to the backend (ID / XCLIENT), the
backend's capabilities after login, pipelined commands, wrong passwords, the logs."""

import imaplib
import poplib
import re
import subprocess
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard
from mtoolfix import Proxyd

MSG = b'From: a@example.org\r\nTo: user1@example.org\r\nSubject: hello through mtool\r\n\r\nbody line\r\n'


def curl(*args):
    r = subprocess.run(['curl', '-sS', '--max-time', '20'] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode, r.stdout.decode(errors='replace'), r.stderr.decode(errors='replace')


def main():
    with DovecotBackend('be') as be:
        be.deliver('user1@example.org', MSG)
        fields = 'proxy host=127.0.0.1 port=%d' % be.imap_port
        px = Proxyd(users={'user1@example.org': fields, 'user2@example.org': fields},
                    settings={'imap_id_retain': 'yes'})
        with px:
            # imaplib: login, select, fetch
            m = imaplib.IMAP4('127.0.0.1', px.imap_port)
            greeting = m.welcome.decode()
            report(greeting.startswith('* OK [CAPABILITY IMAP4rev1') and 'AUTH=PLAIN' in greeting,
                   'greeting with pre-login capabilities', greeting)
            typ, data = m.login('user1@example.org', 'pass')
            report(typ == 'OK', 'imaplib LOGIN through the proxy', data)
            typ, data = m.capability()
            report(typ == 'OK' and b'MOVE' in data[0], 'CAPABILITY after login is the backend\'s', data)
            typ, data = m.select('INBOX')
            report(typ == 'OK' and data[0] == b'1', 'SELECT INBOX sees the delivered message', data)
            typ, data = m.fetch('1', '(BODY[HEADER.FIELDS (SUBJECT)])')
            report(typ == 'OK' and b'hello through mtool' in data[0][1], 'FETCH through the proxy', data)
            m.logout()

            blog = be.log()
            report(re.search(r'imap-login: Info: Login: user=<user1@example.org>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1', blog)
                   is not None, 'backend logged the login with the client address', blog[-2000:])
            plog = px.wait_log(r'imap-login: Info: proxy\(user1@example.org,127\.0\.0\.1:%d\): Started proxying to <127\.0\.0\.1> \(\d+\.\d{3} secs\): user=<user1@example.org>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, secured, session=<' % be.imap_port)
            report(plog is not None, 'proxyd logged "Started proxying" as Dovecot does', px.log()[-800:])
            plog = px.wait_log(r'proxy\(user1@example.org,127\.0\.0\.1:%d\): Disconnected by (server|client) \(0s idle, in=\d+, out=\d+\): user=<user1@example.org>' % be.imap_port)
            report(plog is not None, 'proxyd logged the disconnect with byte counts', px.log()[-800:])

            # the client's own address travels to the backend: a client from 127.0.0.9
            m = imaplib.IMAP4('127.0.0.1', px.imap_port)
            m.sock.close()
            raw = RawClient('127.0.0.1', px.imap_port, source_ip='127.0.0.9')
            raw.line()
            raw.send(b'a ID ("name" "mtool-test")\r\nb LOGIN user2@example.org pass\r\n')
            lines = raw.until(b'b ')
            report(lines[-1].startswith(b'b OK [CAPABILITY ') and b' MOVE ' in lines[-1],
                   'tagged OK carries the backend\'s capabilities', lines)
            raw.send(b'c LOGOUT\r\n')
            raw.until(b'c ')
            raw.close()
            blog = be.wait_log(r'Login: user=<user2@example.org>, method=PLAIN, rip=127\.0\.0\.9')
            report(blog is not None, 'x-originating-ip reached the backend (rip=127.0.0.9)')
            idlog = re.search(r'ID sent: name=mtool-test', be.log())
            report(idlog is not None, 'imap_id_retain: the client\'s ID reached the backend',
                   be.log()[-1500:])

            # wrong password: the backend refuses, the client gets Dovecot's text and may retry
            raw = RawClient('127.0.0.1', px.imap_port)
            raw.line()
            raw.send(b'a LOGIN user1@example.org wrong\r\n')
            l = raw.line()
            report(l == b'a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n', 'wrong password', l)
            raw.send(b'b LOGIN user1@example.org pass\r\nc SELECT INBOX\r\n')
            lines = raw.until(b'c ')
            report(lines[-1].startswith(b'c OK') and any(b'b OK' in x for x in lines),
                   'retry after a failure, with a pipelined command behind LOGIN', lines)
            raw.close()

            # unknown user: refused by the proxy's passdb
            raw = RawClient('127.0.0.1', px.imap_port)
            raw.line()
            raw.send(b'a LOGIN nobody@example.org pass\r\n')
            l = raw.line()
            report(l == b'a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n', 'unknown user', l)
            raw.close()

            # curl IMAP with LOGIN and with AUTH=PLAIN
            rc, out, err = curl('imap://127.0.0.1:%d/' % px.imap_port, '-u', 'user1@example.org:pass')
            report(rc == 0 and 'INBOX' in out, 'curl imap:// LIST', out + err)
            rc, out, err = curl('imap://127.0.0.1:%d/INBOX;UID=1' % px.imap_port,
                                '-u', 'user1@example.org:pass', '--login-options', 'AUTH=PLAIN')
            report(rc == 0 and 'hello through mtool' in out, 'curl imap:// FETCH with AUTH=PLAIN', out + err)

            # POP3 through the same proxy to the backend's POP3 port
            px.users['user1@example.org'] = ('pass', 'proxy host=127.0.0.1 port=%d' % be.pop3_port)
            px.write_users()
            p = poplib.POP3('127.0.0.1', px.pop3_port)
            report(p.getwelcome().startswith(b'+OK'), 'POP3 greeting', p.getwelcome())
            p.user('user1@example.org')
            r = p.pass_('pass')
            report(r.startswith(b'+OK'), 'poplib USER/PASS through the proxy', r)
            count, size = p.stat()
            report(count == 1, 'POP3 STAT sees the message', (count, size))
            resp, lines, octets = p.retr(1)
            report(b'Subject: hello through mtool' in lines, 'POP3 RETR through the proxy', lines)
            p.quit()
            rc, out, err = curl('pop3://127.0.0.1:%d/' % px.pop3_port, '-u', 'user1@example.org:pass',
                                '--login-options', 'AUTH=PLAIN')
            report(rc == 0 and out.startswith('1 '), 'curl pop3:// LIST with AUTH PLAIN', out + err)
            raw = RawClient('127.0.0.1', px.pop3_port, source_ip='127.0.0.9')
            raw.line()
            raw.send(b'USER user1@example.org\r\nPASS pass\r\n')
            lines = [raw.line(), raw.line()]
            report(lines[1].startswith(b'+OK'), 'pipelined USER/PASS', lines)
            raw.send(b'QUIT\r\n')
            raw.line()
            raw.close()
            m = be.wait_log(r'pop3-login: Info: Login: user=<user1@example.org>, method=PLAIN, rip=127\.0\.0\.9')
            report(m is not None, 'POP3 XCLIENT carried the client address (rip=127.0.0.9)')

        print('# proxyd log:\n' + '\n'.join('#   ' + l for l in px.log().splitlines()[-40:]))
        rc = px.returncode
        report(rc == 0, 'proxyd exits 0 on SIGTERM', rc)
        report(not px.check_log(), 'no crash or sanitizer report in the proxyd log', '\n'.join(px.check_log()))


main_guard(main)
