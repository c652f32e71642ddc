# SPDX-License-Identifier: MIT
"""Fixtures for the Submission and ManageSieve tests: a small SMTP sink (the relay MTA a
real dovecot-submissiond submits to), the Dovecot backend config that turns on submission
and managesieve, and a ManageSieve client that speaks the real protocol over a socket.

    sink = SmtpSink().start()              # thread in the test process, loopback only
    be = DovecotBackend('be', **mail_backend_kw(sink))   # .subm_port .sieve_port set
    ...
    sink.wait(1)  -> [Message(mail_from, rcpts, data, helo)]
    sink.stop()
"""

import base64
import os
import re
import socket
import socketserver
import threading
import time

from fixtures import free_port

__all__ = ['SmtpSink', 'mail_backend_kw', 'mail_backend_ports', 'Sieve', 'sieve_literal']


class Message:
    def __init__(self, helo, mail_from, rcpts, data):
        self.helo, self.mail_from, self.rcpts, self.data = helo, mail_from, rcpts, data

    def __repr__(self):
        return '<Message from=%s rcpt=%s %d bytes>' % (self.mail_from, self.rcpts, len(self.data))


class _SinkHandler(socketserver.StreamRequestHandler):
    def handle(self):
        sink = self.server.sink
        w = self.wfile

        def send(s):
            w.write(s.encode() + b'\r\n')
            w.flush()

        send('220 sink.test ESMTP sink')
        helo, mail_from, rcpts = None, None, []
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            cmd = line.decode('utf-8', 'replace').rstrip('\r\n')
            with sink.lock:
                sink.commands.append(cmd)
            verb = cmd.split(' ', 1)[0].upper()
            if verb == 'EHLO':
                helo = cmd[5:]
                for ln in ('250-sink.test', '250-PIPELINING', '250-8BITMIME',
                           '250-SIZE 104857600', '250 ENHANCEDSTATUSCODES'):
                    send(ln)
            elif verb == 'HELO':
                helo = cmd[5:]
                send('250 sink.test')
            elif verb == 'MAIL':
                mail_from, rcpts = cmd[5:], []
                send('250 2.1.0 Ok')
            elif verb == 'RCPT':
                rcpts.append(cmd[5:])
                send('250 2.1.5 Ok')
            elif verb == 'DATA':
                send('354 End data with <CR><LF>.<CR><LF>')
                data = []
                while True:
                    ln = self.rfile.readline(1 << 20)
                    if not ln or ln == b'.\r\n':
                        break
                    data.append(ln[1:] if ln.startswith(b'..') else ln)
                with sink.lock:
                    sink.messages.append(Message(helo, mail_from, rcpts, b''.join(data)))
                send('250 2.0.0 Ok: queued')
            elif verb in ('RSET', 'NOOP'):
                send('250 2.0.0 Ok')
            elif verb == 'QUIT':
                send('221 2.0.0 Bye')
                return
            else:
                send('502 5.5.2 Error: command not recognized')


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SmtpSink:
    """An SMTP server on ip:port (a free port by default) that accepts every message and
    keeps it in .messages; every command line it got is in .commands."""

    def __init__(self, ip='127.0.0.1', port=None):
        self.ip = ip
        self.port = port or free_port(ip)
        self.messages = []
        self.commands = []
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        self.server = _Server((self.ip, self.port), _SinkHandler)
        self.server.sink = self
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def wait(self, n, timeout=10.0):
        """The messages once there are at least n of them (or what came within timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= n:
                    break
            time.sleep(0.05)
        with self.lock:
            return list(self.messages)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def mail_backend_ports(ip='127.0.0.1'):
    return free_port(ip), free_port(ip)


def mail_backend_kw(sink, subm_port, sieve_port, trusted=True):
    """Keyword arguments for DovecotBackend that add dovecot-submissiond (relaying to sink)
    and dovecot-managesieved on subm_port and sieve_port."""
    conf = '\n'.join([
        'hostname = backend.test',
        'submission_relay_host = %s' % sink.ip,
        'submission_relay_port = %d' % sink.port,
        'submission_relay_trusted = no',
        'service submission-login {\n  inet_listener submission {\n    port = %d\n  }\n}'
        % subm_port,
        'service managesieve-login {\n  inet_listener sieve {\n    port = %d\n  }\n}'
        % sieve_port,
        'plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n}',
    ])
    return {'protocols': 'imap pop3 submission sieve', 'extra_conf': conf,
            'trusted_networks': '127.0.0.0/8' if trusted else ''}


# ---- ManageSieve client ----------------------------------------------------------------------

def sieve_literal(s):
    if isinstance(s, str):
        s = s.encode()
    return b'{%d+}\r\n' % len(s) + s


class Sieve:
    """A ManageSieve (RFC 5804) client on a raw socket: greeting() reads the capabilities,
    cmd(bytes) sends one command and returns (status line, [lines before it])."""

    def __init__(self, ip, port, timeout=10.0):
        self.sock = socket.create_connection((ip, port), timeout=timeout)
        self.f = self.sock.makefile('rb')

    def line(self):
        return self.f.readline()

    def response(self):
        """Lines up to and including OK/NO/BYE; a literal {N} in a line is read whole."""
        lines = []
        while True:
            ln = self.line()
            if not ln:
                return b'', lines
            m = re.search(rb'\{(\d+)\}\r\n$', ln)
            if m:
                ln += self.f.read(int(m.group(1)))
                ln += self.line()
            if re.match(rb'(OK|NO|BYE)\b', ln):
                return ln, lines
            lines.append(ln)

    def greeting(self):
        return self.response()

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, data):
        """data without its final CRLF (a literal may end in one of its own)"""
        self.send(data + b'\r\n')
        return self.response()

    def login(self, user, password, authzid=''):
        ir = base64.b64encode(('%s\0%s\0%s' % (authzid, user, password)).encode())
        return self.cmd(b'AUTHENTICATE "PLAIN" "' + ir + b'"')

    def close(self):
        self.sock.close()
