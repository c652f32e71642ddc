# SPDX-License-Identifier: MIT
"""auth_failure_delay: a failed login is answered only after the delay, the client's
pipelined input waits meanwhile, and nobody else waits: another client logs in at once."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard
from mtoolfix import Proxyd


def main():
    with DovecotBackend('be') as be:
        hp = 'proxy host=127.0.0.1 port=%d' % be.imap_port
        with Proxyd(users={'user1@example.org': hp, 'quick@example.org': hp + ' nodelay'},
                    settings={'auth_failure_delay': '1500 ms'}) as px:
            slow = RawClient('127.0.0.1', px.imap_port, timeout=10)
            slow.line()
            t0 = time.monotonic()
            slow.send(b'a LOGIN user1@example.org wrong\r\nb NOOP\r\n')
            # from another address: the auth penalty (t-proxyd-penalty) holds 127.0.0.1 now
            other = RawClient('127.0.0.1', px.imap_port, source_ip='127.0.0.2', timeout=10)
            other.line()
            other.send(b'x LOGIN user1@example.org pass\r\n')
            ol = other.until(b'x ')[-1]
            t_other = time.monotonic() - t0
            sl = slow.line()
            t_slow = time.monotonic() - t0
            nl = slow.line()
            report(sl == b'a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n' and t_slow >= 1.3,
                   'the failure is answered after auth_failure_delay', '%r after %.2fs' % (sl, t_slow))
            report(nl == b'b OK NOOP completed.\r\n', 'the command pipelined behind it is answered next', nl)
            report(ol.startswith(b'x OK') and t_other < 1.0,
                   'another client is not held up by the delay', '%r after %.2fs' % (ol, t_other))
            slow.close()
            other.close()

            # a fresh address: the penalty applies before the passdb says nodelay, as Dovecot's
            q = RawClient('127.0.0.1', px.imap_port, source_ip='127.0.0.3', timeout=10)
            q.line()
            t0 = time.monotonic()
            q.send(b'a LOGIN quick@example.org wrong\r\n')
            ql = q.line()
            took = time.monotonic() - t0
            report(ql.startswith(b'a NO') and took < 1.0, 'nodelay: a failure is answered at once',
                   '%r after %.2fs' % (ql, took))
            q.close()
        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))


main_guard(main)
