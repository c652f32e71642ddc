# SPDX-License-Identifier: MIT
"""A small DNS server stand-in for tests: UDP and TCP on port 53 of a 127.0.0.0/8 address,
answering A queries from a table, and misbehaving on purpose for some names.

    dns = FakeDns(ip='127.0.0.53').start()
    dns.add('mail.test', '127.0.0.1', ttl=2)       # A record
    dns.hang('dead.test')                           # never answers (drops the query)
    dns.delay('slow.test', '127.0.0.1', 1.5)        # answers after 1.5 s
    dns.nxdomain('nx.test', neg_ttl=30)             # NXDOMAIN with an SOA (minimum neg_ttl)
    dns.truncate('big.test', '127.0.0.1')           # UDP answer has TC set; TCP answers
    dns.garbage('evil.test')                        # a compression-pointer loop
    dns.count('mail.test') -> queries seen (A, UDP+TCP); dns.tcp_count(name)
    dns.stop()

AAAA queries get an empty answer (NODATA) with an SOA for every known name. Port 53 needs
root; the test picks a free 127.0.0.0/8 address with free_ip()."""
import random
import socket
import struct
import threading
import time


def free_ip():
    """A 127.0.0.0/8 address whose UDP and TCP port 53 are free right now."""
    for _ in range(200):
        ip = '127.%d.%d.%d' % (random.randint(1, 254), random.randint(0, 255), random.randint(2, 254))
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((ip, 53))
                s.close()
            return ip
        except OSError:
            continue
    raise RuntimeError('no free 127.0.0.0/8 address for port 53')


def encode_name(name):
    out = b''
    for label in name.rstrip('.').split('.'):
        out += bytes([len(label)]) + label.encode()
    return out + b'\0'


def read_qname(pkt, off):
    labels = []
    while pkt[off]:
        n = pkt[off]
        labels.append(pkt[off + 1:off + 1 + n].decode('latin-1'))
        off += 1 + n
    return '.'.join(labels).lower(), off + 1


class FakeDns:
    def __init__(self, ip='127.0.0.53'):
        self.ip = ip
        self.rules = {}          # name -> dict(kind=..., ...)
        self.counts = {}
        self.tcp_counts = {}
        self.lock = threading.Lock()
        self.stopping = False
        self.threads = []

    # ---- the table --------------------------------------------------------------------
    def add(self, name, addr, ttl=60):
        self.rules[name] = {'kind': 'a', 'addr': addr, 'ttl': ttl}

    def hang(self, name):
        self.rules[name] = {'kind': 'hang'}

    def delay(self, name, addr, secs, ttl=60):
        self.rules[name] = {'kind': 'delay', 'addr': addr, 'ttl': ttl, 'secs': secs}

    def nxdomain(self, name, neg_ttl=30):
        self.rules[name] = {'kind': 'nx', 'neg_ttl': neg_ttl}

    def truncate(self, name, addr, ttl=60):
        self.rules[name] = {'kind': 'tc', 'addr': addr, 'ttl': ttl}

    def garbage(self, name):
        self.rules[name] = {'kind': 'garbage'}

    def count(self, name):
        with self.lock:
            return self.counts.get(name, 0)

    def tcp_count(self, name):
        with self.lock:
            return self.tcp_counts.get(name, 0)

    # ---- answers ----------------------------------------------------------------------
    def answer(self, q, tcp):
        """The reply for query q, or None to stay silent."""
        if len(q) < 12:
            return None
        qid, flags, qd = struct.unpack('!HHH', q[:6])
        if qd != 1:
            return None
        name, off = read_qname(q, 12)
        qtype, qclass = struct.unpack('!HH', q[off:off + 4])
        question = q[12:off + 4]
        rule = self.rules.get(name)
        if qtype == 1:
            with self.lock:
                self.counts[name] = self.counts.get(name, 0) + 1
                if tcp:
                    self.tcp_counts[name] = self.tcp_counts.get(name, 0) + 1
        kind = rule['kind'] if rule else 'nx'
        if kind == 'hang':
            return None
        if kind == 'delay':
            time.sleep(rule['secs'])
        neg = rule.get('neg_ttl', 30) if rule else 30
        soa = (b'\xc0\x0c' + struct.pack('!HHIH', 6, 1, 300, 22) + b'\0\0' +
               struct.pack('!IIIII', 1, 60, 60, 60, neg))
        hdr = lambda rcode, an, ns, tc=0: struct.pack('!HHHHHH', qid, 0x8180 | rcode | (0x0200 if tc else 0),
                                                     1, an, ns, 0)
        if kind == 'garbage':
            # an answer whose owner name is a pointer to itself
            return hdr(0, 1, 0) + question + b'\xc0' + bytes([12 + len(question)]) + \
                struct.pack('!HHIH', 1, 1, 60, 4) + b'\x7f\0\0\x01'
        if kind == 'nx':
            return hdr(3, 0, 1) + question + soa
        if qtype != 1:
            return hdr(0, 0, 1) + question + soa      # NODATA for AAAA
        if kind == 'tc' and not tcp:
            return hdr(0, 0, 0, tc=1) + question
        rr = b'\xc0\x0c' + struct.pack('!HHIH', 1, 1, rule['ttl'], 4) + socket.inet_aton(rule['addr'])
        return hdr(0, 1, 0) + question + rr

    # ---- the servers ------------------------------------------------------------------
    def start(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.udp.bind((self.ip, 53))
        self.udp.settimeout(0.2)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((self.ip, 53))
        self.tcp.listen(16)
        self.tcp.settimeout(0.2)
        for fn in (self._udp_loop, self._tcp_loop):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def _udp_reply(self, q, peer):
        r = self.answer(q, False)
        if r is not None and not self.stopping:
            try:
                self.udp.sendto(r, peer)
            except OSError:
                pass

    def _udp_loop(self):
        while not self.stopping:
            try:
                q, peer = self.udp.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            # each query on its own thread: a delayed answer holds up no other
            threading.Thread(target=self._udp_reply, args=(q, peer), daemon=True).start()

    def _tcp_conn(self, c):
        try:
            c.settimeout(5)
            while True:
                hdr = c.recv(2)
                if len(hdr) < 2:
                    return
                n = struct.unpack('!H', hdr)[0]
                q = b''
                while len(q) < n:
                    d = c.recv(n - len(q))
                    if not d:
                        return
                    q += d
                r = self.answer(q, True)
                if r is None:
                    return
                c.sendall(struct.pack('!H', len(r)) + r)
        except OSError:
            pass
        finally:
            c.close()

    def _tcp_loop(self):
        while not self.stopping:
            try:
                c, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(c,), daemon=True).start()

    def stop(self):
        self.stopping = True
        for t in self.threads:
            t.join(2)
        self.udp.close()
        self.tcp.close()
