# SPDX-License-Identifier: MIT
"""`mtool doveadm director ...` prints the same against mtool directord as against a real
Dovecot 2.3 director with the same hosts: every command, every formatter, errors and exit
codes included (t-doveadm-director*.py show that mtool doveadm prints what the real doveadm
prints against the real director). Differences allowed: the -a socket path (each daemon
has its own) and times of day (the two daemons stamp their changes apart)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard, TESTDIR  # noqa: E402
from dirfix import DovecotDirector  # noqa: E402
from directordfix import Directord  # noqa: E402
from dvcompare import mine  # noqa: E402

FORMATS = [None, 'flow', 'tab', 'table', 'pager', 'json', 'formatted']
TIME = re.compile(rb'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d')


def run(inst, args, fmt):
    args = list(args)
    n = 2 if args[0] == 'ring' else 1
    argv = (['-f', fmt] if fmt else []) + ['director'] + args[:n] + \
        ['-a', inst.admin_socket] + args[n:]
    rc, out, err = mine(argv)
    sock = inst.admin_socket.encode()
    return rc, TIME.sub(b'TIME', out.replace(sock, b'ADMIN')), \
        TIME.sub(b'TIME', err.replace(sock, b'ADMIN'))


def same(real, dd, *args, fmts=FORMATS):
    diffs = []
    for fmt in fmts:
        a, b = run(real, args, fmt), run(dd, args, fmt)
        if a != b:
            diffs.append('-f %s:\n  dovecot:   %r\n  directord: %r' % (fmt, a, b))
    report(not diffs, 'mtool doveadm director %s: same against both (%s)' % (
        ' '.join(args), ', '.join(f or 'default' for f in fmts)), '\n'.join(diffs))


def main():
    hosts = ['127.0.0.2', ('127.0.0.3', 50), ('127.0.0.4', 20, 'tagx')]
    real = DovecotDirector('dovecot-director', hosts=hosts, login=False).start()
    # the same self address and port in ring status; names of the same length ("dump -f
    # table" sizes a column by the socket path)
    dd = Directord('mtool-directord1', hosts=hosts, settings={
        'director_servers': '%s:%d' % (real.ip, real.ring_port)}).start()
    users = os.path.join(TESTDIR, 'users.txt')
    with open(users, 'w') as f:
        f.write(''.join('user%d@example.org\n' % i for i in range(1, 31)))

    same(real, dd, 'status')
    same(real, dd, 'status', 'nobody@example.org')
    same(real, dd, 'status', 'nobody@example.org', 'tagx')
    same(real, dd, 'add', '127.0.0.5', '10')
    same(real, dd, 'add', '-t', 'mytag', '127.0.0.6', '20')
    same(real, dd, 'add', '127.0.0.6@othertag')
    same(real, dd, 'add', '127.0.0.7', '1001')
    same(real, dd, 'add', 'localhost', '3')
    same(real, dd, 'add')
    same(real, dd, 'status')
    same(real, dd, 'update', '127.0.0.5', '30')
    same(real, dd, 'update', '127.0.0.99', '30')
    for i in range(1, 16):
        same(real, dd, 'move', 'user%d@example.org' % i, '127.0.0.%d' % (2 + i % 4),
             fmts=[None])
    same(real, dd, 'move', 'user1@example.org', '127.0.0.77')
    same(real, dd, 'status', 'user5@example.org')
    same(real, dd, 'status', 'user5@example.org', 'tagx')
    same(real, dd, 'status', 'user6@example.org', 'tagx')
    same(real, dd, 'status')
    same(real, dd, 'map', '-f', users)
    same(real, dd, 'map', '-f', users, '127.0.0.3')
    same(real, dd, 'map', '-f', users, 'localhost')
    same(real, dd, 'map', '-f', users, '-h', '3937388976')
    same(real, dd, 'map', '-u', 'user10@example.org')
    same(real, dd, 'down', '127.0.0.3')
    same(real, dd, 'down', '127.0.0.9')
    same(real, dd, 'status')
    same(real, dd, 'status', 'user7@example.org')
    same(real, dd, 'up', '127.0.0.3')
    same(real, dd, 'dump')
    same(real, dd, 'ring', 'status')
    same(real, dd, 'ring', 'add', '127.0.0.1', str(real.ring_port))
    same(real, dd, 'ring', 'remove', '127.0.0.19')
    same(real, dd, 'kick', 'user11@example.org')
    same(real, dd, 'kick', '-f', 'user_group', 'staff')
    same(real, dd, 'flush', '-F', '127.0.0.5')
    same(real, dd, 'flush', '127.0.0.99')
    same(real, dd, 'flush', '--max-parallel', '2', '127.0.0.4')
    same(real, dd, 'map', '-f', users)
    same(real, dd, 'remove', '127.0.0.99')
    same(real, dd, 'remove', '127.0.0.5')
    same(real, dd, 'remove', '127.0.0.3')
    same(real, dd, 'dump')
    same(real, dd, 'flush', '--max-parallel', '2', 'all', fmts=[None])
    same(real, dd, 'flush', 'all', fmts=['json'])
    same(real, dd, 'map', '-f', users)
    same(real, dd, 'flush', '-F', 'all')
    same(real, dd, 'status')
    real.stop()
    dd.stop()
    report(not dd.check_log(), 'directord log has no sanitizer reports', '\n'.join(dd.check_log()))


main_guard(main)
