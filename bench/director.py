#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""directord benchmarks (not tests: nothing passes or fails):

1. lookups/s on the proxy socket with 50 connections (50 proxies' worth of requests), each
   keeping 4 requests in flight, over 100,000 users: "lookup" (LOOKUP only) and "login"
   (LOOKUP + START + END, what one proxied login costs the director); directord's CPU per
   lookup from /proc.
2. the share of users whose host changes when a host is added to N equal hosts (100 vhosts
   each), over 100,000 users, against the ideal 1/(N+1).

    python3 bench/director.py [--conns 50] [--total 500000] [--users 100000] [--runs 3]

Uses the integration fixture (tests/integration/directordfix.py) and ./mtool
(MTOOL=... for another binary); builds build/bench/dirload (make -C bench)."""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))
CLK_TCK = os.sysconf('SC_CLK_TCK')


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        st = f.read()
    fields = st[st.rindex(')') + 2:].split()
    return sum(int(x) for x in fields[11:13]) / CLK_TCK


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--conns', type=int, default=50)
    ap.add_argument('--total', type=int, default=500000)
    ap.add_argument('--users', type=int, default=100000)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--depth', type=int, default=4)
    args = ap.parse_args()
    os.environ.setdefault('MTOOL', os.path.join(TOP, 'mtool'))
    os.environ.pop('MTOOL_ASAN', None)
    tmp = tempfile.mkdtemp(prefix='mtool-bench-director.')
    os.environ['TESTDIR'] = tmp
    subprocess.run(['make', '-s', '-C', os.path.join(TOP, 'bench')], check=True)
    dirload = os.path.join(TOP, 'build', 'bench', 'dirload')
    import fixtures
    from directordfix import Directord, admin_lines

    try:
        print('## directord lookups/s, %d connections x %d in flight, %d users, %d lookups per run'
              % (args.conns, args.depth, args.users, args.total))
        print('| mode | lookups/s (median) | [min-max] | directord CPU us/lookup |')
        print('|---|---|---|---|')
        for mode in ('lookup', 'login'):
            rates, cpus = [], []
            for run in range(args.runs):
                dd = Directord('dd-%s-%d' % (mode, run), hosts=['127.0.0.%d' % i for i in range(2, 12)],
                               settings={'director_state_file': ''}).start()
                c0 = cpu_seconds(dd.pid)
                r = subprocess.run([dirload, dd.proxy_socket, str(args.conns), str(args.total),
                                    str(args.users), mode, str(args.depth)],
                                   stdout=subprocess.PIPE, check=True)
                c1 = cpu_seconds(dd.pid)
                n, secs, rate = r.stdout.split()
                rates.append(float(rate))
                cpus.append((c1 - c0) / int(n) * 1e6)
                dd.stop()
            print('| %s | %.0f | %.0f-%.0f | %.2f |' % (mode, statistics.median(rates), min(rates),
                                                       max(rates), statistics.median(cpus)))

        print()
        print('## share of %d users moved when a host is added (100 vhosts each)' % args.users)
        print('| hosts before | moved | ideal 1/(N+1) |')
        print('|---|---|---|')
        users = ['user%d@example.org' % i for i in range(args.users)]
        for n in (2, 3, 4, 5, 10, 20):
            dd = Directord('dd-share-%d' % n, hosts=['10.0.0.%d' % i for i in range(1, n + 1)],
                           settings={'director_state_file': ''}).start()
            cmds = ['USER-LOOKUP\t%s\t' % u for u in users]
            before = [l.split('\t')[2] for l in admin_lines(dd.admin_socket, cmds)]
            dd.director('add', '10.0.0.%d' % (n + 1))
            after = [l.split('\t')[2] for l in admin_lines(dd.admin_socket, cmds)]
            moved = sum(1 for a, b in zip(before, after) if a != b)
            wrong = sum(1 for a, b in zip(before, after) if a != b and b != '10.0.0.%d' % (n + 1))
            dd.stop()
            print('| %d | %.2f %%%s | %.2f %% |' % (n, 100.0 * moved / len(users),
                                                ' (%d not to the new host!)' % wrong if wrong else '',
                                                100.0 / (n + 1)))
    finally:
        fixtures.stop_all()
        subprocess.run(['rm', '-rf', tmp])


if __name__ == '__main__':
    main()
