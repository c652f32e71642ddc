# SPDX-License-Identifier: MIT
"""bench/lmtp.py: LMTP delivery through mtool proxyd's LMTP proxy vs. straight into the
real Dovecot LMTP backends, and proxyd's peak memory while a large message passes.

    python3 bench/lmtp.py [--messages 200] [--size-kib 100] [--big-mib 100] [--keep]

Two real Dovecot backends (tests/integration fixtures); each transaction has two
recipients, one per backend. Reported: transactions/s (one client, sequential), proxyd's
CPU per transaction, and proxyd's VmHWM (peak RSS) before and after one --big-mib message to
both backends. Not a test: nothing passes or fails."""

import argparse
import os
import shutil
import smtplib
import sys
import tempfile
import time

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(top, 'tests', 'integration'))
os.environ.setdefault('MTOOL', os.path.join(top, 'mtool'))
scratch = tempfile.mkdtemp(prefix='mtool-bench-lmtp.')
os.environ['TESTDIR'] = scratch
os.chmod(scratch, 0o711)

import fixtures  # noqa: E402  (TESTDIR must be set first)
from lmtpfix import lmtp_backend, start_lmtp_backend, transaction  # noqa: E402
from mtoolfix import Proxyd  # noqa: E402


def status(pid, key):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return 0


def cpu_ms(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf('SC_CLK_TCK')


def run(port, rcpts, n, msg):
    lm = smtplib.LMTP('127.0.0.1', port)
    lm.docmd('LHLO', 'bench')
    t0 = time.monotonic()
    for _ in range(n):
        rr, dr = transaction(lm, rcpts, msg)
        assert [c for c, _ in dr] == [250] * len(rcpts), (rr, dr)
    dt = time.monotonic() - t0
    lm.quit()
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--messages', type=int, default=200)
    ap.add_argument('--size-kib', type=int, default=100)
    ap.add_argument('--big-mib', type=int, default=100)
    ap.add_argument('--keep', action='store_true')
    a = ap.parse_args()
    body = (b'x' * 76 + b'\r\n') * (a.size_kib * 1024 // 78 + 1)
    msg = b'Subject: bench\r\n\r\n' + body
    be1 = start_lmtp_backend(lmtp_backend('be1'))
    be2 = start_lmtp_backend(lmtp_backend('be2'))
    users = {'user1@example.org': 'proxy host=127.0.0.1 port=%d' % be1.lmtp_port,
             'user2@example.org': 'proxy host=127.0.0.1 port=%d' % be2.lmtp_port}
    try:
        with Proxyd(users=users, lmtp=True, settings={'lmtp_proxy_max_mail_size': '0'}) as px:
            run(px.lmtp_port, ['user1@example.org', 'user2@example.org'], 10, msg)   # warm-up
            hwm0 = status(px.pid, 'VmHWM')
            c0 = cpu_ms(px.pid)
            dt = run(px.lmtp_port, ['user1@example.org', 'user2@example.org'], a.messages, msg)
            c1 = cpu_ms(px.pid)
            # the same deliveries straight into the backends, one connection each
            d1 = run(be1.lmtp_port, ['user1@example.org'], a.messages, msg)
            d2 = run(be2.lmtp_port, ['user2@example.org'], a.messages, msg)
            print('%d transactions of %d KiB to 2 backends through proxyd: %.1f/s, proxyd CPU %.2f ms each'
                  % (a.messages, a.size_kib, a.messages / dt, (c1 - c0) / a.messages))
            print('the same straight into each backend (sequentially): %.1f/s'
                  % (a.messages / (d1 + d2)))
            big = b'Subject: big\r\n\r\n' + (b'y' * 998 + b'\r\n') * (a.big_mib * 1024 * 1024 // 1000)
            t0 = time.monotonic()
            run(px.lmtp_port, ['user1@example.org', 'user2@example.org'], 1, big)
            tb = time.monotonic() - t0
            print('one %d MiB message to both backends: %.2f s; proxyd VmHWM %d KiB before, %d KiB after'
                  % (a.big_mib, tb, hwm0, status(px.pid, 'VmHWM')))
    finally:
        fixtures.stop_all()
        if a.keep:
            print('kept', scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


main()
