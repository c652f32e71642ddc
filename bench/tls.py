#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TLS figures of mtool proxyd (not a test): full handshakes/s with an RSA-2048 and an
ECDSA P-256 certificate, resumed handshakes/s, relay MB/s of a large FETCH through TLS
(TLS client, plaintext backend; and TLS on both sides), and memory per idle TLS connection.

    python3 bench/tls.py [--secs 10] [--fetch-mib 10] [--sessions 500] [--keep]

Servers run on 127.0.0.1 with the integration fixtures and are stopped by PID at the end.
Handshakes are driven by `openssl s_time` (Debian's openssl, as a client only), two
processes in parallel; the proxy's own CPU per handshake (utime+stime from /proc) is the
figure that says what one core of proxyd can do: 1000 / (CPU ms per handshake)."""

import argparse
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))


def log(msg):
    print('[tls-bench] %s' % msg, file=sys.stderr, flush=True)


def cpu_secs(pid):
    with open('/proc/%d/stat' % pid) as f:
        v = f.read().rsplit(')', 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf('SC_CLK_TCK')


def pss_kib(pid):
    with open('/proc/%d/smaps_rollup' % pid) as f:
        for line in f:
            if line.startswith('Pss:'):
                return int(line.split()[1])
    return 0


def s_time(port, mode, secs, ca, nproc=2):
    """Runs nproc `openssl s_time` in parallel; returns total connections/s."""
    procs = [subprocess.Popen(['openssl', 's_time', '-connect', '127.0.0.1:%d' % port, mode,
                               '-time', str(secs), '-CAfile', ca],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(nproc)]
    total = 0.0
    for p in procs:
        out = p.communicate()[0].decode(errors='replace')
        m = re.findall(r'(\d+) connections in ([\d.]+) real seconds', out)
        if not m:
            raise RuntimeError('s_time: ' + out[-500:])
        n, t = m[-1]
        total += int(n) / float(t)
    return total


def handshakes(px, port, mode, secs, ca):
    c0 = cpu_secs(px.pid)
    t0 = time.monotonic()
    rate = s_time(port, mode, secs, ca)
    wall = time.monotonic() - t0
    cpu = cpu_secs(px.pid) - c0
    n = rate * secs
    return rate, cpu * 1000 / n if n else 0, cpu / wall


def imap_tls(port, ctx):
    s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port)), server_hostname='mail.test')
    return s


def read_until(s, tag, buf=b''):
    """Reads until a line starting with tag; returns what came after that line. Looks only
    at new bytes (a 10 MB response in 4 KiB records must not be rescanned each time)."""
    buf = bytearray(buf)
    start = 0
    while True:
        i = buf.find(b'\n' + tag, max(0, start - len(tag) - 1)) if start or not buf.startswith(tag) else 0
        if i >= 0:
            j = buf.find(b'\r\n', i + 1)
            if j >= 0:
                return bytes(buf[j + 2:])
        start = len(buf)
        d = s.recv(1 << 20)
        if not d:
            raise EOFError
        buf += d


def fetch_times(sock, repeat, user=b'user1@example.org'):
    """Median seconds of FETCH 1 BODY.PEEK[] (login, select, one warm-up, repeat timed)."""
    sock.sendall(b'a LOGIN ' + user + b' pass\r\n')
    rest = read_until(sock, b'a OK')
    sock.sendall(b'b SELECT INBOX\r\n')
    rest = read_until(sock, b'b OK', rest)
    times = []
    for i in range(repeat + 1):
        t0 = time.monotonic()
        sock.sendall(b'f%d FETCH 1 BODY.PEEK[]\r\n' % i)
        rest = read_until(sock, b'f%d OK' % i, rest)
        if i:
            times.append(time.monotonic() - t0)
    sock.close()
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--secs', type=int, default=10, help='seconds per handshake figure')
    ap.add_argument('--fetch-mib', type=int, default=10)
    ap.add_argument('--fetch-repeat', type=int, default=7)
    ap.add_argument('--sessions', type=int, default=500, help='idle sessions for the memory figure')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()

    mtool = os.environ.get('MTOOL') or os.path.join(TOP, 'mtool')
    os.environ['MTOOL'] = mtool
    tmp = tempfile.mkdtemp(prefix='mtool-tlsbench.')
    os.environ['TESTDIR'] = tmp
    import fixtures
    fixtures.TESTDIR = tmp
    import mtoolfix
    import tlsfix
    tlsfix.TESTDIR = tmp
    mtoolfix.TESTDIR = tmp
    from fixtures import DovecotBackend
    from mtoolfix import Proxyd

    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    ca = tlsfix.make_ca('ca')
    rsa = tlsfix.make_cert(ca, 'rsa', ['mail.test'], ips=['127.0.0.1'])
    ec = tlsfix.make_cert(ca, 'ec', ['mail.test'], kind='ec', ips=['127.0.0.1'])
    be_leaf = tlsfix.make_cert(ca, 'backend', ['localhost'])
    ctx = ssl.create_default_context(cafile=ca['cert'])
    res = {}
    try:
        be = DovecotBackend('be', ssl=True, settings={'mail_max_userip_connections': '10000'},
                            login_settings={'service_count': '0', 'process_min_avail': '2',
                                            'client_limit': '10000'})
        os.makedirs(os.path.join(be.dir, 'ssl'), exist_ok=True)
        shutil.copy(be_leaf['chain'], os.path.join(be.dir, 'ssl', 'cert.pem'))
        shutil.copy(be_leaf['key'], os.path.join(be.dir, 'ssl', 'key.pem'))
        be.start()
        msg = b'From: bench@example.org\r\nSubject: big\r\n\r\n'
        line = b'x' * 74 + b'\r\n'
        msg += line * (args.fetch_mib * 1048576 // len(line))
        be.deliver('user1@example.org', msg)
        users = {'user%d@example.org' % i: 'proxy host=127.0.0.1 port=%d' % be.imap_port for i in range(1, 6)}
        users['tls@example.org'] = ('pass', 'proxy host=localhost hostip=127.0.0.1 port=%d ssl=yes '
                                    'destuser=user1@example.org' % be.imaps_port)
        px_rsa = Proxyd(name='rsa', users=users, tls=True,
                        settings={'ssl_cert': '<' + rsa['chain'], 'ssl_key': '<' + rsa['key'],
                                  'ssl_client_ca_file': '<' + ca['cert']})
        px_ec = Proxyd(name='ec', users=users, tls=True,
                       settings={'ssl_cert': '<' + ec['chain'], 'ssl_key': '<' + ec['key'],
                                 'login_max_prelogin_per_ip': '0'})
        px_rsa.start()
        px_ec.start()

        log('full handshakes, RSA-2048')
        res['rsa'] = handshakes(px_rsa, px_rsa.imaps_port, '-new', args.secs, ca['cert'])
        log('full handshakes, ECDSA P-256')
        res['ec'] = handshakes(px_ec, px_ec.imaps_port, '-new', args.secs, ca['cert'])
        log('resumed handshakes (RSA-2048 certificate, session cache)')
        res['resumed'] = handshakes(px_rsa, px_rsa.imaps_port, '-reuse', args.secs, ca['cert'])

        log('FETCH of %d MiB' % args.fetch_mib)
        direct = fetch_times(socket.create_connection(('127.0.0.1', be.imap_port)), args.fetch_repeat)
        plain = fetch_times(socket.create_connection(('127.0.0.1', px_rsa.imap_port)), args.fetch_repeat)
        c0 = cpu_secs(px_rsa.pid)
        tls1 = fetch_times(imap_tls(px_rsa.imaps_port, ctx), args.fetch_repeat)
        cpu_tls1 = (cpu_secs(px_rsa.pid) - c0) / (args.fetch_repeat + 1)

        both = fetch_times(imap_tls(px_rsa.imaps_port, ctx), args.fetch_repeat, user=b'tls@example.org')
        size = len(msg)
        res['fetch'] = {k: size / v / 1e6 for k, v in
                        (('direct', direct), ('proxy plaintext', plain), ('proxy TLS client', tls1),
                         ('proxy TLS both sides', both))}
        res['fetch_cpu'] = cpu_tls1 * 1000

        log('memory: %d idle sessions' % args.sessions)
        time.sleep(1)
        base = pss_kib(px_ec.pid)
        socks = []
        for i in range(args.sessions):
            s = imap_tls(px_ec.imaps_port, ctx)
            read_until(s, b'* OK')
            socks.append(s)
        time.sleep(1)
        pre = pss_kib(px_ec.pid)
        for i, s in enumerate(socks):
            s.sendall(b'a LOGIN user%d@example.org pass\r\n' % (i % 5 + 1))
        for s in socks:
            read_until(s, b'a OK')
        time.sleep(1)
        post = pss_kib(px_ec.pid)
        # one near-full record from each client (a 16,000-byte command line, relayed; the
        # backend answers BAD): the input buffer's pages are touched, then handed back once
        # the session is idle again
        for s in socks:
            s.sendall(b'n SEARCH TEXT ' + b'x' * 15984 + b'\r\n')
        for s in socks:
            read_until(s, b'n ')
        time.sleep(1)
        big = pss_kib(px_ec.pid)
        for s in socks:
            s.close()
        time.sleep(1)
        psocks = []
        base2 = pss_kib(px_ec.pid)
        for i in range(args.sessions):
            s = socket.create_connection(('127.0.0.1', px_ec.imap_port))
            read_until(s, b'* OK')
            s.sendall(b'a LOGIN user%d@example.org pass\r\n' % (i % 5 + 1))
            psocks.append(s)
        for s in psocks:
            read_until(s, b'a OK')
        time.sleep(1)
        ppost = pss_kib(px_ec.pid)
        for s in psocks:
            s.close()
        res['mem'] = ((pre - base) / args.sessions, (post - base) / args.sessions,
                      (big - base) / args.sessions, (ppost - base2) / args.sessions)
    finally:
        fixtures.stop_all()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log('kept ' + tmp)

    print('mtool proxyd TLS figures (%s, %d cores, %s)' % (mtool, os.cpu_count(),
          time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())))
    print('')
    print('| handshakes (2 x openssl s_time, %d s) | per second | proxyd CPU ms each | proxyd CPU use |' % args.secs)
    print('|---|---|---|---|')
    for k, label in (('rsa', 'full, RSA-2048 certificate'), ('ec', 'full, ECDSA P-256 certificate'),
                     ('resumed', 'resumed (session cache)')):
        rate, ms, use = res[k]
        print('| %s | %.0f | %.2f | %.0f %% |' % (label, rate, ms, use * 100))
    print('')
    print('| FETCH %d MiB | MB/s |' % args.fetch_mib)
    print('|---|---|')
    for k, v in res['fetch'].items():
        print('| %s | %.0f |' % (k, v))
    print('proxyd CPU per %d MiB FETCH through TLS: %.0f ms' % (args.fetch_mib, res['fetch_cpu']))
    print('')
    pre, post, big, plain = res['mem']
    print('| memory per idle connection (PSS of proxyd, %d connections) | KiB |' % args.sessions)
    print('|---|---|')
    print('| TLS, handshake done, not logged in | %.1f |' % pre)
    print('| TLS, logged in and relayed (client TLS, backend plaintext) | %.1f |' % post)
    print('| the same after one 16 KiB record from each client | %.1f |' % big)
    print('| plaintext, logged in and relayed (splice) | %.1f |' % plain)


if __name__ == '__main__':
    main()
