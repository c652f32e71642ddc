# SPDX-License-Identifier: MIT
"""1,000 concurrent proxied sessions to two real Dovecot backends: the real doveadm's
`proxy list` returns every one of them, `proxy kick -h` kicks exactly one backend's
sessions and the others still answer."""

import os
import re
import resource
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, report, main_guard
from mtoolfix import Proxyd

N = 1000
USERS = 10
# one imap process serves many clients, so 1,000 sessions fit on a small machine
BE_SETTINGS = {'service imap': {'service_count': 0, 'client_limit': 200, 'process_limit': 20},
               'service imap-login': {'service_count': 0, 'client_limit': 1200, 'process_limit': 4},
               'default_client_limit': 2000, 'mail_max_userip_connections': 2000}


def login_all(port, users):
    """Opens len(users) IMAP sessions concurrently; returns the sockets."""
    socks, state, buf = [], {}, {}
    for u in users:
        s = socket.create_connection(('127.0.0.1', port))
        s.setblocking(False)
        socks.append(s)
        state[s] = ('greet', u)
        buf[s] = b''
    deadline = time.monotonic() + 120
    pending = set(socks)
    while pending and time.monotonic() < deadline:
        r, _, _ = select.select(list(pending), [], [], 1.0)
        for s in r:
            d = s.recv(65536)
            if not d:
                raise RuntimeError('closed during login')
            buf[s] += d
            what, u = state[s]
            if what == 'greet' and b'\r\n' in buf[s]:
                buf[s] = b''
                s.sendall(b'a LOGIN %s pass\r\n' % u.encode())
                state[s] = ('login', u)
            elif what == 'login' and b'\na OK' in b'\n' + buf[s]:
                pending.discard(s)
            elif what == 'login' and b'a NO' in buf[s]:
                raise RuntimeError('login failed: %r' % buf[s])
    if pending:
        raise RuntimeError('%d logins did not finish' % len(pending))
    return socks


def noop_ok(socks):
    for s in socks:
        s.sendall(b'n NOOP\r\n')
    ok, deadline = 0, time.monotonic() + 60
    left = {s: b'' for s in socks}
    while left and time.monotonic() < deadline:
        r, _, _ = select.select(list(left), [], [], 1.0)
        for s in r:
            d = s.recv(65536)
            if not d:
                del left[s]
                continue
            left[s] += d
            if b'n OK' in left[s]:
                ok += 1
                del left[s]
    return ok


def closed_count(socks, wait=10):
    n, deadline, left = 0, time.monotonic() + wait, set(socks)
    while left and time.monotonic() < deadline:
        r, _, _ = select.select(list(left), [], [], 0.5)
        for s in r:
            try:
                d = s.recv(65536)
            except OSError:
                d = b''
            if not d:
                n += 1
                left.discard(s)
    return n


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    users = {'user%d@example.org' % i: 'pass' for i in range(1, USERS + 1)}
    with DovecotBackend('be', users=users, settings=BE_SETTINGS) as be, \
            DovecotBackend('be2', ip='127.0.0.3', users=users, settings=BE_SETTINGS) as be2:
        # 1,000 logins at once from one address: login_max_prelogin_per_ip would refuse them
        px = Proxyd(users={}, settings={'login_max_prelogin_per_ip': '0'})
        # half the users live on each backend
        for i in range(1, USERS + 1):
            b = be if i % 2 else be2
            px.users['user%d@example.org' % i] = 'proxy host=%s port=%d' % (b.ip, b.imap_port)
        with px:
            t0 = time.monotonic()
            socks = login_all(px.imap_port, ['user%d@example.org' % (i % USERS + 1) for i in range(N)])
            print('# %d logins through proxyd in %.1fs' % (N, time.monotonic() - t0))
            ipc = os.path.join(px.dir, 'run', 'ipc')
            r = subprocess.run(['doveadm', '-c', be.conf, '-f', 'tab', 'proxy', 'list', '-a', ipc],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            rows = r.stdout.decode().splitlines()[1:]
            on_b2 = [x for x in rows if x.split('\t')[3] == '127.0.0.3']
            report(r.returncode == 0 and len(rows) == N, 'proxy list returns all %d sessions' % N,
                   '%d rows; %s' % (len(rows), r.stderr.decode()))
            report(len(on_b2) == N // 2, 'half of them on the second backend', len(on_b2))

            r = subprocess.run(['doveadm', '-c', be.conf, 'proxy', 'kick', '-a', ipc, '-h', '127.0.0.3'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            report(r.stdout == b'%d connections kicked\n' % (N // 2), 'proxy kick -h kicks exactly that backend\'s sessions',
                   r.stdout + r.stderr)
            # users with an even number live on be2: their sessions are the kicked ones
            b2_socks = [s for i, s in enumerate(socks) if (i % USERS + 1) % 2 == 0]
            other = [s for i, s in enumerate(socks) if (i % USERS + 1) % 2 == 1]
            report(closed_count(b2_socks) == len(b2_socks), 'every kicked client was disconnected')
            report(noop_ok(other) == len(other), 'all %d other sessions still answer NOOP' % len(other))
            # mtool doveadm kick with a user mask, through proxyd's anvil: user1* matches
            # user1 (100 sessions) and user10 (already gone with the second backend)
            anvil = os.path.join(px.dir, 'run', 'anvil')
            r = subprocess.run([os.environ['MTOOL'], 'doveadm', 'kick', 'user1*', '-a', anvil],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            u1 = [s for i, s in enumerate(socks) if i % USERS + 1 == 1]
            rest = [s for i, s in enumerate(socks) if (i % USERS + 1) % 2 == 1 and i % USERS + 1 != 1]
            report(r.stdout == b'%d connections kicked\n' % len(u1), 'kick with a mask kicks exactly the matching sessions',
                   r.stdout + r.stderr)
            report(closed_count(u1) == len(u1) and noop_ok(rest) == len(rest),
                   'user1\'s sessions are gone, the other %d still answer' % len(rest))
            for s in socks:
                s.close()
        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))


main_guard(main)
