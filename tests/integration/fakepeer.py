# SPDX-License-Identifier: MIT
"""Scripted TCP peers for the failures a real Dovecot will not produce on demand: a backend
that never answers, one that answers garbage, one that records what the proxy sends and in
which order. Threads in the test process; stopped by the test (close())."""

import socket
import threading
import time


class FakeBackend:
    """Accepts connections on 127.0.0.1:<port>; for each runs script(conn, log) in a thread.
    log is a list the script appends to (what it received, in order)."""

    def __init__(self, script, ip='127.0.0.1'):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._serve(script)

    def _serve(self, script):
        self.script = script
        self.log = []
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _run(self, c):
        try:
            self.script(c, self.log)
        except OSError:
            pass

    def close(self):
        self.stopping = True
        # wake accept() and wait for it: a thread still blocked in accept() on a closed
        # fd would accept for the next server that gets the same fd number
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(5)
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_line(c, timeout=5.0):
    """One CRLF line from socket c (without the CRLF), or None at EOF/timeout."""
    c.settimeout(timeout)
    buf = b''
    while not buf.endswith(b'\n'):
        try:
            d = c.recv(1)
        except (socket.timeout, OSError):
            return None
        if not d:
            return None
        buf += d
    return buf.rstrip(b'\r\n').decode(errors='replace')


def silent(c, log):
    """Accepts and never says anything."""
    time.sleep(30)


def garbage_banner(c, log):
    c.sendall(b'HTTP/1.0 400 Bad Request\r\n\r\n')
    time.sleep(5)
