# SPDX-License-Identifier: MIT
"""proxyd's Submission proxy in front of a real Dovecot submission service (which relays to
a small SMTP sink started here), with real clients: smtplib and curl smtp://. A message
sent through the proxy arrives; XCLIENT carries the client's address to the backend; a
master user; wrong passwords (refused by proxyd's passdb and by the backend); a dead
backend; the pre-login EHLO as Dovecot's submission-login shows it; bad input."""

import base64
import os
import re
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, free_port, report, main_guard
from mailfix import SmtpSink, mail_backend_kw, mail_backend_ports
from mtoolfix import Proxyd

HOST = 'proxy.test'
GREETING = 'mtool ready.'
# what Dovecot 2.3.19's submission-login says to an untrusted client with the default
# settings (docs/dovecot-login-behaviour.md, section 5)
EHLO_DEFAULT = [
    '250-proxy.test', '250-8BITMIME', '250-AUTH PLAIN LOGIN', '250-BURL imap',
    '250-CHUNKING', '250-ENHANCEDSTATUSCODES', '250-SIZE', '250 PIPELINING',
]


def plain(user, pw, authz=''):
    return base64.b64encode(('%s\0%s\0%s' % (authz, user, pw)).encode())


def lines(raw, until=None, n=None):
    """Reply lines (str, without CRLF) up to the last line of one reply."""
    out = []
    while True:
        ln = raw.line()
        if not ln:
            return out
        s = ln.decode(errors='replace').rstrip('\r\n')
        out.append(s)
        if len(s) < 4 or s[3] != '-':
            return out


