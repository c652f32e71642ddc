# SPDX-License-Identifier: MIT
"""proxyd's ipc socket with the REAL Debian doveadm: `doveadm proxy list` shows mtool's
proxied sessions (with user_* columns), `doveadm proxy kick` by user, by -f field and by
-h host kicks exactly those (the client gets BYE, the others keep working); bad lines get
an error and the admin connection lives on; other users are refused."""

import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard
from mtoolfix import Proxyd


def doveadm(be, *args):
    r = subprocess.run(['doveadm', '-c', be.conf] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def session(px, user, port=None, pop3=False):
    raw = RawClient('127.0.0.1', port or px.imap_port, timeout=10)
    raw.line()
    if pop3:
        raw.send(b'USER %s\r\nPASS pass\r\n' % user.encode())
        raw.line()
        l = raw.line()
        ok = l.startswith(b'+OK')
    else:
        raw.send(b'a LOGIN %s pass\r\n' % user.encode())
        l = raw.until(b'a ')[-1]
        ok = l.startswith(b'a OK')
    if not ok:
        raise RuntimeError('login of %s failed: %r' % (user, l))
    return raw


def alive(raw, pop3=False):
    try:
        raw.send(b'n NOOP\r\n' if not pop3 else b'NOOP\r\n')
        l = raw.line(timeout=5)
        return l.startswith(b'n OK') or l.startswith(b'+OK')
    except OSError:
        return False


def main():
    with DovecotBackend('be') as be, DovecotBackend('be2', ip='127.0.0.3') as be2:
        hp = 'proxy host=127.0.0.1 port=%d' % be.imap_port
        px = Proxyd(users={
            'user1@example.org': hp + ' user_alias=one@example.org',
            'user2@example.org': hp + ' user_alias=two@example.org',
            'user3@example.org': 'proxy host=127.0.0.3 port=%d' % be2.imap_port,
            'user4@example.org': 'proxy host=127.0.0.1 port=%d' % be.pop3_port,
        })
        with px:
            ipc = os.path.join(px.dir, 'run', 'ipc')
            s1 = session(px, 'user1@example.org')
            s1b = session(px, 'user1@example.org')
            s2 = session(px, 'user2@example.org')
            s3 = session(px, 'user3@example.org')
            s4 = session(px, 'user4@example.org', port=px.pop3_port, pop3=True)

            rc, out, err = doveadm(be, 'proxy', 'list', '-a', ipc)
            lines = out.splitlines()
            rows = sorted(re.sub(r'\s+', ' ', l).strip() for l in lines[1:])
            want = sorted([
                'user1@example.org one@example.org imap 127.0.0.1 127.0.0.1 %d' % be.imap_port,
                'user1@example.org one@example.org imap 127.0.0.1 127.0.0.1 %d' % be.imap_port,
                'user2@example.org two@example.org imap 127.0.0.1 127.0.0.1 %d' % be.imap_port,
                'user3@example.org imap 127.0.0.1 127.0.0.3 %d' % be2.imap_port,
                'user4@example.org pop3 127.0.0.1 127.0.0.1 %d' % be.pop3_port,
            ])
            report(rc == 0 and re.sub(r'\s+', ' ', lines[0]).strip() == 'username user_alias proto src ip dest ip port'
                   and rows == want, 'real doveadm proxy list shows every mtool session', out + err)
            rc, out, err = doveadm(be, '-f', 'tab', 'proxy', 'list', '-a', ipc)
            report(rc == 0 and out.splitlines()[0] == 'username\tuser_alias\tproto\tsrc ip\tdest ip\tport',
                   'proxy list -f tab header', out)

            rc, out, err = doveadm(be, 'proxy', 'kick', '-a', ipc, 'user2@example.org')
            report(rc == 0 and out == '1 connections kicked\n', 'proxy kick USER', out + err)
            bye = s2.read(1.0)
            report(bye == b'* BYE Kicked by admin\r\n' and s2.closed(2), 'the kicked client got BYE and was closed', bye)
            report(alive(s1) and alive(s3) and alive(s4, pop3=True), 'the other sessions still work')

            rc, out, err = doveadm(be, 'proxy', 'kick', '-a', ipc, '-f', 'user_alias', 'one@example.org')
            report(rc == 0 and out == '2 connections kicked\n', 'proxy kick -f user_alias', out + err)
            report(s1.closed(2) and s1b.closed(2) and alive(s3), 'both of user1\'s sessions are gone, user3 stays')

            rc, out, err = doveadm(be, 'proxy', 'kick', '-a', ipc, '-h', '127.0.0.3')
            report(rc == 0 and out == '1 connections kicked\n' and s3.closed(2) and alive(s4, pop3=True),
                   'proxy kick -h host kicks that backend\'s sessions only', out + err)
            report(px.wait_log(r'proxy\(user3@example.org,127\.0\.0\.3:\d+\): Disconnected by proxy: Kicked by admin') is not None,
                   'the kick is logged "Disconnected by proxy: Kicked by admin"')

            rc, out, err = doveadm(be, 'proxy', 'kick', '-a', ipc, 'nobody@example.org')
            report(rc == 0 and out == '0 connections kicked\n', 'kick of nobody: 0', out + err)

            # bad lines: an error reply, and the connection lives on
            c = socket.socket(socket.AF_UNIX)
            c.connect(ipc)
            f = c.makefile('rwb')
            for line, want in [(b'garbage\n', b'-Invalid input\n'),
                               (b'proxy\t*\tFROB\n', b'-Unknown command\n'),
                               (b'proxy\tx\tLIST-FULL\n', b'-Invalid IPC connection id: x\n'),
                               (b'proxy\t7\tLIST-FULL\n', b'-Unknown IPC connection id: 7\n'),
                               (b'other\t*\tLIST-FULL\n', b'+\n'),
                               (b'proxy\t*\tKICK\n', b'-Missing parameter\n')]:
                f.write(line)
                f.flush()
                got = f.readline()
                report(got == want, 'ipc: %r' % line, got)
            f.write(b'proxy\t*\tLIST-FULL\n')
            f.flush()
            got = [f.readline(), f.readline(), f.readline()]
            report(got[0].startswith(b':username') and got[2] == b'+\n',
                   'ipc: the same connection still answers LIST-FULL', got)
            c.close()

            # other users are refused by the socket's mode (0600, owned by root)
            if os.geteuid() == 0:
                r = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
                                    'doveadm', '-c', be.conf, 'proxy', 'list', '-a', ipc],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
                report(b'/ipc) failed: Permission denied' in r.stderr and r.stdout == b'',
                       'a non-root user cannot use the ipc socket', r.stderr)
        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))


main_guard(main)
