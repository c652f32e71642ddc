# SPDX-License-Identifier: MIT
"""proxyd's anvil socket (protocol version 2) with `mtool doveadm who|kick`: proxied
sessions are listed with their destination and user_* fields, and kicked by user, mask,
client network, destination host and passdb field; exactly the matching ones go, the
others keep working. Dovecot 2.3's doveadm (version 1) is refused with a log line."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard
from mtoolfix import Proxyd, MTOOL


def mdoveadm(anvil, *args, pre=()):
    r = subprocess.run([MTOOL, 'doveadm'] + list(pre) + list(args) + ['-a', anvil],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def session(px, user, source_ip=None):
    raw = RawClient('127.0.0.1', px.imap_port, source_ip=source_ip, timeout=10)
    raw.line()
    raw.send(b'a LOGIN %s pass\r\n' % user.encode())
    l = raw.until(b'a ')[-1]
    if not l.startswith(b'a OK'):
        raise RuntimeError('login of %s failed: %r' % (user, l))
    return raw


def alive(raw):
    try:
        raw.send(b'n NOOP\r\n')
        return raw.line(timeout=5).startswith(b'n OK')
    except OSError:
        return False


def main():
    with DovecotBackend('be') as be, DovecotBackend('be2', ip='127.0.0.3') as be2:
        hp = 'proxy host=127.0.0.1 port=%d' % be.imap_port
        px = Proxyd(users={
            'user1@example.org': hp + ' user_alias=one',
            'user2@example.org': hp + ' user_alias=two',
            'user3@example.org': 'proxy host=127.0.0.3 port=%d' % be2.imap_port,
            'user4@example.org': hp,
        })
        with px:
            anvil = os.path.join(px.dir, 'run', 'anvil')
            s = {
                'u1a': session(px, 'user1@example.org'),
                'u1b': session(px, 'user1@example.org', source_ip='127.0.0.9'),
                'u2': session(px, 'user2@example.org'),
                'u3': session(px, 'user3@example.org'),
                'u4': session(px, 'user4@example.org', source_ip='127.0.0.9'),
            }
            rc, out, err = mdoveadm(anvil, 'who', '-1', pre=['-f', 'tab'])
            rows = sorted(out.splitlines()[1:])
            report(rc == 0 and out.splitlines()[0] == 'username\tproto\tpid\tip\tdest ip\tuser_alias'
                   and len(rows) == 5 and 'user3@example.org\timap\t%d\t127.0.0.1\t127.0.0.3\t' % px.pid in rows
                   and 'user1@example.org\timap\t%d\t127.0.0.9\t127.0.0.1\tone' % px.pid in rows,
                   'who -1 lists proxied sessions with destination and user_* fields', out + err)
            rc, out, err = mdoveadm(anvil, 'who')
            report(rc == 0 and re.search(r'^user1@example\.org +2 imap +\(%d\) +\((127\.0\.0\.1 127\.0\.0\.9|127\.0\.0\.9 127\.0\.0\.1)\)' % px.pid, out, re.M),
                   'who aggregates by user', out + err)
            rc, out, err = mdoveadm(anvil, 'who', 'user?@example.org', '127.0.0.9/32', pre=['-f', 'tab'])
            report(rc == 0 and sorted(l.split('\t')[0] for l in out.splitlines()[1:]) ==
                   ['user1@example.org', 'user4@example.org'], 'who with a user mask and a network', out + err)

            rc, out, err = mdoveadm(anvil, 'kick', 'user2@example.org')
            report(rc == 0 and out == '1 connections kicked\n', 'kick USER', out + err)
            report(s['u2'].read(1.0).startswith(b'* BYE') and s['u2'].closed(2), 'the kicked client got BYE')
            rc, out, err = mdoveadm(anvil, 'kick', '*', '127.0.0.9/32')
            report(rc == 0 and out == '2 connections kicked\n', 'kick by network: exactly the sessions from 127.0.0.9', out + err)
            report(s['u1b'].closed(2) and s['u4'].closed(2) and alive(s['u1a']) and alive(s['u3']),
                   'the sessions from other addresses stay')
            rc, out, err = mdoveadm(anvil, 'kick', '-h', '127.0.0.3')
            report(rc == 0 and out == '1 connections kicked\n' and s['u3'].closed(2) and alive(s['u1a']),
                   'kick -h dest host', out + err)
            rc, out, err = mdoveadm(anvil, 'kick', '--passdb-field', 'user_alias', 'one')
            report(rc == 0 and out == '1 connections kicked\n' and s['u1a'].closed(2),
                   'kick by passdb field', out + err)
            rc, out, err = mdoveadm(anvil, 'kick', 'nobody*')
            report(rc == 0 and out == '0 connections kicked\n', 'kick of nobody', out + err)

            # Dovecot 2.3's doveadm speaks version 1: refused, with a pointer in the log
            r = subprocess.run(['doveadm', '-c', be.conf, 'who', '-a', anvil], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
            report(px.wait_log(r'anvil: refusing a version 1 client .*doveadm proxy list/kick') is not None,
                   'a version 1 (Dovecot 2.3) client is refused with a log line', r.stdout + r.stderr)

            # a malformed line gets an error; the connection lives on
            import socket
            c = socket.socket(socket.AF_UNIX)
            c.connect(anvil)
            f = c.makefile('rwb')
            greet = f.readline()
            f.write(b'VERSION\tanvil-client\t2\t0\nFROB\nKICK-USER\tnobody@example.org\n')
            f.flush()
            got = [f.readline(), f.readline()]
            report(greet == b'VERSION\tanvil-server\t2\t0\n' and got == [b'-Invalid command\n', b'0\n'],
                   'anvil: a bad command gets an error, the next one an answer', [greet] + got)
            c.close()
        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))


main_guard(main)