def curl(*args):
    r = subprocess.run(['curl', '-sS', '--max-time', '20'] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode, r.stdout.decode(errors='replace'), r.stderr.decode(errors='replace')


def main():
    sink = SmtpSink().start()
    sp, vp = mail_backend_ports()
    be = DovecotBackend('be', **mail_backend_kw(sink, sp, vp)).start()
    fields = 'proxy host=127.0.0.1 port=%d' % sp
    users = {
        'user1@example.org': fields,
        'user2@example.org': fields,
        'user3@example.org': fields + ' master=proxy pass=masterpass',
        'user4@example.org': fields + ' pass=wrong',
        # a forward field long enough that XCLIENT is split in two commands (> 512 chars)
        'user5@example.org': fields + ' forward_color=blue forward_long=' + 'x' * 600,
        'user6@example.org': fields + ' proxy_not_trusted destuser=user3@example.org',
        'user7@example.org': fields + ' proxy_mech=login destuser=user2@example.org',
        'dead@example.org': 'proxy host=127.0.0.1 port=%d proxy_timeout=2' % free_port(),
    }
    subm = free_port()
    px = Proxyd(users=users, settings={'protocols': 'imap pop3 submission', 'hostname': HOST,
                                       'login_greeting': GREETING, 'auth_mechanisms': 'plain login'},
                extra_conf='service submission-login {\n  inet_listener submission {\n'
                           '    port = %d\n  }\n}\n' % subm)
    with px:
        report(px.wait_log(r'submission: listening on 127\.0\.0\.1 port %d' % subm) is not None,
               'proxyd listens for submission', px.log()[-500:])

        # greeting and EHLO as Dovecot's submission-login
        raw = RawClient('127.0.0.1', subm)
        g = raw.line()
        report(g == ('220 %s %s\r\n' % (HOST, GREETING)).encode(), 'greeting', g)
        raw.send(b'EHLO client.example\r\n')
        ehlo = lines(raw)
        report(ehlo == EHLO_DEFAULT, 'EHLO capabilities as Dovecot\'s submission-login', ehlo)
        raw.send(b'HELO client.example\r\n')
        report(lines(raw) == ['250 proxy.test'], 'HELO')
        raw.send(b'NOOP\r\nRSET\r\nMAIL FROM:<a@b>\r\nRCPT TO:<a@b>\r\nDATA\r\nVRFY x\r\nHELP\r\n'
                 b'STARTTLS\r\nAUTH\r\nAUTH FOO\r\nAUTH PLAIN ####\r\nEHLO\r\n')
        got = [lines(raw)[0] for _ in range(12)]
        want = ['250 2.0.0 OK', '250 2.0.0 OK', '530 5.7.0 Authentication required.',
                '530 5.7.0 Authentication required.', '530 5.7.0 Authentication required.',
                '530 5.7.0 Authentication required.', '500 5.5.1 Unknown command',
                '502 5.5.1 TLS support is not enabled.', '501 5.5.4 Missing SASL mechanism parameter',
                '504 5.5.4 Unsupported authentication mechanism.',
                '501 5.5.2 Invalid base64 data in initial response', '501 Missing hostname']
        report(got == want, 'pre-login commands and malformed AUTH get Dovecot\'s replies',
               '\n'.join('%r %r' % x for x in zip(got, want)))
        raw.send(b'AUTH PLAIN\r\n*\r\n')
        got = [lines(raw)[0] for _ in range(2)]
        report(got == ['334 ', '501 5.5.2 Authentication aborted by client.'], 'AUTH aborted with *', got)
        raw.send(b'XCLIENT ADDR=1.2.3.4\r\n')
        report(lines(raw) == ['550 5.7.14 You are not from trusted IP'], 'XCLIENT from an untrusted client')
        # a 1 MiB line: refused, the connection goes on
        raw.send(b'NOOP ' + b'x' * (1 << 20) + b'\r\nNOOP\r\n')
        got = [lines(raw)[0] for _ in range(2)]
        report(got == ['500 5.5.2 Line too long', '250 2.0.0 OK'], '1 MiB line refused, next command works', got)
        raw.send(b'NOOP ' + b'x' * 1026 + b'\r\nNOOP ' + b'x' * 1025 + b'\r\n')
        got = [lines(raw)[0] for _ in range(2)]
        report(got == ['500 5.5.2 Line too long', '250 2.0.0 OK'], 'line limit as Dovecot\'s (1030)', got)
        # an AUTH line obeys the command limit; a continuation may be 8192 bytes (Dovecot's)
        raw.send(b'AUTH PLAIN ' + b'A' * 1020 + b'\r\nAUTH PLAIN\r\n' + b'A' * 8193 + b'\r\nNOOP\r\n')
        got = [lines(raw)[0] for _ in range(4)]
        report(got == ['500 5.5.2 Line too long', '334 ', '500 5.5.2 Line too long', '250 2.0.0 OK'],
               'AUTH line and continuation limits as Dovecot\'s', got)
        raw.send(b'QUIT\r\n')
        report(lines(raw) == ['221 2.0.0 Bye'] and raw.closed(2), 'QUIT')
        raw.close()

        # pipelined commands before the greeting
        raw = RawClient('127.0.0.1', subm)
        raw.send(b'EHLO x\r\nNOOP\r\nQUIT\r\n')
        got = lines(raw) + lines(raw) + lines(raw) + lines(raw)
        report(got[0].startswith('220 ') and got[1:9] == EHLO_DEFAULT and got[9:] == ['250 2.0.0 OK', '221 2.0.0 Bye'],
               'commands pipelined before the greeting are answered in order', got)
        raw.close()

        # too many bad commands
        raw = RawClient('127.0.0.1', subm)
        raw.line()
        raw.send(b''.join(b'FOO%d\r\n' % i for i in range(11)))
        got = [lines(raw)[0] for _ in range(11)]
        report(got[:10] == ['500 5.5.2 Invalid command syntax'] * 10 and
               got[10] == '421 4.7.0 proxy.test Too many invalid commands.' and raw.closed(2),
               'the 11th bad command in a row closes the connection', got)
        raw.close()

        # smtplib: AUTH PLAIN and a message through the proxy
        s = smtplib.SMTP('127.0.0.1', subm, timeout=20)
        s.ehlo('smtplib.example')
        s.login('user1@example.org', 'pass')
        refused = s.sendmail('user1@example.org', ['rcpt1@example.com'],
                             b'From: user1@example.org\r\nTo: rcpt1@example.com\r\nSubject: via mtool\r\n\r\nhello 1\r\n')
        s.quit()
        msgs = sink.wait(1)
        m = msgs[0] if msgs else None
        report(refused == {} and m is not None and m.mail_from.startswith('FROM:<user1@example.org>') and
               m.rcpts == ['TO:<rcpt1@example.com>'] and b'hello 1' in m.data and b'Subject: via mtool' in m.data,
               'smtplib: login and a message through the proxy arrives at the relay', msgs)
        report(px.wait_log(r'submission-login: Info: proxy\(user1@example.org,127\.0\.0\.1:%d\): Started proxying to '
                           r'<127\.0\.0\.1> \(\d+\.\d{3} secs\): user=<user1@example.org>, method=PLAIN, rip=127\.0\.0\.1, '
                           r'lip=127\.0\.0\.1, secured, session=<' % sp) is not None,
               'proxyd logs "Started proxying" as Dovecot\'s submission-login', px.log()[-1500:])
        report(be.wait_log(r'submission\(user1@example.org\).*Successfully relayed message: from=<user1@example.org>') is not None,
               'the backend relayed it', be.log()[-1500:])

        # smtplib AUTH LOGIN
        s = smtplib.SMTP('127.0.0.1', subm, timeout=20)
        s.ehlo('x')
        s.user, s.password = 'user2@example.org', 'pass'
        code, resp = s.auth('LOGIN', s.auth_login, initial_response_ok=False)
        report(code == 235, 'smtplib AUTH LOGIN (challenges answered by the client)', (code, resp))
        s.quit()

        # curl smtp:// with --user
        body = os.path.join(os.getcwd(), 'mail.txt')
        with open(body, 'wb') as f:
            f.write(b'From: user2@example.org\r\nTo: rcpt2@example.com\r\nSubject: curl via mtool\r\n\r\nhello 2\r\n')
        rc, out, err = curl('smtp://127.0.0.1:%d' % subm, '--mail-from', 'user2@example.org',
                            '--mail-rcpt', 'rcpt2@example.com', '--upload-file', body,
                            '--user', 'user2@example.org:pass')
        msgs = sink.wait(2)
        report(rc == 0 and len(msgs) >= 2 and b'hello 2' in msgs[1].data and msgs[1].rcpts == ['TO:<rcpt2@example.com>'],
               'curl smtp:// --user: the message arrives', (rc, err, msgs))

        # XCLIENT: a client from 127.0.0.9; the backend logs that address and our session
        raw = RawClient('127.0.0.1', subm, source_ip='127.0.0.9')
        raw.line()
        raw.send(b'EHLO helo.example\r\n')
        lines(raw)
        raw.send(b'AUTH PLAIN ' + plain('user5@example.org', 'pass') + b'\r\nMAIL FROM:<user5@example.org>\r\n')
        got = lines(raw) + lines(raw)
        report(got == ['235 2.7.0 Logged in.', '250 2.1.0 Ok'],
               'AUTH with a MAIL pipelined behind it: the MAIL reaches the backend', got)
        raw.send(b'QUIT\r\n')
        lines(raw)
        raw.close()
        m = px.wait_log(r'proxy\(user5@example.org,[^)]*\): Started proxying.*rip=127\.0\.0\.9, lip=127\.0\.0\.1, session=<([^>]+)>')
        sid = m.group(1) if m else '?'
        blog = be.wait_log(r'submission-login: Info: Login: user=<user5@example.org>, method=PLAIN, rip=127\.0\.0\.9, '
                           r'lip=127\.0\.0\.1, mpid=\d+, (secured, )?session=<%s>' % re.escape(sid))
        report(blog is not None, 'XCLIENT (split in two by a long FORWARD): the backend logged the client\'s '
               'address and proxyd\'s session id', be.log()[-1500:])

        # proxy_not_trusted: no XCLIENT, the backend sees the proxy's address
        mark = len(be.log())
        raw = RawClient('127.0.0.1', subm, source_ip='127.0.0.9')
        raw.line()
        raw.send(b'AUTH PLAIN ' + plain('user6@example.org', 'pass') + b'\r\n')
        got = lines(raw)
        raw.close()
        report(got == ['235 2.7.0 Logged in.'] and
               be.wait_log(r'submission-login: Info: Login: user=<user3@example.org>, method=PLAIN, rip=127\.0\.0\.1, ',
                           start=mark) is not None,
               'proxy_not_trusted: no XCLIENT (the backend logs the proxy\'s address)', (got, be.log()[-600:]))

        # proxy_mech=login: proxyd answers the backend's LOGIN challenges
        s = smtplib.SMTP('127.0.0.1', subm, timeout=20)
        s.ehlo('x')
        s.login('user7@example.org', 'pass')
        s.quit()
        report(be.wait_log(r'submission-login: Info: Login: user=<user2@example.org>, method=LOGIN, ') is not None,
               'proxy_mech=login towards the backend', be.log()[-800:])

        # master user: the backend logs the master login
        s = smtplib.SMTP('127.0.0.1', subm, timeout=20)
        s.ehlo('x')
        s.login('user3@example.org', 'pass')
        s.noop()
        s.quit()
        report(be.wait_log(r'Master user logging in as user3@example.org') is not None and
               px.wait_log(r'proxy\(user3@example.org,[^)]*\): Started proxying to <127\.0\.0\.1> \(master proxy\)') is not None,
               'master user login to the backend', be.log()[-1000:])

        # wrong password: refused by proxyd's own passdb
        raw = RawClient('127.0.0.1', subm)
        raw.line()
        raw.send(b'AUTH PLAIN ' + plain('user1@example.org', 'bad') + b'\r\n')
        got = lines(raw)
        report(got == ['535 5.7.8 Authentication failed.'], 'wrong password', got)
        # and by the backend (the passdb gives it a wrong one): its reply reaches the client
        raw.send(b'AUTH PLAIN ' + plain('user4@example.org', 'pass') + b'\r\n')
        got = lines(raw)
        report(got == ['535 5.7.8 Authentication failed.'], 'the backend\'s refusal is relayed', got)
        report(px.wait_log(r'proxy\(user4@example.org,127\.0\.0\.1:%d\): Login failed: Authentication failed\.: user=<user4@example.org>' % sp)
               is not None, 'proxyd logs the backend\'s refusal as Dovecot', px.log()[-1000:])
        # the connection still works after failures
        raw.send(b'AUTH PLAIN ' + plain('user2@example.org', 'pass') + b'\r\n')
        got = lines(raw)
        report(got == ['235 2.7.0 Logged in.'], 'a good login after failed ones', got)
        raw.close()

        # dead backend: temporary failure
        raw = RawClient('127.0.0.1', subm, timeout=15)
        raw.line()
        raw.send(b'EHLO x\r\n')
        lines(raw)
        raw.send(b'AUTH PLAIN ' + plain('dead@example.org', 'pass') + b'\r\n')
        got = lines(raw)
        report(got == ['454 4.7.0 Account is temporarily unavailable.'], 'dead backend: 454 temporary failure', got)
        raw.send(b'NOOP\r\n')
        report(lines(raw) == ['250 2.0.0 OK'], 'the client may go on after a dead backend')
        raw.close()
        report(px.wait_log(r'submission-login: Error: proxy\(dead@example.org,127\.0\.0\.1:\d+\): connect\(127\.0\.0\.1, \d+\) '
                           r'failed: Connection refused \(after \d+ secs') is not None, 'dead backend logged', px.log()[-800:])

        # the real doveadm lists and kicks a Submission session through proxyd's ipc socket
        raw = RawClient('127.0.0.1', subm, timeout=10)
        raw.line()
        raw.send(b'AUTH PLAIN ' + plain('user2@example.org', 'pass') + b'\r\n')
        lines(raw)
        ipc = os.path.join(px.dir, 'run', 'ipc')
        r = subprocess.run(['doveadm', '-c', be.conf, '-f', 'tab', 'proxy', 'list', '-a', ipc],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        out = r.stdout.decode()
        report(r.returncode == 0 and 'user2@example.org\tsubmission\t127.0.0.1\t127.0.0.1\t%d' % sp in out,
               'doveadm proxy list shows the Submission session', out + r.stderr.decode())
        r = subprocess.run(['doveadm', '-c', be.conf, 'proxy', 'kick', '-a', ipc, 'user2@example.org'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        got = raw.line()
        report(r.stdout == b'1 connections kicked\n' and got == b'421 4.3.2 Kicked by admin\r\n' and raw.closed(2),
               'doveadm proxy kick: the client gets 421 4.3.2', (r.stdout, r.stderr, got))
        raw.close()

        report(not px.check_log(), 'no sanitizer reports or crashes', '\n'.join(px.check_log()))

    # submission_backend_capabilities and exotic-backend shape the EHLO
    subm2 = free_port()
    px2 = Proxyd(name='mtool2', users=users, trusted_networks='127.0.0.0/8',
                 settings={'protocols': 'submission', 'hostname': HOST, 'auth_mechanisms': 'plain login',
                           'login_timeout': '3 secs',
                           'submission_client_workarounds': 'exotic-backend',
                           'submission_backend_capabilities': 'size pipelining BINARYMIME',
                           'submission_max_mail_size': '10M'},
                 extra_conf='service submission-login {\n  inet_listener submission {\n'
                            '    port = %d\n  }\n}\n' % subm2)
    with px2:
        raw = RawClient('127.0.0.1', subm2)
        raw.line()
        raw.send(b'EHLO x\r\n')
        got = lines(raw)
        want = ['250-proxy.test', '250-AUTH PLAIN LOGIN', '250-BINARYMIME', '250-CHUNKING',
                '250-SIZE 10485760', '250-PIPELINING',
                '250 XCLIENT ADDR PORT PROTO HELO LOGIN SESSION TTL TIMEOUT FORWARD']
        report(got == want, 'submission_backend_capabilities, exotic-backend and submission_max_mail_size; '
               'XCLIENT offered to a trusted client', got)
        # a trusted proxy in front of us sends the real client's address
        raw.send(b'XCLIENT ADDR=10.9.8.7 PORT=4321 HELO=front+2Eexample\r\n')
        got = lines(raw)
        raw.send(b'AUTH PLAIN ' + plain('user2@example.org', 'pass') + b'\r\n')
        got += lines(raw)
        raw.close()
        report(got == ['220 proxy.test Dovecot ready.', '235 2.7.0 Logged in.'] and
               be.wait_log(r'Login: user=<user2@example.org>, method=PLAIN, rip=10\.9\.8\.7, ') is not None,
               'XCLIENT from a trusted client reaches the backend', (got, be.log()[-600:]))
        # login_timeout: an idle client is told and closed
        raw = RawClient('127.0.0.1', subm2, timeout=10)
        raw.line()
        got = raw.line(8)
        report(got == b'421 4.4.2 proxy.test Disconnected for inactivity.\r\n' and raw.closed(2),
               'login_timeout: 421 4.4.2 as Dovecot', got)
        raw.close()
        report(not px2.check_log(), 'no sanitizer reports (second proxyd)', '\n'.join(px2.check_log()))
    sink.stop()


main_guard(main)
