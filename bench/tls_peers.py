#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TLS handshake CPU of mtool proxyd, Dovecot 2.3's proxy and nginx's mail proxy, side by
side in one run, with the same certificates (ECDSA P-256 and RSA-2048; not a test).

    python3 bench/tls_peers.py [--secs 8] [--rounds 2] [--before OLD-MTOOL] [--keep]

Each server gets an implicit-TLS IMAP listener per certificate: mtool proxyd (one process),
Dovecot's imap-login in high-performance mode (service_count = 0, one process, so a
resumed session finds its cache) and nginx (nginx-light + libnginx-mod-mail, one worker,
`ssl_session_cache shared:SSL:10m`). `openssl s_time -new` (full handshakes) and `-reuse`
(session-ID resumption) run against each listener in turn, `--rounds` times interleaved
so that load from other jobs on the machine hits every server alike; the figure is the
server's own CPU (utime + stime of all its processes from /proc) over the handshakes made,
the median of the rounds. The handshake ends the connection: nobody logs in, so no
backend is needed (nginx's auth_http points at a closed port). --before adds another mtool
binary (an older build) as one more column."""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))


def log(msg):
    print('[tls-peers] %s' % msg, file=sys.stderr, flush=True)


def cpu_secs(pids):
    t = 0
    for pid in pids:
        try:
            with open('/proc/%d/stat' % pid) as f:
                v = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        t += int(v[11]) + int(v[12])
    return t / os.sysconf('SC_CLK_TCK')


def s_time(port, mode, secs, ca):
    out = subprocess.run(['openssl', 's_time', '-connect', '127.0.0.1:%d' % port, mode,
                          '-time', str(secs), '-CAfile', ca],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode(errors='replace')
    m = re.findall(r'(\d+) connections in ([\d.]+) real seconds', out)
    if not m:
        raise RuntimeError('s_time: ' + out[-500:])
    return int(m[-1][0])


class Nginx:
    """nginx's mail proxy with one implicit-TLS IMAP server per certificate."""

    def __init__(self, tmp, certs):
        from fixtures import free_port
        self.dir = os.path.join(tmp, 'nginx')
        os.makedirs(self.dir, exist_ok=True)
        self.ports = {k: free_port() for k in certs}
        servers = ''.join('''
    server {
        listen 127.0.0.1:%d ssl;
        protocol imap;
        ssl_certificate %s;
        ssl_certificate_key %s;
    }''' % (self.ports[k], c['chain'], c['key']) for k, c in certs.items())
        conf = '''load_module /usr/lib/nginx/modules/ngx_mail_module.so;
daemon off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
user root;
events { worker_connections 1024; }
mail {
    auth_http 127.0.0.1:%(auth)d/auth;
    ssl_session_cache shared:SSL:10m;
    ssl_session_tickets off;
%(servers)s
}
''' % {'d': self.dir, 'auth': free_port(), 'servers': servers}
        self.conf = os.path.join(self.dir, 'nginx.conf')
        with open(self.conf, 'w') as f:
            f.write(conf)
        self.proc = None

    def start(self):
        from fixtures import wait_port
        self.proc = subprocess.Popen(['nginx', '-c', self.conf, '-p', self.dir, '-e',
                                      os.path.join(self.dir, 'error.log')])
        for p in self.ports.values():
            wait_port('127.0.0.1', p)

    def pids(self):
        from fixtures import descendants
        return [self.proc.pid] + descendants(self.proc.pid)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--secs', type=int, default=8, help='seconds per s_time run')
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--before', help='another mtool binary to measure alongside')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()

    mtool = os.environ.get('MTOOL') or os.path.join(TOP, 'mtool')
    os.environ['MTOOL'] = mtool
    tmp = tempfile.mkdtemp(prefix='mtool-tlspeers.')
    os.environ['TESTDIR'] = tmp
    import fixtures
    fixtures.TESTDIR = tmp
    import mtoolfix
    import tlsfix
    tlsfix.TESTDIR = tmp
    mtoolfix.TESTDIR = tmp
    from fixtures import DovecotProxy
    from mtoolfix import Proxyd

    ca = tlsfix.make_ca('ca')
    certs = {'ec': tlsfix.make_cert(ca, 'ec', ['mail.test'], kind='ec', ips=['127.0.0.1']),
             'rsa': tlsfix.make_cert(ca, 'rsa', ['mail.test'], ips=['127.0.0.1'])}
    users = {'user1@example.org': 'proxy host=127.0.0.1 port=9'}
    # server -> (pids function, {cert: port})
    servers = {}
    ngx = None
    try:
        for k, c in certs.items():
            for label, binary in (('mtool proxyd', mtool), ('mtool before', args.before)):
                if binary is None:
                    continue
                px = Proxyd(name=label.replace(' ', '-') + '-' + k, users=users, tls=True,
                            settings={'ssl_cert': '<' + c['chain'], 'ssl_key': '<' + c['key']})
                mtoolfix.MTOOL = binary
                px.start()
                mtoolfix.MTOOL = mtool
                servers.setdefault(label, {})[k] = (px.imaps_port, (lambda p=px: [p.pid]))
            dp = DovecotProxy('dovecot-' + k, users=['user1@example.org'], host='127.0.0.1',
                              backend_imap_port=9, backend_pop3_port=9, ssl=True,
                              login_settings={'service_count': 0, 'process_min_avail': 1,
                                              'process_limit': 1, 'client_limit': 1000})
            os.makedirs(os.path.join(dp.dir, 'ssl'), exist_ok=True)
            shutil.copy(c['chain'], os.path.join(dp.dir, 'ssl', 'cert.pem'))
            shutil.copy(c['key'], os.path.join(dp.dir, 'ssl', 'key.pem'))
            dp.start()
            servers.setdefault('Dovecot 2.3 proxy', {})[k] = (dp.imaps_port, dp.pids)
        ngx = Nginx(tmp, certs)
        ngx.start()
        for k in certs:
            servers.setdefault('nginx mail proxy', {})[k] = (ngx.ports[k], ngx.pids)

        res = {}
        for r in range(args.rounds):
            for k in certs:
                for mode in ('-new', '-reuse'):
                    for name, ports in servers.items():
                        port, pids = ports[k]
                        log('round %d: %s %s %s' % (r + 1, name, k, mode))
                        p = pids()
                        c0 = cpu_secs(p)
                        n = s_time(port, mode, args.secs, ca['cert'])
                        ms = (cpu_secs(pids()) - c0) * 1000 / n if n else 0
                        res.setdefault((name, k, mode), []).append((ms, n / args.secs))
    finally:
        if ngx:
            ngx.stop()
        fixtures.stop_all()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log('kept ' + tmp)

    load = open('/proc/loadavg').read().split()[:3]
    print('TLS handshakes: server CPU ms per handshake (median of %d rounds of %d s, openssl s_time, '
          'one client), %s, %d cores, load average %s' % (args.rounds, args.secs,
          time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), os.cpu_count(), ' '.join(load)))
    print('')
    rows = (('ec', '-new', 'full, ECDSA P-256'), ('rsa', '-new', 'full, RSA-2048'),
            ('ec', '-reuse', 'resumed, ECDSA P-256'), ('rsa', '-reuse', 'resumed, RSA-2048'))
    names = list(servers)
    print('| handshake | ' + ' | '.join(names) + ' | mtool / nginx |')
    print('|---|' + '---|' * (len(names) + 1))
    for k, mode, label in rows:
        ms = [median([m for m, _ in res[(n, k, mode)]]) for n in names]
        ngx_ms = ms[names.index('nginx mail proxy')]
        ratio = ms[0] / ngx_ms if ngx_ms else 0
        print('| %s | %s | %.2fx |' % (label, ' | '.join('%.2f' % m for m in ms), ratio))


if __name__ == '__main__':
    main()
