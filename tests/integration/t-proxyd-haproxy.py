# SPDX-License-Identifier: MIT
"""PROXY protocol (haproxy = yes listeners) with Debian's haproxy in front of proxyd
(send-proxy and send-proxy-v2) and a real Dovecot backend: the backend, proxyd's log and
`mtool doveadm proxy list` see the original client address. Raw senders: pipelined bytes
behind the header, a header in pieces, broken and missing headers, an untrusted sender,
the timeout, and the per-IP limit, login_trusted_networks and the auth penalty keyed on
the header's address; "secured" as Dovecot decides it behind a header; LMTP."""

import os
import re
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard
from haproxyfix import Haproxy
from mtoolfix import Proxyd, MTOOL

SIG = b'\r\n\r\n\x00\r\nQUIT\n'


def v2_inet(src, dst, sport, dport, tlvs=b''):
    addr = bytes(map(int, src.split('.'))) + bytes(map(int, dst.split('.'))) + struct.pack('!HH', sport, dport) + tlvs
    return SIG + b'\x21\x11' + struct.pack('!H', len(addr)) + addr


def imap_login(c, user, tag=b'a', password=b'pass'):
    c.send(tag + b' LOGIN ' + user + b' ' + password + b'\r\n')
    return c.until(tag + b' ')[-1]


def closed_with_log(px, c, pattern, what, wait=2.0):
    gone = c.closed(wait)
    m = px.wait_log(pattern)
    report(gone and m is not None, what, px.log()[-600:])


