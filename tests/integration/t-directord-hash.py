# SPDX-License-Identifier: MIT
"""directord hashes users exactly as the real Dovecot 2.3 director: both get the same hosts
and vhost counts; every one of 10,000 users must get the same Hashed and Initial config
answer (USER-LOOKUP, the request `doveadm director status USER` sends), and a sample of
them through the real doveadm's own output. Again after add, vhost update, down, tags and
remove, applied with the real doveadm to both."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard  # noqa: E402
from dirfix import DovecotDirector  # noqa: E402
from directordfix import Directord, admin_lines  # noqa: E402

NUSERS = 10000
USERS = ['user%d@example.org' % i for i in range(NUSERS // 2)] + \
    ['Mixed.Case%d@Domain%d.example' % (i, i % 7) for i in range(NUSERS // 2)]


def lookups(sock, users, tag=''):
    return admin_lines(sock, ['USER-LOOKUP\t%s\t%s' % (u, tag) for u in users])


def compare(what, real, mine, tag=''):
    a = lookups(real.admin_socket, USERS, tag)
    b = lookups(mine.admin_socket, USERS, tag)
    # field 0/1: the current assignment (none here); 2: Hashed; 3: Initial config
    bad = [(u, x, y) for u, x, y in zip(USERS, a, b) if x.split('\t')[2:] != y.split('\t')[2:]]
    spread = {}
    for x in a:
        spread[x.split('\t')[2]] = spread.get(x.split('\t')[2], 0) + 1
    report(len(a) == NUSERS and not bad,
           '%s: Hashed and Initial config equal for %d users (spread %s)' %
           (what, NUSERS, ', '.join('%s=%d' % kv for kv in sorted(spread.items()))),
           '\n'.join('%s: dovecot %r, directord %r' % t for t in bad[:10]))
    # and a sample through the real doveadm's own rendering
    sample = USERS[::500]
    diff = []
    for u in sample:
        args = ['status', u] + ([tag] if tag else [])
        x = real.director(*args).stdout
        y = mine.director(*args).stdout
        if x != y:
            diff.append('%s:\n%s---\n%s' % (u, x.decode(), y.decode()))
    report(not diff, '%s: real doveadm director status USER prints the same for %d users' %
           (what, len(sample)), '\n'.join(diff[:3]))


def both(real, mine, *args):
    x = real.director(*args, check=False)
    y = mine.director(*args, check=False)
    if (x.returncode, x.stdout, x.stderr) != (y.returncode, y.stdout, y.stderr):
        report(False, 'doveadm director %s: same result' % ' '.join(args),
               'dovecot: %d %r %r\ndirectord: %d %r %r' % (x.returncode, x.stdout, x.stderr,
                                                         y.returncode, y.stdout, y.stderr))


def main():
    hosts = ['127.0.0.2', '127.0.0.3', ('127.0.0.4', 50), '127.0.0.10']
    real = DovecotDirector('dovecot-director', hosts=hosts, login=False).start()
    mine = Directord(hosts=hosts).start()
    compare('4 hosts (100/100/50/100 vhosts)', real, mine)

    for args in (('add', '127.0.0.5', '150'), ('update', '127.0.0.2', '30'),
                 ('add', '::1', '70'), ('add', '127.0.0.6'), ('update', '127.0.0.6', '0')):
        both(real, mine, *args)
    compare('after add 127.0.0.5=150, ::1=70, 127.0.0.6=0, update 127.0.0.2=30', real, mine)

    both(real, mine, 'down', '127.0.0.4')
    both(real, mine, 'remove', '127.0.0.3')
    compare('after down 127.0.0.4, remove 127.0.0.3', real, mine)

    both(real, mine, 'add', '127.0.0.7@tagx', '40')
    both(real, mine, 'add', '127.0.0.8@tagx', '200')
    compare('tag tagx (127.0.0.7=40, 127.0.0.8=200)', real, mine, tag='tagx')
    both(real, mine, 'up', '127.0.0.4')
    compare('after up 127.0.0.4', real, mine)
    real.stop()
    mine.stop()
    report(not mine.check_log(), 'directord log has no sanitizer reports', '\n'.join(mine.check_log()))


main_guard(main)
