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
import re
import signal
import subprocess
import threading
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


def use_sql_passdbs(conf_path, confs, driver='sql'):
    """Replaces the first passdb { } block of a written config with sql (or driver)
    passdbs."""
    with open(conf_path) as f:
        text = f.read()
    start = text.index('passdb {')
    end = text.index('\n}\n', start) + 3
    blocks = ''.join('passdb {\n  driver = %s\n  args = %s\n}\n' % (driver, c) for c in confs)
    with open(conf_path, 'w') as f:
        f.write(text[:start] + blocks + text[end:])


class DovecotSqlProxy(fixtures.DovecotProxy):
    """A real Dovecot proxy whose passdbs are the given dovecot-sql.conf.ext files."""

    passdb_driver = 'sql'

    def __init__(self, confs, **kw):
        super().__init__(users={}, **kw)
        self.sql_confs = list(confs)

    def write_conf(self):
        super().write_conf()
        use_sql_passdbs(self.conf, self.sql_confs, self.passdb_driver)


NO_PENALTY = 'service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n'


class SqlProxyd(Proxyd):
    """mtool proxyd whose passdbs are the given dovecot-sql.conf.ext files."""

    passdb_driver = 'sql'

    def __init__(self, confs, **kw):
        # the suite compares answers after failed logins from 127.0.0.1: no auth penalty
        # here (the Dovecot proxy it is compared with has none either)
        kw.setdefault('extra_conf', NO_PENALTY)
        super().__init__(**kw)
        self.sql_confs = list(confs)

    def write_conf(self):
        super().write_conf()
        use_sql_passdbs(self.conf, self.sql_confs, self.passdb_driver)


# ---- the suite both database tests run ------------------------------------------------------

def crypt512(pw):
    r = subprocess.run(['doveadm', 'pw', '-s', 'SHA512-CRYPT', '-p', pw], stdout=subprocess.PIPE,
                       check=True)
    return r.stdout.decode().strip()


def login(port, user, password, timeout=10, source_ip=None):
    """The tagged answer to LOGIN, without Dovecot's [host:time] suffix, and seconds taken.
    source_ip: a 127.x address of its own keeps the auth penalty of other cases away."""
    c = fixtures.RawClient('127.0.0.1', port, timeout=timeout, source_ip=source_ip)
    c.line()
    t0 = time.monotonic()
    q = lambda s: '"%s"' % s.replace('\\', '\\\\').replace('"', '\\"')
    c.send(('a LOGIN %s %s\r\n' % (q(user), q(password))).encode())
    line = c.until(b'a ')[-1].decode(errors='replace').rstrip('\r\n')
    took = time.monotonic() - t0
    c.close()
    return re.sub(r' \[[^\]]*:[0-9 :-]+\]$', '', line), took


# (login, password column, via, nopassword, destuser): via picks the dovecot-sql.conf.ext
# whose query finds the row, so each login goes through one way of reaching the server
def user_rows(c512):
    return [
        ('user1@example.org', c512, 'tcp', None, None),
        ('user2@example.org', None, 'tcp', 'y', None),
        ('alias@example.org', None, 'tcp', 'y', 'user4@example.org'),
        ('user3@example.org', c512, 'unix', None, None),
        ('user4@example.org', None, 'auth2', 'y', None),
        ('user5@example.org', c512, 'tls', None, None),
        ('fail@example.org', None, 'failover', 'y', 'user1@example.org'),
        ('slow@example.org', None, 'tcp', 'y', 'user1@example.org'),
        ("o'brien@example.org", None, 'tcp', 'y', 'user2@example.org'),
    ]


def write_sql_conf(driver, via, connect, sleep_expr, columns=''):
    """One dovecot-sql.conf.ext; sleep_expr makes logins starting with "slow" take 2 s;
    columns: more of them (", 'x' AS y")."""
    path = os.path.join(TESTDIR, '%s-%s.conf.ext' % (driver, via))
    with open(path, 'w') as f:
        f.write('# dovecot-sql.conf.ext: %s over %s\n'
                'driver = %s\n'
                'connect = %s\n'
                'default_pass_scheme = SHA512-CRYPT\n'
                "password_query = SELECT username AS user, password, host, port, 'y' AS proxy, \\\n"
                '  nopassword, destuser%s FROM users \\\n'
                "  WHERE username = '%%u' AND via = '%s' AND %s\n"
                % (driver, via, driver, connect, columns, via, sleep_expr))
    os.chmod(path, 0o644)
    return path


def compare_logins(px, dv, cases):
    """Each (user, password, what) of cases against mtool px and Dovecot dv: the same answer.
    Each case from an address of its own: the auth penalty of the failed ones would delay
    the next past the client's timeout."""
    for i, (user, pw, what) in enumerate(cases):
        src = '127.0.1.%d' % (i + 1)
        mine, _ = login(px.imap_port, user, pw, source_ip=src)
        theirs, _ = login(dv.imap_port, user, pw, source_ip=src)
        fixtures.report(mine == theirs, '%s: %s' % (what, mine[:60]),
                        'mtool %r, Dovecot %r' % (mine, theirs))


def finds_nothing(px, users):
    """Injection attempts: each login name fails on mtool px."""
    for i, user in enumerate(users):
        r, _ = login(px.imap_port, user, 'pass', source_ip='127.0.2.%d' % (i + 1))
        fixtures.report('AUTHENTICATIONFAILED' in r, 'injection finds nothing: %.20s' % user, r)


