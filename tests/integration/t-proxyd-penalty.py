# SPDX-License-Identifier: MIT
"""Dovecot's auth penalty per client address, against a real Dovecot backend: after each
failed login from an address its next login waits 4, 8, 15 s before the passdb lookup; a
success resets it; the same wrong user+password again does not make it grow (a stale
password, not a guesser); addresses in login_trusted_networks never wait; `service anvil
{ unix_listener anvil-auth-penalty { mode = 0 } }` turns it off, as in Dovecot. Three
addresses run at the same time (about 12 s in all)."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard  # noqa: E402
from mtoolfix import Proxyd  # noqa: E402

USER = 'user1@example.org'


def attempt(px, src, password):
    """One IMAP LOGIN from src on a new connection: (reply, seconds to the reply)."""
    c = RawClient('127.0.0.1', px.imap_port, source_ip=src, timeout=30)
    c.line()
    t0 = time.monotonic()
    c.send(b'a LOGIN %s %s\r\n' % (USER.encode(), password.encode()))
    reply = c.until(b'a ')[-1]
    took = time.monotonic() - t0
    c.close()
    return reply, took


def run_series(px, src, passwords, out):
    out[src] = [attempt(px, src, p) for p in passwords]


def fmt(series):
    return ', '.join('%s %.1fs' % (r[:10], t) for r, t in series)


def main():
    with DovecotBackend('be') as be:
        hp = 'proxy host=127.0.0.1 port=%d' % be.imap_port
        px = Proxyd(users={USER: hp}, trusted_networks='127.0.0.23').start()
        out = {}
        series = {
            '127.0.0.21': ['wrong1', 'wrong2', 'pass', 'wrong3'],    # grows 0, 4, 8; reset by the success
            '127.0.0.22': ['stale', 'stale', 'stale'],               # the same pair: stays at 4
            '127.0.0.23': ['wrong1', 'wrong2', 'wrong3', 'pass'],    # trusted: never waits
        }
        threads = [threading.Thread(target=run_series, args=(px, src, pw, out)) for src, pw in series.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)

        a = out.get('127.0.0.21', [])
        ok = len(a) == 4 and a[0][1] < 1.5 and 3.5 <= a[1][1] < 5.5 and 7.5 <= a[2][1] < 9.5 and a[3][1] < 1.5
        report(ok and a[2][0].startswith(b'a OK'),
               'failures from one address: the next login waits 0, 4, 8 s; the success resets it (next: 0 s)',
               fmt(a))
        report(all(r.startswith(b'a NO [AUTHENTICATIONFAILED]') for r, _ in (a[:2] + a[3:])),
               'failed logins are answered with Dovecot\'s AUTHENTICATIONFAILED', fmt(a))
        b = out.get('127.0.0.22', [])
        ok = len(b) == 3 and b[0][1] < 1.5 and 3.5 <= b[1][1] < 5.5 and 3.5 <= b[2][1] < 5.5
        report(ok, 'the same wrong user+password again: the wait stays at 4 s', fmt(b))
        c = out.get('127.0.0.23', [])
        report(len(c) == 4 and all(t < 1.5 for _, t in c) and c[3][0].startswith(b'a OK'),
               'login_trusted_networks: never waits', fmt(c))
        px.stop()
        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))

        px = Proxyd(name='nopenalty', users={USER: hp},
                    extra_conf='service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n').start()
        d = [attempt(px, '127.0.0.24', p) for p in ('wrong1', 'wrong2', 'pass')]
        report(all(t < 1.5 for _, t in d) and d[2][0].startswith(b'a OK'),
               'anvil-auth-penalty mode = 0 turns the penalty off', fmt(d))
        px.stop()


if __name__ == '__main__':
    main_guard(main)
