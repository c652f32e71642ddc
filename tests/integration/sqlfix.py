# SPDX-License-Identifier: MIT
"""Real database servers for the sql passdb tests: Debian's PostgreSQL and MariaDB, each
initialised into TESTDIR/<name> by the test, listening on 127.0.0.1 and a UNIX socket in
that directory, started and stopped by PID (fixtures.stop_all() stops them too). Small
settings keep the start fast (well under a second for PostgreSQL on an idle machine).

    with PgServer() as pg:
        pg.sql("CREATE TABLE ...")
        pg.stop(); pg.start()          # a database that goes away and comes back

DovecotSqlProxy is fixtures.DovecotProxy with `passdb { driver = sql }` blocks instead of
its passwd-file, for running the same dovecot-sql.conf.ext files through real Dovecot;
SqlProxyd is mtoolfix.Proxyd with the same passdb blocks."""

import glob
import os
import pwd
import signal
import subprocess
import time

import fixtures
from fixtures import TESTDIR, free_port, _tail
from mtoolfix import Proxyd


def _as_user(user):
    """preexec_fn that becomes user (the servers refuse to run as root)."""
    if os.geteuid() != 0:
        return fixtures._pdeathsig
    pw = pwd.getpwnam(user)

    def fn():
        fixtures._pdeathsig()
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return fn


def _prepare(d, user):
    """d made and owned by user, TESTDIR traversable for it."""
    os.chmod(TESTDIR, 0o755)
    os.makedirs(d, exist_ok=True)
    _chown(d, user)


def _chown(path, user):
    if os.geteuid() == 0:
        pw = pwd.getpwnam(user)
        os.chown(path, pw.pw_uid, pw.pw_gid)


