# SPDX-License-Identifier: MIT
"""Capture what real Dovecot 2.3 login processes send, byte for byte (not a test: the runner
only runs t-*). Source of docs/dovecot-login-behaviour.md.

    sudo TESTDIR=$(mktemp -d) python3 tests/integration/capture-login.py [--timeouts] > out.txt

Every transcript: S: = server -> client, C: = client -> server, CR and LF shown as \\r \\n,
[open]/[closed] = whether the server closed the connection within the settle time after
the last input. --timeouts also waits for the 180 s pre-login timeout (IMAP and POP3).
"""
import base64
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, DovecotProxy, RawClient, free_port, main_guard  # noqa

out_lock = threading.Lock()


def esc(b, limit=600):
    s = ''
    for ch in b:
        c = chr(ch)
        if c == '\r':
            s += '\\r'
        elif c == '\n':
            s += '\\n\n'
        elif c == '\\':
            s += '\\\\'
        elif 32 <= ch < 127:
            s += c
        else:
            s += '\\x%02x' % ch
    if len(s) > limit:
        s = s[:limit // 2] + ' ...(%d bytes in all)... ' % len(b) + s[-limit // 4:]
    return s


def lines_of(prefix, b, limit=600):
    if not b:
        return []
    body = esc(b, limit)
    out = []
    for ln in body.split('\n'):
        if ln:
            out.append('%s %s' % (prefix, ln))
    return out


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s)


def session(title, ip, port, steps, settle=0.35, source_ip=None, greet=True, note=''):
    """steps: list of bytes (send, then collect for settle s) or (bytes, settle) tuples."""
    out = ['### ' + title]
    if note:
        out.append('(' + note + ')')
    t0 = time.monotonic()
    try:
        c = RawClient(ip, port, source_ip=source_ip, timeout=5)
    except OSError as e:
        out.append('connect failed: %s' % e)
        return emit(out)
    if greet:
        g = c.line()
        out += lines_of('S:', g)
    for st in steps:
        wait = settle
        if isinstance(st, tuple):
            st, wait = st
        if st:
            out += lines_of('C:', st, 300)
            try:
                c.send(st)
            except OSError as e:
                out.append('   (send failed: %s)' % e)
                break
        r, first = read_timed(c, wait)
        if r:
            if first >= 0.1:
                out.append('   (reply after %.2f s)' % first)
            out += lines_of('S:', r)
        if c.eof:
            break
    closed = c.closed(0.3)
    out.append('[closed after %.2f s]' % (time.monotonic() - t0) if closed else '[open]')
    c.close()
    return emit(out)


def emit(out):
    with out_lock:
        print('\n'.join(x for x in out if x != '') + '\n', flush=True)


def read_timed(c, wait):
    """Everything that arrives within wait seconds, and when its first byte came."""
    t0 = time.monotonic()
    deadline = t0 + wait
    first = None
    while not c.eof and deadline > time.monotonic():
        if c._fill(deadline - time.monotonic()) and first is None:
            first = time.monotonic() - t0
    out, c.buf = c.buf, b''
    return out, (first or 0.0)


# ---- a TCP relay that records proxy <-> backend bytes ------------------------------------

