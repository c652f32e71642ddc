#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""directord in a director ring with real Dovecot 2.3 directors (not a test: nothing passes
or fails). Prints, in one run:

1. handshake time and bytes when a director joins a ring holding 100,000 users, for each
   direction (directord -> directord, directord -> Dovecot, Dovecot -> directord);
2. ring traffic and CPU per login at about 1,000 logins/s spread over a ring of three
   (Dovecot + two directord): logins through directord's proxy socket (LOOKUP + START + END)
   and, for comparison, through Dovecot's director-userdb;
3. the time a move takes to complete across the ring (the user's next login on another
   director answered), started on directord and on Dovecot.

    python3 bench/director_ring.py [--users 100000] [--rate 1000] [--secs 10]

Uses the integration fixtures (tests/integration/ringfix.py) and ./mtool (MTOOL=...)."""

import argparse
import os
import re
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))
CLK_TCK = os.sysconf('SC_CLK_TCK')


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        st = f.read()
    fields = st[st.rindex(')') + 2:].split()
    return sum(int(x) for x in fields[11:13]) / CLK_TCK


def director_pid(d):
    """the pid doing the director's work: directord itself, or Dovecot's director child"""
    if d.kind != 'dovecot':
        return d.pid
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % p) as f:
                st = f.read()
            with open('/proc/%s/cmdline' % p, 'rb') as f:
                cmd = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(')') + 2:].split()[1])
        if ppid == d.pid and b'director' in cmd.split(b'\0')[0]:
            return int(p)
    return None


def link_bytes(ring, d):
    """(bytes in, bytes out) over all of d's ring links"""
    bi = bo = 0
    for r in ring.status(d):
        if r[2] in ('left', 'right', 'in', 'out') and len(r) > 7:
            bi += int(r[6])
            bo += int(r[7])
    return bi, bo


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--users', type=int, default=100000)
    ap.add_argument('--rate', type=int, default=1000)
    ap.add_argument('--secs', type=int, default=10)
    args = ap.parse_args()
    os.environ.setdefault('MTOOL', os.path.join(TOP, 'mtool'))
    os.environ.pop('MTOOL_ASAN', None)
    os.environ['TESTDIR'] = tempfile.mkdtemp(prefix='mtool-bench-ring.')
    from fixtures import stop_all
    from ringfix import Ring, lookup_proxy, lookup_auth, ProxyConn

    # 1. joins
    ring = Ring(['dovecot', 'mtool', 'mtool', 'dovecot'], tag='j',
                settings={'director_user_expire': '60 min'})
    try:
        d0, m1, m2, d3 = ring.dirs
        d0.start()
        m1.start()
        ring.wait_synced(60, dirs=[d0, m1])
        users = ['u%d@example.org' % i for i in range(args.users)]
        t = time.monotonic()
        lookup_proxy(m1, users, timeout=120)
        print('## 1. joining a ring of %d users (%.1f s to assign them through directord)\n'
              % (args.users, time.monotonic() - t))
        print('| joining | its left (sends the users) | join to ring synced, s | bytes received |')
        print('|---|---|---|---|')

        def join(d, left):
            t0 = time.monotonic()
            d.start()
            ok = ring.wait_synced(120)
            took = time.monotonic() - t0
            got = 0
            for r in ring.status(d):
                if r[2] == 'left':
                    got = int(r[6])
            n = len(ring.user_list(d))
            print('| %s (%s) | %s | %.2f%s | %d (%d users) |' % (d.kind, d.ip, left, took,
                  '' if ok else ' (not synced)', got, n))

        join(m2, 'directord')
        join(d3, 'directord')
        m1.stop()
        m1.proc = None
        ring.wait_synced(60, dirs=[d0, m2, d3])
        join(m1, 'Dovecot')
    finally:
        ring.stop()
        stop_all()

    # 2. load and 3. moves
    ring = Ring(['dovecot', 'mtool', 'mtool'], tag='l')
    try:
        ring.start()
        ring.wait_synced(30)
        d0, m1, m2 = ring.dirs
        print('\n## 2. %d logins/s for %d s over a ring of three (Dovecot + 2 directord)\n'
              % (args.rate, args.secs))
        print('| logins through | logins | ring bytes per login (all links of all directors) |'
              ' CPU us/login: Dovecot director | directord 1 | directord 2 |')
        print('|---|---|---|---|---|---|')

        def measure(label, work):
            pids = [director_pid(d) for d in ring.dirs]
            cpu0 = [cpu_seconds(p) for p in pids]
            b0 = sum(sum(link_bytes(ring, d)) for d in ring.dirs)
            n = work()
            b1 = sum(sum(link_bytes(ring, d)) for d in ring.dirs)
            cpu1 = [cpu_seconds(p) for p in pids]
            print('| %s | %d | %.0f | %s |' % (label, n, (b1 - b0) / max(n, 1),
                  ' | '.join('%.0f' % ((b - a) * 1e6 / max(n, 1)) for a, b in zip(cpu0, cpu1))))

        def proxies_work():
            count = [0]

            def one(d, k):
                pc = ProxyConn(d)
                per = args.rate / 2.0
                start = time.monotonic()
                i = 0
                while time.monotonic() - start < args.secs:
                    due = start + i / per
                    if due > time.monotonic():
                        time.sleep(due - time.monotonic())
                    u = 'load%d-%d@example.org' % (k, i % 20000)
                    h = pc.lookup(u)
                    pc.send('START\tg%d-%d\t%s\t\t%s' % (k, i, u, h))
                    pc.send('END\tg%d-%d' % (k, i))
                    i += 1
                count[0] += i
                pc.close()
            th = [threading.Thread(target=one, args=(d, k)) for k, d in enumerate((m1, m2))]
            for x in th:
                x.start()
            for x in th:
                x.join()
            return count[0]

        def auth_work():
            n = args.rate * args.secs
            users = ['auth%d@example.org' % (i % 20000) for i in range(n)]
            start = time.monotonic()
            for i in range(0, n, args.rate // 10):
                lookup_auth(d0, users[i:i + args.rate // 10])
                due = start + (i + args.rate // 10) / args.rate
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())
            return n

        measure('directord proxy sockets (LOOKUP+START+END)', proxies_work)
        measure('Dovecot director-userdb (PASS)', auth_work)

        print('\n## 3. move completion across the ring (director_user_kick_delay 2 s included)\n')
        print('| move issued on | until a login on another directord gets the new host, s |')
        print('|---|---|')
        pc = ProxyConn(m2)
        for who, d in (('directord', m1), ('Dovecot', d0)):
            times = []
            for i in range(3):
                u = 'mover%d-%s@example.org' % (i, who)
                cur = pc.lookup(u)
                other = '127.0.0.3' if cur == '127.0.0.2' else '127.0.0.2'
                t0 = time.monotonic()
                d.director('move', u, other)
                while True:
                    h = pc.lookup(u, timeout=40)
                    if h == other:
                        break
                times.append(time.monotonic() - t0)
            print('| %s | %s |' % (who, ', '.join('%.2f' % x for x in times)))
        pc.close()
        for d in ring.dirs:
            if d.kind == 'dovecot':
                log = open(d.log_path, errors='replace').read()
                bad = len(re.findall(r'Unknown command|Invalid', log))
                print('\n(Dovecot %s logged %d invalid-input lines)' % (d.ip, bad))
    finally:
        ring.stop()
        stop_all()


if __name__ == '__main__':
    main()
