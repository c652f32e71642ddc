# SPDX-License-Identifier: MIT
"""The state-changing `doveadm director` commands (add, update, up, down, remove, move,
kick, flush in its four forms, ring add), run by the real `doveadm` on one real Dovecot
director and by `mtool doveadm` on a second, identically configured one: each command's
stdout, stderr and exit code must be the same bytes (for every formatter, with and without
-v), and after each command both directors must be in the same state, as the real doveadm
sees it (dump, status, map; times left out: the two runs are not in the same second)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard, TESTDIR  # noqa: E402
from dirfix import DovecotDirector  # noqa: E402
from dvcompare import real, mine, diff  # noqa: E402

FORMATS = [None, 'flow', 'tab', 'table', 'pager', 'json', 'formatted']
HOSTS = ['127.0.0.2', ('127.0.0.3', 50), ('127.0.0.4', 20, 'tagx'), '127.0.0.5']
USERS = ['user%d@example.org' % i for i in range(1, 21)] + ['Mixed.Case@Example.org']

# every round starts and ends with the configured hosts and no user assignment
SEQUENCE = [
    ['add', '127.0.0.9', '10'],
    ['add', '-t', 'tagx', '127.0.0.10'],
    ['add', '127.0.0.11@tagy', '5'],
    ['add', 'localhost', '7'],
    ['add', '::1', '5'],
    ['add', '[::2]'],
    ['add', '127.0.0.12@', '4'],
    ['add', '127.1', '6'],
    ['add', '127.0.0.13', '+5'],
    ['add', '127.0.0.9'],
    ['update', '127.0.0.9', '20'],
    ['update', '--socket-path={A}', '127.0.0.3', '60'],
    ['down', '127.0.0.9'],
    ['down', '127.0.0.9'],
    ['up', '127.0.0.9'],
    ['move', 'user1@example.org', '127.0.0.9'],
    ['move', 'Mixed.Case@Example.org', '127.0.0.2'],
    ['move', 'user2@example.org', 'localhost'],
    ['move', 'user3@example.org', '127.0.0.4'],
    ['move', 'user4@example.org', '127.0.0.3'],
    ['kick', 'user1@example.org'],
    ['kick', '-f', 'user', 'user3@example.org'],
    ['flush', '127.0.0.9'],
    ['move', 'user5@example.org', '127.0.0.9'],
    ['flush', '-F', '127.0.0.9'],
    ['flush', '--max-parallel', '3', '127.0.0.3'],
    ['flush', '--max-parallel=1', '-F', 'localhost'],
    ['flush', 'all'],
    ['move', 'user6@example.org', '127.0.0.2'],
    ['flush', '--max-parallel', '2', 'all'],
    ['move', 'user7@example.org', '127.0.0.2'],
    ['flush', '-F', 'all'],
    ['ring', 'add', '127.0.0.1', '{RING}'],
    ['remove', '127.0.0.11'],
    ['remove', '::1'],
    ['remove', '[::2]'],
    ['remove', '127.0.0.12'],
    ['remove', 'localhost'],
    ['remove', '127.0.0.9'],
    ['remove', '127.0.0.10'],
    ['update', '127.0.0.3', '50'],
    ['remove', '127.0.0.5'],
    ['add', '127.0.0.5'],
    ['flush', '-F', 'all'],
]


def with_socket(args, d):
    """args with -a SOCKET after the command name (or {A} filled in)."""
    args = [a.replace('{A}', d.admin_socket).replace('{RING}', str(d.ring_port))
            for a in args]
    if any(d.admin_socket in a for a in args):
        return ['director'] + args
    n = 2 if args[0] == 'ring' else 1
    return ['director'] + args[:n] + ['-a', d.admin_socket] + args[n:]


def state(d, users_file):
    """What the real doveadm shows of d, without times and socket paths."""
    out = []
    for args in (['dump'], ['-f', 'tab', 'status'], ['-f', 'tab', 'map', '-f', users_file],
                 ['-f', 'tab', 'ring', 'status']):
        fmt = args[:2] if args[0] == '-f' else []
        rest = args[len(fmt):]
        rc, o, e = real(fmt + with_socket(rest, d))
        rows = []
        for line in o.decode().replace(d.admin_socket, 'SOCKET').split('\n'):
            cells = line.split('\t')
            if rest[0] == 'status' and len(cells) == 6:
                del cells[4]        # state changed (a time)
            if rest[0] == 'map' and len(cells) == 4:
                del cells[3]        # expire time
            if rest[0] == 'ring':
                cells = cells[:1] + cells[2:4] + cells[4:5]     # no ports, counters, times
            rows.append(cells)
        out.append((rest[0], rc, rows, e))
    return out


def main():
    d1 = DovecotDirector('real', hosts=HOSTS, users=USERS, login=False)
    d2 = DovecotDirector('mine', hosts=HOSTS, users=USERS, login=False)
    d1.start()
    d2.start()
    users_file = os.path.join(TESTDIR, 'users.txt')
    with open(users_file, 'w') as f:
        f.write('\n'.join(USERS) + '\n')
    s1, s2 = state(d1, users_file), state(d2, users_file)
    report(s1 == s2, 'both directors start in the same state', (s1, s2))
    for verbose in (False, True):
        for fmt in FORMATS:
            head = (['-v'] if verbose else []) + (['-f', fmt] if fmt else [])
            label = ' '.join(head) or 'default'
            for cmd in SEQUENCE:
                a = real(head + with_socket(cmd, d1))
                b = mine(head + with_socket(cmd, d2))
                norm = (b[0], b[1].replace(d2.admin_socket.encode(), d1.admin_socket.encode()),
                        b[2].replace(d2.admin_socket.encode(), d1.admin_socket.encode()))
                what = 'director %s (%s)' % (' '.join(cmd), label)
                report(a == norm, what, diff(a, norm))
                s1, s2 = state(d1, users_file), state(d2, users_file)
                report(s1 == s2, what + ': same state after it', (s1, s2))
    # and the round trip really changed something: the vhost count, a user's host
    d1.director('add', '127.0.0.9', '10')
    mine(['director', 'add', '-a', d2.admin_socket, '127.0.0.9', '33'])
    s1, s2 = state(d1, users_file), state(d2, users_file)
    report(s1 != s2, 'a different vhost count shows as a different state (the check works)')
    d1.stop()
    d2.stop()


main_guard(main)