class Tap:
    """Listens on 127.0.0.1:port and forwards to dst; records both directions."""

    def __init__(self, dst_ip, dst_port):
        self.dst = (dst_ip, dst_port)
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(('127.0.0.1', 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.log = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                a, _ = self.ls.accept()
            except OSError:
                return
            try:
                b = socket.create_connection(self.dst)
            except OSError:
                a.close()
                continue
            threading.Thread(target=self._pump, args=(a, b, 'P:'), daemon=True).start()
            threading.Thread(target=self._pump, args=(b, a, 'B:'), daemon=True).start()

    def _pump(self, src, dst, tag):
        while True:
            try:
                d = src.recv(65536)
            except OSError:
                d = b''
            if not d:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                with self.lock:
                    self.log.append((tag, b'', True))
                return
            with self.lock:
                self.log.append((tag, d, False))
            try:
                dst.sendall(d)
            except OSError:
                return

    def take(self):
        with self.lock:
            lg, self.log = self.log, []
        out = []
        n = {'P:': 0, 'B:': 0}
        for tag, d, eof in lg:
            if eof:
                out.append('%s [EOF]' % tag)
            else:
                n[tag] += len(d)
                out += lines_of(tag, d, 1200)
        if lg:
            out.append('(bytes proxy->backend %d, backend->proxy %d)' % (n['P:'], n['B:']))
        return out


def main():
    timeouts = '--timeouts' in sys.argv
    users = {'user%d@example.org' % i: 'pass' for i in range(1, 6)}
    users['quote@example.org'] = 'p"a\\ss'
    users['utf8@example.org'] = 'p\u00e4ss'
    be = DovecotBackend('backend', users=users).start()
    I, P = be.imap_port, be.pop3_port
    ip = be.ip
    print('# dovecot', os.popen('dovecot --version').read().strip())
    print('# backend config\n```\n' + open(be.conf).read() + '```\n')

    to_threads = []
    if timeouts:
        for title, port, steps in (
                ('IMAP timeout: idle after the greeting', I, [(b'', 200)]),
                ('IMAP timeout: idle after one failed LOGIN', I,
                 [(b'a LOGIN user1@example.org wrong\r\n', 200)]),
                ('IMAP timeout: idle inside AUTHENTICATE PLAIN', I,
                 [(b'a AUTHENTICATE PLAIN\r\n', 200)]),
                ('IMAP timeout: NOOP every 50 s (activity does not extend it)', I,
                 [(b'a NOOP\r\n', 50), (b'b NOOP\r\n', 50), (b'c NOOP\r\n', 50),
                  (b'd NOOP\r\n', 50)]),
                ('POP3 timeout: idle after the greeting', P, [(b'', 200)]),
                ('POP3 timeout: idle after USER', P, [(b'USER user1@example.org\r\n', 200)])):
            t = threading.Thread(target=session, args=(title, ip, port, steps), daemon=True)
            t.start()
            to_threads.append(t)

    pl = b64('\0user1@example.org\0pass')
    bad = b64('\0user1@example.org\0wrong')
    S = session
    print('## IMAP, backend imap-login, client 127.0.0.1 (trusted, secured)\n')
    S('greeting only, then close by client', ip, I, [])
    S('CAPABILITY', ip, I, [b'a CAPABILITY\r\n'])
    S('NOOP', ip, I, [b'a NOOP\r\n'])
    S('LOGOUT', ip, I, [b'a LOGOUT\r\n'])
    S('ID with a list', ip, I, [b'a ID ("name" "x")\r\n'])
    S('ID NIL', ip, I, [b'a ID NIL\r\n'])
    S('ID with bad args', ip, I, [b'a ID\r\n', b'b ID foo\r\n', b'c ID ("name")\r\n'])
    S('unknown command', ip, I, [b'a FOO\r\n'])
    S('unknown commands until disconnect', ip, I,
      [b'a FOO\r\n', b'b FOO\r\n', b'c FOO\r\n', b'd FOO\r\n', b'e FOO\r\n'])
    S('empty line', ip, I, [b'\r\n'])
    S('empty lines until disconnect', ip, I, [b'\r\n', b'\r\n', b'\r\n', b'\r\n', b'\r\n'])
    S('tag only', ip, I, [b'a\r\n'])
    S('tag and space only', ip, I, [b'a \r\n'])
    S('bare LF line ending', ip, I, [b'a NOOP\n'])
    S('lower-case command', ip, I, [b'a noop\r\n', b'b login user1@example.org pass\r\n'])
    S('tag with invalid chars', ip, I, [b'a* NOOP\r\n', b'{1} NOOP\r\n', b'"a" NOOP\r\n'])
    S('tag of 126 and 127 chars', ip, I, [b'T' * 126 + b' NOOP\r\n', b'U' * 127 + b' NOOP\r\n'])
    S('pipelined commands in one packet', ip, I, [b'a NOOP\r\nb CAPABILITY\r\nc NOOP\r\n'])
    S('LOGIN without args', ip, I, [b'a LOGIN\r\n'])
    S('LOGIN with one arg', ip, I, [b'a LOGIN user1@example.org\r\n'])
    S('LOGIN with three args', ip, I, [(b'a LOGIN user1@example.org pass x\r\n', 0.8)])
    S('LOGIN with an empty password', ip, I, [(b'a LOGIN user1@example.org ""\r\n', 0.8)])
    S('LOGIN success', ip, I, [b'a LOGIN user1@example.org pass\r\n', b'b LOGOUT\r\n'])
    S('LOGIN success after CAPABILITY (no resp-code in tagged OK?)', ip, I,
      [b'a CAPABILITY\r\n', b'b LOGIN user1@example.org pass\r\n', b'c LOGOUT\r\n'])
    S('LOGIN quoted, password p"a\\ss', ip, I,
      [b'a LOGIN "quote@example.org" "p\\"a\\\\ss"\r\n', b'b LOGOUT\r\n'])
    S('LOGIN quoted with unknown escape \\x', ip, I,
      [(b'a LOGIN "user1@example.org" "pa\\ss"\r\n', 0.8)])
    S('LOGIN with an 8-bit (UTF-8) password in a literal', ip, I,
      [b'a LOGIN utf8@example.org {5+}\r\np\xc3\xa4ss\r\n', b'b LOGOUT\r\n'])
    S('LOGIN with an 8-bit (UTF-8) password as an atom', ip, I,
      [b'a LOGIN utf8@example.org p\xc3\xa4ss\r\n', b'b LOGOUT\r\n'])
    S('LOGIN with a CR inside a literal password', ip, I,
      [(b'a LOGIN user1@example.org {5+}\r\npass\r\r\n', 0.8)])
    S('LOGIN with a synchronizing literal', ip, I,
      [b'a LOGIN {17}\r\n', b'user1@example.org {4}\r\n', b'pass\r\n', b'b LOGOUT\r\n'])
    S('LOGIN with non-synchronizing literals', ip, I,
      [b'a LOGIN {17+}\r\nuser1@example.org {4+}\r\npass\r\n', b'b LOGOUT\r\n'])
    S('LOGIN with a literal of 100000', ip, I, [b'a LOGIN {100000}\r\n'])
    S('LOGIN with a non-sync literal of 100000', ip, I, [b'a LOGIN {100000+}\r\n'])
    S('LOGIN with a literal of 8192, 8193, 65536', ip, I, [b'a LOGIN {8192}\r\n'])
    S('LOGIN with a literal of 8193', ip, I, [b'a LOGIN {8193}\r\n'])
    S('literal {-1}', ip, I, [b'a LOGIN {-1}\r\n'])
    S('literal {abc}', ip, I, [b'a LOGIN {abc}\r\n'])
    S('literal {} and {4', ip, I, [b'a LOGIN {}\r\n', b'b LOGIN {4\r\n'])
    S('literal in a non-login command (NOOP {4})', ip, I, [b'a NOOP {4}\r\n'])
    S('literal then client sends other line', ip, I, [b'a LOGIN {4}\r\n', b'b NOOP\r\n'])
    S('literal + LF only', ip, I, [b'a LOGIN {4}\n'])
    S('8 KiB line (NOOP + 8200 x)', ip, I, [b'a NOOP ' + b'x' * 8200 + b'\r\n'])
    S('LOGIN with a 9000-byte quoted password', ip, I,
      [(b'a LOGIN user1@example.org "' + b'x' * 9000 + b'"\r\n', 0.8)])
    S('64 KiB without LF', ip, I, [(b'a NOOP ' + b'x' * 65536, 1.0)])
    S('64 KiB in a LOGIN arg without LF', ip, I, [(b'a LOGIN ' + b'x' * 65536, 1.0)])
    S('wrong password', ip, I, [(b'a LOGIN user1@example.org wrong\r\n', 0.8)])
    S('unknown user', ip, I, [(b'a LOGIN nobody@example.org pass\r\n', 0.8)])
    S('wrong passwords until disconnect', ip, I,
      [(b'%c LOGIN user1@example.org wrong\r\n' % (97 + i), 0.8) for i in range(6)])
    S('AUTHENTICATE PLAIN, then cancel', ip, I, [b'a AUTHENTICATE PLAIN\r\n', b'*\r\n'])
    S('AUTHENTICATE PLAIN continuation success', ip, I,
      [b'a AUTHENTICATE PLAIN\r\n', pl + b'\r\n', b'b LOGOUT\r\n'])
    S('AUTHENTICATE PLAIN SASL-IR success', ip, I,
      [b'a AUTHENTICATE PLAIN ' + pl + b'\r\n', b'b LOGOUT\r\n'])
    S('AUTHENTICATE PLAIN SASL-IR wrong password', ip, I,
      [(b'a AUTHENTICATE PLAIN ' + bad + b'\r\n', 0.8)])
    S('AUTHENTICATE PLAIN SASL-IR "=" (empty response)', ip, I,
      [(b'a AUTHENTICATE PLAIN =\r\n', 0.8)])
    S('AUTHENTICATE PLAIN, empty continuation line', ip, I,
      [b'a AUTHENTICATE PLAIN\r\n', (b'\r\n', 0.8)])
    S('AUTHENTICATE PLAIN invalid base64 (SASL-IR)', ip, I,
      [(b'a AUTHENTICATE PLAIN !!!notbase64\r\n', 0.8)])
    S('AUTHENTICATE PLAIN invalid base64 (continuation)', ip, I,
      [b'a AUTHENTICATE PLAIN\r\n', (b'!!!notbase64\r\n', 0.8)])
    S('AUTHENTICATE PLAIN, PLAIN without NULs', ip, I,
      [(b'a AUTHENTICATE PLAIN ' + b64('user1@example.org pass') + b'\r\n', 0.8)])
    S('AUTHENTICATE PLAIN master user via authzid', ip, I,
      [b'a AUTHENTICATE PLAIN ' + b64('user1@example.org\0proxy\0masterpass') + b'\r\n',
       b'b LOGOUT\r\n'])
    S('AUTHENTICATE unknown mechanism', ip, I, [b'a AUTHENTICATE FOO\r\n'])
    S('AUTHENTICATE without mechanism', ip, I, [b'a AUTHENTICATE\r\n'])
    S('AUTHENTICATE lower-case mechanism', ip, I,
      [b'a authenticate plain ' + pl + b'\r\n', b'b LOGOUT\r\n'])
    S('AUTHENTICATE LOGIN flow', ip, I,
      [b'a AUTHENTICATE LOGIN\r\n', b64('user1@example.org') + b'\r\n', b64('pass') + b'\r\n',
       b'b LOGOUT\r\n'])
    S('AUTHENTICATE LOGIN with initial response', ip, I,
      [b'a AUTHENTICATE LOGIN ' + b64('user1@example.org') + b'\r\n', b64('pass') + b'\r\n',
       b'b LOGOUT\r\n'])
    S('15 wrong passwords', ip, I,
      [(b'x%d LOGIN user1@example.org wrong\r\n' % i, 0.8) for i in range(15)])
    S('wrong AUTHENTICATE until disconnect', ip, I,
      [(b'%c AUTHENTICATE PLAIN ' % (97 + i) + bad + b'\r\n', 0.8) for i in range(5)])
    S('STARTTLS with ssl=no', ip, I, [b'a STARTTLS\r\n'])
    S('ENABLE / SELECT before login', ip, I, [b'a ENABLE CONDSTORE\r\n', b'b SELECT INBOX\r\n'])
    S('client closes during AUTHENTICATE (nothing more from server)', ip, I,
      [b'a AUTHENTICATE PLAIN\r\n'])

    print('## LOGINDISABLED: disable_plaintext_auth = yes\n')
    be2 = DovecotBackend('strict', users=users, trusted_networks='10.0.0.0/8',
                         settings={'disable_plaintext_auth': 'yes'}).start()
    S('client 127.0.0.2 -> server 127.0.0.1 (not trusted, remote ip != local ip)',
      '127.0.0.1', be2.imap_port, [b'a CAPABILITY\r\n',
                                   (b'b LOGIN user1@example.org pass\r\n', 0.8),
                                   (b'c AUTHENTICATE PLAIN ' + pl + b'\r\n', 0.8),
                                   b'd AUTHENTICATE PLAIN\r\n'],
      source_ip='127.0.0.2')
    S('client 127.0.0.1 -> server 127.0.0.1 (same ip: counts as secured)',
      '127.0.0.1', be2.imap_port, [b'a CAPABILITY\r\n', b'b LOGIN user1@example.org pass\r\n',
                                   b'c LOGOUT\r\n'])
    S('POP3 client 127.0.0.2 -> 127.0.0.1', '127.0.0.1', be2.pop3_port,
      [b'CAPA\r\n', b'USER user1@example.org\r\n', b'PASS pass\r\n',
       (b'AUTH PLAIN ' + pl + b'\r\n', 0.8), b'AUTH\r\n'],
      source_ip='127.0.0.2')
    be2.stop()

    be3 = DovecotBackend('capa', users=users, settings={'imap_capability': 'IMAP4rev1 FOO'},
                         greeting='Custom greeting.').start()
    S('greeting with imap_capability = IMAP4rev1 FOO', ip, be3.imap_port, [b'a CAPABILITY\r\n'])
    be3.stop()
    be4 = DovecotBackend('litminus', users=users, settings={'imap_literal_minus': 'yes'}).start()
    S('imap_literal_minus = yes: {4+} and {5000+}', ip, be4.imap_port,
      [b'a LOGIN {17+}\r\nuser1@example.org {4+}\r\npass\r\n', b'b NOOP {5000+}\r\n'])
    be4.stop()
    be5 = DovecotBackend('delay', users=users, settings={'auth_failure_delay': '2 secs'},
                         extra_conf='service anvil {\n  unix_listener anvil-auth-penalty {\n'
                         '    mode = 0600\n  }\n}\n')
    be5.start()
    S('default auth_failure_delay (2 s) and anvil penalty: wrong passwords', ip, be5.imap_port,
      [(b'%c LOGIN user1@example.org wrong\r\n' % (97 + i), 20) for i in range(4)])
    be5.stop()

    print('## POP3, backend pop3-login, client 127.0.0.1\n')
    S('greeting', ip, P, [])
    S('CAPA', ip, P, [b'CAPA\r\n'])
    S('USER/PASS success', ip, P, [b'USER user1@example.org\r\n', b'PASS pass\r\n', b'QUIT\r\n'])
    S('USER/PASS wrong password', ip, P,
      [b'USER user1@example.org\r\n', (b'PASS wrong\r\n', 0.8)])
    S('USER/PASS wrong passwords until disconnect', ip, P,
      sum([[b'USER user1@example.org\r\n', (b'PASS wrong\r\n', 0.8)] for _ in range(5)], []))
    S('PASS before USER', ip, P, [b'PASS pass\r\n'])
    S('USER twice, then PASS', ip, P,
      [b'USER user2@example.org\r\n', b'USER user1@example.org\r\n', b'PASS pass\r\n',
       b'QUIT\r\n'])
    S('USER without arg, PASS without arg', ip, P, [b'USER\r\n', b'USER u\r\n', b'PASS\r\n'])
    S('PASS with spaces in the password', ip, P,
      [b'USER user1@example.org\r\n', (b'PASS pa ss\r\n', 0.8)])
    S('unknown command', ip, P, [b'FOO\r\n'])
    S('unknown commands until disconnect', ip, P, [b'FOO\r\n'] * 5)
    S('empty line', ip, P, [b'\r\n', b'\r\n'])
    S('lower-case commands', ip, P, [b'capa\r\n', b'user user1@example.org\r\n', b'pass pass\r\n',
                                      b'quit\r\n'])
    S('AUTH without args (mechanism list)', ip, P, [b'AUTH\r\n'])
    S('AUTH PLAIN with initial response', ip, P, [b'AUTH PLAIN ' + pl + b'\r\n', b'QUIT\r\n'])
    S('AUTH PLAIN with initial response, wrong password', ip, P,
      [(b'AUTH PLAIN ' + bad + b'\r\n', 0.8)])
    S('AUTH PLAIN continuation', ip, P, [b'AUTH PLAIN\r\n', pl + b'\r\n', b'QUIT\r\n'])
    S('AUTH PLAIN cancel', ip, P, [b'AUTH PLAIN\r\n', b'*\r\n'])
    S('AUTH PLAIN invalid base64', ip, P, [(b'AUTH PLAIN !!!notbase64\r\n', 0.8)])
    S('AUTH unknown mechanism', ip, P, [b'AUTH FOO\r\n'])
    S('AUTH LOGIN flow', ip, P, [b'AUTH LOGIN\r\n', b64('user1@example.org') + b'\r\n',
                                 b64('pass') + b'\r\n', b'QUIT\r\n'])
    S('QUIT', ip, P, [b'QUIT\r\n'])
    S('NOOP / STAT before login', ip, P, [b'NOOP\r\n', b'STAT\r\n'])
    S('STLS with ssl=no', ip, P, [b'STLS\r\n'])
    S('APOP', ip, P, [b'APOP user1@example.org 0123456789abcdef0123456789abcdef\r\n'])
    S('too-long line (9000 bytes + CRLF)', ip, P, [b'USER ' + b'x' * 9000 + b'\r\n'])
    S('64 KiB without LF', ip, P, [(b'USER ' + b'x' * 65536, 1.0)])
    S('bare LF', ip, P, [b'CAPA\n'])
    S('XCLIENT from trusted 127.0.0.1', ip, P,
      [b'XCLIENT ADDR=10.1.2.3 PORT=4242 SESSION=abc TTL=4\r\n', b'CAPA\r\n'])

    print('## through a real Dovecot login proxy\n')
    tapI, tapP = Tap(ip, I), Tap(ip, P)
    users_px = {u: None for u in users}
    users_px['user4@example.org'] = {'password': 'pass', 'fields': 'master=proxy pass=masterpass'}
    users_px['down@example.org'] = 'port=%d' % free_port()
    users_px['user5@example.org'] = {'password': 'pass', 'fields': 'master=proxy pass=wrongmaster'}
    hole = socket.socket()
    hole.bind(('127.0.0.1', 0))
    hole.listen(8)   # accepts (kernel backlog) but never says anything
    users_px['hang@example.org'] = 'port=%d' % hole.getsockname()[1]
    px = DovecotProxy('proxy', backend_imap_port=tapI.port, backend_pop3_port=tapP.port,
                      host='127.0.0.1', users=users_px).start()
    print('# proxy config\n```\n' + open(px.conf).read() + '```\n')
    print('# proxy passdb\n```\n' + open(px.passwd_file).read() + '```\n')

    def SP(title, port, steps, settle=0.35, tap=None):
        S(title, ip, port, steps, settle=settle, source_ip='127.0.0.5')
        time.sleep(0.2)
        if tap:
            emit(['proxy <-> backend (P: = proxy to backend, B: = backend to proxy):']
                 + tap.take() + [''])

    SP('proxy greeting + CAPABILITY', px.imap_port, [b'a CAPABILITY\r\n'], tap=tapI)
    SP('proxy IMAP LOGIN success (password forwarded)', px.imap_port,
       [b'a LOGIN user1@example.org pass\r\n', b'b NOOP\r\n', b'c LOGOUT\r\n'], tap=tapI)
    SP('proxy IMAP LOGIN after CAPABILITY', px.imap_port,
       [b'a CAPABILITY\r\n', b'b LOGIN user1@example.org pass\r\n', b'c LOGOUT\r\n'], tap=tapI)
    SP('proxy IMAP ID then AUTHENTICATE PLAIN SASL-IR', px.imap_port,
       [b'a ID ("name" "x" "version" "1.0")\r\n', b'b AUTHENTICATE PLAIN ' + pl + b'\r\n',
        b'c LOGOUT\r\n'], tap=tapI)
    SP('proxy IMAP AUTHENTICATE LOGIN', px.imap_port,
       [b'a AUTHENTICATE LOGIN\r\n', b64('user1@example.org') + b'\r\n', b64('pass') + b'\r\n',
        b'c LOGOUT\r\n'], tap=tapI)
    SP('proxy IMAP wrong password (backend refuses)', px.imap_port,
       [(b'a LOGIN user1@example.org wrong\r\n', 1.5), (b'b LOGIN user1@example.org wrong\r\n', 1.5)],
       tap=tapI)
    SP('proxy IMAP unknown user (not in the proxy passdb)', px.imap_port,
       [(b'a LOGIN nobody@example.org pass\r\n', 1.0)], tap=tapI)
    SP('proxy IMAP master-user mode (proxy checks password, logs in as proxy)', px.imap_port,
       [b'a LOGIN user4@example.org pass\r\n', b'c LOGOUT\r\n'], tap=tapI)
    SP('proxy IMAP master-user mode, proxy rejects password', px.imap_port,
       [(b'a LOGIN user4@example.org wrong\r\n', 1.0)], tap=tapI)
    SP('proxy IMAP master-user mode, backend rejects master password', px.imap_port,
       [(b'a LOGIN user5@example.org pass\r\n', 1.5)], tap=tapI)
    SP('proxy IMAP backend down (connection refused)', px.imap_port,
       [(b'a LOGIN down@example.org pass\r\n', 12)], tap=tapI)
    SP('proxy IMAP backend accepts but never greets (login_proxy_timeout = 10 secs)',
       px.imap_port, [(b'a LOGIN hang@example.org pass\r\n', 15)], tap=tapI)
    SP('proxy IMAP LOGIN quoted password p"a\\ss', px.imap_port,
       [b'a LOGIN "quote@example.org" "p\\"a\\\\ss"\r\n', b'b LOGOUT\r\n'], tap=tapI)
    SP('proxy IMAP LOGIN 8-bit password via literal', px.imap_port,
       [b'a LOGIN utf8@example.org {5+}\r\np\xc3\xa4ss\r\n', b'b LOGOUT\r\n'], tap=tapI)
    SP('proxy IMAP pipelined LOGIN + command in one packet', px.imap_port,
       [b'a LOGIN user1@example.org pass\r\nb NOOP\r\n', b'c LOGOUT\r\n'], tap=tapI)
    SP('proxy POP3 USER/PASS success', px.pop3_port,
       [b'USER user1@example.org\r\n', b'PASS pass\r\n', b'STAT\r\n', b'QUIT\r\n'], tap=tapP)
    SP('proxy POP3 AUTH PLAIN success', px.pop3_port,
       [b'AUTH PLAIN ' + pl + b'\r\n', b'QUIT\r\n'], tap=tapP)
    SP('proxy POP3 wrong password', px.pop3_port,
       [b'USER user1@example.org\r\n', (b'PASS wrong\r\n', 1.5)], tap=tapP)
    SP('proxy POP3 master-user mode', px.pop3_port,
       [b'USER user4@example.org\r\n', b'PASS pass\r\n', b'QUIT\r\n'], tap=tapP)
    SP('proxy POP3 backend down', px.pop3_port,
       [b'USER down@example.org\r\n', (b'PASS pass\r\n', 12)], tap=tapP)
    # a session the client closes without LOGOUT: the disconnect log line
    c = RawClient(ip, px.imap_port)
    c.line()
    c.send(b'a LOGIN user2@example.org pass\r\n')
    c.until('a ')
    c.send(b'b SELECT INBOX\r\n')
    c.until('b ')
    c.close()
    time.sleep(0.5)
    tapI.take()
    print('# proxy log\n```\n' + px.log() + '```\n')
    print('# backend log\n```\n' + be.log() + '```\n')

    pxR = DovecotProxy('proxyR', backend_imap_port=tapI.port, backend_pop3_port=tapP.port,
                       host='127.0.0.1', users=list(users),
                       settings={'imap_id_retain': 'yes', 'imap_id_log': '*'}).start()
    SP('proxy with imap_id_retain = yes: client ID, then LOGIN', pxR.imap_port,
       [b'a ID ("name" "x" "version" "1.0")\r\n', b'b LOGIN user1@example.org pass\r\n',
        b'c LOGOUT\r\n'], tap=tapI)
    SP('proxy with imap_id_retain = yes: ID after LOGIN goes to the backend', pxR.imap_port,
       [b'b LOGIN user1@example.org pass\r\n', b'a ID ("name" "y")\r\n',
        b'c LOGOUT\r\n'], tap=tapI)
    time.sleep(0.3)
    print('# proxyR log\n```\n' + pxR.log() + '```\n')
    pxR.stop()

    # untrusted proxy: the backend ignores the forwarded ID
    beU = DovecotBackend('untrusted', users=users, trusted_networks='10.0.0.0/8').start()
    tapU = Tap(ip, beU.imap_port)
    pxU = DovecotProxy('proxyU', backend_imap_port=tapU.port, backend_pop3_port=beU.pop3_port,
                       host='127.0.0.1', users=list(users)).start()
    SP('proxy in front of a backend that does not trust it', pxU.imap_port,
       [b'a LOGIN user1@example.org pass\r\n', b'c LOGOUT\r\n'], tap=tapU)
    time.sleep(0.3)
    print('# untrusted backend log\n```\n' + beU.log() + '```\n')
    pxU.stop()
    beU.stop()
    px.stop()

    for t in to_threads:
        t.join()
    print('# final backend log tail\n```\n' + be.log()[-3000:] + '```\n')
    be.stop()


if __name__ == '__main__':
    main_guard(main)