def bad_config():
    conf = os.path.join(os.environ.get('TESTDIR', '.'), 'bad.conf')
    with open(conf, 'w') as f:
        f.write('protocols = imap\nhaproxy_trusted_networks = 10.0.0.0/33\nhaproxy_timeout = soon\n'
                'service imap-login {\n  inet_listener imap {\n    port = 10143\n    haproxy = maybe\n  }\n}\n'
                'passdb {\n  driver = static\n  args = nopassword=y\n}\n')
    r = subprocess.run([MTOOL, 'proxyd', '-c', conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    out = r.stdout.decode(errors='replace')
    report(r.returncode == 1 and "bad.conf:2: haproxy_trusted_networks: invalid network '10.0.0.0/33'" in out
           and "bad.conf:3: haproxy_timeout: invalid time interval 'soon'" in out
           and "bad.conf:7: haproxy: invalid boolean 'maybe'" in out,
           'bad haproxy settings: each an error with file:line, not started', out)


def main():
    bad_config()
    with DovecotBackend('be') as be:
        fields = 'proxy host=127.0.0.1 port=%d'
        users = {'user%d@example.org' % i: fields % (be.imap_port if i < 4 else be.pop3_port)
                 for i in range(1, 6)}
        px = Proxyd(users=users, haproxy=True, trusted_networks='10.7.0.0/16',
                    settings={'haproxy_trusted_networks': '192.0.2.0/24, 127.0.0.1',
                              'haproxy_timeout': '1s', 'login_max_prelogin_per_ip': '1'})
        with px:
            routes = [('imap-v1', 'send-proxy', '127.0.0.1', px.imap_haproxy_port),
                      ('imap-v2', 'send-proxy-v2', '127.0.0.1', px.imap_haproxy_port),
                      ('pop3-v2', 'send-proxy-v2', '127.0.0.1', px.pop3_haproxy_port)]
            with Haproxy(routes) as hp:
                # haproxy v1 and v2: the client's own source address goes all the way
                c1 = RawClient('127.0.0.1', hp.port['imap-v1'], source_ip='127.0.0.23')
                g = c1.line()
                report(g.startswith(b'* OK '), 'send-proxy: greeting through haproxy', g)
                l = imap_login(c1, b'user1@example.org')
                report(l.startswith(b'a OK'), 'send-proxy: login through haproxy', l)
                report(be.wait_log(r'imap-login: Info: Login: user=<user1@example.org>, method=PLAIN, rip=127\.0\.0\.23,')
                       is not None, 'send-proxy: the backend logs the client address 127.0.0.23',
                       be.log()[-800:])
                report(px.wait_log(r'proxy\(user1@example.org,127\.0\.0\.1:\d+\): Started proxying .*rip=127\.0\.0\.23,')
                       is not None, 'send-proxy: proxyd logs rip=127.0.0.23', px.log()[-800:])

                c2 = RawClient('127.0.0.1', hp.port['imap-v2'], source_ip='127.0.0.24')
                c2.line()
                l = imap_login(c2, b'user2@example.org')
                report(l.startswith(b'a OK'), 'send-proxy-v2: login through haproxy', l)
                report(be.wait_log(r'Login: user=<user2@example.org>, method=PLAIN, rip=127\.0\.0\.24,')
                       is not None, 'send-proxy-v2: the backend logs the client address 127.0.0.24',
                       be.log()[-800:])

                c3 = RawClient('127.0.0.1', hp.port['pop3-v2'], source_ip='127.0.0.25')
                c3.line()
                c3.send(b'USER user4@example.org\r\nPASS pass\r\n')
                c3.line()
                l = c3.line()
                report(l.startswith(b'+OK'), 'send-proxy-v2: POP3 login through haproxy', l)
                report(be.wait_log(r'pop3-login: Info: Login: user=<user4@example.org>, method=PLAIN, rip=127\.0\.0\.25,')
                       is not None, 'send-proxy-v2: the POP3 backend logs 127.0.0.25 (XCLIENT)',
                       be.log()[-800:])

                r = subprocess.run([MTOOL, 'doveadm', 'proxy', 'list', '-a',
                                    os.path.join(px.dir, 'run', 'ipc')],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                out = r.stdout.decode(errors='replace')
                report(r.returncode == 0 and all(a in out for a in ('127.0.0.23', '127.0.0.24', '127.0.0.25')),
                       'mtool doveadm proxy list shows the original client addresses', out)
                for c in (c1, c2, c3):
                    c.close()

            # raw senders from 127.0.0.1 (trusted)
            c = RawClient('127.0.0.1', px.imap_haproxy_port)
            c.send(b'PROXY TCP4 10.1.2.3 127.0.0.1 5555 143\r\nx CAPABILITY\r\n')
            g = c.line()
            l = c.until(b'x ')[-1]
            report(g.startswith(b'* OK ') and l.startswith(b'x OK'),
                   'bytes sent right behind the header are the client\'s (not taken with it)', (g, l))
            l = imap_login(c, b'user3@example.org')
            report(l.startswith(b'a OK') and be.wait_log(r'Login: user=<user3@example.org>, method=PLAIN, rip=10\.1\.2\.3,')
                   is not None, 'raw v1 header: the backend sees 10.1.2.3', l)
            c.close()

            c = RawClient('127.0.0.1', px.imap_haproxy_port)
            hdr = v2_inet('10.9.8.7', '127.0.0.1', 40000, 143)
            for part in (hdr[:5], hdr[5:14], hdr[14:]):
                c.send(part)
                time.sleep(0.15)
            g = c.line()
            l = imap_login(c, b'user3@example.org')
            report(g.startswith(b'* OK ') and l.startswith(b'a OK') and
                   be.wait_log(r'Login: user=<user3@example.org>, method=PLAIN, rip=10\.9\.8\.7,') is not None,
                   'a v2 header in three pieces: the backend sees 10.9.8.7', (g, l))
            c.close()

            # the per-IP pre-login limit counts the header's address; login_trusted_networks
            # (10.7.0.0/16) exempts by it too
            def with_src(src):
                c = RawClient('127.0.0.1', px.imap_haproxy_port)
                c.send(b'PROXY TCP4 %s 127.0.0.1 5000 143\r\n' % src)
                return c, c.line()
            a, ga = with_src(b'10.5.5.5')
            b, gb = with_src(b'10.5.5.5')
            d, gd = with_src(b'10.5.5.6')
            report(ga.startswith(b'* OK ') and b'Too many connections' in gb and gd.startswith(b'* OK '),
                   'login_max_prelogin_per_ip counts the header\'s address', (ga, gb, gd))
            e, ge = with_src(b'10.7.0.1')
            f, gf = with_src(b'10.7.0.1')
            report(ge.startswith(b'* OK ') and gf.startswith(b'* OK '),
                   'login_trusted_networks matches the header\'s address', (ge, gf))
            for c in (a, b, d, e, f):
                c.close()

            # so does the auth penalty: a failure from 10.6.6.6 delays 10.6.6.6, not 10.6.6.7,
            # though both come from 127.0.0.1
            x, _ = with_src(b'10.6.6.6')
            l = imap_login(x, b'user1@example.org', password=b'wrong')
            y, _ = with_src(b'10.6.6.7')
            t0 = time.monotonic()
            ly = imap_login(y, b'user1@example.org')
            ty = time.monotonic() - t0
            t0 = time.monotonic()
            lx = imap_login(x, b'user1@example.org', b'b')
            tx = time.monotonic() - t0
            report(l.startswith(b'a NO') and ly.startswith(b'a OK') and lx.startswith(b'b OK') and ty < 1.5 and 3.5 <= tx < 6,
                   'the auth penalty counts the header\'s address (other address %.1fs, failed one %.1fs)' % (ty, tx),
                   (l, ly, lx))
            x.close()
            y.close()

            c = RawClient('127.0.0.1', px.imap_haproxy_port)
            c.send(b'PROXY TCP4 10.1.2.3 bogus 5555 143\r\n')
            closed_with_log(px, c, r"imap-login: Error: haproxy\(v1\): Client disconnected: Proxied local address is invalid \(address=`bogus', rip=127\.0\.0\.1\)",
                            'a broken v1 header: closed, logged as Dovecot does')
            c = RawClient('127.0.0.1', px.imap_haproxy_port)
            c.send(SIG + b'\x21\x11\x00\x0b' + b'\x00' * 11)
            closed_with_log(px, c, r'haproxy\(v2\): Client disconnected: IPv4 data is incomplete \(rip=127\.0\.0\.1\)',
                            'a v2 header with short addresses: closed, logged')
            c = RawClient('127.0.0.1', px.imap_haproxy_port)
            c.send(b'a LOGIN user1@example.org pass\r\n')
            closed_with_log(px, c, r'haproxy: Client disconnected: Failed to read valid HAproxy data \(rip=127\.0\.0\.1\)',
                            'no header, a command instead: closed, logged')
            c = RawClient('127.0.0.1', px.imap_haproxy_port, source_ip='127.0.0.5')
            report(c.read(0.5) == b'' and c.closed(1.0) and
                   px.wait_log(r'imap-login: Warning: haproxy: Client not trusted \(rip=127\.0\.0\.5\)') is not None,
                   'a sender outside haproxy_trusted_networks: closed before any greeting, logged',
                   px.log()[-600:])
            t0 = time.monotonic()
            c = RawClient('127.0.0.1', px.imap_haproxy_port)
            c.send(b'PROXY TCP4 10.1')
            gone = c.closed(3.0)
            took = time.monotonic() - t0
            report(gone and 0.8 < took < 2.5 and
                   px.wait_log(r'haproxy: Client timed out \(rip=127\.0\.0\.1\)') is not None,
                   'haproxy_timeout (1s) ends a connection whose header does not finish (%.2fs)' % took,
                   px.log()[-600:])
            c = RawClient('127.0.0.1', px.imap_port)
            g = c.line()
            report(g.startswith(b'* OK '), 'a listener without haproxy = yes still greets at once', g)
            c.close()
            report(px.check_log() == [], 'no crash or sanitizer report in proxyd\'s log', px.check_log())

        # as Dovecot: behind a header, only login_trusted_networks or the sender's SSL TLV
        # make a client secured (not its address being the proxy's own)
        px = Proxyd('mtool2', users=users, haproxy=True, lmtp=True,
                    settings={'haproxy_trusted_networks': '127.0.0.1', 'auth_allow_cleartext': 'no'})
        with px:
            ssl_tlv = b'\x20\x00\x05\x01\x00\x00\x00\x00'
            for what, hdr, secured in (
                    ('v2 header with the SSL TLV', v2_inet('127.0.0.1', '127.0.0.1', 4000, 143, ssl_tlv), True),
                    ('v2 header without it, same address on both ends', v2_inet('127.0.0.1', '127.0.0.1', 4000, 143), False)):
                c = RawClient('127.0.0.1', px.imap_haproxy_port)
                c.send(hdr)
                g = c.line()
                l = imap_login(c, b'user1@example.org')
                ok = (b'LOGINDISABLED' not in g and l.startswith(b'a OK')) if secured else \
                    (b'LOGINDISABLED' in g and l.startswith(b'a NO'))
                report(ok, '%s: %s' % (what, 'secured, LOGIN allowed' if secured else 'not secured, LOGIN refused'), (g, l))
                c.close()
            c = RawClient('127.0.0.1', px.imap_port)
            g = c.line()
            report(b'LOGINDISABLED' not in g, 'without a header the proxy\'s own address still counts as secured', g)
            c.close()

            c = RawClient('127.0.0.1', px.lmtp_haproxy_port)
            c.send(b'PROXY TCP6 2001:db8::44 ::1 1234 24\r\nLHLO mta.example.org\r\n')
            lines = c.until(b'250 ')
            report(lines[0].startswith(b'220 ') and px.wait_log(r'lmtp: Info: Connect from 2001:db8::44') is not None,
                   'LMTP behind a v1 TCP6 header: the session is the header\'s client', (lines, px.log()[-400:]))
            c.close()


main_guard(main)
