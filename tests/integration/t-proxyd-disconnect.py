# SPDX-License-Identifier: MIT
"""When the backend dies: every client is disconnected (and logged "Disconnected by
server"), at once by default, spread over login_proxy_max_disconnect_delay when set."""

import os
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard
from mtoolfix import Proxyd

N = 30


def open_sessions(px):
    out = []
    for i in range(N):
        raw = RawClient('127.0.0.1', px.imap_port, timeout=10)
        raw.line()
        raw.send(b'a LOGIN user%d@example.org pass\r\n' % (i % 5 + 1))
        l = raw.until(b'a ')[-1]
        if not l.startswith(b'a OK'):
            raise RuntimeError('login failed: %r' % l)
        out.append(raw)
    return out


def close_times(clients, t0, limit=8.0):
    """Seconds after t0 at which each client saw EOF (None: still open at the limit)."""
    times = [None] * len(clients)
    socks = {c.sock.fileno(): i for i, c in enumerate(clients)}
    deadline = t0 + limit
    while socks and time.monotonic() < deadline:
        r, _, _ = select.select(list(socks), [], [], 0.05)
        for fd in r:
            i = socks[fd]
            try:
                d = clients[i].sock.recv(65536)
            except OSError:
                d = b''
            if not d:
                times[i] = time.monotonic() - t0
                del socks[fd]
    return times


def main():
    for delay in (0, 2):
        with DovecotBackend('be%d' % delay) as be:
            settings = {'login_proxy_max_disconnect_delay': '%d secs' % delay} if delay else {}
            px = Proxyd('mtool%d' % delay, users={'user%d@example.org' % i: 'proxy host=127.0.0.1 port=%d' % be.imap_port
                                                   for i in range(1, 6)}, settings=settings)
            with px:
                clients = open_sessions(px)
                # the backend dies: every one of its processes at once (its sockets close)
                pids = be.pids()
                t0 = time.monotonic()
                for pid in pids:
                    os.kill(pid, 9)
                times = close_times(clients, t0)
                be.stop()
                closed = [t for t in times if t is not None]
                detail = 'close times: %s' % ', '.join('%.2f' % t for t in sorted(closed))
                print('# delay %ds: %s' % (delay, detail))
                report(len(closed) == N, 'delay %ds: every client is disconnected' % delay, detail)
                if delay == 0:
                    report(max(closed) < 1.5, 'no delay: all at once', detail)
                else:
                    late = [t for t in closed if t > 0.3]
                    report(len(late) >= N // 3 and max(closed) <= delay + 1.0,
                           'delay %ds: disconnects spread over the delay' % delay, detail)
                for c in clients:
                    c.close()
                deadline = time.monotonic() + 5
                while px.log().count('Disconnected by server') < N and time.monotonic() < deadline:
                    time.sleep(0.05)
                n = px.log().count('Disconnected by server')
                report(n == N, 'delay %ds: %d "Disconnected by server" lines' % (delay, N), n)
            report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))


main_guard(main)
