# SPDX-License-Identifier: MIT
"""Director rings on loopback for tests: real Dovecot 2.3 directors (dirfix) and mtool
directord (directordfix) listing each other in director_servers, all on one ring port.

    from ringfix import Ring
    ring = Ring(['dovecot', 'dovecot', 'mtool'])      # .dirs[i] on 127.0.0.1, .12, .13 ...
    ring.start(); ring.wait_synced()
    ring.lookup_proxy(ring.dirs[2], users)            # assign through directord's proxy socket
    ring.lookup_auth(ring.dirs[0], users)             # through Dovecot's director-userdb
    ring.user_list(d)                                 # {hash: ip} from USER-LIST

Each director gets its own address (127.0.0.1 for the first, then 127.0.0.12, .13, ...),
so that their ring links pass each other's source-address check."""

import select
import socket
import time

from fixtures import free_port
from dirfix import DovecotDirector
from directordfix import Directord, admin_lines

IPS = ['127.0.0.1', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15']


def common_port(ips):
    """A port free on every address in ips."""
    while True:
        p = free_port(ips[0])
        ok = True
        for ip in ips[1:]:
            s = socket.socket()
            try:
                s.bind((ip, p))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return p


def ring_listener(ip, port):
    return ('service director {\n  inet_listener director {\n    address = %s\n'
            '    port = %d\n  }\n}\n' % (ip, port))


class Ring:
    def __init__(self, kinds, hosts=('127.0.0.2', '127.0.0.3'), settings=None, tag='',
                 mtool_settings=None, dovecot_settings=None):
        self.ips = IPS[:len(kinds)]
        self.port = common_port(IPS)
        self.servers = ['%s:%d' % (ip, self.port) for ip in self.ips]
        self.dirs = []
        for i, (kind, ip) in enumerate(zip(kinds, self.ips)):
            name = '%s%s-%d' % (tag, kind, i)
            st = dict(settings or {})
            if kind == 'dovecot':
                st.update(dovecot_settings or {})
                d = DovecotDirector(name, hosts=hosts, ip=ip, ring_port=self.port,
                                    servers=self.servers, login=False, settings=st)
            else:
                st.update(mtool_settings or {})
                st['director_servers'] = ' '.join(self.servers)
                d = Directord(name, hosts=hosts, settings=st,
                              extra_conf=ring_listener(ip, self.port))
                d.ring_port = self.port
            d.ip = ip
            d.kind = kind
            self.dirs.append(d)

    def start(self, order=None):
        """starts the directors (in order: a list of indexes)"""
        for i in order or range(len(self.dirs)):
            self.dirs[i].start()
        return self

    def stop(self):
        for d in self.dirs:
            try:
                d.stop()
            except Exception:
                pass

    def status(self, d):
        """DIRECTOR-LIST rows (lists of fields)."""
        return [l.split('\t') for l in admin_lines(d.admin_socket, ['DIRECTOR-LIST'])[0]]

    def synced(self, d):
        """d's ring is synced and d has a left and a right"""
        rows = self.status(d)
        return any(r[2] == 'self' and len(r) > 4 and r[4] == 'ring synced' for r in rows) and \
            sum(1 for r in rows if r[2] in ('left', 'right')) == 2

    def alive(self):
        return [d for d in self.dirs if d.proc is not None]

    def wait_synced(self, timeout=20, dirs=None):
        deadline = time.monotonic() + timeout
        dirs = dirs or self.alive()
        while time.monotonic() < deadline:
            try:
                if all(self.synced(d) for d in dirs):
                    return True
            except (OSError, RuntimeError):
                pass
            time.sleep(0.1)
        return False

    def user_list(self, d):
        return dict(tuple(l.split('\t')[0::2]) for l in
                    admin_lines(d.admin_socket, ['USER-LIST'])[0])

    def host_list(self, d):
        """HOST-LIST without the user counts (they differ while users flow)."""
        return [tuple(l.split('\t')[:2] + l.split('\t')[3:])
                for l in admin_lines(d.admin_socket, ['HOST-LIST'])[0]]


def lookup_proxy(d, users, timeout=30):
    """LOOKUP users through directord's proxy socket, as proxyd does: {user: ip}."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(d.proxy_socket)
    f = s.makefile('rwb')
    f.write(b'VERSION\tmtool-director\t1\t0\n')
    out = {}
    for i in range(0, len(users), 500):
        batch = users[i:i + 500]
        for j, u in enumerate(batch):
            f.write(('LOOKUP\t%d\t%s\t\n' % (i + j, u)).encode())
        f.flush()
        got = 0
        while got < len(batch):
            l = f.readline().decode().rstrip('\n').split('\t')
            if not l or l == ['']:
                raise RuntimeError('proxy socket closed')
            if l[0] in ('HOST', 'FAIL'):
                out[users[int(l[1])]] = l[2] if l[0] == 'HOST' else None
                got += 1
    s.close()
    return out


class ProxyConn:
    """A long-lived proxy connection to directord: LOOKUP, START, END; collects KICKs."""

    def __init__(self, d):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(d.proxy_socket)
        self.buf = b''
        self.send('VERSION\tmtool-director\t1\t0')
        self.n = 0
        self.pending = []

    def send(self, line):
        self.s.sendall(line.encode() + b'\n')

    def read(self, timeout=30):
        """the next line's fields, or None after timeout seconds (or at EOF)"""
        deadline = time.monotonic() + timeout
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return None
            data = self.s.recv(65536)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return line.decode().split('\t')

    def lookup(self, user, timeout=30):
        """the host, or None (FAIL or no answer within timeout)"""
        self.n += 1
        self.send('LOOKUP\t%d\t%s\t' % (self.n, user))
        deadline = time.monotonic() + timeout
        while True:
            l = self.read(max(0, deadline - time.monotonic()))
            if l is None:
                return None
            if l[0] in ('HOST', 'FAIL') and l[1] == str(self.n):
                return l[2] if l[0] == 'HOST' else None
            self.pending.append(l)

    def kicks(self, timeout=2):
        """lines other than lookup answers seen so far plus what arrives within timeout"""
        end = time.monotonic() + timeout
        while True:
            l = self.read(max(0, end - time.monotonic()))
            if l is None:
                break
            self.pending.append(l)
        out, self.pending = self.pending, []
        return out

    def close(self):
        self.s.close()


def lookup_auth(d, users, timeout=30):
    """Assign users on a real Dovecot director through its director-userdb socket (the
    auth-master PASS lookup the director rewrites with host=): {user: ip}."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(d.userdb_socket)
    f = s.makefile('rwb')
    f.write(b'VERSION\t1\t0\n')
    out = {}
    for i in range(0, len(users), 200):
        batch = users[i:i + 200]
        for j, u in enumerate(batch):
            f.write(('PASS\t%d\t%s\tservice=imap\n' % (i + j + 1, u)).encode())
        f.flush()
        got = 0
        while got < len(batch):
            l = f.readline().decode().rstrip('\n').split('\t')
            if l[0] == 'VERSION' or l[0] == 'SPID':
                continue
            if not l or l == ['']:
                raise RuntimeError('director-userdb closed')
            got += 1
            host = [x[5:] for x in l if x.startswith('host=')]
            out[users[int(l[1]) - 1]] = host[0] if host else None
    s.close()
    return out
