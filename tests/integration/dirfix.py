# SPDX-License-Identifier: MIT
"""A real Dovecot 2.3 director on loopback, for tests of `doveadm director` and directord.

    from dirfix import DovecotDirector

    with DovecotDirector('dir', hosts=['127.0.0.2', ('127.0.0.3', 50, 'tagb')]) as d:
        d.director('status')              # real doveadm -c CONF director status -a ADMIN
        d.admin_socket                    # the director-admin socket (base_dir/director-admin)

A ring of one: director_servers names only this director (ring port .ring_port, a free port),
so it is synced as soon as it runs; servers=['ip:port', ...] lists a ring of several. hosts: director_mail_servers, each an address or
(address, vhosts) or (address, vhosts, tag); a host whose vhost count is not 100 (Dovecot's
default) gets it from `doveadm director add` right after the start, as an operator would set
it (the config file cannot carry vhost counts). Dovecot keeps the director's state in memory
only: a restart (stop(), start()) gives the configured state back.

In front, as in a real deployment, imap-login and pop3-login run as director proxies
(`executable = imap-login director`) on .imap_port/.pop3_port, with a static passdb
(proxy=y nopassword=y, the client's password forwarded) whose port is backend_imap_port or
backend_pop3_port by protocol; login=False leaves them out (no IMAP/POP3 listeners).
users: the iterable passwd-file userdb (`director map` lists it), default user1..user20.
settings/extra_conf as for DovecotBackend, e.g. settings={'director_user_expire': '1 min'}.
Started in the foreground as a child of the test and stopped by PID (see fixtures.py).
"""

import os
import subprocess
import time

from fixtures import _Instance, _identities, _dovecot_bin, free_port, wait_port, _tail

__all__ = ['DovecotDirector', 'DEFAULT_VHOSTS']

DEFAULT_VHOSTS = 100


def _host_spec(h):
    """(address, vhosts, tag) from an address or a tuple."""
    if isinstance(h, str):
        return (h, DEFAULT_VHOSTS, '')
    h = tuple(h)
    return (h[0], h[1] if len(h) > 1 and h[1] is not None else DEFAULT_VHOSTS,
            h[2] if len(h) > 2 and h[2] else '')


class DovecotDirector(_Instance):
    """A real Dovecot director (ring of one) with its own base_dir and free ports."""

    kind = 'director'

    def __init__(self, name='director', hosts=('127.0.0.2', '127.0.0.3'), ip='127.0.0.1',
                 ring_port=None, users=None, login=True, backend_imap_port=143,
                 backend_pop3_port=110, imap_port=None, pop3_port=None, extra_conf='',
                 servers=None, **kw):
        self.login = login
        # without login proxies: -1 keeps _Instance from picking ports, 0 = no listener
        super().__init__(name, ip, imap_port if login else -1, pop3_port if login else -1,
                         extra_conf=extra_conf, **kw)
        if not login:
            self.imap_port = self.pop3_port = 0
        self.hosts = [_host_spec(h) for h in hosts]
        self.ring_port = ring_port or free_port(ip)
        # a ring: every director as ip:port (default: this one only)
        self.servers = list(servers) if servers else None
        self.users = list(users) if users is not None else \
            ['user%d@example.org' % i for i in range(1, 21)]
        self.backend_imap_port = backend_imap_port
        self.backend_pop3_port = backend_pop3_port
        self.admin_socket = os.path.join(self.base_dir, 'director-admin')
        self.userdb_socket = os.path.join(self.base_dir, 'director-userdb')
        self.users_file = os.path.join(self.dir, 'users')

    def write_conf(self):
        ids = _identities()
        with open(self.users_file, 'w') as f:
            for u in self.users:
                f.write('%s:{PLAIN}pass::::::\n' % u)
        mail_servers = ' '.join(a + ('@' + t if t else '') for a, _, t in self.hosts)
        port = '%%{if;%%s;eq;imap;%d;%d}' % (self.backend_imap_port, self.backend_pop3_port)
        lines = self._common_conf(ids) + [
            '# --- director: a ring of one ---',
            'director_servers = %s' % (' '.join(self.servers) if self.servers else
                                       '%s:%d' % (self.ip, self.ring_port)),
            'director_mail_servers = %s' % mail_servers,
            'service director {',
            '  unix_listener login/director {\n    mode = 0666\n  }',
            '  fifo_listener login/proxy-notify {\n    mode = 0666\n  }',
            '  unix_listener director-userdb {\n    mode = 0600\n  }',
            '  unix_listener director-admin {\n    mode = 0600\n  }',
            '  inet_listener director {\n    address = %s\n    port = %d\n  }'
            % (self.ip, self.ring_port),
            '}',
            '# the director adds host=; the client\'s password is forwarded',
            'passdb {\n  driver = static\n  args = proxy=y nopassword=y port=%s\n}' % port,
            '# iterable, so that "doveadm director map" lists the users',
            'userdb {\n  driver = passwd-file\n  args = %s\n  default_fields = uid=%d gid=%d '
            'home=/nonexistent\n}' % (self.users_file, ids.uid, ids.gid),
            'login_proxy_timeout = 10 secs',
        ]
        if self.login:
            lines += ['service imap-login {\n  executable = imap-login director\n}',
                      'service pop3-login {\n  executable = pop3-login director\n}']
        lines += self._tail_conf()
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')

    def start(self):
        """Start, wait for the ring port and the director-admin socket, then give the
        hosts with a non-default vhost count their count (doveadm director add)."""
        if self.proc is not None:
            return self
        super().start()
        try:
            wait_port(self.ip, self.ring_port, 10, self.proc)
            deadline = time.monotonic() + 10
            while True:
                r = self.director('status', check=False)
                if r.returncode == 0:
                    break
                if time.monotonic() > deadline or not self.running():
                    raise RuntimeError('doveadm director status: %d %s' % (
                        r.returncode, r.stderr.decode('utf-8', 'replace')))
                time.sleep(0.05)
            for addr, vhosts, tag in self.hosts:
                if vhosts != DEFAULT_VHOSTS:
                    self.director('add', addr, str(vhosts))
        except Exception as e:
            self.stop()
            raise RuntimeError('director %s did not start: %s\n--- %s\n%s' % (
                self.name, e, self.log_path, _tail(self.log_path)))
        return self

    def director(self, *args, fmt=None, input=None, check=True):
        """The real `doveadm [-f fmt] -c CONF director ARGS -a ADMIN_SOCKET`
        (CompletedProcess, bytes)."""
        args = list(args)
        # "ring status" and friends: -a goes after the whole command name
        n = 2 if args[:1] == ['ring'] else 1
        argv = [_dovecot_bin('doveadm')] + (['-f', fmt] if fmt else []) + \
            ['-c', self.conf, 'director'] + args[:n] + ['-a', self.admin_socket] + args[n:]
        r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        if check and r.returncode != 0:
            raise RuntimeError('%s failed (%d): %s' % (' '.join(argv), r.returncode,
                                                       r.stderr.decode('utf-8', 'replace')))
        return r

    def __repr__(self):
        return '<director %s %s ring=%d imap=%d pop3=%d pid=%s>' % (
            self.name, self.ip, self.ring_port, self.imap_port, self.pop3_port, self.pid)
