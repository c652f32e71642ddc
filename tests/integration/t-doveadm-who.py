# SPDX-License-Identifier: MIT
"""`mtool doveadm who|kick` against the real `doveadm`, both talking to a real Dovecot 2.3
backend's anvil (version 1) with held-open IMAP and POP3 sessions: same stdout, stderr and
exit code. `who -1` lists in anvil's order and is compared exactly; the aggregated `who`
lists users in the order of doveadm's randomly keyed hash table, so several rows are
compared as a set and single rows exactly. `kick` SIGTERMs the sessions' mail processes:
it runs on two fresh, identical sets of sessions (one per tool) and must end the same
sessions with the same output."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, DovecotProxy, RawClient, report, main_guard
from dvcompare import (compare, real, mine, diff, rows_sorted, pager_sorted, table_cells,
                       json_sorted)

FORMATS = [None, 'flow', 'tab', 'table', 'pager', 'json']
USERS = {'user%d@example.org' % i: 'pass' for i in range(1, 12)}


class Sessions:
    def __init__(self, be):
        self.be = be
        self.clients = []

    def imap(self, user, source_ip=None):
        c = RawClient(self.be.ip, self.be.imap_port, source_ip=source_ip)
        c.line()
        c.send(b'a LOGIN %s pass\r\n' % user.encode())
        last = c.until(b'a ')[-1]
        if not last.startswith(b'a OK'):
            raise RuntimeError('IMAP login of %s: %r' % (user, last))
        self.clients.append((user, 'imap', c))

    def pop3(self, user):
        c = RawClient(self.be.ip, self.be.pop3_port)
        c.line()
        c.send(b'USER %s\r\nPASS pass\r\n' % user.encode())
        c.line()
        last = c.line()
        if not last.startswith(b'+OK'):
            raise RuntimeError('POP3 login of %s: %r' % (user, last))
        self.clients.append((user, 'pop3', c))

    def closed(self):
        return [(u, p) for u, p, c in self.clients if c.closed(1.0)]

    def close(self):
        for _, _, c in self.clients:
            c.close()
        self.clients = []


def wait_anvil(anvil, n, timeout=10):
    """Until anvil lists n connections (sessions register after login, leave after exit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc, out, err = real(['-f', 'tab', 'who', '-1', '-a', anvil])
        if out.count(b'\n') - 1 == n:
            return True
        time.sleep(0.05)
    return False


def open_set(be, anvil):
    s = Sessions(be)
    s.imap('user1@example.org')
    s.imap('user1@example.org', source_ip='127.0.0.9')
    s.imap('user2@example.org')
    s.imap('user3@example.org')
    s.imap('user10@example.org')
    s.pop3('user4@example.org')
    wait_anvil(anvil, 6)
    return s


def main():
    with DovecotBackend('be', users=USERS) as be, DovecotProxy('px', backend=be) as px:
        anvil = os.path.join(be.base_dir, 'anvil')
        for f in FORMATS:
            compare('who, no sessions (-f %s)' % (f or 'default'),
                    (['-f', f] if f else []) + ['who', '-a', anvil])
            compare('who -1, no sessions (-f %s)' % (f or 'default'),
                    (['-f', f] if f else []) + ['who', '-1', '-a', anvil])

        s = open_set(be, anvil)
        # a proxied session: Dovecot 2.3's proxy anvil does not see it
        p = RawClient(px.ip, px.imap_port)
        p.line()
        p.send(b'a LOGIN user5@example.org pass\r\n')
        p.until(b'a ')
        wait_anvil(anvil, 7)
        px_anvil = os.path.join(px.base_dir, 'anvil')
        for f in FORMATS:
            compare('who on the proxy\'s anvil: proxied sessions are not there (-f %s)'
                    % (f or 'default'), (['-f', f] if f else []) + ['who', '-a', px_anvil])

        separate = [([], 'all'), (['user1*'], 'user mask'), (['127.0.0.9'], 'one IP'),
                    (['127.0.0.0/8'], 'network'), (['USER1*', '127.0.0.1/32'], 'mask and IP'),
                    (['nobody*'], 'no match'), (['127.0.0.1/99'], 'bad bits: a user mask')]
        for args, what in separate:
            for f in FORMATS:
                compare('who -1 %s (-f %s)' % (what, f or 'default'),
                        (['-f', f] if f else []) + ['who', '-1', '-a', anvil] + args)
        compare('who -1 with base_dir from -c', ['who', '-1'], config=be.conf)
        compare('who -1 with -o base_dir', ['-o', 'base_dir=' + be.base_dir, 'who', '-1'])
        compare('who -1 -h', ['-h', 'who', '-1', '-a', anvil])

        # one row: exact
        for args in (['user2*'], ['user1@example.org'], ['user4*'], ['*', '127.0.0.9/32'],
                     ['nobody*']):
            for f in FORMATS:
                compare('who %s (-f %s)' % (' '.join(args), f or 'default'),
                        (['-f', f] if f else []) + ['who', '-a', anvil] + args)
        norm = {None: table_cells, 'table': table_cells, 'flow': lambda r: rows_sorted(r, 0),
                'tab': rows_sorted, 'pager': pager_sorted, 'json': json_sorted}
        for args in ([], ['user1*'], ['127.0.0.0/8']):
            for f in FORMATS:
                compare('who %s, rows as a set (-f %s)' % (' '.join(args) or 'all', f or 'default'),
                        (['-f', f] if f else []) + ['who', '-a', anvil] + args, normalize=norm[f])
        r = mine(['who', '-a', anvil])
        print('# mtool doveadm who:\n' + '\n'.join('#   ' + l for l in r[1].decode().split('\n')))
        report((b'(127.0.0.1 127.0.0.9)' in r[1] or b'(127.0.0.9 127.0.0.1)' in r[1]) and
               b' 2 imap ' in r[1],
               'who sums user1\'s two connections and both IPs', r)
        for args in (['a', 'b'], ['1.2.3.4', '::1']):
            compare('who %s: error' % ' '.join(args), ['who', '-a', anvil] + args)
        s.close()
        p.close()
        wait_anvil(anvil, 0)

        def kick_case(what, args, formats):
            for f in formats:
                outs, closed = [], []
                for tool in (real, mine):
                    sess = open_set(be, anvil)
                    outs.append(tool((['-f', f] if f else []) + ['kick', '-a', anvil] + args))
                    closed.append(sess.closed())
                    sess.close()
                    wait_anvil(anvil, 0)
                report(outs[0] == outs[1], 'kick %s: same output (-f %s)' % (what, f or 'default'),
                       diff(outs[0], outs[1]))
                report(closed[0] == closed[1], 'kick %s: the same sessions ended (-f %s)'
                       % (what, f or 'default'), closed)
            return closed[0]

        c = kick_case('one user', ['user2@example.org'], FORMATS)
        report(c == [('user2@example.org', 'imap')], 'kick one user ended its session', c)
        c = kick_case('user mask', ['user1*'], [None, 'json'])
        report(sorted(c) == sorted([('user1@example.org', 'imap'), ('user1@example.org', 'imap'),
                                    ('user10@example.org', 'imap')]),
               'kick user1* ended three sessions', c)
        kick_case('user and IP', ['user1@example.org', '127.0.0.9/32'], [None, 'table'])
        kick_case('IP', ['127.0.0.9'], [None])
        kick_case('-f user', ['-f', 'user4@example.org'], [None])
        kick_case('nobody', ['nobody@example.org'], [None, 'tab', 'json'])
        compare('kick: no mask', ['kick', '-a', anvil])
        compare('kick on the proxy\'s anvil: nobody there', ['kick', '-a', px_anvil,
                                                              'user5@example.org'])


main_guard(main)
