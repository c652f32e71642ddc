# SPDX-License-Identifier: MIT
"""The real Debian doveadm's director commands print the same against directord as against a
real Dovecot 2.3 director with the same hosts: every command, every formatter, errors and
exit codes included. Differences allowed: the -a socket path (each has its own) and
times of day (the two daemons stamp their changes a few milliseconds apart)."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard, TESTDIR  # noqa: E402
from dirfix import DovecotDirector  # noqa: E402
from directordfix import Directord  # noqa: E402

MTOOL = os.environ.get('MTOOL', '')

FORMATS = [None, 'tab', 'flow', 'pager', 'table', 'json']
TIME = re.compile(rb'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d')


def norm(b, inst):
    return TIME.sub(b'TIME', b.replace(inst.admin_socket.encode(), b'ADMIN'))


def mtool_doveadm(inst, *args, fmt=None):
    """mtool doveadm [-f fmt] director ARGS -a SOCKET, as the real one is called"""
    args = list(args)
    n = 2 if args[:1] == ['ring'] else 1
    argv = [MTOOL, 'doveadm'] + (['-f', fmt] if fmt else []) + ['director'] + args[:n] + \
        ['-a', inst.admin_socket] + args[n:]
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def same(real, mine, *args, fmts=FORMATS, with_mtool=True):
    """The real doveadm against both; also mtool doveadm against directord (run after the
    real one, for commands that change nothing)."""
    diffs = []
    for fmt in fmts:
        x = real.director(*args, fmt=fmt, check=False)
        y = mine.director(*args, fmt=fmt, check=False)
        a = (x.returncode, norm(x.stdout, real), norm(x.stderr, real))
        b = (y.returncode, norm(y.stdout, mine), norm(y.stderr, mine))
        if a != b:
            diffs.append('-f %s:\n  dovecot:   %r\n  directord: %r' % (fmt, a, b))
        if with_mtool:
            z = mtool_doveadm(mine, *args, fmt=fmt)
            c = (z.returncode, norm(z.stdout, mine), norm(z.stderr, mine))
            if a != c:
                diffs.append('-f %s:\n  dovecot:   %r\n  mtool doveadm vs directord: %r' % (fmt, a, c))
    report(not diffs, 'doveadm director %s: same output (%s)%s' % (
        ' '.join(args), ', '.join(f or 'default' for f in fmts),
        ', mtool doveadm too' if with_mtool else ''), '\n'.join(diffs))


def main():
    hosts = ['127.0.0.2', '127.0.0.3']
    real = DovecotDirector('dovecot-director', hosts=hosts, login=False).start()
    # the same self address and port in ring status
    # names of the same length: "dump -f table" sizes a column by the socket path
    mine = Directord('mtool-directord1', hosts=hosts, settings={
        'director_servers': '%s:%d' % (real.ip, real.ring_port)}).start()
    users = os.path.join(TESTDIR, 'users.txt')
    with open(users, 'w') as f:
        f.write(''.join('user%d@example.org\n' % i for i in range(1, 31)))

    same(real, mine, 'status')
    same(real, mine, 'status', 'nobody@example.org')
    same(real, mine, 'add', '127.0.0.4', '10', with_mtool=False)
    same(real, mine, 'add', '127.0.0.5@mytag', '20', fmts=[None], with_mtool=False)
    same(real, mine, 'add', '127.0.0.5@othertag', fmts=[None])
    same(real, mine, 'add', '127.0.0.6', '1001', fmts=[None])
    same(real, mine, 'add', fmts=[None])
    same(real, mine, 'status')
    same(real, mine, 'update', '127.0.0.4', '30', fmts=[None], with_mtool=False)
    same(real, mine, 'update', '127.0.0.99', '30', fmts=[None])
    # assignments: move creates them on both
    for i in range(1, 13):
        same(real, mine, 'move', 'user%d@example.org' % i, '127.0.0.%d' % (2 + i % 3), fmts=[None], with_mtool=False)
    same(real, mine, 'move', 'user1@example.org', '127.0.0.77', fmts=[None])
    same(real, mine, 'status', 'user5@example.org')
    same(real, mine, 'status', 'user5@example.org', 'mytag')
    same(real, mine, 'status')
    same(real, mine, 'map', '-f', users)
    same(real, mine, 'map', '-f', users, '127.0.0.3')
    same(real, mine, 'map', '-f', users, '-h', '3937388976', fmts=[None])
    same(real, mine, 'map', '-u', 'user10@example.org', fmts=[None])
    same(real, mine, 'down', '127.0.0.3', fmts=[None], with_mtool=False)
    same(real, mine, 'down', '127.0.0.9', fmts=[None])
    same(real, mine, 'status', fmts=[None, 'tab'])
    same(real, mine, 'up', '127.0.0.3', fmts=[None], with_mtool=False)
    same(real, mine, 'dump')
    same(real, mine, 'ring', 'status')
    same(real, mine, 'ring', 'add', '127.0.0.9', str(real.ring_port), fmts=[None], with_mtool=False)
    same(real, mine, 'ring', 'status', fmts=[None, 'tab'])
    same(real, mine, 'ring', 'remove', '127.0.0.9', str(real.ring_port), fmts=[None], with_mtool=False)
    same(real, mine, 'ring', 'remove', '127.0.0.19', fmts=[None])
    same(real, mine, 'ring', 'status', fmts=[None])
    same(real, mine, 'kick', 'user11@example.org', with_mtool=False)
    same(real, mine, 'kick', '-f', 'user_group', 'staff', fmts=[None], with_mtool=False)
    same(real, mine, 'flush', '-F', '127.0.0.4', fmts=[None], with_mtool=False)
    same(real, mine, 'flush', '127.0.0.99', fmts=[None])
    same(real, mine, 'status', fmts=[None])
    same(real, mine, 'remove', '127.0.0.99', fmts=[None, 'json'])
    same(real, mine, 'remove', '127.0.0.4', fmts=[None], with_mtool=False)
    same(real, mine, 'dump', fmts=[None, 'tab'])
    same(real, mine, 'flush', '--max-parallel', '2', 'all', fmts=[None], with_mtool=False)
    same(real, mine, 'flush', '-F', 'all', fmts=[None], with_mtool=False)
    same(real, mine, 'status', fmts=[None])
    real.stop()
    mine.stop()
    report(not mine.check_log(), 'directord log has no sanitizer reports', '\n'.join(mine.check_log()))


main_guard(main)
