# SPDX-License-Identifier: MIT
"""Fixture: Debian's haproxy in TCP mode, in the foreground, started and stopped by PID like
the Dovecot fixtures (fixtures.stop_all() stops it too).

    hp = Haproxy([('imap-v1', 'send-proxy', '127.0.0.1', 1143)]).start()
    hp.port['imap-v1']   # where clients connect; the server behind gets a PROXY header"""

import os
import signal
import subprocess
import time

import fixtures
from fixtures import TESTDIR, free_port, wait_port, _tail


class Haproxy:
    kind = 'haproxy'

    def __init__(self, routes, name='haproxy', ip='127.0.0.1'):
        """routes: (name, 'send-proxy' or 'send-proxy-v2', server ip, server port) each."""
        self.routes = routes
        self.ip = ip
        self.dir = os.path.join(TESTDIR, name)
        self.conf = os.path.join(self.dir, 'haproxy.cfg')
        self.log_path = os.path.join(self.dir, 'haproxy.log')
        self.port = {r[0]: free_port(ip) for r in routes}
        self.proc = None

    def write_conf(self):
        os.makedirs(self.dir, exist_ok=True)
        lines = ['global', '  maxconn 200', 'defaults', '  mode tcp', '  timeout connect 5s',
                 '  timeout client 60s', '  timeout server 60s']
        for name, send, sip, sport in self.routes:
            lines += ['frontend f-%s' % name, '  bind %s:%d' % (self.ip, self.port[name]),
                      '  default_backend b-%s' % name, 'backend b-%s' % name,
                      '  server s1 %s:%d %s' % (sip, sport, send)]
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')

    def start(self):
        self.write_conf()
        out = open(self.log_path, 'ab')
        try:
            self.proc = subprocess.Popen(['haproxy', '-db', '-f', self.conf], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=out, preexec_fn=fixtures._pdeathsig,
                                         close_fds=True)
        finally:
            out.close()
        fixtures._running.append(self)
        try:
            for name in self.port:
                wait_port(self.ip, self.port[name], proc=self.proc)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError('haproxy did not start: %s\n%s' % (e, _tail(self.log_path, 30)))
        return self

    def _signal_stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self._stop_deadline = time.monotonic() + 10

    def _wait_stopped(self):
        if self.proc is None:
            return
        try:
            self.proc.wait(max(0.0, self._stop_deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        if self in fixtures._running:
            fixtures._running.remove(self)

    def stop(self):
        self._signal_stop()
        self._wait_stopped()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
