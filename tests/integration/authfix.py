# SPDX-License-Identifier: MIT
"""A real Dovecot 2.3 run as an auth server only (protocols = none), for passdb auth: its
auth service listens on a UNIX socket (auth-client, a plain client socket) and on a TCP
port, with a passwd-file passdb and a sqlite passdb (dovecot-sqlite; the database is
written here with Python's sqlite3 module) behind it. Started and stopped by PID as every
fixtures._Instance; auth_pids() gives the auth processes' PIDs (to SIGSTOP a stuck server).

    with DovecotAuth(passwd_lines, sql_rows) as au:
        au.socket, au.port

AuthProxyd is mtool proxyd whose only passdb is `driver = auth` with the given args."""

import os
import sqlite3

import fixtures
from fixtures import _Instance, _identities, free_port
from sqlfix import NO_PENALTY, SqlProxyd


class DovecotAuth(_Instance):
    """passwd: lines of a passwd-file (user:{PLAIN}pw::::::fields); rows: (user, password,
    fields dict) for the sqlite table users(username, password, proxy, host, port, destuser,
    reason, nologin), asked when the passwd-file does not know the user."""

    kind = 'auth'

    def __init__(self, passwd, rows, name='auth', **kw):
        super().__init__(name, protocols='none', **kw)
        self.port = free_port()
        # start() waits for imap_port..pop3s_port to listen: here that is the auth port
        self.imap_port, self.pop3_port = self.port, 0
        self.socket = os.path.join(self.base_dir, 'auth-client')
        self.passwd = list(passwd)
        self.rows = list(rows)
        self.passwd_file = os.path.join(self.dir, 'auth.passwd')
        self.db = os.path.join(self.dir, 'users.sqlite')
        self.sql_conf = os.path.join(self.dir, 'dovecot-sql.conf.ext')

    def write_conf(self):
        ids = _identities()
        with open(self.passwd_file, 'w') as f:
            f.write(''.join(l + '\n' for l in self.passwd))
        if os.path.exists(self.db):
            os.unlink(self.db)
        con = sqlite3.connect(self.db)
        con.execute('CREATE TABLE users (username TEXT PRIMARY KEY, password TEXT, proxy TEXT, '
                    'host TEXT, port INTEGER, destuser TEXT, reason TEXT, nologin TEXT)')
        for user, pw, fields in self.rows:
            con.execute('INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                        (user, pw, fields.get('proxy'), fields.get('host'), fields.get('port'),
                         fields.get('destuser'), fields.get('reason'), fields.get('nologin')))
        con.commit()
        con.close()
        with open(self.sql_conf, 'w') as f:
            f.write('driver = sqlite\nconnect = %s\ndefault_pass_scheme = PLAIN\n'
                    'password_query = SELECT username AS user, password, proxy, host, port, '
                    "destuser, reason, nologin FROM users WHERE username = '%%u'\n" % self.db)
        for p in (self.passwd_file, self.db, self.sql_conf):
            os.chmod(p, 0o644)
        lines = [
            '# written by tests/integration/authfix.py (auth server %s)' % self.name,
            'instance_name = mtool-test-%s-%d' % (self.name, os.getpid()),
            'base_dir = %s' % self.base_dir,
            'state_dir = %s' % self.state_dir,
            'log_path = %s' % self.log_path,
            'log_timestamp = "%Y-%m-%d %H:%M:%S "',
            'listen = %s' % self.ip,
            'protocols = none',
            'auth_mechanisms = plain',
            'auth_verbose = yes',
            'auth_failure_delay = 0',
            'service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}',
            'default_internal_user = %s' % ids.internal_user,
            'default_internal_group = %s' % ids.internal_group,
            'default_login_user = %s' % ids.login_user,
            'service auth {\n  unix_listener auth-client {\n    mode = 0666\n  }\n'
            '  unix_listener auth-login {\n    mode = 0666\n  }\n'
            '  inet_listener auth-tcp {\n    address = %s\n    port = %d\n  }\n}' % (self.ip, self.port),
            'passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s\n}' % self.passwd_file,
            'passdb {\n  driver = sql\n  args = %s\n}' % self.sql_conf,
            'userdb {\n  driver = static\n  args = uid=%d gid=%d home=/nonexistent '
            'allow_all_users=yes\n}' % (ids.uid, ids.gid),
        ]
        if not ids.root:
            lines += ['service %s {\n  chroot =\n}' % s for s in ('anvil', 'ipc')]
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines + self._tail_conf()) + '\n')

    def auth_pids(self):
        """The PIDs of the auth processes (auth, auth-worker)."""
        out = []
        for p in self.pids():
            try:
                with open('/proc/%d/cmdline' % p, 'rb') as f:
                    cmd = f.read().split(b'\0')[0]
            except OSError:
                continue
            # the title is "dovecot[-<instance_name>]/auth" (or auth-worker)
            if cmd.split(b' ')[0].rsplit(b'/', 1)[-1].startswith(b'auth'):
                out.append(p)
        return out


class AuthProxyd(SqlProxyd):
    """mtool proxyd asking a Dovecot auth server: passdb { driver = auth  args = ... }."""

    passdb_driver = 'auth'

    def __init__(self, args, **kw):
        kw.setdefault('extra_conf', NO_PENALTY)
        super().__init__([args], **kw)
