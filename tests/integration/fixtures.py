# SPDX-License-Identifier: MIT
"""Fixtures for integration tests: real Dovecot 2.3 instances on loopback.

Python 3 standard library only. A test runs with cwd = a fresh scratch directory ($TESTDIR)
and $MTOOL = the mtool binary (see tests/integration/run). Typical use:

    from fixtures import DovecotBackend, DovecotProxy, report, main_guard

    def main():
        with DovecotBackend('be') as be:
            ...
            report(ok, 'what', 'detail when it failed')

    main_guard(main)

Every Dovecot master is started in the foreground (`dovecot -F`) as a child of the test, so
the test owns its PID, and is stopped by that PID (SIGTERM, wait, SIGKILL) from .stop(), the
context manager, main_guard() or atexit -- also when the test fails or is sent SIGTERM (the
runner's timeout). If the test process dies outright (SIGKILL), the kernel sends the master
SIGTERM (PR_SET_PDEATHSIG), and the master takes its children down with it.

API (see each docstring):
    DovecotBackend(name, ip, imap_port, pop3_port, users={login: password}, extra_conf='',
                   trusted_networks='127.0.0.0/8', settings={}, login_settings={},
                   greeting=None, ssl=False)   .start() .stop() .log() .wait_log(regex)
                   .deliver(user, msg) .doveadm(*args) .pids() .running()  context manager
                   attributes: ip imap_port pop3_port imaps_port pop3s_port conf dir pid
    DovecotProxy(name, backend=None, ip, imap_port, pop3_port, users=None, host=None,
                 backend_imap_port=None, backend_pop3_port=None, same keyword options)
    stop(*instances)  stop_all()  free_port(ip)  wait_port(ip, port, timeout)
    port_listening(ip, port)  pid_alive(pid)  descendants(pid)
    RawClient(ip, port, source_ip=None)  .send() .line() .until(prefix) .read(wait) .closed(wait)
    report(ok, what, detail='')  main_guard(fn)  failures()

As root, Dovecot runs the way Debian's package does: internal processes as `dovecot`, login
processes as `dovenull` (chrooted), mail as a dedicated unprivileged user (created if missing,
default `mtoolmail`, env MTOOL_TEST_MAIL_USER). Unprivileged, everything runs as the caller
and nothing is chrooted.
"""

import atexit
import ctypes
import os
import pwd
import grp
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback

__all__ = [
    'TESTDIR', 'MTOOL', 'DovecotBackend', 'DovecotProxy', 'RawClient',
    'free_port', 'wait_port', 'port_listening', 'report', 'main_guard', 'stop', 'stop_all',
    'failures', 'pid_alive', 'descendants', 'DEFAULT_USERS', 'MASTER_USER', 'MASTER_PASS',
]

TESTDIR = os.path.abspath(os.environ.get('TESTDIR') or os.getcwd())
MTOOL = os.environ.get('MTOOL', '')
MASTER_USER = 'proxy'
MASTER_PASS = 'masterpass'
DEFAULT_USERS = {'user%d@example.org' % i: 'pass' for i in range(1, 6)}
START_TIMEOUT = float(os.environ.get('MTOOL_TEST_START_TIMEOUT', '15'))
STOP_TIMEOUT = float(os.environ.get('MTOOL_TEST_STOP_TIMEOUT', '10'))


# ---- reporting ------------------------------------------------------------------------------

_counts = {'ok': 0, 'fail': 0}


def report(ok, what, detail=''):
    """Print `ok - what`, or `FAIL - what` and the detail indented; return bool(ok)."""
    if ok:
        _counts['ok'] += 1
        print('ok - %s' % what, flush=True)
    else:
        _counts['fail'] += 1
        print('FAIL - %s' % what, flush=True)
        detail = str(detail).rstrip('\n')
        if detail:
            print('\n'.join('    ' + line for line in detail.split('\n')), flush=True)
    return bool(ok)


def failures():
    """Number of FAIL lines printed so far."""
    return _counts['fail']


