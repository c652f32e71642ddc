# SPDX-License-Identifier: MIT
"""Fixture for mtool's own daemons in integration tests: `mtool proxyd` in the foreground,
with a config written by the test, started and stopped by PID like the Dovecot fixtures
(fixtures.stop_all() stops it too).

    from mtoolfix import Proxyd
    with Proxyd(users={'user1@example.org': 'proxy host=127.0.0.1 port=1143'}) as px:
        imaplib.IMAP4('127.0.0.1', px.imap_port)

MTOOL_ASAN (set by the runner when a sanitizer build exists) is used instead of MTOOL when
MTOOL_TEST_ASAN=1; check_log() then also fails on sanitizer reports."""

import os
import re
import signal
import subprocess
import time

import fixtures
from fixtures import TESTDIR, free_port, wait_port, _tail

MTOOL = os.environ.get('MTOOL', '')
if os.environ.get('MTOOL_TEST_ASAN') == '1' and os.environ.get('MTOOL_ASAN'):
    MTOOL = os.environ['MTOOL_ASAN']


class Proxyd:
    """mtool proxyd with a passwd-file passdb.

    users: {login: 'passdb extra fields'} (password 'pass'), or {login: (password, fields)}.
    settings: extra top-level config lines (dict) or raw text in extra_conf.
    tls=True: also imaps and pop3s listeners (ssl = yes) on .imaps_port/.pop3s_port; the
    test sets ssl_cert/ssl_key in settings. haproxy=True: also imap and pop3 (and lmtp)
    listeners with haproxy = yes on .imap_haproxy_port/.pop3_haproxy_port
    (.lmtp_haproxy_port)."""

    kind = 'mtool-proxyd'
    applet = 'proxyd'    # subclasses for other daemons change it (replfix.Replicatord)

    def __init__(self, name='mtool', ip='127.0.0.1', users=None, settings=None, extra_conf='',
                 imap_port=None, pop3_port=None, trusted_networks='', args=(), lmtp=False, tls=False,
                 haproxy=False):
        self.name = name
        self.ip = ip
        self.users = users or {}
        self.settings = dict(settings or {})
        self.extra_conf = extra_conf
        self.imap_port = imap_port or free_port(ip)
        self.pop3_port = pop3_port or free_port(ip)
        self.imaps_port = free_port(ip) if tls else 0
        self.pop3s_port = free_port(ip) if tls else 0
        self.imap_haproxy_port = free_port(ip) if haproxy else 0
        self.pop3_haproxy_port = free_port(ip) if haproxy else 0
        self.trusted_networks = trusted_networks
        self.args = list(args)
        self.dir = os.path.join(TESTDIR, name)
        # lmtp=True: also an LMTP inet listener (.lmtp_port) and UNIX socket (.lmtp_socket)
        self.lmtp = lmtp
        self.lmtp_port = free_port(ip) if lmtp else 0
        self.lmtp_socket = os.path.join(self.dir, 'run', 'lmtp') if lmtp else ''
        self.lmtps_port = free_port(ip) if lmtp and tls else 0
        self.lmtp_haproxy_port = free_port(ip) if lmtp and haproxy else 0
        self.conf = os.path.join(self.dir, 'mtool.conf')
        self.passwd = os.path.join(self.dir, 'users')
        self.log_path = os.path.join(self.dir, 'proxyd.log')
        self.proc = None
        self.pid = None

    def write_users(self):
        tmp = self.passwd + '.tmp'
        with open(tmp, 'w') as f:
            for user, v in self.users.items():
                pw, fields = ('pass', v) if not isinstance(v, tuple) else v
                f.write('%s:%s::::::%s\n' % (user, '{PLAIN}' + pw if pw is not None else '', fields))
        os.rename(tmp, self.passwd)

    def write_conf(self):
        os.makedirs(os.path.join(self.dir, 'run'), exist_ok=True)
        self.write_users()
        lines = [
            'base_dir = %s/run' % self.dir,
            'listen = %s' % self.ip,
            'protocols = imap pop3%s' % (' lmtp' if self.lmtp else ''),
            'login_trusted_networks = %s' % self.trusted_networks,
            'disable_plaintext_auth = no',
            'auth_failure_delay = 0',
            'default_login_user = %s' % ('nobody' if os.geteuid() == 0 else ''),
            'service imap-login {\n  inet_listener imap {\n    port = %d\n  }\n%s%s}' % (self.imap_port,
                '  inet_listener imaps {\n    port = %d\n    ssl = yes\n  }\n' % self.imaps_port if self.imaps_port else '',
                '  inet_listener imap_haproxy {\n    port = %d\n    haproxy = yes\n  }\n' % self.imap_haproxy_port
                if self.imap_haproxy_port else ''),
            'service pop3-login {\n  inet_listener pop3 {\n    port = %d\n  }\n%s%s}' % (self.pop3_port,
                '  inet_listener pop3s {\n    port = %d\n    ssl = yes\n  }\n' % self.pop3s_port if self.pop3s_port else '',
                '  inet_listener pop3_haproxy {\n    port = %d\n    haproxy = yes\n  }\n' % self.pop3_haproxy_port
                if self.pop3_haproxy_port else ''),
            'passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s\n}' % self.passwd,
        ]
        if self.lmtp:
            lines.append('service lmtp {\n  inet_listener lmtp {\n    port = %d\n  }\n%s%s'
                         '  unix_listener lmtp {\n    mode = 0666\n  }\n}' % (self.lmtp_port,
                             '  inet_listener lmtps {\n    port = %d\n    ssl = yes\n  }\n' % self.lmtps_port
                             if self.lmtps_port else '',
                             '  inet_listener lmtp_haproxy {\n    port = %d\n    haproxy = yes\n  }\n'
                             % self.lmtp_haproxy_port if self.lmtp_haproxy_port else ''))
        if os.geteuid() != 0:
            lines = [l for l in lines if not l.startswith('default_login_user')]
        if os.environ.get('MTOOL_TEST_RELAY') == 'copy':
            self.settings.setdefault('proxy_relay_splice', 'no')
        lines += ['%s = %s' % kv for kv in self.settings.items()]
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n' + self.extra_conf)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.write_conf()
        logged = len(self.log())    # a restart appends: look for this start's line only
        out = open(self.log_path, 'ab')
        try:
            self.proc = subprocess.Popen([MTOOL, self.applet, '-c', self.conf] + self.args,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                         preexec_fn=fixtures._pdeathsig, close_fds=True)
        finally:
            out.close()
        self.pid = self.proc.pid
        fixtures._running.append(self)
        if self.wait_log(r'%s started' % self.applet, timeout=10, start=logged) is None:
            self.stop()
            raise RuntimeError('mtool %s did not start:\n%s' % (self.applet,
                                                              _tail(self.log_path, 30)))
        return self

    def log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except FileNotFoundError:
            return ''

    def wait_log(self, pattern, timeout=5.0, start=0):
        """Wait until pattern (regex) appears in the log after offset start; return the match,
        or None after timeout seconds or when proxyd has exited."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.log(), start)
            if m or time.monotonic() >= deadline:
                return m
            if self.proc is None or self.proc.poll() is not None:
                return rx.search(self.log(), start)
            time.sleep(0.02)

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
        self.returncode = self.proc.returncode
        self.proc = None
        if self in fixtures._running:
            fixtures._running.remove(self)

    def stop(self):
        self._signal_stop()
        self._wait_stopped()
        return self.returncode

    def check_log(self):
        """Problems in the log: crashes, sanitizer reports, panics (empty list if none)."""
        bad = []
        for line in self.log().splitlines():
            if re.search(r'AddressSanitizer|LeakSanitizer|runtime error:|Panic:|Fatal:', line):
                bad.append(line)
        return bad

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
