# SPDX-License-Identifier: MIT
"""directord's safe moves, seen from proxies that do not end their sessions at once (test
proxies speaking the director-proxy protocol over directord's socket, with the real doveadm
as the admin): a moved user's sessions are kicked and its new logins are held until they
have ended; a second move meanwhile is refused as Dovecot refuses it; a session that
started on the old host is kicked too; `flush --max-parallel 5` never has more than 5 users
waiting for their sessions to end; -F only drops assignments; a proxy that goes away takes
its sessions with it; an assignment never expires while a session is open and expires
director_user_expire after the last one ended."""
import os
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard  # noqa: E402
from directordfix import Directord, admin_lines  # noqa: E402

A, B = '127.0.0.2', '127.0.0.3'


class FakeProxy:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b''
        self.send('VERSION\tmtool-director\t1\t0')
        assert self.line(5) == 'VERSION\tmtool-director\t1\t0'

    def send(self, *lines):
        self.s.sendall(b''.join(l.encode() + b'\n' for l in lines))

    def line(self, timeout):
        deadline = time.monotonic() + timeout
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return None
            d = self.s.recv(65536)
            if not d:
                return None
            self.buf += d
        l, self.buf = self.buf.split(b'\n', 1)
        return l.decode()

    def lines(self, timeout):
        """every line that arrives within timeout"""
        out = []
        while True:
            l = self.line(timeout)
            if l is None:
                return out
            out.append(l)

    def close(self):
        self.s.close()