def main_guard(fn, *args, **kwargs):
    """Run fn(); an uncaught exception becomes a FAIL line with the traceback. Stops every
    Dovecot this process started, then exits 1 if any case failed, else 0."""
    name = os.path.basename(sys.argv[0] or 'test')
    rc = 0
    try:
        fn(*args, **kwargs)
    except SystemExit as e:
        if e.code not in (None, 0):
            report(False, '%s: exited with %s' % (name, e.code))
    except BaseException:  # KeyboardInterrupt too: the runner must see a FAIL line
        report(False, '%s: uncaught exception' % name, traceback.format_exc())
    finally:
        try:
            stop_all()
        except BaseException:
            report(False, '%s: stopping the servers' % name, traceback.format_exc())
    if _counts['fail']:
        rc = 1
    sys.stdout.flush()
    sys.exit(rc)


# ---- ports ----------------------------------------------------------------------------------

def free_port(ip='127.0.0.1'):
    """A TCP port nobody listens on at ip right now (bind to ip:0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def port_listening(ip, port):
    """True if a TCP socket listens on ip:port (or 0.0.0.0:port), from /proc/net/tcp without
    connecting (a probe connection would start a login process and log a disconnect); falls
    back to connect() where /proc is missing."""
    try:
        with open('/proc/net/tcp') as f:
            lines = f.read().split('\n')[1:]
    except OSError:
        try:
            with socket.create_connection((ip, port), timeout=0.5):
                return True
        except OSError:
            return False
    want = {('%08X' % int.from_bytes(socket.inet_aton(a), 'little')) + ':%04X' % port
            for a in (ip, '0.0.0.0')}
    for line in lines:
        f = line.split()
        if len(f) > 3 and f[3] == '0A' and f[1] in want:   # 0A = LISTEN
            return True
    return False


def wait_port(ip, port, timeout=10.0, proc=None):
    """Wait until ip:port listens; raise RuntimeError after timeout seconds, or as soon as the
    subprocess proc (if given) exits."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if port_listening(ip, port):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('process %d exited (%s) before %s:%d listened'
                               % (proc.pid, proc.returncode, ip, port))
        if time.monotonic() >= deadline:
            raise RuntimeError('%s:%d not listening after %.1f s' % (ip, port, timeout))
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


# ---- processes ------------------------------------------------------------------------------

def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            st = f.read()
        return st[st.rindex(')') + 2] != 'Z'
    except (OSError, ValueError, IndexError):
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False


def descendants(pid):
    """PIDs of every living descendant of pid (from /proc)."""
    children = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(')') + 2:].split()
        if rest[0] == 'Z':
            continue
        children.setdefault(int(rest[1]), []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _pdeathsig():
    # runs in the child between fork and exec: SIGTERM the master when the test dies
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


_running = []


def stop(*instances):
    """Stop the given instances in parallel: a Dovecot master sleeps 1 s on shutdown (to
    let its log process drain), so stopping N masters one by one costs N seconds."""
    insts = [i for i in instances if i is not None and i.proc is not None]
    for i in insts:
        i._signal_stop()
    for i in insts:
        i._wait_stopped()


def stop_all():
    """Stop every instance this process started that still runs (all at once)."""
    stop(*list(_running))


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


atexit.register(stop_all)
if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _on_sigterm)


# ---- identities -----------------------------------------------------------------------------

