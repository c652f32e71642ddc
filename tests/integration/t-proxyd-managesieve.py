# SPDX-License-Identifier: MIT
"""proxyd's ManageSieve proxy in front of a real Dovecot managesieve service (Pigeonhole),
with a ManageSieve client speaking the real protocol over a socket: a script uploaded
through the proxy is stored on the backend (seen by a direct connection and by the
backend's doveadm sieve list); the greeting matches the real backend's capabilities;
AUTHENTICATE with quoted strings and literals; XCLIENT; a master user; wrong passwords; a
dead backend; bad input."""

import base64
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, free_port, report, main_guard
from mailfix import SmtpSink, mail_backend_kw, mail_backend_ports, Sieve, sieve_literal
from mtoolfix import Proxyd

IMPL = 'Dovecot (Debian) Pigeonhole'
SCRIPT = b'require ["fileinto"];\r\nif header :contains "subject" "mtool" {\r\n  fileinto "INBOX";\r\n}\r\n'


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s)


def plain(user, pw, authz=''):
    return b64('%s\0%s\0%s' % (authz, user, pw))


def main():
    sink = SmtpSink().start()
    sp, vp = mail_backend_ports()
    be = DovecotBackend('be', **mail_backend_kw(sink, sp, vp)).start()
    fields = 'proxy host=127.0.0.1 port=%d' % vp
    users = {
        'user1@example.org': fields,
        'user2@example.org': fields + ' master=proxy pass=masterpass',
        'user3@example.org': fields + ' pass=wrong',
        'user4@example.org': fields,
        'user5@example.org': fields + ' proxy_not_trusted',
        'user7@example.org': fields + ' proxy_mech=login destuser=user3@example.org',
        'dead@example.org': 'proxy host=127.0.0.1 port=%d proxy_timeout=2' % free_port(),
    }
    port = free_port()
    px = Proxyd(users=users, settings={'protocols': 'imap sieve', 'login_greeting': 'mtool ready.',
                                       'auth_mechanisms': 'plain login',
                                       'managesieve_implementation_string': '"%s"' % IMPL},
                extra_conf='service managesieve-login {\n  inet_listener sieve {\n'
                           '    port = %d\n  }\n}\n' % port)
    with px:
        report(px.wait_log(r'sieve: listening on 127\.0\.0\.1 port %d' % port) is not None,
               'proxyd listens for managesieve', px.log()[-500:])

        # the greeting: the same capabilities as the real backend's (which trusts us: XCLIENT)
        d = Sieve('127.0.0.1', vp)
        bok, bcaps = d.greeting()
        d.close()
        s = Sieve('127.0.0.1', port)
        ok, caps = s.greeting()
        report(ok == b'OK "mtool ready."\r\n' and caps == [c for c in bcaps if c != b'"XCLIENT"\r\n'] and
               len(caps) == 5, 'greeting: the backend\'s capabilities, then OK', (ok, caps, bcaps))
        r = s.cmd(b'CAPABILITY')
        report(r == (b'OK "Capability completed."\r\n', caps), 'CAPABILITY', r)
        got = [s.cmd(x)[0] for x in (b'NOOP', b'NOOP "tag\\"1"', b'NOOP atom', b'STARTTLS',
                                       b'XCLIENT ADDR=1.2.3.4', b'AUTHENTICATE "FOO"',
                                       b'AUTHENTICATE "PLAIN" "####"')]
        want = [b'OK "NOOP Completed"\r\n', b'OK (TAG "tag\\"1") "Done"\r\n', b'NO "Invalid echo tag."\r\n',
                b'NO "TLS support isn\'t enabled."\r\n', b'NO "You are not from trusted IP"\r\n',
                b'NO "Unsupported authentication mechanism."\r\n',
                b'NO "Invalid base64 data in initial response"\r\n']
        report(got == want, 'pre-login commands and malformed AUTHENTICATE get Pigeonhole\'s replies',
               '\n'.join('%r %r' % x for x in zip(got, want)))
        # AUTHENTICATE with a continuation, aborted
        s.send(b'AUTHENTICATE "PLAIN"\r\n')
        ch = s.line()
        r = s.cmd(b'"*"')
        report(ch == b'""\r\n' and r[0] == b'NO "Authentication aborted by client."\r\n', 'AUTHENTICATE aborted', (ch, r))
        # literal as initial response, then a script uploaded through the proxy
        ir = plain('user1@example.org', 'pass')
        r = s.cmd(b'AUTHENTICATE "PLAIN" {%d+}\r\n' % len(ir) + ir)
        report(r[0] == b'OK "Logged in."\r\n', 'AUTHENTICATE PLAIN with a literal initial response', r)
        r1 = s.cmd(b'PUTSCRIPT "mtool" ' + sieve_literal(SCRIPT))
        r2 = s.cmd(b'SETACTIVE "mtool"')
        r3 = s.cmd(b'LISTSCRIPTS')
        r4 = s.cmd(b'GETSCRIPT "mtool"')
        report(r1[0].startswith(b'OK') and r2[0].startswith(b'OK') and r3[1] == [b'"mtool" ACTIVE\r\n'] and
               r4[1] and SCRIPT in r4[1][0], 'PUTSCRIPT, SETACTIVE, LISTSCRIPTS, GETSCRIPT through the proxy',
               (r1, r2, r3, r4))
        s.cmd(b'LOGOUT')
        s.close()
        # stored on the backend: a direct connection and the backend's doveadm see it
        d = Sieve('127.0.0.1', vp)
        d.greeting()
        d.login('user1@example.org', 'pass')
        r = d.cmd(b'LISTSCRIPTS')
        d.close()
        report(r[1] == [b'"mtool" ACTIVE\r\n'], 'the script is on the backend (direct connection)', r)
        out = be.doveadm('sieve', 'list', '-u', 'user1@example.org', check=False)
        report(out.returncode == 0 and re.search(rb'^mtool\s+ACTIVE', out.stdout, re.M) is not None,
               'the script is on the backend (doveadm sieve list)', (out.stdout, out.stderr))
        report(px.wait_log(r'managesieve-login: Info: proxy\(user1@example.org,127\.0\.0\.1:%d\): Started proxying to '
                           r'<127\.0\.0\.1> \(\d+\.\d{3} secs\): user=<user1@example.org>, method=PLAIN, '
                           r'rip=127\.0\.0\.1, lip=127\.0\.0\.1, secured, session=<' % vp) is not None,
               'proxyd logs "Started proxying" as managesieve-login', px.log()[-1500:])

        # continuation as a quoted string, synchronizing literal; XCLIENT from 127.0.0.9
        raw = RawClient('127.0.0.1', port, source_ip='127.0.0.9')
        raw.until(b'OK ')
        raw.send(b'AUTHENTICATE "PLAIN"\r\n')
        ch = raw.line()
        ir = plain('user4@example.org', 'pass')
        raw.send(b'{%d}\r\n' % len(ir) + ir + b'\r\n')
        r = raw.line()
        report(ch == b'""\r\n' and r == b'OK "Logged in."\r\n', 'AUTHENTICATE continuation as a literal', (ch, r))
        raw.send(b'LOGOUT\r\n')
        raw.line()
        raw.close()
        m = px.wait_log(r'proxy\(user4@example.org,[^)]*\): Started proxying.*rip=127\.0\.0\.9, lip=127\.0\.0\.1, session=<([^>]+)>')
        sid = m.group(1) if m else '?'
        report(be.wait_log(r'managesieve-login: Info: Login: user=<user4@example.org>, method=PLAIN, rip=127\.0\.0\.9, '
                           r'lip=127\.0\.0\.1, mpid=\d+, (secured, )?session=<%s>' % re.escape(sid)) is not None,
               'XCLIENT: the backend logged the client\'s address and proxyd\'s session id', be.log()[-1500:])

        # master user; AUTHENTICATE "LOGIN" through continuations
        s = Sieve('127.0.0.1', port)
        s.greeting()
        s.send(b'AUTHENTICATE "LOGIN"\r\n')
        c1 = s.line()
        s.send(b'"' + b64('user2@example.org') + b'"\r\n')
        c2 = s.line()
        r = s.cmd(b'"' + b64('pass') + b'"')
        report(c1 == b'"VXNlcm5hbWU6"\r\n' and c2 == b'"UGFzc3dvcmQ6"\r\n' and r[0] == b'OK "Logged in."\r\n',
               'AUTHENTICATE LOGIN with quoted continuations', (c1, c2, r))
        r = s.cmd(b'LISTSCRIPTS')
        s.close()
        report(r[0].startswith(b'OK') and be.wait_log(r'Master user logging in as user2@example.org') is not None and
               px.wait_log(r'proxy\(user2@example.org,[^)]*\): Started proxying to <127\.0\.0\.1> \(master proxy\)') is not None,
               'master user login to the backend', be.log()[-1000:])

        # wrong passwords: proxyd's passdb, then the backend's refusal; the connection goes on
        s = Sieve('127.0.0.1', port)
        s.greeting()
        r1 = s.login('user1@example.org', 'bad')
        r2 = s.login('user3@example.org', 'pass')
        r3 = s.login('user1@example.org', 'pass')
        report(r1[0] == b'NO "Authentication failed."\r\n' and r2[0] == b'NO "Authentication failed."\r\n' and
               r3[0] == b'OK "Logged in."\r\n', 'wrong passwords (proxyd, backend), then a good login', (r1, r2, r3))
        s.close()
        report(px.wait_log(r'proxy\(user3@example.org,127\.0\.0\.1:%d\): Login failed: Authentication failed\.: user=<user3@example.org>' % vp)
               is not None, 'proxyd logs the backend\'s refusal as Pigeonhole', px.log()[-1000:])

        # dead backend
        s = Sieve('127.0.0.1', port, timeout=15)
        s.greeting()
        r = s.login('dead@example.org', 'pass')
        r2 = s.cmd(b'NOOP')
        s.close()
        report(r[0] == b'NO (TRYLATER) "Account is temporarily unavailable."\r\n' and r2[0] == b'OK "NOOP Completed"\r\n',
               'dead backend: NO (TRYLATER), the connection goes on', (r, r2))

        # bad input: pipelined before the greeting, bad commands, a 1 MiB line, a huge literal
        raw = RawClient('127.0.0.1', port)
        raw.send(b'NOOP\r\nCAPABILITY\r\nLOGOUT\r\n')
        got = raw.until(b'OK "Logout')
        oks = [l for l in got if l.startswith(b'OK')]
        report(oks == [b'OK "mtool ready."\r\n', b'OK "NOOP Completed"\r\n', b'OK "Capability completed."\r\n',
                       b'OK "Logout completed."\r\n'] and raw.closed(2),
               'commands pipelined before the greeting are answered in order', got)
        raw.close()
        raw = RawClient('127.0.0.1', port)
        raw.until(b'OK ')
        raw.send(b'FOO\r\nLISTSCRIPTS\r\n"x"\r\n')
        got = [raw.line() for _ in range(3)]
        report(got == [b'NO "Error in MANAGESIEVE command received by server."\r\n'] * 2 +
               [b'BYE "Too many invalid MANAGESIEVE commands."\r\n'] and raw.closed(2),
               'the third bad command closes the connection', got)
        raw.close()
        raw = RawClient('127.0.0.1', port)
        raw.until(b'OK ')
        raw.send(b'NOOP "' + b'x' * (1 << 20) + b'"\r\n', may_close=True)
        got = raw.line()
        report(got == b'BYE "Input buffer full, aborting"\r\n' and raw.closed(2), '1 MiB line: BYE', got)
        raw.close()
        raw = RawClient('127.0.0.1', port)
        raw.until(b'OK ')
        raw.send(b'AUTHENTICATE "PLAIN" {100000000+}\r\n')
        got = raw.line()
        # as Pigeonhole: a SASL response over 8192 bytes ends the connection without a word
        report(got == b'' and raw.closed(2), 'a SASL literal too large: closed', got)
        raw.close()
        s = Sieve('127.0.0.1', port)
        s.greeting()
        r = s.login('user1@example.org', 'pass')
        s.close()
        report(r[0] == b'OK "Logged in."\r\n', 'the proxy still works after the bad input', r)

        # proxy_mech=login: proxyd answers the backend's LOGIN challenges (quoted strings)
        s = Sieve('127.0.0.1', port)
        s.greeting()
        r = s.login('user7@example.org', 'pass')
        s.close()
        report(r[0] == b'OK "Logged in."\r\n' and
               be.wait_log(r'managesieve-login: Info: Login: user=<user3@example.org>, method=LOGIN, ') is not None,
               'proxy_mech=login towards the backend', (r, be.log()[-800:]))

        # proxy_not_trusted: no XCLIENT, the backend sees the proxy's address
        mark = len(be.log())
        raw = RawClient('127.0.0.1', port, source_ip='127.0.0.9')
        raw.until(b'OK ')
        raw.send(b'AUTHENTICATE "PLAIN" "' + plain('user5@example.org', 'pass') + b'"\r\n')
        got = raw.line()
        raw.close()
        report(got == b'OK "Logged in."\r\n' and
               be.wait_log(r'managesieve-login: Info: Login: user=<user5@example.org>, method=PLAIN, rip=127\.0\.0\.1, ',
                           start=mark) is not None,
               'proxy_not_trusted: no XCLIENT (the backend logs the proxy\'s address)', (got, be.log()[-600:]))

        # the real doveadm lists and kicks a ManageSieve session through proxyd's ipc socket
        s = Sieve('127.0.0.1', port)
        s.greeting()
        s.login('user4@example.org', 'pass')
        ipc = os.path.join(px.dir, 'run', 'ipc')
        r = subprocess.run(['doveadm', '-c', be.conf, '-f', 'tab', 'proxy', 'list', '-a', ipc],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        out = r.stdout.decode()
        report(r.returncode == 0 and 'user4@example.org\tsieve\t127.0.0.1\t127.0.0.1\t%d' % vp in out,
               'doveadm proxy list shows the ManageSieve session', out + r.stderr.decode())
        r = subprocess.run(['doveadm', '-c', be.conf, 'proxy', 'kick', '-a', ipc, 'user4@example.org'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        got = s.line()
        report(r.stdout == b'1 connections kicked\n' and got == b'BYE "Kicked by admin"\r\n' and s.line() == b'',
               'doveadm proxy kick: the client gets BYE', (r.stdout, r.stderr, got))
        s.close()

        report(not px.check_log(), 'no sanitizer reports or crashes', '\n'.join(px.check_log()))

    # a trusted proxy in front of proxyd: "XCLIENT" offered, the real address passed on
    port2 = free_port()
    px2 = Proxyd(name='mtool2', users=users, trusted_networks='127.0.0.0/8',
                 settings={'protocols': 'sieve', 'managesieve_notify_capability': '', 'login_timeout': '3 secs',
                           'managesieve_sieve_capability': 'fileinto vacation'},
                 extra_conf='service managesieve-login {\n  inet_listener sieve {\n'
                            '    port = %d\n  }\n}\n' % port2)
    with px2:
        s = Sieve('127.0.0.1', port2)
        ok, caps = s.greeting()
        report(caps == [b'"IMPLEMENTATION" "Dovecot Pigeonhole"\r\n', b'"SIEVE" "fileinto vacation"\r\n',
                        b'"SASL" "PLAIN"\r\n', b'"VERSION" "1.0"\r\n', b'"XCLIENT"\r\n'],
               'managesieve_* settings shape the greeting; XCLIENT offered to a trusted client', caps)
        r1 = s.cmd(b'XCLIENT ADDR=10.9.8.7 PORT=4321 SESSION=front-session-1')
        r2 = s.login('user1@example.org', 'pass')
        s.close()
        report(r1[0] == b'OK "Updated"\r\n' and r2[0] == b'OK "Logged in."\r\n' and
               be.wait_log(r'managesieve-login: Info: Login: user=<user1@example.org>, method=PLAIN, rip=10\.9\.8\.7, '
                           r'lip=127\.0\.0\.1, mpid=\d+, (secured, )?session=<front-session-1>') is not None,
               'XCLIENT from a trusted client reaches the backend (address and session)', (r1, r2, be.log()[-600:]))
        # login_timeout: an idle client is told and closed
        raw = RawClient('127.0.0.1', port2, timeout=10)
        raw.until(b'OK ')
        got = raw.line(8)
        report(got == b'BYE "Disconnected for inactivity."\r\n' and raw.closed(2), 'login_timeout: BYE', got)
        raw.close()
        report(not px2.check_log(), 'no sanitizer reports (second proxyd)', '\n'.join(px2.check_log()))
    sink.stop()


main_guard(main)
