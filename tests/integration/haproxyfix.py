# SPDX-License-Identifier: MIT
"""Fixture: Debian's haproxy in TCP mode, in the foreground, started and stopped by PID like
the Dovecot fixtures (fixtures.stop_all() stops it too).

    hp = Haproxy([('imap-v1', 'send-proxy', '127.0.0.1', 1143)]).start()
    hp.port['imap-v1']   # where clients connect; the server behind gets a PROXY header"""

import os
import signal

from fixtures import TESTDIR, free_port, wait_port, _tail
from sqlfix import _Server


class Haproxy(_Server):
    """Started and stopped by sqlfix's server base (spawn, stop by PID)."""
    kind = 'haproxy'
    user = 'root'
    stop_signal = signal.SIGTERM

    def __init__(self, routes, name='haproxy', ip='127.0.0.1'):
        """routes: (name, 'send-proxy' or 'send-proxy-v2', server ip, server port) each."""
        self.routes = routes
        self.ip = ip
        self.dir = os.path.join(TESTDIR, name)
        self.conf = os.path.join(self.dir, 'haproxy.cfg')
        self.log_path = os.path.join(self.dir, 'haproxy.log')
        self.port = {r[0]: free_port(ip) for r in routes}
        self.proc = None
        self.pid = None

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
        self._spawn(['haproxy', '-db', '-f', self.conf])
        try:
            for name in self.port:
                wait_port(self.ip, self.port[name], proc=self.proc)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError('haproxy did not start: %s\n%s' % (e, _tail(self.log_path, 30)))
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
