#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""replicatord vs Dovecot 2.3's own pair of replicators (not tests: nothing passes or fails).

For each target, a fresh pair of real Dovecot 2.3 backends (127.0.0.2, 127.0.0.3) with N
users (default 1,000) and replication_max_conns 10, set up as replicatord(8) describes or
as Dovecot's replication page does (a replicator and an aggregator on each backend):

1. first sync of every user: time from the replicator's start (which lists the userdb) until
   every user has a successful sync (users/s);
2. `replicate -p low '*'`: time until every user has synced again (incremental, users/s);
3. LMTP delivery to A -> visible on B: --mails deliveries to random users, each timed from
   the LMTP DATA reply until an IMAP NOOP on B shows the message (p50/p99);
4. replicatord's CPU (utime+stime) per sync and its resident memory per known user (VmRSS
   with N users minus VmRSS at start / N).

    python3 bench/replicator.py [--users 1000] [--mails 100] [--only mtool,dovecot]

Uses the integration fixtures (tests/integration/replfix.py) and ./mtool (MTOOL=...)."""

import argparse
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))
CLK_TCK = os.sysconf('SC_CLK_TCK')


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        st = f.read()
    fields = st[st.rindex(')') + 2:].split()
    return sum(int(x) for x in fields[11:13]) / CLK_TCK


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def repl_cmd(path, line, multi=True):
    """One command on a replicator-doveadm socket; the reply lines (up to the empty line)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(path)
    s.sendall(b'VERSION\treplicator-doveadm-client\t1\t0\n' + line.encode() + b'\n')
    buf = b''
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        buf += d
        lines = buf.split(b'\n')
        if (multi and b'' in lines[1:-1]) or (not multi and len(lines) >= 3):
            break
    s.close()
    out = buf.decode().split('\n')[1:]
    return out[:out.index('')] if multi and '' in out else out[:1]


def synced_since(path, t0, notified):
    """Users whose last successful sync is at or after t0 (wall seconds). notified: also
    count a last fast sync at or after t0 without a failure, which is how a Dovecot
    replicator records a sync the other backend's replicator ran (its NOTIFY leaves the
    success time alone); that counts a sync A itself started a little early."""
    count = 0
    for line in repl_cmd(path, 'STATUS\t*'):
        f = line.split('\t')
        if len(f) >= 6 and (int(f[5]) >= t0 or (notified and int(f[2]) >= t0 and f[4] == '0')):
            count += 1
    return count


def wait_all(path, t0, n, timeout, notified=False):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if synced_since(path, t0, notified) >= n:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def create_inboxes(a):
    """Every INBOX on A before anything runs, so that the first syncs copy them to B with
    their GUIDs (an INBOX made on B first would conflict for good: replicatord(8))."""
    a.doveadm('-o', 'mail_plugins=', 'mailbox', 'status', '-A', 'guid', 'INBOX')


def latency(a, b, users, mails):
    from replfix import imap_login, lmtp_deliver, message
    lat = []
    rnd = random.Random(1)
    for i in range(mails):
        user = rnd.choice(users)
        m = imap_login(b, user)
        m.select('INBOX')
        lmtp_deliver(a, user, message('<lat%d@bench>' % i))
        t0 = time.monotonic()
        seen = None
        while time.monotonic() - t0 < 30:
            # SEARCH makes Dovecot sync the selected mailbox: new mail shows at once
            typ, data = m.search(None, 'HEADER', 'Message-ID', '<lat%d@bench>' % i)
            if data and data[0].split():
                seen = time.monotonic() - t0
                break
            time.sleep(0.005)
        m.logout()
        lat.append(seen if seen is not None else float('inf'))
    lat.sort()
    return lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def bench_mtool(args, users):
    from fixtures import free_port, stop_all
    from replfix import Replicatord, backend_pair
    np = free_port()
    a, b = backend_pair(np, users=users)
    a.start()
    create_inboxes(a)
    b.start()
    rp = Replicatord(a, b, np, settings={'replicator_startup_rate': '100000',
                                         'replication_max_conns': '10'}, args=()).start()
    res = {}
    t0 = int(time.time())
    start = time.monotonic()
    rss0 = rss_kib(rp.pid)
    cpu0 = cpu_seconds(rp.pid)
    ok = wait_all(rp.admin, t0, len(users), args.timeout)
    el = time.monotonic() - start
    res['first sync users/s'] = '%.1f' % (len(users) / el) if ok else 'timeout'
    time.sleep(1.1)
    t1 = int(time.time())
    start = time.monotonic()
    repl_cmd(rp.admin, 'REPLICATE\tlow\t\t*', multi=False)
    ok = wait_all(rp.admin, t1, len(users), args.timeout)
    el = time.monotonic() - start
    res['resync users/s'] = '%.1f' % (len(users) / el) if ok else 'timeout'
    syncs = rp.log().count('sync on') or None
    cpu = cpu_seconds(rp.pid) - cpu0
    res['latency p50/p99 ms'] = '%.0f / %.0f' % tuple(x * 1000 for x in latency(a, b, list(users), args.mails))
    res['CPU us/sync'] = '%.0f' % (cpu * 1e6 / (2 * len(users)))
    res['RSS KiB'] = '%d (+%.2f KiB/user)' % (rss_kib(rp.pid), (rss_kib(rp.pid) - rss0) / len(users))
    stop_all()
    return res


