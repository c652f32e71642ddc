# SPDX-License-Identifier: MIT
"""Expiry in a mixed ring (director-ring.md T12, T13), director_user_expire = 10 s everywhere
(the minimum; "near expiry" is then its last 3 s): a session held through directord for
2.5 x the expiry keeps its user alive on the Dovecot director too (directord floods USER
while proxyd reports the session); a user near expiry whose hash moved to another host
gets a USER-WEAK round started by directord before its login is answered, and stays on
its host on every director."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard  # noqa: E402
from ringfix import Ring, lookup_proxy, ProxyConn  # noqa: E402
from directordfix import admin_lines  # noqa: E402

EXPIRE = 10


def current(d, user):
    return admin_lines(d.admin_socket, ['USER-LOOKUP\t%s' % user])[0].split('\t')


def main():
    ring = Ring(['dovecot', 'mtool', 'mtool'], tag='e',
                settings={'director_user_expire': '%ds' % EXPIRE},
                dovecot_settings={'log_debug': 'category=director'})
    try:
        ring.start()
        report(ring.wait_synced(), 'the ring (Dovecot + 2 directord) is synced')
        d0, m1, m2 = ring.dirs
        # a long session through directord 1
        pc = ProxyConn(m1)
        held = 'longsession@example.org'
        host = pc.lookup(held)
        pc.send('START\tlong1\t%s\t\t%s' % (held, host))
        # users assigned now, then their hash moves: 127.0.0.2 keeps 1 vhost
        users = ['weak%d@example.org' % i for i in range(40)]
        t0 = time.monotonic()
        first = lookup_proxy(m1, users)
        r = d0.director('update', '127.0.0.2', '1', check=False)
        report(r.returncode == 0, 'update 127.0.0.2 1 on Dovecot: OK', r.stderr)
        moved = [u for u in users if first[u] == '127.0.0.2' and current(d0, u)[2] != '127.0.0.2']
        report(moved, '%d users are on 127.0.0.2 with their hash elsewhere now' % len(moved))
        # near expiry: the last 3 s before timestamp + 10, in whole seconds (a timestamp
        # is the second t0 fell in): 8.6 s after t0 is in that window, and before expiry
        time.sleep(max(0, EXPIRE - 1.4 - (time.monotonic() - t0)))
        again = lookup_proxy(m2, moved)
        report(all(again[u] == '127.0.0.2' for u in moved),
               'T12: near expiry, their logins through directord 2 stay on their host', again)
        log = open(d0.log_path, errors='replace').read()
        report('USER-WEAK\t%s' % m2.ip in log,
               'T12: the Dovecot director saw directord\'s USER-WEAK round')
        same = all(current(d, u)[0] == '127.0.0.2' for d in ring.dirs for u in moved)
        report(same, 'T12: every director has them on 127.0.0.2')
        logs = ''.join(open(d.log_path, errors='replace').read() for d in ring.dirs)
        report('redirected to two hosts' not in logs, 'T12: no director saw a conflict')
        # T13: 2.5 x the expiry after the session started, every director still has it
        time.sleep(max(0, 2.5 * EXPIRE - (time.monotonic() - t0)))
        have = [(d.name, current(d, held)[0]) for d in ring.dirs]
        report(all(h == host for _, h in have),
               'T13: a session held for 2.5 x director_user_expire keeps its user on every director', have)
        pc.send('END\tlong1')
        pc.close()
    finally:
        ring.stop()


if __name__ == '__main__':
    main_guard(main)
