# SPDX-License-Identifier: MIT
"""`mtool doveadm proxy list|kick` against the real `doveadm`, both talking to a real Dovecot
2.3 proxy's ipc socket with held-open proxied IMAP and POP3 sessions: stdout, stderr and exit
code must be the same bytes, for every formatter; kicks run on two fresh, identical sets of
sessions (one per tool) and must close the same sessions.

Dovecot's ipc relays each login process's reply as it comes, so with an imap-login and a
pop3-login process the row order (and the kick count, the last process's) is a race. The
first part holds IMAP sessions only (one imap-login process, service_count=0): everything is
compared exactly. The second, on a second proxy whose passdb has no user_* fields (a process
that has seen one adds columns to its header line, the other process's rows then no longer
fit the first header and doveadm's table formatter aborts on an assertion), holds IMAP and
POP3 sessions and compares the rows as a set."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, DovecotProxy, RawClient, report, main_guard, stop
from dvcompare import compare, real, mine, diff, rows_sorted, pager_sorted, table_cells, json_sorted

FORMATS = [None, 'flow', 'tab', 'table', 'pager', 'json']
ONE_PROCESS = {'service_count': 0, 'process_limit': 1, 'process_min_avail': 1}


class Sessions:
    """Held-open proxied sessions: (user, protocol) -> RawClient, in opening order."""

    def __init__(self, px):
        self.px = px
        self.clients = []

    def imap(self, user):
        c = RawClient(self.px.ip, self.px.imap_port)
        c.line()
        c.send(b'a LOGIN %s pass\r\n' % user.encode())
        last = c.until(b'a ')[-1]
        if not last.startswith(b'a OK'):
            raise RuntimeError('IMAP login of %s through the proxy: %r' % (user, last))
        self.clients.append((user, 'imap', c))

    def pop3(self, user):
        c = RawClient(self.px.ip, self.px.pop3_port)
        c.line()
        c.send(b'USER %s\r\nPASS pass\r\n' % user.encode())
        c.line()
        last = c.line()
        if not last.startswith(b'+OK'):
            raise RuntimeError('POP3 login of %s through the proxy: %r' % (user, last))
        self.clients.append((user, 'pop3', c))

    def closed(self):
        """The (user, protocol) pairs whose connection the proxy closed."""
        return [(u, p) for u, p, c in self.clients if c.closed(0.5)]

    def close(self):
        for _, _, c in self.clients:
            c.close()
        self.clients = []


def wait_empty(ipc, timeout=10):
    """Until the proxy lists no session (only LIST-FULL's header line, or nothing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc, out, err = real(['-f', 'tab', 'proxy', 'list', '-a', ipc])
        if out.count(b'\n') <= 1:
            return True
        time.sleep(0.05)
    return False


def main():
    with DovecotBackend('be1', ip='127.0.0.2',
                        users={'user%d@example.org' % i: 'pass' for i in range(1, 8)}) as be1, \
            DovecotBackend('be2', ip='127.0.0.3', users={'user7@example.org': 'pass'}) as be2:
        users = {'user1@example.org': None,
                 'user2@example.org': None,
                 'user3@example.org': 'user_alt=alt3 user_team=blue',
                 'user4@example.org': 'user_alt=alt4',
                 'user5@example.org': None,
                 'user7@example.org': 'host=127.0.0.3 port=%d' % be2.imap_port}
        with DovecotProxy('px', backend=be1, users=users, login_settings=ONE_PROCESS) as px:
            run_proxy_tests(px, os.path.join(px.base_dir, 'ipc'))
        with DovecotProxy('px2', backend=be1, login_settings=ONE_PROCESS) as px:
            run_two_process_tests(px, os.path.join(px.base_dir, 'ipc'))
        stop(be1, be2)


def run_proxy_tests(px, ipc):
    # nothing proxied yet: no login process is in ipc's "proxy" group
    for f in FORMATS:
        compare('proxy list before any session (-f %s)' % (f or 'default'),
                (['-f', f] if f else []) + ['proxy', 'list', '-a', ipc])
    compare('proxy kick before any session', ['proxy', 'kick', '-a', ipc, 'user1@example.org'])

    # ---- IMAP only: one login process, exact comparisons ----
    s = Sessions(px)
    for u in ('user1@example.org', 'user1@example.org', 'user2@example.org',
              'user3@example.org', 'user4@example.org', 'user7@example.org'):
        s.imap(u)
    for f in FORMATS:
        compare('proxy list, IMAP sessions (-f %s)' % (f or 'default'),
                (['-f', f] if f else []) + ['proxy', 'list', '-a', ipc])
    compare('proxy list -h', ['-h', 'proxy', 'list', '-a', ipc])
    compare('proxy list -h -f tab', ['-h', '-f', 'tab', 'proxy', 'list', '-a', ipc])
    compare('proxy list with base_dir from -c', ['proxy', 'list'], config=px.conf)
    compare('proxy list with -o base_dir', ['-o', 'base_dir=' + px.base_dir, 'proxy', 'list'])
    compare('proxy list -v', ['-v', 'proxy', 'list', '-a', ipc])
    r = mine(['proxy', 'list', '-a', ipc])
    print('# mtool doveadm proxy list:\n' + '\n'.join('#   ' + l for l in r[1].decode().split('\n')))
    report(r[0] == 0 and r[1].count(b'\n') == 7 and b'user_alt' in r[1].split(b'\n')[0],
           'proxy list shows every session and the user_* columns', r)
    s.close()
    report(wait_empty(ipc), 'sessions gone after the clients closed')

    def kick_case(what, args, opener, formats=FORMATS, expect_closed=True):
        for f in formats:
            outs, closed = [], []
            for tool in (real, mine):
                sess = Sessions(px)
                opener(sess)
                outs.append(tool((['-f', f] if f else []) + ['proxy', 'kick', '-a', ipc] + args))
                closed.append(sess.closed())
                sess.close()
                wait_empty(ipc)
            report(outs[0] == outs[1], 'proxy kick %s: same output (-f %s)' % (what, f or 'default'),
                   diff(outs[0], outs[1]))
            report(closed[0] == closed[1] and bool(closed[0]) == expect_closed,
                   'proxy kick %s: the same sessions closed (-f %s)' % (what, f or 'default'), closed)

    def imap_set(sess):
        for u in ('user1@example.org', 'user1@example.org', 'user2@example.org',
                  'user3@example.org', 'user4@example.org', 'user7@example.org'):
            sess.imap(u)

    kick_case('one user', ['user2@example.org'], imap_set)
    kick_case('two users', ['user1@example.org', 'user3@example.org'], imap_set, [None, 'json'])
    kick_case('nobody', ['nobody@example.org'], imap_set, [None, 'tab'], False)
    kick_case('-f user_alt', ['-f', 'user_alt', 'alt4'], imap_set, [None, 'flow'])
    kick_case('-f user_alt, two values', ['-f', 'user_alt', 'alt3', 'alt4'], imap_set, [None])
    kick_case('-f unknown field', ['-f', 'user_nosuch', 'x'], imap_set, [None], False)
    kick_case('-h backend 2', ['-h', '127.0.0.3'], imap_set, [None, 'table', 'pager'])
    kick_case('-h backend 1', ['-h', '127.0.0.2'], imap_set, [None])
    compare('proxy kick: no arguments', ['proxy', 'kick', '-a', ipc])


def run_two_process_tests(px, ipc):
    """IMAP and POP3: two login processes, rows compared as a set."""
    s = Sessions(px)
    for u in ('user1@example.org', 'user3@example.org'):
        s.imap(u)
    for u in ('user2@example.org', 'user5@example.org'):
        s.pop3(u)
    norm = {None: table_cells, 'table': table_cells, 'flow': lambda r: rows_sorted(r, 0),
            'tab': rows_sorted, 'pager': pager_sorted, 'json': json_sorted}
    for f in FORMATS:
        a, b = compare('proxy list, IMAP and POP3 (-f %s)' % (f or 'default'),
                       (['-f', f] if f else []) + ['proxy', 'list', '-a', ipc], normalize=norm[f])
    r = mine(['-f', 'tab', 'proxy', 'list', '-a', ipc])
    report(r[1].count(b'username\t') == 2 and r[1].count(b'\tpop3\t') == 2,
           'two login processes: each sends its header line (Dovecot 2.3 quirk kept)', r)
    s.close()
    wait_empty(ipc)

    def pop3_set(sess):
        sess.pop3('user2@example.org')
        sess.imap('user1@example.org')

    # the count is the last process's to answer: compare which sessions close
    for tool in (real, mine):
        sess = Sessions(px)
        pop3_set(sess)
        out = tool(['proxy', 'kick', '-a', ipc, 'user2@example.org'])
        report(out[0] == 0 and out[1] in (b'1 connections kicked\n', b'0 connections kicked\n'),
               'proxy kick of a POP3 session (%s)' % ('doveadm' if tool is real else 'mtool'), out)
        report(sess.closed() == [('user2@example.org', 'pop3')],
               'proxy kick closed the POP3 session only (%s)' % ('doveadm' if tool is real else 'mtool'),
               sess.closed())
        sess.close()
        wait_empty(ipc)


main_guard(main)