class _Ids:
    """Who runs what. As root: Debian's dovecot/dovenull and a dedicated mail user."""

    def __init__(self):
        self.root = os.geteuid() == 0
        if self.root:
            self.mail_user = os.environ.get('MTOOL_TEST_MAIL_USER', 'mtoolmail')
            try:
                pwd.getpwnam(self.mail_user)
            except KeyError:
                subprocess.run(['useradd', '--system', '--user-group', '--no-create-home',
                                '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin',
                                self.mail_user], check=False, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            pw = pwd.getpwnam(self.mail_user)  # KeyError here: useradd failed
            self.internal_user, self.internal_group, self.login_user = 'dovecot', 'dovecot', 'dovenull'
            for u in ('dovecot', 'dovenull'):
                pwd.getpwnam(u)  # Debian's dovecot-core creates them
        else:
            pw = pwd.getpwuid(os.getuid())
            self.mail_user = pw.pw_name
            self.internal_user = self.login_user = pw.pw_name
            self.internal_group = grp.getgrgid(os.getgid()).gr_name
        self.uid, self.gid = pw.pw_uid, pw.pw_gid


_ids = None


def _identities():
    global _ids
    if _ids is None:
        _ids = _Ids()
        if _ids.root:
            # TESTDIR is mktemp's 0700: dovecot, dovenull and the mail user must traverse it
            st = os.stat(TESTDIR)
            os.chmod(TESTDIR, (st.st_mode & 0o7777) | 0o711)
    return _ids


# ---- Dovecot instances -----------------------------------------------------------------------

def _dovecot_bin(name):
    for d in ('/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    p = shutil.which(name)
    if not p:
        raise RuntimeError('%s not found: install dovecot-core, dovecot-imapd, dovecot-pop3d'
                           % name)
    return p


def _conf_block(settings, indent=''):
    """key = value lines from a dict; a dict value is a nested block `key { ... }`."""
    out = []
    for k, v in (settings or {}).items():
        if isinstance(v, dict):
            out.append('%s%s {' % (indent, k))
            out.append(_conf_block(v, indent + '  '))
            out.append('%s}' % indent)
        else:
            if isinstance(v, bool):
                v = 'yes' if v else 'no'
            out.append('%s%s = %s' % (indent, k, v))
    return '\n'.join(out)


class _Instance:
    """One Dovecot master with its own config, base_dir, state_dir and log."""

    kind = 'instance'

    def __init__(self, name, ip='127.0.0.1', imap_port=None, pop3_port=None,
                 trusted_networks='127.0.0.0/8', settings=None, login_settings=None,
                 extra_conf='', greeting=None, ssl=False, imaps_port=None, pop3s_port=None,
                 protocols='imap pop3'):
        self.name = name
        self.ip = ip
        self.imap_port = imap_port or free_port(ip)
        self.pop3_port = pop3_port or free_port(ip)
        self.ssl = ssl
        self.imaps_port = (imaps_port or free_port(ip)) if ssl else 0
        self.pop3s_port = (pop3s_port or free_port(ip)) if ssl else 0
        self.trusted_networks = trusted_networks
        self.settings = dict(settings or {})
        self.login_settings = dict(login_settings or {})
        self.extra_conf = extra_conf
        self.protocols = protocols
        self.greeting = greeting or 'Dovecot %s %s ready.' % (self.kind, name)
        self.dir = os.path.join(TESTDIR, name)
        self.conf = os.path.join(self.dir, 'dovecot.conf')
        self.base_dir = os.path.join(self.dir, 'run')
        self.state_dir = os.path.join(self.dir, 'state')
        self.log_path = os.path.join(self.dir, 'dovecot.log')
        self.out_path = os.path.join(self.dir, 'dovecot.out')
        self.proc = None
        self.pid = None
        self._known_pids = set()

    # -- config --

    def _common_conf(self, ids):
        lines = [
            '# written by tests/integration/fixtures.py (%s %s)' % (self.kind, self.name),
            'instance_name = mtool-test-%s-%d' % (self.name, os.getpid()),
            'base_dir = %s' % self.base_dir,
            'state_dir = %s' % self.state_dir,
            'log_path = %s' % self.log_path,
            'log_timestamp = "%Y-%m-%d %H:%M:%S "',
            'listen = %s' % self.ip,
            'protocols = %s' % self.protocols,
            'login_greeting = %s' % self.greeting,
            'login_trusted_networks = %s' % (self.trusted_networks or ''),
            'disable_plaintext_auth = no',
            'auth_mechanisms = plain login',
            'auth_verbose = yes',
            '# tests are fast: no anvil auth penalty, no auth_failure_delay (a failed login',
            '# still takes 0.5 s: the auth process flushes failures from a 500 ms timer)',
            'auth_failure_delay = 0',
            'service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}',
            'default_internal_user = %s' % ids.internal_user,
            'default_internal_group = %s' % ids.internal_group,
            'default_login_user = %s' % ids.login_user,
            'first_valid_uid = %d' % min(ids.uid, 500),
            'first_valid_gid = 1',
            'mail_max_userip_connections = 1000',
        ]
        if self.ssl:
            self._make_cert()
            lines += ['ssl = yes',
                      'ssl_cert = <%s' % os.path.join(self.dir, 'ssl', 'cert.pem'),
                      'ssl_key = <%s' % os.path.join(self.dir, 'ssl', 'key.pem')]
        else:
            lines.append('ssl = no')
        login = _conf_block(self.login_settings, '  ')
        for svc, lname, port, sname, sport in (
                ('imap-login', 'imap', self.imap_port, 'imaps', self.imaps_port),
                ('pop3-login', 'pop3', self.pop3_port, 'pop3s', self.pop3s_port)):
            lines.append('service %s {' % svc)
            lines.append('  inet_listener %s {\n    port = %d\n  }' % (lname, port))
            lines.append('  inet_listener %s {\n    port = %d\n%s  }'
                         % (sname, sport, '    ssl = yes\n' if sport else ''))
            if not ids.root:
                lines.append('  chroot =')
            if login:
                lines.append(login)
            lines.append('}')
        if not ids.root:
            for svc in ('anvil', 'ipc', 'aggregator', 'director', 'old-stats',
                        'submission-login', 'managesieve-login', 'imap-urlauth-login'):
                lines.append('service %s {\n  chroot =\n}' % svc)
        return lines

    def _make_cert(self):
        d = os.path.join(self.dir, 'ssl')
        if os.path.exists(os.path.join(d, 'key.pem')):
            return
        os.makedirs(d, exist_ok=True)
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days',
                        '3650', '-keyout', os.path.join(d, 'key.pem'), '-out',
                        os.path.join(d, 'cert.pem'), '-subj', '/CN=localhost', '-addext',
                        'subjectAltName=DNS:localhost,IP:%s' % self.ip],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _tail_conf(self):
        out = []
        if self.settings:
            out.append(_conf_block(self.settings))
        if self.extra_conf:
            out.append(self.extra_conf)
        return out

    def write_conf(self):
        raise NotImplementedError

    # -- life cycle --

    def start(self):
        """Write the config, start `dovecot -F`, wait until the ports listen."""
        if self.proc is not None:
            return self
        _identities()
        for d in (self.dir, self.base_dir, self.state_dir):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.write_conf()
        out = open(self.out_path, 'ab')
        try:
            self.proc = subprocess.Popen([_dovecot_bin('dovecot'), '-F', '-c', self.conf],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                         preexec_fn=_pdeathsig, close_fds=True)
        finally:
            out.close()
        self.pid = self.proc.pid
        self._known_pids = {self.pid}
        _running.append(self)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            for port in (self.imap_port, self.pop3_port, self.imaps_port, self.pop3s_port):
                if port:
                    wait_port(self.ip, port, max(0.1, deadline - time.monotonic()), self.proc)
        except Exception as e:
            self.stop()
            raise RuntimeError('%s %s did not start: %s\n--- %s\n%s--- %s\n%s' % (
                self.kind, self.name, e, self.out_path, _tail(self.out_path),
                self.log_path, _tail(self.log_path)))
        return self

    def pids(self):
        """The master's PID and its living descendants' (also remembered for stop())."""
        if self.pid is None or not pid_alive(self.pid):
            return []
        p = [self.pid] + descendants(self.pid)
        self._known_pids.update(p)
        return p

    def _signal_stop(self):
        if self.proc is None:
            return
        self.pids()
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except OSError:
                pass
        self._stop_deadline = time.monotonic() + STOP_TIMEOUT

    def _wait_stopped(self):
        if self.proc is None:
            return
        try:
            self.proc.wait(max(0.0, self._stop_deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.pids()
            self.proc.kill()
            self.proc.wait()
        # the master SIGTERMs its children on exit; whatever is left gets SIGKILL, by PID
        deadline = time.monotonic() + 2
        left = [p for p in self._known_pids if p != self.pid and pid_alive(p)]
        while left and time.monotonic() < deadline:
            time.sleep(0.01)
            left = [p for p in left if pid_alive(p)]
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        self.proc = None
        if self in _running:
            _running.remove(self)

    def stop(self):
        """SIGTERM the master (by PID), wait, SIGKILL if needed, also any leftover child."""
        self._signal_stop()
        self._wait_stopped()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- logs and tools --

    def log(self):
        """The instance's log (log_path) as text."""
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except FileNotFoundError:
            return ''

    def wait_log(self, pattern, timeout=5.0, start=0):
        """Wait until the log (from character offset start) matches the regex pattern; return
        the match, or None after timeout seconds."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log(), start)
            if m or time.monotonic() >= deadline:
                return m
            time.sleep(0.02)

    def doveadm(self, *args, input=None, check=True):
        """Run `doveadm -c CONF args...`; return the CompletedProcess (bytes)."""
        r = subprocess.run([_dovecot_bin('doveadm'), '-c', self.conf] + list(args), input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        if check and r.returncode != 0:
            raise RuntimeError('doveadm %s failed (%d): %s' % (
                ' '.join(args), r.returncode, r.stderr.decode('utf-8', 'replace')))
        return r

    def __repr__(self):
        return '<%s %s %s imap=%d pop3=%d pid=%s>' % (
            self.kind, self.name, self.ip, self.imap_port, self.pop3_port, self.pid)


def _tail(path, n=20):
    try:
        with open(path, 'rb') as f:
            return b''.join(f.readlines()[-n:]).decode('utf-8', 'replace')
    except OSError:
        return '(none)\n'


class DovecotBackend(_Instance):
    """A real Dovecot IMAP/POP3 server with maildir storage under TESTDIR/<name>/mail.

    users: {login: password}, default user1..user5@example.org / pass; a master user
    proxy/masterpass (`user*proxy` or SASL authzid). trusted_networks: login_trusted_networks
    (default 127.0.0.0/8; '' makes every client, the proxy too, untrusted). settings: extra
    top-level settings (a dict value is a block); login_settings: extra settings inside the
    imap-login and pop3-login service blocks; extra_conf: raw text appended to the config;
    ssl=True: a self-signed certificate (openssl), ssl = yes, STARTTLS, and imaps/pop3s
    listeners on .imaps_port/.pop3s_port. Failed logins take 0.5 s (see the config comment).
    """

    kind = 'backend'

    def __init__(self, name='backend', ip='127.0.0.1', imap_port=None, pop3_port=None,
                 users=None, extra_conf='', **kw):
        super().__init__(name, ip, imap_port, pop3_port, extra_conf=extra_conf, **kw)
        self.users = dict(DEFAULT_USERS if users is None else users)
        self.mail_dir = os.path.join(self.dir, 'mail')
        self.users_file = os.path.join(self.dir, 'users')
        self.master_file = os.path.join(self.dir, 'master-users')

    def write_conf(self):
        ids = _identities()
        os.makedirs(self.mail_dir, exist_ok=True)
        if ids.root:
            os.chown(self.mail_dir, ids.uid, ids.gid)
        with open(self.users_file, 'w') as f:
            for u, p in self.users.items():
                f.write('%s:{PLAIN}%s::::::\n' % (u, p))
        with open(self.master_file, 'w') as f:
            f.write('%s:{PLAIN}%s::::::\n' % (MASTER_USER, MASTER_PASS))
        lines = self._common_conf(ids) + [
            'auth_master_user_separator = *',
            'imap_id_log = *',
            'imap_id_retain = yes',
            'mail_location = maildir:~/Maildir',
            'namespace inbox {\n  inbox = yes\n  separator = /\n}',
            'passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s\n  master = yes\n'
            '  pass = yes\n}' % self.master_file,
            'passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s\n}' % self.users_file,
            'userdb {\n  driver = passwd-file\n  args = %s\n  default_fields = uid=%d gid=%d '
            'home=%s/%%d/%%n\n}' % (self.users_file, ids.uid, ids.gid, self.mail_dir),
        ] + self._tail_conf()
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')

    def deliver(self, user, message, mailbox='INBOX'):
        """Store message (bytes or str, LF or CRLF) in the user's mailbox (doveadm save)."""
        if isinstance(message, str):
            message = message.encode()
        self.doveadm('save', '-u', user, '-m', mailbox, input=message)


class DovecotProxy(_Instance):
    """A real Dovecot login proxy (imap-login/pop3-login with proxy=y passdb entries).

    backend: a DovecotBackend (or give host/backend_imap_port/backend_pop3_port). users:
    list of logins, or {login: None | 'extra fields' | {'password': p, 'fields': '...'}}:
    None or a string forwards the client's password (nopassword=y); a dict with a password
    makes the proxy check it (add e.g. fields='master=proxy pass=masterpass'). Default: the
    backend's users, password forwarded. host/port come from default_fields, so a user's
    fields may override them. settings/login_settings/extra_conf as for DovecotBackend, e.g.
    login_settings={'service_count': 0, 'process_min_avail': 4} for benchmarks.
    """

    kind = 'proxy'

    def __init__(self, name='proxy', backend=None, ip='127.0.0.1', imap_port=None,
                 pop3_port=None, users=None, host=None, backend_imap_port=None,
                 backend_pop3_port=None, extra_conf='', **kw):
        super().__init__(name, ip, imap_port, pop3_port, extra_conf=extra_conf, **kw)
        self.backend = backend
        self.host = host or (backend.ip if backend else '127.0.0.1')
        self.backend_imap_port = backend_imap_port or (backend.imap_port if backend else 143)
        self.backend_pop3_port = backend_pop3_port or (backend.pop3_port if backend else 110)
        if users is None:
            users = list(backend.users) if backend else list(DEFAULT_USERS)
        if not isinstance(users, dict):
            users = {u: None for u in users}
        self.users = users
        self.passwd_file = os.path.join(self.dir, 'proxy.passwd')

    def write_conf(self):
        ids = _identities()
        with open(self.passwd_file, 'w') as f:
            for u, v in self.users.items():
                if isinstance(v, dict):
                    pw = '{PLAIN}%s' % v['password']
                    fields = 'proxy=y ' + v.get('fields', '')
                else:
                    pw = ''
                    fields = 'proxy=y nopassword=y ' + (v or '')
                f.write('%s:%s::::::%s\n' % (u, pw, fields.strip()))
        port = '%%{if;%%s;eq;imap;%d;%d}' % (self.backend_imap_port, self.backend_pop3_port)
        lines = self._common_conf(ids) + [
            'passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s\n'
            '  default_fields = host=%s port=%s\n}' % (self.passwd_file, self.host, port),
            'userdb {\n  driver = static\n  args = uid=%d gid=%d home=/nonexistent '
            'allow_all_users=yes\n}' % (ids.uid, ids.gid),
            'login_proxy_timeout = 10 secs',
        ] + self._tail_conf()
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')


# ---- a raw line client ------------------------------------------------------------------------

class RawClient:
    """A TCP client that shows exact bytes: for login dialogues byte by byte.

    RawClient(ip, port, source_ip=None, timeout=5). send(bytes); line() -> one line with its
    CRLF (b'' at EOF); until(prefix) -> lines up to and including the first line starting
    with prefix; read(wait) -> whatever arrives within wait seconds; closed(wait) -> True if
    the server closes within wait seconds."""

    def __init__(self, ip, port, source_ip=None, timeout=5.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source_ip:
            self.sock.bind((source_ip, 0))
        self.sock.connect((ip, port))
        self.timeout = timeout
        self.buf = b''
        self.eof = False

    def send(self, data, may_close=False):
        """Sends all of data. With may_close, the peer may close (and reset) the
        connection while data is still going out, as a server does after a BYE for a
        too-long line: returns False then (what it sent before is still readable)."""
        if isinstance(data, str):
            data = data.encode()
        try:
            self.sock.sendall(data)
        except (ConnectionResetError, BrokenPipeError):
            if not may_close:
                raise
            return False
        return True

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            d = b''
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def line(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                out, self.buf = self.buf, b''
                return out
            self._fill(left)
        i = self.buf.index(b'\n') + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def until(self, prefix, timeout=None):
        if isinstance(prefix, str):
            prefix = prefix.encode()
        out = []
        while True:
            ln = self.line(timeout)
            out.append(ln)
            if not ln or ln.startswith(prefix):
                return out

    def read(self, wait=0.3):
        deadline = time.monotonic() + wait
        while not self.eof and deadline > time.monotonic():
            self._fill(deadline - time.monotonic())
        out, self.buf = self.buf, b''
        return out

    def closed(self, wait=0.5):
        deadline = time.monotonic() + wait
        while not self.eof and deadline > time.monotonic():
            if self._fill(deadline - time.monotonic()):
                continue
        return self.eof

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
