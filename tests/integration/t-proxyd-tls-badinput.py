# SPDX-License-Identifier: MIT
"""Bad input on proxyd's TLS listeners: garbage instead of a ClientHello, a handshake that
stalls, a client that goes away mid-handshake, 16 KiB records of junk (during the
handshake, after it, and inside a relayed session). Each ends that connection with a log
line; an established TLS session and new clients keep working. The sanitizer pass of the
runner checks for leaks."""

import imaplib
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, report, main_guard
from mtoolfix import Proxyd
from tlsfix import make_ca, make_cert

JUNK = bytes((i * 7 + 3) & 0xff for i in range(16384))


class BioTLS:
    """A TLS client whose records we can see and forge (ssl.MemoryBIO over a socket)."""

    def __init__(self, port, ctx):
        self.sock = socket.create_connection(('127.0.0.1', port))
        self.sock.settimeout(5)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname='mail.test')

    def flush(self):
        d = self.out.read()
        if d:
            self.sock.sendall(d)

    def first_flight(self):
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self.out.read()

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self.flush()
                return
            except ssl.SSLWantReadError:
                self.flush()
                d = self.sock.recv(65536)
                if not d:
                    raise EOFError('closed during the handshake')
                self.inc.write(d)

    def send(self, data):
        self.obj.write(data)
        self.flush()

    def line(self):
        buf = b''
        while not buf.endswith(b'\n'):
            try:
                buf += self.obj.read(1)
            except ssl.SSLWantReadError:
                d = self.sock.recv(65536)
                if not d:
                    break
                self.inc.write(d)
        return buf


def closed_within(sock, secs):
    sock.settimeout(secs)
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                return True
    except socket.timeout:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def main():
    ca = make_ca('ca')
    srv = make_cert(ca, 'srv', ['mail.test'], ips=['127.0.0.1'])
    ctx = ssl.create_default_context(cafile=ca['cert'])
    with DovecotBackend('be') as be:
        users = {'user1@example.org': 'proxy host=127.0.0.1 port=%d' % be.imap_port}
        px = Proxyd(users=users, tls=True,
                    settings={'ssl_cert': '<' + srv['chain'], 'ssl_key': '<' + srv['key'],
                              'login_timeout': '3 secs'})
        with px:
            held = imaplib.IMAP4_SSL('127.0.0.1', px.imaps_port, ssl_context=ctx)
            held.login('user1@example.org', 'pass')

            start = len(px.log())
            s = socket.create_connection(('127.0.0.1', px.imaps_port))
            s.sendall(b'GET / HTTP/1.0\r\nHost: mail.test\r\n\r\n')
            report(closed_within(s, 5), 'garbage instead of a ClientHello: the connection is closed')
            s.close()
            report(px.wait_log(r'Disconnected: Connection closed: TLS handshake failed: [^\n]+\(no auth attempts',
                               start=start) is not None, 'garbage: logged as a failed handshake', px.log()[start:])

            start = len(px.log())
            s = socket.create_connection(('127.0.0.1', px.imaps_port))
            t0 = time.monotonic()
            gone = closed_within(s, 15)
            report(gone and time.monotonic() - t0 >= 2.5, 'a stalled handshake ends at login_timeout',
                   'after %.1fs' % (time.monotonic() - t0))
            s.close()
            report(px.wait_log(r'Disconnected: Inactivity during TLS handshake', start=start) is not None,
                   'stalled handshake: logged', px.log()[start:])

            start = len(px.log())
            b = BioTLS(px.imaps_port, ctx)
            hello = b.first_flight()
            b.sock.sendall(hello[:len(hello) // 2])
            time.sleep(0.2)
            b.sock.close()
            report(px.wait_log(r'Disconnected: Connection closed during TLS handshake', start=start) is not None,
                   'a client that leaves mid-handshake: logged', px.log()[start:])

            start = len(px.log())
            s = socket.create_connection(('127.0.0.1', px.imaps_port))
            s.sendall(b'\x16\x03\x01\x40\x00' + JUNK)
            report(closed_within(s, 5), 'a 16 KiB handshake record of junk: the connection is closed')
            s.close()
            report(px.wait_log(r'Disconnected: Connection closed: TLS handshake failed: ', start=start) is not None,
                   '16 KiB junk handshake record: logged', px.log()[start:])

            start = len(px.log())
            b = BioTLS(px.imaps_port, ctx)
            b.handshake()
            greet = b.line()
            b.sock.sendall(b'\x17\x03\x03\x40\x00' + JUNK)
            report(greet.startswith(b'* OK') and closed_within(b.sock, 5),
                   'a 16 KiB record of junk after the handshake: the connection is closed', greet)
            report(px.wait_log(r'Disconnected: Connection closed: bad record MAC', start=start) is not None,
                   '16 KiB junk record after the handshake: logged', px.log()[start:])

            start = len(px.log())
            b = BioTLS(px.imaps_port, ctx)
            b.handshake()
            b.line()
            b.send(b'a LOGIN user1@example.org pass\r\n')
            ok = b.line()
            b.sock.sendall(b'\x17\x03\x03\x40\x00' + JUNK)
            report(ok.startswith(b'a OK') and closed_within(b.sock, 5),
                   'a 16 KiB record of junk in a relayed session: the session ends', ok)
            report(px.wait_log(r'proxy\(user1@example.org,[^)]*\): Disconnected by client: bad record MAC',
                               start=start) is not None, 'junk in a relayed session: logged', px.log()[start:])

            typ, data = held.noop()
            report(typ == 'OK', 'the established TLS session kept working throughout', data)
            held.logout()
            m = imaplib.IMAP4_SSL('127.0.0.1', px.imaps_port, ssl_context=ctx)
            typ, data = m.login('user1@example.org', 'pass')
            report(typ == 'OK', 'a new TLS client logs in afterwards', data)
            m.logout()
            report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))


main_guard(main)
