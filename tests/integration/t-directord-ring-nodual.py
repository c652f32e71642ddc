# SPDX-License-Identifier: MIT
"""No dual backend in a mixed ring (director-ring.md T6): a real Dovecot 2.3 director and
two directord. Each directord has a proxy (a test client speaking the director-proxy
protocol, as proxyd does) that keeps logging users in and holding their sessions, ending a
session when directord kicks it. Meanwhile users are moved on every director (the Dovecot
one included) and hosts are flushed (`director flush --max-parallel 2`) again and again. The
proxies record every session as (user, backend, start, end) on the test's clock; the test
fails if one user was ever on two backends at the same time."""
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard  # noqa: E402
from ringfix import Ring, ProxyConn  # noqa: E402

HOSTS = ('127.0.0.2', '127.0.0.3')
USERS = ['hold%d@example.org' % i for i in range(30)]
RUN_SECS = 12


class Proxy(threading.Thread):
    """logs users in through one directord and holds them until kicked (or a while)"""

    def __init__(self, d, name, log, stop):
        super().__init__(daemon=True)
        self.pc = ProxyConn(d)
        self.name_ = name
        self.log = log
        self.stop = stop
        self.lock = threading.Lock()
        self.open = {}          # guid -> (user, host, start)
        self.dying = {}         # guid -> when its END goes out
        self.n = 0
        self.logins = 0
        self.kicked = 0

    def end(self, guid):
        user, host, start = self.open.pop(guid)
        self.pc.send('END\t%s' % guid)
        self.log.append((user, host, start, time.monotonic(), self.name_))

    def run(self):
        rnd = random.Random(hash(self.name_))
        while not self.stop.is_set():
            now = time.monotonic()
            for l in self.pc.kicks(0):
                if l[0] == 'KICK' and l[1] in self.open and l[1] not in self.dying:
                    # a kicked session takes a while to die on the backend
                    self.kicked += 1
                    self.dying[l[1]] = now + rnd.uniform(0, 1.5)
            for guid, when in list(self.dying.items()):
                if now >= when:
                    del self.dying[guid]
                    self.end(guid)
            # end an old session now and then
            for guid, (u, h, st) in list(self.open.items()):
                if guid not in self.dying and time.monotonic() - st > rnd.uniform(1, 4):
                    self.end(guid)
            user = rnd.choice(USERS)
            host = self.pc.lookup(user, timeout=0.5)
            if host is None:
                continue        # held (a move in progress): try another user
            self.n += 1
            guid = '%s-%d' % (self.name_, self.n)
            # START goes out before the backend is reached, as proxyd does
            self.pc.send('START\t%s\t%s\t\t%s' % (guid, user, host))
            self.open[guid] = (user, host, time.monotonic())
            self.logins += 1
            time.sleep(0.01)
        for guid in list(self.open):
            self.end(guid)


def overlaps(log):
    by_user = {}
    for user, host, start, end, who in log:
        by_user.setdefault(user, []).append((start, end, host, who))
    bad = []
    for user, ivs in by_user.items():
        ivs.sort()
        for i, (s1, e1, h1, w1) in enumerate(ivs):
            for s2, e2, h2, w2 in ivs[i + 1:]:
                if s2 >= e1:
                    break
                if h1 != h2:
                    bad.append('%s: %s via %s [%.3f, %.3f] and %s via %s [%.3f, %.3f]' %
                               (user, h1, w1, s1, e1, h2, w2, s2, e2))
    return bad


def main():
    ring = Ring(['dovecot', 'mtool', 'mtool'], tag='nd', hosts=HOSTS,
                settings={'director_user_kick_delay': '1s'})
    try:
        ring.start()
        report(ring.wait_synced(), 'the ring (Dovecot + 2 directord) is synced')
        d0, m1, m2 = ring.dirs
        log = []
        stop = threading.Event()
        proxies = [Proxy(m1, 'm1', log, stop), Proxy(m2, 'm2', log, stop)]
        for p in proxies:
            p.start()
        rnd = random.Random(7)
        moves = flushes = 0
        deadline = time.monotonic() + RUN_SECS
        while time.monotonic() < deadline:
            d = rnd.choice(ring.dirs)
            if rnd.random() < 0.8:
                d.director('move', rnd.choice(USERS), rnd.choice(HOSTS), check=False)
                moves += 1
            else:
                # make the hash disagree with the assignments, then flush them back
                ring.dirs[0].director('update', HOSTS[0], str(rnd.choice((20, 100, 300))), check=False)
                d.director('flush', '--max-parallel', '2', check=False)
                flushes += 1
            time.sleep(0.2)
        stop.set()
        for p in proxies:
            p.join(30)
        logins = sum(p.logins for p in proxies)
        kicked = sum(p.kicked for p in proxies)
        report(logins > 100 and kicked > 10,
               'sessions held through both directord while users moved: %d logins, %d kicked, '
               '%d moves, %d flushes' % (logins, kicked, moves, flushes))
        bad = overlaps(log)
        report(not bad, 'no user was ever on two backends at once (%d sessions recorded)' % len(log),
               '\n'.join(bad[:10]))
        report(ring.wait_synced(10), 'the ring is synced at the end')
    finally:
        ring.stop()


if __name__ == '__main__':
    main_guard(main)
