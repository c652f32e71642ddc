# SPDX-License-Identifier: MIT
"""Fixture for `mtool directord` in integration tests, started and stopped by PID like the
other fixtures (fixtures.stop_all() stops it too).

    from directordfix import Directord, admin_lines
    with Directord(hosts=['127.0.0.2', '127.0.0.3']) as dd:
        dd.director('status')                 # the real doveadm against directord
        admin_lines(dd.admin_socket, ['USER-LOOKUP\\tuser1'])

The sanitizer build (MTOOL_ASAN) is used when it exists: directord tests are not re-run
under it by the runner."""

import os
import socket
import subprocess
import time

import fixtures
from fixtures import TESTDIR, _dovecot_bin, _tail
from mtoolfix import Proxyd

MTOOL = os.environ.get('MTOOL_ASAN') or os.environ.get('MTOOL', '')
if not (MTOOL and os.access(MTOOL, os.X_OK)):
    MTOOL = os.environ.get('MTOOL', '')


class Directord(Proxyd):
    """mtool directord with director_mail_servers = hosts (address, or (address, vhosts,
    tag) whose vhosts are then set with the real doveadm, as DovecotDirector does)."""

    kind = 'mtool-directord'

    def __init__(self, name='directord', hosts=('127.0.0.2', '127.0.0.3'), settings=None,
                 extra_conf=''):
        super().__init__(name=name, settings=settings, extra_conf=extra_conf)
        self.hosts = [(h, 100, '') if isinstance(h, str) else
                      (h[0], h[1] if len(h) > 1 else 100, h[2] if len(h) > 2 else '')
                      for h in hosts]
        self.conf = os.path.join(self.dir, 'directord.conf')
        self.log_path = os.path.join(self.dir, 'directord.log')
        self.base_dir = os.path.join(self.dir, 'run')
        self.state_dir = os.path.join(self.dir, 'state')
        self.admin_socket = os.path.join(self.base_dir, 'director-admin')
        self.proxy_socket = os.path.join(self.base_dir, 'mtool-director')
        self.doveadm_conf = os.path.join(self.dir, 'doveadm.conf')

    def write_conf(self):
        os.makedirs(self.base_dir, exist_ok=True)
        servers = ' '.join(a + ('@' + t if t else '') for a, _, t in self.hosts)
        lines = ['base_dir = %s' % self.base_dir, 'state_dir = %s' % self.state_dir,
                 'director_mail_servers = %s' % servers]
        if os.geteuid() == 0:
            # who may use the proxy socket: the user Proxyd's proxyd runs as
            lines.append('default_login_user = nobody')
        lines += ['%s = %s' % kv for kv in self.settings.items()]
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n' + self.extra_conf)
        with open(self.doveadm_conf, 'w') as f:
            f.write('base_dir = %s\n' % self.base_dir)

    def start(self):
        fixtures._identities()      # TESTDIR traversable: directord drops to dovecot
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.write_conf()
        start = len(self.log())
        out = open(self.log_path, 'ab')
        try:
            self.proc = subprocess.Popen([MTOOL, 'directord', '-c', self.conf],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                         preexec_fn=fixtures._pdeathsig, close_fds=True)
        finally:
            out.close()
        self.pid = self.proc.pid
        fixtures._running.append(self)
        if self.wait_log(r'directord started', timeout=10, start=start) is None:
            self.stop()
            raise RuntimeError('mtool directord did not start:\n%s' % _tail(self.log_path, 30))
        for addr, vhosts, tag in self.hosts:
            if vhosts != 100 and not os.path.exists(self.state_path()):
                self.director('add', addr, str(vhosts))
        return self

    def state_path(self):
        return self.settings.get('director_state_file') or \
            os.path.join(self.state_dir, 'directord', 'director.state')

    def restart(self):
        self.stop()
        return self.start()

    def refuses_to_start(self):
        """True if start() fails (a configuration or state error: see log())."""
        try:
            self.start()
        except RuntimeError:
            return True
        return False

    def director(self, *args, fmt=None, check=True):
        """The real `doveadm [-f fmt] -c CONF director ARGS -a ADMIN_SOCKET`."""
        args = list(args)
        n = 2 if args[:1] == ['ring'] else 1
        argv = [_dovecot_bin('doveadm')] + (['-f', fmt] if fmt else []) + \
            ['-c', self.doveadm_conf, 'director'] + args[:n] + ['-a', self.admin_socket] + args[n:]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError('%s failed (%d): %s' % (' '.join(argv), r.returncode,
                                                       r.stderr.decode('utf-8', 'replace')))
        return r


def wait_until(cond, timeout=20):
    """Polls cond() until it is true or timeout seconds have passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def admin_lines(path, commands, timeout=30):
    """Sends director-doveadm commands (pipelined) to the admin socket at path; returns one
    reply per command: a line, or a list of lines for list commands (ended by an empty
    line)."""
    lists = ('HOST-LIST', 'HOST-LIST-REMOVED', 'DIRECTOR-LIST', 'USER-LIST')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    f = s.makefile('rwb')
    f.write(b'VERSION\tdirector-doveadm\t1\t0\n')
    f.flush()
    if f.readline() != b'VERSION\tdirector-doveadm\t1\t0\n':
        raise RuntimeError('bad handshake from %s' % path)
    out = []
    # in batches, so that neither side's socket buffer fills up
    for i in range(0, len(commands), 500):
        batch = commands[i:i + 500]
        f.write(b''.join(c.encode() + b'\n' for c in batch))
        f.flush()
        for c in batch:
            if c.split('\t')[0] in lists:
                lines = []
                while True:
                    l = f.readline()
                    if not l:
                        raise RuntimeError('connection closed')
                    l = l.decode().rstrip('\n')
                    if l == '':
                        break
                    lines.append(l)
                out.append(lines)
            else:
                l = f.readline()
                if not l:
                    raise RuntimeError('connection closed after %r' % c)
                out.append(l.decode().rstrip('\n'))
    s.close()
    return out