class _Server:
    user = 'root'

    def _spawn(self, argv):
        out = open(self.log_path, 'ab')
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                         preexec_fn=_as_user(self.user), close_fds=True)
        finally:
            out.close()
        self.pid = self.proc.pid
        fixtures._running.append(self)

    def _signal_stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
        self._stop_deadline = time.monotonic() + 20

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

    def kill(self):
        """SIGKILL: the server vanishes without closing its connections cleanly."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            if self in fixtures._running:
                fixtures._running.remove(self)

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if os.path.exists(self.socket) and fixtures.port_listening('127.0.0.1', self.port):
                return
            time.sleep(0.05)
        raise RuntimeError('%s did not start:\n%s' % (self.kind, _tail(self.log_path, 30)))

    def __enter__(self):
        self.init()
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class PgServer(_Server):
    """PostgreSQL: superuser pgadmin (trusted on the UNIX socket only), TCP logins with
    SCRAM-SHA-256 unless hba lines say otherwise (hba: extra pg_hba.conf lines put first).
    ssl=(cert, key) turns TLS on."""

    kind = 'postgresql'
    user = 'postgres'
    stop_signal = signal.SIGINT    # fast shutdown: sessions are ended

    def __init__(self, name='pg', hba=(), ssl=None):
        self.name = name
        self.dir = os.path.join(TESTDIR, name)
        self.data = os.path.join(self.dir, 'data')
        self.port = free_port()
        self.socket = os.path.join(self.dir, '.s.PGSQL.%d' % self.port)
        self.log_path = os.path.join(self.dir, 'postgres.log')
        self.hba = list(hba)
        self.ssl = ssl
        self.proc = None
        self.bin = sorted(glob.glob('/usr/lib/postgresql/*/bin'))[-1]

    def init(self):
        _prepare(self.dir, self.user)
        r = subprocess.run([os.path.join(self.bin, 'initdb'), '-D', self.data, '-U', 'pgadmin',
                            '--auth-local=trust', '--auth-host=scram-sha-256', '-N', '-E', 'UTF8',
                            '--locale=C'],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.dir,
                           preexec_fn=_as_user(self.user))
        if r.returncode != 0:
            raise RuntimeError('initdb failed:\n%s' % r.stdout.decode(errors='replace'))
        hba = os.path.join(self.data, 'pg_hba.conf')
        with open(hba) as f:
            old = f.read()
        with open(hba, 'w') as f:
            f.write('local all pgadmin trust\n' + ''.join(l + '\n' for l in self.hba) +
                    'local all all scram-sha-256\n' + old)
        if self.ssl:
            for src, dst in zip(self.ssl, ('server.crt', 'server.key')):
                p = os.path.join(self.data, dst)
                with open(src) as a, open(p, 'w') as b:
                    b.write(a.read())
                os.chmod(p, 0o600)
                _chown(p, self.user)

    def start(self):
        args = [os.path.join(self.bin, 'postgres'), '-D', self.data, '-k', self.dir,
                '-p', str(self.port), '-c', 'listen_addresses=127.0.0.1',
                '-c', 'shared_buffers=128kB', '-c', 'max_connections=40', '-c', 'fsync=off',
                '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off',
                '-c', 'unix_socket_permissions=0777', '-c', 'logging_collector=off',
                '-c', 'ssl=%s' % ('on' if self.ssl else 'off')]
        self._spawn(args)
        self.wait_ready()
        return self

    def sql(self, text, db='postgres'):
        """Runs statements as pgadmin over the UNIX socket; returns psql's output."""
        r = subprocess.run([os.path.join(self.bin, 'psql'), '-X', '-q', '-v', 'ON_ERROR_STOP=1',
                            '-h', self.dir, '-p', str(self.port), '-U', 'pgadmin', '-d', db,
                            '-A', '-t'],
                           input=text.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError('psql failed:\n%s' % r.stdout.decode(errors='replace'))
        return r.stdout.decode()


class MariaServer(_Server):
    """MariaDB: root over the UNIX socket (unix_socket auth, as the test runs as root),
    TCP on 127.0.0.1; ssl=(cert, key) turns TLS on."""

    kind = 'mariadb'
    user = 'mysql'
    stop_signal = signal.SIGTERM

    def __init__(self, name='mariadb', ssl=None):
        self.name = name
        self.dir = os.path.join(TESTDIR, name)
        self.data = os.path.join(self.dir, 'data')
        self.port = free_port()
        self.socket = os.path.join(self.dir, 'mysqld.sock')
        self.log_path = os.path.join(self.dir, 'mariadb.log')
        self.ssl = ssl
        self.proc = None

    def init(self):
        _prepare(self.dir, self.user)
        r = subprocess.run(['mariadb-install-db', '--no-defaults', '--datadir=' + self.data,
                            '--user=' + self.user, '--auth-root-authentication-method=socket',
                            '--skip-test-db'],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError('mariadb-install-db failed:\n%s' % r.stdout.decode(errors='replace'))

    def start(self):
        args = ['mariadbd', '--no-defaults', '--datadir=' + self.data, '--socket=' + self.socket,
                '--port=%d' % self.port, '--bind-address=127.0.0.1', '--skip-name-resolve',
                '--innodb-buffer-pool-size=8M', '--innodb-log-file-size=4M',
                '--key-buffer-size=64K', '--performance-schema=OFF', '--skip-log-bin',
                '--pid-file=' + os.path.join(self.dir, 'mariadb.pid'),
                '--log-error=' + self.log_path]
        if self.ssl:
            args += ['--ssl-cert=' + self.ssl[0], '--ssl-key=' + self.ssl[1]]
        if os.geteuid() == 0:
            args.append('--user=' + self.user)
            self.user = 'root'   # mariadbd drops to --user itself
        self._spawn(args)
        self.wait_ready()
        return self

    def sql(self, text, db=None):
        r = subprocess.run(['mariadb', '--no-defaults', '-S', self.socket, '-u', 'root', '-N', '-B']
                           + ([db] if db else []),
                           input=text.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError('mariadb failed:\n%s' % r.stdout.decode(errors='replace'))
        return r.stdout.decode()


def passdb_blocks(confs):
    return ''.join('passdb {\n  driver = sql\n  args = %s\n}\n' % c for c in confs)


class DovecotSqlProxy(fixtures.DovecotProxy):
    """A real Dovecot proxy whose passdbs are the given dovecot-sql.conf.ext files."""

    def __init__(self, confs, **kw):
        super().__init__(users={}, **kw)
        self.sql_confs = list(confs)

    def write_conf(self):
        super().write_conf()
        with open(self.conf) as f:
            text = f.read()
        start = text.index('passdb {')
        end = text.index('\n}\n', start) + 3
        text = text[:start] + passdb_blocks(self.sql_confs) + text[end:]
        with open(self.conf, 'w') as f:
            f.write(text)


class SqlProxyd(Proxyd):
    """mtool proxyd whose passdbs are the given dovecot-sql.conf.ext files."""

    def __init__(self, confs, **kw):
        super().__init__(**kw)
        self.sql_confs = list(confs)

    def write_conf(self):
        super().write_conf()
        with open(self.conf) as f:
            text = f.read()
        start = text.index('passdb {')
        end = text.index('\n}\n', start) + 3
        text = text[:start] + passdb_blocks(self.sql_confs) + text[end:]
        with open(self.conf, 'w') as f:
            f.write(text)
