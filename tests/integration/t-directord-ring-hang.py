# SPDX-License-Identifier: MIT
"""A hung directord (SIGSTOP) in a ring with a real Dovecot 2.3 director and another
directord (director-ring.md T8): the two others drop it within Dovecot's ping timeouts
(director_ping_idle_timeout lowered to 3 s everywhere, the 15 s idle before a PING is fixed)
and serve new users; host changes issued meanwhile on directord and on Dovecot wait for the
ring and answer OK once it has healed (T11); after SIGCONT it rejoins and adopts the users
assigned meanwhile."""
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard  # noqa: E402
from ringfix import Ring, lookup_proxy  # noqa: E402
from directordfix import wait_until  # noqa: E402


def main():
    ring = Ring(['dovecot', 'mtool', 'mtool'], tag='h',
                settings={'director_ping_idle_timeout': '3s', 'director_ping_max_timeout': '6s'})
    try:
        ring.start()
        report(ring.wait_synced(), 'the ring (Dovecot + 2 directord) is synced')
        d0, m1, m2 = ring.dirs
        lookup_proxy(m2, ['before%d' % i for i in range(100)])
        os.kill(m1.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        # T11: host changes issued now wait for the ring to heal, then answer OK
        results = {}

        def add(d, ip):
            t = time.monotonic()
            r = d.director('add', ip, '50', check=False)
            results[d.name] = (r.returncode, r.stdout, r.stderr, time.monotonic() - t)
        th = [threading.Thread(target=add, args=a) for a in ((m2, '127.0.0.4'), (d0, '127.0.0.5'))]
        for x in th:
            x.start()
        healed = wait_until(lambda: all(ring.synced(d) and not any(
            r[0] == m1.ip and r[2] in ('left', 'right') for r in ring.status(d)) for d in (d0, m2)), 60)
        took = time.monotonic() - t0
        report(healed and took < 50, 'the other two drop the hung directord and sync without it '
               '(%.1f s)' % took)
        for x in th:
            x.join(60)
        a, b = results.get(m2.name), results.get(d0.name)
        report(a and b and a[:3] == b[:3] == (0, b'', b'') and a[3] > 2,
               'T11: director add during the hang waits for the ring and answers OK, on directord '
               '(%.1f s) as on Dovecot (%.1f s)' % (a[3] if a else -1, b[3] if b else -1), results)
        same = wait_until(lambda: len({tuple(ring.host_list(d)) for d in (d0, m2)}) == 1, 10)
        report(same, 'T11: both host changes reached both directors')
        got = lookup_proxy(m2, ['during%d' % i for i in range(100)], timeout=20)
        report(None not in got.values(), 'new users are assigned while it hangs')
        os.kill(m1.pid, signal.SIGCONT)
        t0 = time.monotonic()
        back = wait_until(lambda: all(ring.synced(d) for d in ring.dirs) and any(
            r[0] == m1.ip and r[2] in ('left', 'right') for r in ring.status(d0)), 60)
        report(back, 'after SIGCONT it rejoins and the ring of three syncs (%.1f s)' % (time.monotonic() - t0))
        ok = wait_until(lambda: ring.user_list(m1) == ring.user_list(d0), 10)
        report(ok, 'it adopted the users assigned while it hung (%d users)' % len(ring.user_list(d0)))
    finally:
        try:
            os.kill(ring.dirs[1].pid, signal.SIGCONT)
        except (OSError, TypeError):
            pass
        ring.stop()


if __name__ == '__main__':
    main_guard(main)
