# SPDX-License-Identifier: MIT
"""TLS for Submission and ManageSieve through proxyd, against a real Dovecot submission
service and Pigeonhole's managesieve with TLS: STARTTLS (smtplib, curl --ssl-reqd smtp://),
implicit TLS on a submissions listener (smtplib SMTP_SSL), ManageSieve STARTTLS with the
capabilities re-sent over TLS, commands pipelined behind STARTTLS dropped, and
starttls=yes towards both backends."""

import base64
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, free_port, report, main_guard, TESTDIR
from mailfix import SmtpSink, mail_backend_kw, mail_backend_ports, Sieve
from mtoolfix import Proxyd
from tlsfix import make_ca, make_cert


def plain(user, pw):
    return base64.b64encode(('\0%s\0%s' % (user, pw)).encode())


def main():
    ca = make_ca('ca')
    srv = make_cert(ca, 'srv', ['mail.test'], ips=['127.0.0.1'])
    leaf = make_cert(ca, 'backend', ['localhost'])
    ctx = ssl.create_default_context(cafile=ca['cert'])
    sink = SmtpSink().start()
    sp, vp = mail_backend_ports()
    be = DovecotBackend('be', ssl=True, **mail_backend_kw(sink, sp, vp))
    os.makedirs(os.path.join(be.dir, 'ssl'), exist_ok=True)
    shutil.copy(leaf['chain'], os.path.join(be.dir, 'ssl', 'cert.pem'))
    shutil.copy(leaf['key'], os.path.join(be.dir, 'ssl', 'key.pem'))
    be.start()
    base = 'proxy host=localhost hostip=127.0.0.1 port=%d'
    users = {'user1@example.org': base % sp, 'user2@example.org': base % vp,
             'tls1': base % sp + ' starttls=yes destuser=user1@example.org',
             'tls2': base % vp + ' starttls=yes destuser=user2@example.org'}
    subm, subms, sieve = free_port(), free_port(), free_port()
    px = Proxyd(users=users,
                settings={'protocols': 'imap pop3 submission sieve', 'hostname': 'mail.test',
                          'ssl_cert': '<' + srv['chain'], 'ssl_key': '<' + srv['key'],
                          'ssl_client_ca_file': '<' + ca['cert']},
                extra_conf='service submission-login {\n  inet_listener submission {\n    port = %d\n  }\n'
                           '  inet_listener submissions {\n    port = %d\n    ssl = yes\n  }\n}\n'
                           'service managesieve-login {\n  inet_listener sieve {\n    port = %d\n  }\n}\n'
                           % (subm, subms, sieve))
    try:
        with px:
            s = smtplib.SMTP('127.0.0.1', subm, timeout=20)
            s.ehlo('client.test')
            report(s.has_extn('starttls'), 'EHLO offers STARTTLS', s.esmtp_features)
            # in Dovecot's order: STARTTLS between SIZE and PIPELINING
            report(list(s.esmtp_features)[-3:] == ['size', 'starttls', 'pipelining'],
                   'STARTTLS where Dovecot\'s submission-login puts it', s.esmtp_features)
            code, msg = s.starttls(context=ctx)
            report(code == 220, 'smtplib starttls()', msg)
            s.ehlo('client.test')
            report(not s.has_extn('starttls'), 'no STARTTLS in the EHLO over TLS', s.esmtp_features)
            s.login('user1@example.org', 'pass')
            s.sendmail('user1@example.org', ['rcpt@example.org'], b'Subject: over starttls\r\n\r\nhello\r\n')
            s.quit()
            got = sink.wait(1)
            report(len(got) == 1 and b'over starttls' in got[0].data,
                   'a message sent after STARTTLS reaches the relay', got)

            s = smtplib.SMTP_SSL('127.0.0.1', subms, context=ctx, timeout=20)
            s.login('user1@example.org', 'pass')
            s.sendmail('user1@example.org', ['rcpt@example.org'], b'Subject: over submissions\r\n\r\nhi\r\n')
            s.quit()
            got = sink.wait(2)
            report(len(got) == 2 and b'over submissions' in got[1].data,
                   'smtplib SMTP_SSL on a submissions (ssl = yes) listener', got)

            body = os.path.join(TESTDIR, 'mail.txt')
            open(body, 'w').write('Subject: via curl\r\n\r\ncurl body\r\n')
            r = subprocess.run(['curl', '-sS', '--max-time', '20', '--ssl-reqd', '--cacert', ca['cert'],
                                '--resolve', 'mail.test:%d:127.0.0.1' % subm, 'smtp://mail.test:%d' % subm,
                                '-u', 'user1@example.org:pass', '--mail-from', 'user1@example.org',
                                '--mail-rcpt', 'rcpt@example.org', '-T', body],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            got = sink.wait(3)
            report(r.returncode == 0 and len(got) == 3 and b'curl body' in got[2].data,
                   'curl --ssl-reqd smtp:// (STARTTLS)', r.stderr)

            # AUTH pipelined behind STARTTLS is dropped: over TLS the client is not logged in
            raw = socket.create_connection(('127.0.0.1', subm), timeout=10)
            f = raw.makefile('rb')
            f.readline()
            raw.sendall(b'EHLO x\r\n')
            while f.readline()[3:4] == b'-':
                pass
            raw.sendall(b'STARTTLS\r\nAUTH PLAIN ' + plain('user1@example.org', 'pass') + b'\r\n')
            first = f.readline()
            t = ctx.wrap_socket(raw, server_hostname='mail.test')
            t.sendall(b'MAIL FROM:<a@example.org>\r\n')
            reply = t.recv(4096)
            report(first.startswith(b'220') and reply.startswith(b'530'),
                   'SMTP: AUTH pipelined behind STARTTLS is discarded', first + reply)
            t.close()

            # ManageSieve STARTTLS: the capabilities again over TLS, then a login
            c = Sieve('127.0.0.1', sieve)
            ok, caps = c.greeting()
            report(b'"STARTTLS"\r\n' in caps, 'ManageSieve greeting offers STARTTLS', caps)
            c.send(b'STARTTLS\r\nAUTHENTICATE "PLAIN" "' + plain('user2@example.org', 'pass') + b'"\r\n')
            ok = c.line()
            c.sock = ctx.wrap_socket(c.sock, server_hostname='mail.test')
            c.f = c.sock.makefile('rb')
            ok2, caps2 = c.response()
            report(ok.startswith(b'OK') and ok2.startswith(b'OK "TLS negotiation successful."') and
                   b'"STARTTLS"\r\n' not in caps2 and any(x.startswith(b'"SASL"') for x in caps2),
                   'ManageSieve STARTTLS: capabilities re-sent over TLS', (ok, ok2, caps2))
            st, _ = c.cmd(b'LISTSCRIPTS')
            report(st.startswith(b'NO') or st.startswith(b'BAD'),
                   'ManageSieve: the AUTHENTICATE pipelined behind STARTTLS was discarded', st)
            st, _ = c.login('user2@example.org', 'pass')
            report(st.startswith(b'OK'), 'ManageSieve login over TLS', st)
            st, _ = c.cmd(b'LISTSCRIPTS')
            report(st.startswith(b'OK'), 'ManageSieve LISTSCRIPTS through the proxy', st)
            c.close()

            # starttls=yes towards the backends
            s = smtplib.SMTP('127.0.0.1', subm, timeout=20)
            s.ehlo('client.test')
            s.starttls(context=ctx)
            s.ehlo('client.test')
            try:
                s.login('tls1', 'pass')
                ok = True
            except smtplib.SMTPException as e:
                ok = e
            report(ok is True, 'Submission starttls=yes to the backend: login succeeds', ok)
            s.quit()
            report(be.wait_log(r'submission-login: Info: Login: user=<user1@example.org>.*TLS') is not None,
                   'Submission: the backend saw the login over TLS', be.log()[-1500:])
            c = Sieve('127.0.0.1', sieve)
            c.greeting()
            st, _ = c.login('tls2', 'pass')
            report(st.startswith(b'OK'), 'ManageSieve starttls=yes to the backend: login succeeds', st)
            c.close()
            report(be.wait_log(r'managesieve-login: Info: Login: user=<user2@example.org>.*TLS') is not None,
                   'ManageSieve: the backend saw the login over TLS', be.log()[-1500:])
            report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))
    finally:
        be.stop()
        sink.stop()


main_guard(main)