def bench_dovecot(args, users):
    from fixtures import stop_all
    from replfix import backend_pair
    a, b = backend_pair(0, users=users, dovecot_replicator=True)
    a.start()
    create_inboxes(a)
    b.start()
    sock = os.path.join(a.base_dir, 'replicator-doveadm')
    res = {}
    t0 = int(time.time())
    start = time.monotonic()
    repl_cmd(sock, 'STATUS')           # starts A's replicator: it lists and syncs everyone
    ok = wait_all(sock, t0, len(users), args.timeout, notified=True)
    el = time.monotonic() - start
    res['first sync users/s'] = '%.1f' % (len(users) / el) if ok else 'timeout'
    time.sleep(1.1)
    t1 = int(time.time())
    start = time.monotonic()
    repl_cmd(sock, 'REPLICATE\tlow\t\t*', multi=False)
    ok = wait_all(sock, t1, len(users), args.timeout, notified=True)
    el = time.monotonic() - start
    res['resync users/s'] = '%.1f' % (len(users) / el) if ok else 'timeout'
    res['latency p50/p99 ms'] = '%.0f / %.0f' % tuple(x * 1000 for x in latency(a, b, list(users), args.mails))
    pids = [p for p in a.pids() if 'replicator' in open('/proc/%d/cmdline' % p).read()]
    res['CPU us/sync'] = '%.0f' % (cpu_seconds(pids[0]) * 1e6 / (2 * len(users))) if pids else '?'
    res['RSS KiB'] = '%d' % rss_kib(pids[0]) if pids else '?'
    stop_all()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--users', type=int, default=1000)
    ap.add_argument('--mails', type=int, default=100)
    ap.add_argument('--timeout', type=int, default=300)
    ap.add_argument('--only', default='mtool,dovecot')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    os.environ.setdefault('MTOOL', os.path.join(TOP, 'mtool'))
    os.environ.pop('MTOOL_ASAN', None)
    tmp = tempfile.mkdtemp(prefix='mtool-bench-replicator.')
    os.environ['TESTDIR'] = tmp
    os.chdir(tmp)
    users = {'user%d@example.org' % i: 'pass' for i in range(1, args.users + 1)}
    results = {}
    try:
        for target in args.only.split(','):
            results[target] = (bench_mtool if target == 'mtool' else bench_dovecot)(args, users)
            print(target, results[target], flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    keys = ['first sync users/s', 'resync users/s', 'latency p50/p99 ms', 'CPU us/sync', 'RSS KiB']
    print('\n## replication, %d users, replication_max_conns 10, %d LMTP deliveries' % (
        args.users, args.mails))
    print('| target | ' + ' | '.join(keys) + ' |')
    print('|---' * (len(keys) + 1) + '|')
    for t, r in results.items():
        print('| %s | %s |' % ('mtool replicatord' if t == 'mtool' else 'Dovecot 2.3 replicators',
                               ' | '.join(str(r.get(k, '')) for k in keys)))


if __name__ == '__main__':
    main()
