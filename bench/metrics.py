#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What metrics cost proxyd: CPU per login with and without the /metrics endpoint (scraped
every second), and the time of one scrape with 10,000 proxied sessions.

    python3 bench/metrics.py [--runs 3] [--logins 10000] [--clients 20] [--sessions 10000]
                             [--base-mtool PATH] [--scrapes 20] [--keep]

Part 1 (logins): a real Dovecot backend tuned as in bench/run.py; `loadgen login` with
--clients connections at a time (20 gives about 1,000 logins/s on the 2-core build
machine); targets, runs interleaved: mtool proxyd without `service stats`, the same with
the endpoint and a scraper thread fetching /metrics every second, and, with --base-mtool,
a build from before the metrics (f997cfc) for the cost of the counters themselves.
Part 2 (scrape): proxyd in front of a small fake IMAP backend (bench/fakeimap.py: one
asyncio process that says OK to every login, so that 10,000 sessions need no 10,000
Dovecot processes); `loadgen hold` opens --sessions logged-in sessions; then --scrapes
scrapes, timed from connect to the last byte, and proxyd's CPU per scrape (schedstat).
bench/metricsupd.c times the registry alone: ns per counter update, histogram observation
and clock read. Not a test: nothing passes or fails. Results: bench/README.md."""

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as benchrun  # noqa: E402
from run import TOP, log, cpu_seconds, cpu_ns, loadgen, wait_quiet  # noqa: E402


def scrape(port):
    """(seconds from connect to the last byte, body length)"""
    t0 = time.monotonic()
    s = socket.create_connection(('127.0.0.1', port), timeout=30)
    s.sendall(b'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    n = 0
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        n += len(b)
    s.close()
    return time.monotonic() - t0, n


class Scraper(threading.Thread):
    """Scrapes every interval seconds until stopped, as Prometheus would (but more often)."""

    def __init__(self, port, interval=1.0):
        super().__init__(daemon=True)
        self.port, self.interval, self.n = port, interval, 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(self.interval):
            scrape(self.port)
            self.n += 1


def start_proxyd(name, backend_port, args, http_port=0, mtool=None):
    from mtoolfix import Proxyd
    import mtoolfix
    fields = 'proxy host=127.0.0.1 port=%d' % backend_port
    users = {u: ('pass', fields) for u in benchrun.backend_users(args.users)}
    extra = ('service stats {\n  inet_listener http {\n    address = 127.0.0.1\n    port = %d\n  }\n}\n'
             % http_port) if http_port else ''
    saved = mtoolfix.MTOOL
    if mtool:
        mtoolfix.MTOOL = mtool
    try:
        px = Proxyd(name, users=users, trusted_networks='127.0.0.0/8', extra_conf=extra).start()
    finally:
        mtoolfix.MTOOL = saved
    return px


def bench_logins(args):
    from fixtures import free_port, stop
    be = benchrun.start_backend(argparse.Namespace(sessions=500, clients=args.clients, users=args.users))
    http = free_port()
    targets = [('no endpoint', start_proxyd('px-plain', be.imap_port, args), None),
               ('endpoint, scraped every 1 s', start_proxyd('px-http', be.imap_port, args, http), http)]
    if args.base_mtool:
        targets.append(('before metrics (base build)',
                        start_proxyd('px-base', be.imap_port, args, mtool=args.base_mtool), None))
    res = {label: [] for label, _, _ in targets}
    for run in range(args.runs):
        for label, px, port in targets:
            loadgen('login', '-p', px.imap_port, '-c', args.clients, '-n', 500, '-u', args.users)
            wait_quiet()
            sc = Scraper(port) if port else None
            if sc:
                sc.start()
            c0 = cpu_seconds([px.pid])
            r = loadgen('login', '-p', px.imap_port, '-c', args.clients, '-n', args.logins, '-u', args.users)
            c1 = cpu_seconds([px.pid])
            if sc:
                sc.stopping.set()
                sc.join()
            n = int(r['logins'])
            row = {'rate': float(r['rate']), 'cpu_ms': (c1 - c0) * 1000 / n,
                   'scrapes': sc.n if sc else 0}
            res[label].append(row)
            log('run %d %-30s %7.1f logins/s  proxyd %.4f ms/login  (%d scrapes)'
                % (run + 1, label, row['rate'], row['cpu_ms'], row['scrapes']))
    stop(*[px for _, px, _ in targets])
    stop(be)
    return res


def bench_scrape(args):
    from fixtures import free_port, stop
    fport = free_port()
    fake = subprocess.Popen([sys.executable, os.path.join(HERE, 'fakeimap.py'), str(fport)],
                            stdout=subprocess.PIPE, text=True)
    if not fake.stdout.readline().startswith('ready'):
        raise RuntimeError('fakeimap did not start')
    http = free_port()
    px = start_proxyd('px-scrape', fport, args, http)
    out = {}
    try:
        phases = [('0 sessions', 0, 0)]
        if args.relayed < args.sessions:
            phases.append(('%d relayed + %d pre-login' % (args.relayed, args.sessions - args.relayed),
                           args.relayed, args.sessions - args.relayed))
        else:
            phases.append(('%d relayed' % args.sessions, args.sessions, 0))
        for phase, n, npre in phases:
            hold, pre = None, []
            if n:
                hold, _ = benchrun.hold_sessions(px.imap_port, argparse.Namespace(
                    sessions=n, clients=50, users=args.users))
            for i in range(npre):
                s = socket.create_connection(('127.0.0.1', px.imap_port))
                s.recv(1024)    # the greeting: proxyd has made its client
                pre.append(s)
            times, cpus, size = [], [], 0
            for i in range(args.scrapes):
                c0 = cpu_ns([px.pid])
                t, size = scrape(http)
                cpus.append((cpu_ns([px.pid]) - c0) / 1e6)
                times.append(t * 1000)
            out[phase] = {'ms': statistics.median(times), 'max': max(times),
                          'cpu_ms': statistics.median(cpus), 'bytes': size}
            log('%-16s scrape %.2f ms median (max %.2f), proxyd CPU %.3f ms, %d bytes'
                % (phase, out[phase]['ms'], out[phase]['max'], out[phase]['cpu_ms'], size))
            if hold:
                benchrun.release_sessions(hold)
            for s in pre:
                s.close()
    finally:
        stop(px)
        fake.terminate()
        fake.wait()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--logins', type=int, default=10000, help='logins per run (default 10000)')
    ap.add_argument('--clients', type=int, default=20, help='concurrent clients (default 20)')
    ap.add_argument('--users', type=int, default=200)
    ap.add_argument('--sessions', type=int, default=10000, help='sessions for the scrape (default 10000)')
    ap.add_argument('--scrapes', type=int, default=20)
    ap.add_argument('--base-mtool', help='an mtool built before the metrics, for comparison')
    ap.add_argument('--only', default='login,scrape')
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('--quiet-limit', type=float, default=15.0,
                    help='wait until the machine is below this %% of a core busy (0: do not wait)')
    ap.add_argument('--quiet-wait', type=float, default=30.0, help='... but at most this many seconds')
    args = ap.parse_args()
    only = set(args.only.split(','))
    benchrun.QUIET.update(limit=args.quiet_limit, max_wait=args.quiet_wait, enabled=args.quiet_limit > 0)
    subprocess.run(['make', '-s', '-C', TOP, 'mtool'], check=True)
    subprocess.run(['make', '-s', '-C', HERE], check=True)
    # proxyd needs 2 descriptors per relayed session: what the hard limit does not allow
    # is made up with pre-login connections (1 descriptor each), so that the daemon still
    # holds --sessions sessions
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2 * args.sessions + 2000:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (2 * args.sessions + 2000,) * 2)
            hard = 2 * args.sessions + 2000
        except (ValueError, OSError):
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    args.relayed = args.sessions if hard == resource.RLIM_INFINITY else \
        min(args.sessions, (hard - args.sessions - 2000) if hard < 2 * args.sessions + 2000 else args.sessions)
    if args.relayed < args.sessions:
        log('RLIMIT_NOFILE hard limit %d: %d relayed + %d pre-login sessions'
            % (hard, args.relayed, args.sessions - args.relayed))
    scratch = tempfile.mkdtemp(prefix='mtool-bench-metrics.')
    os.environ['TESTDIR'] = scratch
    os.environ['MTOOL'] = os.environ.get('MTOOL') or os.path.join(TOP, 'mtool')
    sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))
    import fixtures
    try:
        r = subprocess.run([os.path.join(TOP, 'build', 'bench', 'metricsupd')], check=True,
                           stdout=subprocess.PIPE, text=True)
        upd = benchrun.kv(r.stdout)
        print('\n| one update (bench/metricsupd.c) | ns |\n|---|---:|')
        print('| login counter, 36th of 36 series | %s |\n| byte counter, 10 series | %s |\n'
              '| histogram observation | %s |\n| monotonic clock read (two per passdb lookup) | %s |'
              % (upd['login_counter_ns'], upd['bytes_counter_ns'], upd['histogram_ns'], upd['clock_ns']))
        if 'login' in only:
            res = bench_logins(args)
            print('\n| proxyd | logins/s | proxyd CPU ms/login |\n|---|---:|---:|')
            for label, rows in res.items():
                rates = [r['rate'] for r in rows]
                cpu = [r['cpu_ms'] for r in rows]
                print('| %s | %.0f [%.0f-%.0f] | %.4f [%.4f-%.4f] |' % (
                    label, statistics.median(rates), min(rates), max(rates),
                    statistics.median(cpu), min(cpu), max(cpu)))
        if 'scrape' in only:
            out = bench_scrape(args)
            print('\n| sessions | scrape ms (median, max) | proxyd CPU ms per scrape | bytes |\n|---|---:|---:|---:|')
            for phase, r in out.items():
                print('| %s | %.2f, %.2f | %.3f | %d |' % (phase, r['ms'], r['max'], r['cpu_ms'], r['bytes']))
    finally:
        fixtures.stop_all()
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == '__main__':
    main()