def main():
    dd = Directord(hosts=[A, B], settings={'director_user_kick_delay': '1s',
                                           'director_lookup_timeout': '20s'}).start()
    p1 = FakeProxy(dd.proxy_socket)
    p2 = FakeProxy(dd.proxy_socket)
    u = 'mover@example.org'
    p1.send('LOOKUP\t1\t%s\t' % u)
    host = p1.line(5).split('\t')
    report(host[:2] == ['HOST', '1'] and host[2] in (A, B), 'LOOKUP answered with a host', host)
    old = host[2]
    new = B if old == A else A
    p1.send('START\tg1\t%s\t\t%s' % (u, old))

    r = dd.director('move', u, new, check=False)
    report(r.returncode == 0, 'doveadm director move: OK', r.stderr)
    kick = p1.line(5)
    report(kick is not None and kick.startswith('KICK\tg1\t'), 'the proxy holding the session got KICK', kick)
    p2.send('LOOKUP\t7\t%s\t' % u)
    held = p2.line(1.0)
    report(held is None, 'a new login for the user is held while its old session is open', held)
    r = dd.director('move', u, old, check=False)
    report(r.returncode == 75 and b'User is already being moved' in r.stderr,
           'a second move meanwhile: "User is already being moved" (exit 75, as Dovecot)', r)
    p1.send('END\tg1')
    got = p2.line(10)
    report(got == 'HOST\t7\t%s\t' % new, 'after the session ended (and the kick delay) the login goes to the new host', got)

    # a login that raced the move: START on the old host is kicked at once
    p2.send('START\tg2\t%s\t\t%s' % (u, old))
    kick = p2.line(5)
    report(kick is not None and kick.startswith('KICK\tg2\t'), 'a session started on the old host is kicked', kick)
    p2.send('END\tg2')
    time.sleep(1.2)

    # flush --max-parallel 5: 30 users with open sessions on A; B goes down, then flush
    users = ['fl%d@example.org' % i for i in range(200)]
    p1.send(*['LOOKUP\t%d\t%s\t' % (100 + i, x) for i, x in enumerate(users)])
    replies = [p1.line(5) for _ in users]
    on_b = [x for x, r in zip(users, replies) if r.split('\t')[2] == B][:30]
    for i, x in enumerate(on_b):
        p1.send('START\tf%d\t%s\t\t%s' % (i, x, B))
    dd.director('down', B)
    flush = subprocess.Popen(['doveadm', '-c', dd.doveadm_conf, 'director', 'flush', '-a',
                              dd.admin_socket, '--max-parallel', '5', B],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = [l for l in p1.lines(1.0) if l.startswith('KICK')]
    report(len(first) == 5, 'flush --max-parallel 5: 5 users kicked at first, the rest wait', first)
    peak, kicked = len(first), list(first)
    pending = list(first)
    while pending:
        # end two sessions, see at most two more kicks
        for k in pending[:2]:
            p1.send('END\t%s' % k.split('\t')[1])
        pending = pending[2:]
        more = [l for l in p1.lines(0.5) if l.startswith('KICK')]
        kicked += more
        pending += more
        peak = max(peak, len(pending))
    out, err = flush.communicate(timeout=30)
    report(flush.returncode == 0 and len(kicked) == 30 and peak <= 5,
           'all 30 moved, never more than 5 waiting at once (peak %d)' % peak,
           (flush.returncode, err, len(kicked)))
    lst = admin_lines(dd.admin_socket, ['USER-LIST\t%s' % B])[0]
    report(lst == [], 'no user left on the down host', lst)

    # -F drops assignments without kicking
    dd.director('up', B)
    p2.send('LOOKUP\t900\tforce@example.org\t')
    fh = p2.line(5).split('\t')[2]
    p2.send('START\tff\tforce@example.org\t\t%s' % fh)
    time.sleep(0.2)
    r = dd.director('flush', '-F', fh, check=False)
    report(r.returncode == 0 and p2.lines(1.0) == [], 'flush -F: OK and no kick')
    cur = admin_lines(dd.admin_socket, ['USER-LOOKUP\tforce@example.org\t'])[0].split('\t')
    report(cur[0] == '', 'flush -F dropped the assignment', cur)

    # a proxy that goes away: its sessions end, so the user's expiry starts
    p3 = FakeProxy(dd.proxy_socket)
    p3.send('LOOKUP\t1\tgone@example.org\t')
    h = p3.line(5).split('\t')[2]
    p3.send('START\tz1\tgone@example.org\t\t%s' % h)
    time.sleep(0.2)
    p3.close()
    report(dd.wait_log(r'proxy connection closed \(Disconnected\); its 1 sessions are forgotten') is not None,
           'a closed proxy connection forgets its sessions', dd.log()[-500:])
    p1.close()
    p2.close()
    dd.stop()
    bad = dd.check_log()
    report(not bad, 'no sanitizer reports in the log', '\n'.join(bad))

    # expiry: never while a session is open, director_user_expire after the last one ended
    dd = Directord('directord-expire', hosts=[A, B], settings={'director_user_expire': '10s'}).start()
    p = FakeProxy(dd.proxy_socket)
    p.send('LOOKUP\t1\tstay@example.org\t')
    h = p.line(5).split('\t')[2]
    p.send('START\ts1\tstay@example.org\t\t%s' % h)
    time.sleep(12)
    cur = admin_lines(dd.admin_socket, ['USER-LOOKUP\tstay@example.org\t'])[0].split('\t')
    report(cur[0] == h, 'a user with an open session is still assigned after director_user_expire', cur)
    st = dd.director('status', 'stay@example.org').stdout.decode()
    report(st.startswith('Current: %s (expires ' % h), 'status USER shows Current with its expiry', st)
    p.send('END\ts1')
    time.sleep(0.3)
    cur = admin_lines(dd.admin_socket, ['USER-LOOKUP\tstay@example.org\t'])[0].split('\t')
    ended = time.time()
    report(cur[0] == h and abs(int(cur[1]) - (ended + 10)) <= 2,
           'after the session ended the assignment stays, expiring 10 s later', (cur, ended))

    def gone():
        return admin_lines(dd.admin_socket, ['USER-LOOKUP\tstay@example.org\t'])[0].split('\t')[0] == ''
    deadline = time.monotonic() + 30
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.5)
    report(gone() and time.time() >= ended + 9, 'then it expires (Current: n/a)')
    p.close()
    dd.stop()


main_guard(main)