def run_suite(db, be, confs, labels):
    """The cases every driver must pass. db: PgServer or MariaServer holding user_rows() in
    table users; confs: the dovecot-sql.conf.ext files in chain order; labels: via -> words."""
    port = be.imap_port
    report_ = fixtures.report
    # Dovecot's default auth_username_chars keeps quotes out of the queries: both proxies
    # answer without asking the database
    dv = DovecotSqlProxy(confs, name='dvdefault', backend=be)
    px = SqlProxyd(confs, name='pxdefault')
    with dv, px:
        for user in ("o'brien@example.org", "x' OR '1'='1", 'back\\slash'):
            mine, _ = login(px.imap_port, user, 'pass')
            theirs, _ = login(dv.imap_port, user, 'pass')
            report_(mine == theirs == 'a NO [AUTHENTICATIONFAILED] Authentication failed.',
                    'auth_username_chars refuses %r as Dovecot does' % user,
                    'mtool %r, Dovecot %r' % (mine, theirs))
        report_(px.wait_log(r'Username character disallowed by auth_username_chars: 0x27', timeout=2),
                'the refused character is logged')
    # from here on every byte is allowed: the escaping has to hold
    anychar = {'auth_username_chars': ''}
    dv = DovecotSqlProxy(confs, name='dvproxy', backend=be, settings=anychar)
    px = SqlProxyd(confs, settings=anychar)
    with dv, px:
        cases = [
            ('user1@example.org', 'pass', 'SHA512-CRYPT column checked by the proxy'),
            ('user1@example.org', 'wrong', 'a wrong password against SHA512-CRYPT'),
            ('user2@example.org', 'pass', 'nopassword: the password is forwarded'),
            ('user2@example.org', 'wrong', 'nopassword: the backend refuses a wrong one'),
            ('alias@example.org', 'pass', 'destuser from a column'),
            ('user3@example.org', 'pass', labels['unix']),
            ('user4@example.org', 'pass', labels['auth2']),
            ('user5@example.org', 'pass', labels['tls']),
            ('fail@example.org', 'pass', 'failover: the first host= is down, the second answers'),
            ('nobody@example.org', 'pass', 'user not found'),
            ("o'brien@example.org", 'pass', 'a quote in a real user name'),
            ("x' OR '1'='1", 'pass', 'injection: OR 1=1'),
            ("x' UNION SELECT 'user1@example.org', NULL, '127.0.0.1', %d, 'y', 'y', NULL -- " % port,
             'pass', 'injection: UNION with nopassword'),
            ("\\' OR 1=1 -- ", 'pass', 'injection: backslash before a quote'),
            ("x\\", 'pass', 'injection: a backslash at the end'),
            ("user1@example.org'; DROP TABLE users; -- ", 'pass', 'injection: stacked statement'),
            ("x\" OR \"1\"=\"1", 'pass', 'injection: double quotes'),
            ('%u%d%%', 'pass', 'percent signs in the name'),
            ('üser€@example.org', 'pass', 'multibyte user name'),
            ('\xbf\' OR 1=1 -- ', 'pass', 'injection: a lone multibyte lead byte before a quote'),
        ]
        compare_logins(px, dv, cases)
        ok, _ = login(px.imap_port, 'user1@example.org', 'pass')
        report_(ok.startswith('a OK'), 'a proxied login succeeds', ok)
        finds_nothing(px, ("x' OR '1'='1", "x' UNION SELECT 'user1@example.org', NULL, "
                           "'127.0.0.1', %d, 'y', 'y', NULL -- " % port))
        report_(db.sql('SELECT count(*) FROM users', db='mail').strip() == str(len(user_rows(''))),
                'the users table is intact after the injection attempts')

        # one slow lookup (2 s) holds up nobody else
        res = {}
        t = threading.Thread(target=lambda: res.update(slow=login(px.imap_port, 'slow@example.org', 'pass')))
        t.start()
        time.sleep(0.3)
        quick, took = login(px.imap_port, 'user1@example.org', 'pass')
        t.join()
        report_(quick.startswith('a OK') and took < 1.0,
                'a login during a slow query is not delayed', '%r in %.2fs' % (quick, took))
        report_(res['slow'][0].startswith('a OK') and res['slow'][1] >= 1.9,
                'the slow login itself succeeds after its query', repr(res['slow']))

        # the database goes away: Dovecot's temporary failure text. Not compared with the
        # real Dovecot here: its sqlpool keeps the query of a multi-host connect waiting,
        # and 2.3.19's auth process was seen dying of SIGSEGV when the server went away
        db.stop()
        mine, took = login(px.imap_port, 'user1@example.org', 'pass')
        report_(mine == 'a NO [UNAVAILABLE] Temporary authentication failure.' and took < 3,
                'database down: temporary failure at once', '%r in %.2fs' % (mine, took))
        report_(px.wait_log(r'Password query failed', timeout=2) is not None,
                'database down: the failure is logged')
        db.start()
        deadline = time.monotonic() + 15
        while True:
            r, _ = login(px.imap_port, 'user1@example.org', 'pass')
            if r.startswith('a OK') or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        report_(r.startswith('a OK'), 'database back: logins work again', r)
        for user, what in (('user3@example.org', 'UNIX socket'), ('user5@example.org', 'TLS')):
            r, _ = login(px.imap_port, user, 'pass')
            report_(r.startswith('a OK'), 'database back: %s reconnects' % what, r)

        # killed hard, in the middle of a slow query
        res = {}
        t = threading.Thread(target=lambda: res.update(slow=login(px.imap_port, 'slow@example.org', 'pass')))
        t.start()
        time.sleep(0.5)
        db.kill()
        t.join()
        report_(res['slow'][0].startswith('a NO [UNAVAILABLE]'),
                'server killed mid-query: temporary failure', repr(res['slow']))
    report_(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))
