# SPDX-License-Identifier: MIT
"""Measure every pre-login size limit of real Dovecot 2.3 imap-login, pop3-login and
Pigeonhole managesieve-login by bisection (not a test: the runner only runs t-*). Source
of section 7 of docs/dovecot-login-behaviour.md.

    sudo TESTDIR=$(mktemp -d) python3 tests/integration/capture-prelogin-limits.py > out.txt

Every limit is printed as: the largest accepted value, the reply it got, the smallest cut
value and the reply (and whether the connection closed) it got.
"""
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from fixtures import DovecotBackend, RawClient, main_guard  # noqa
from mailfix import SmtpSink, mail_backend_kw, mail_backend_ports  # noqa


def esc(b, limit=160):
    s = b.decode('latin-1').replace('\r', '\\r').replace('\n', '\\n')
    return s if len(s) <= limit else s[:limit] + '...(%d bytes)' % len(b)


class Probe:
    def __init__(self, ip, port, greet_end):
        self.ip, self.port, self.greet_end = ip, port, greet_end

    def run(self, steps, wait=0.4):
        """steps: bytes sent one after the other, each followed by a read of wait s.
        Returns (all replies after the greeting, closed)."""
        c = RawClient(self.ip, self.port, timeout=5)
        c.until(self.greet_end)
        c.buf = b''
        got = b''
        try:
            for st in steps:
                c.send(st, may_close=True)
                got += c.read(wait)
                if c.eof:
                    break
            closed = c.closed(0.3)
        finally:
            c.close()
        return got, closed


def bisect(name, fn, lo, hi):
    """fn(n) -> (accepted, reply, closed). lo must be accepted, hi cut."""
    rlo, rhi = fn(lo), fn(hi)
    if not rlo[0] or rhi[0]:
        print('| %s | (bounds wrong: %d -> %s, %d -> %s) | | |' % (name, lo, rlo, hi, rhi))
        return
    while hi - lo > 1:
        mid = (lo + hi) // 2
        r = fn(mid)
        if r[0]:
            lo, rlo = mid, r
        else:
            hi, rhi = mid, r
    print('| %s | %d | `%s` | %d | `%s` %s |' % (
        name, lo, esc(rlo[1]), hi, esc(rhi[1]), '[closed]' if rhi[2] else '[open]'), flush=True)


def show(name, p, steps, wait=0.4):
    got, closed = p.run(steps, wait)
    print('| %s | `%s` %s |' % (name, esc(got, 300), '[closed]' if closed else '[open]'), flush=True)


def imap(p):
    def ok_reply(got):
        return b'a OK' in got or b'a NO' in got

    def tagged(steps, wait=0.4):
        def fn(n):
            got, closed = p.run(steps(n), wait)
            return ok_reply(got) and not closed, got, closed
        return fn

    print('\n## IMAP (imap-login)\n')
    print('| what | largest accepted | its reply | smallest cut | its reply |\n| --- | --- | --- | --- | --- |')
    bisect('atom (NOOP argument), chars', tagged(lambda n: [b'a NOOP ' + b'x' * n + b'\r\n']), 10, 3000)
    bisect('quoted string, chars inside the quotes', tagged(lambda n: [b'a NOOP "' + b'x' * n + b'"\r\n']), 10, 3000)
    bisect('quoted string of escapes `\\\\`, chars inside', tagged(lambda n: [b'a NOOP "' + b'\\\\' * (n // 2) + b'"\r\n']), 10, 3000)
    bisect('literal+ body', tagged(lambda n: [b'a NOOP {%d+}\r\n' % n + b'x' * n + b'\r\n']), 10, 3000)

    def lit_announce(n):
        got, closed = p.run([b'a NOOP {%d}\r\n' % n], 0.3)
        return got.startswith(b'+ OK') and not closed, got, closed
    bisect('sync literal size announced after `a NOOP `', lit_announce, 10, 20000)

    def lit_announce_late(n):
        got, closed = p.run([b'a NOOP ' + b'x ' * 1000 + b'{%d}\r\n' % n], 0.3)
        return got.startswith(b'+ OK') and not closed, got, closed
    bisect('sync literal size announced after 2007 bytes', lit_announce_late, 10, 20000)
    bisect('line of `x ` tokens, bytes with CRLF',
           lambda n: (lambda r: (ok_reply(r[0]) and not r[1], r[0], r[1]))(
               p.run([b'a NOOP' + b' x' * ((n - 8) // 2) + b'\r\n'])), 100, 20000)
    bisect('number of `x` arguments',
           tagged(lambda n: [b'a NOOP' + b' x' * n + b'\r\n']), 1, 9000)
    bisect('list nesting depth', tagged(lambda n: [b'a NOOP ' + b'(' * n + b')' * n + b'\r\n']), 1, 5000)
    bisect('tag, chars', lambda n: (lambda r: (r[0].startswith(b'T'), r[0], r[1]))(
        p.run([b'T' * n + b' NOOP\r\n'])), 1, 3000)
    bisect('ID value, chars', tagged(lambda n: [b'a ID ("name" "' + b'x' * n + b'")\r\n']), 10, 3000)
    bisect('ID key, chars', lambda n: (lambda r: (b'a OK' in r[0], r[0], r[1]))(
        p.run([b'a ID ("' + b'k' * n + b'" "v")\r\n'])), 1, 3000)
    bisect('ID pairs of 1000-char values', tagged(lambda n: [b'a ID (' + b' '.join(
        b'"k%d" "%s"' % (i, b'v' * 1000) for i in range(n)) + b')\r\n'], 1.0), 1, 200)
    bisect('ID value as literal+', tagged(lambda n: [b'a ID ("name" {%d+}\r\n' % n + b'x' * n + b')\r\n']), 10, 3000)

    def sasl_ir(n):
        got, closed = p.run([b'a AUTHENTICATE PLAIN ' + b'A' * n + b'\r\n'], 0.8)
        return b'a NO' in got or b'a BAD' in got, got, closed
    bisect('AUTHENTICATE PLAIN initial response, chars', sasl_ir, 8, 20000)

    def sasl_cont(n):
        got, closed = p.run([b'a AUTHENTICATE PLAIN\r\n', b'A' * n + b'\r\n'], 0.8)
        return b'a NO' in got or b'a BAD' in got, got, closed
    bisect('AUTHENTICATE continuation line, chars', sasl_cont, 8, 20000)

    def login_pass_lit(n):
        got, closed = p.run([b'a LOGIN user1@example.org {%d+}\r\n' % n + b'x' * n + b'\r\n'], 0.8)
        return b'a NO' in got, got, closed
    bisect('LOGIN password as literal+, chars', login_pass_lit, 8, 3000)
    print()
    show('ID of 60 strings of 1024 chars (30 pairs)', p, [b'a ID (' + b' '.join(
        b'"k%d" "%s"' % (i, b'v' * 1024) for i in range(30)) + b')\r\n'], 1.0)
    show('ID of 1000 small pairs', p, [b'a ID (' + b' '.join(
        b'"k%d" "v"' % i for i in range(1000)) + b')\r\n'], 1.0)
    show('ID with a nested list', p, [b'a ID ("a" ("b" "c"))\r\n'])
    show('ID with an atom value', p, [b'a ID ("a" b)\r\n'])
    show('ID with an atom key', p, [b'a ID (a "b")\r\n'])
    show('ID trailing data', p, [b'a ID ("a" "b") x\r\n'])
    show('ID twice', p, [b'a ID ("a" "b")\r\n', b'b ID ("c" "d")\r\n'])


def pop3(p):
    print('\n## POP3 (pop3-login)\n')
    print('| what | largest accepted | its reply | smallest cut | its reply |\n| --- | --- | --- | --- | --- |')

    def line(mk, wait=0.4):
        def fn(n):
            got, closed = p.run([mk(n)], wait)
            return (got.startswith(b'+OK') or got.startswith(b'-ERR')) and not closed \
                and b'too long' not in got.lower() and b'buffer' not in got.lower(), got, closed
        return fn
    bisect('USER line, chars of the name', line(lambda n: b'USER ' + b'x' * n + b'\r\n'), 10, 20000)
    bisect('NOOP line, chars of its argument', line(lambda n: b'NOOP ' + b'x' * n + b'\r\n'), 10, 20000)

    def sasl_ir(n):
        got, closed = p.run([b'AUTH PLAIN ' + b'A' * n + b'\r\n'], 0.8)
        return got.startswith(b'-ERR'), got, closed
    bisect('AUTH PLAIN initial response, chars', sasl_ir, 8, 20000)

    def sasl_cont(n):
        got, closed = p.run([b'AUTH PLAIN\r\n', b'A' * n + b'\r\n'], 0.8)
        return b'-ERR' in got, got, closed
    bisect('AUTH continuation line, chars', sasl_cont, 8, 20000)
    show('a 64 KiB line', p, [b'NOOP ' + b'x' * 65536 + b'\r\n', b'CAPA\r\n'])


def sieve(p):
    print('\n## ManageSieve (managesieve-login)\n')
    print('| what | largest accepted | its reply | smallest cut | its reply |\n| --- | --- | --- | --- | --- |')

    def okno(steps, wait=0.4):
        def fn(n):
            got, closed = p.run(steps(n), wait)
            return (got.startswith(b'OK') or got.startswith(b'NO')) and not closed, got, closed
        return fn
    bisect('quoted string (NOOP tag), chars', okno(lambda n: [b'NOOP "' + b'x' * n + b'"\r\n']), 10, 20000)
    bisect('atom argument, chars', okno(lambda n: [b'NOOP ' + b'x' * n + b'\r\n']), 10, 20000)
    bisect('literal+ body (NOOP tag)', okno(lambda n: [b'NOOP {%d+}\r\n' % n + b'x' * n + b'\r\n']), 10, 20000)

    def ir(n):
        got, closed = p.run([b'AUTHENTICATE "PLAIN" "' + b'A' * n + b'"\r\n'], 0.8)
        return got.startswith(b'NO') and not closed, got, closed
    bisect('AUTHENTICATE "PLAIN" quoted initial response, chars', ir, 8, 20000)

    def irlit(n):
        got, closed = p.run([b'AUTHENTICATE "PLAIN" {%d+}\r\n' % n + b'A' * n + b'\r\n'], 0.8)
        return got.startswith(b'NO') and not closed, got, closed
    bisect('AUTHENTICATE "PLAIN" literal+ initial response, chars', irlit, 8, 20000)

    def cont(n):
        got, closed = p.run([b'AUTHENTICATE "PLAIN"\r\n', b'"' + b'A' * n + b'"\r\n'], 0.8)
        return b'NO' in got and not closed, got, closed
    bisect('AUTHENTICATE continuation as quoted string, chars', cont, 8, 20000)

    def contlit(n):
        got, closed = p.run([b'AUTHENTICATE "PLAIN"\r\n', b'{%d+}\r\n' % n + b'A' * n + b'\r\n'], 0.8)
        return b'NO' in got and not closed, got, closed
    bisect('AUTHENTICATE continuation as literal+, chars', contlit, 8, 20000)
    def line(n):
        got, closed = p.run([b'NOOP' + b' x' * n + b'\r\n'])
        return b'too large' not in got and not closed, got, closed
    bisect('number of `x` arguments (NOOP)', line, 1, 9000)
    bisect('list nesting depth', okno(lambda n: [b'NOOP ' + b'(' * n + b')' * n + b'\r\n']), 0, 5000)

    def lit_announce(n):
        got, closed = p.run([b'NOOP {%d}\r\n' % n], 0.3)
        return not closed, got, closed
    bisect('sync literal size announced after `NOOP `', lit_announce, 10, 20000)
    show('a 64 KiB line', p, [b'NOOP ' + b'x' * 65536 + b'\r\n', b'NOOP\r\n'])


def main():
    sink = SmtpSink().start()
    sp, vp = mail_backend_ports()
    kw = mail_backend_kw(sink, sp, vp)
    kw['extra_conf'] += '\nauth_failure_delay = 0\n'
    be = DovecotBackend('backend', **kw).start()
    time.sleep(0.5)
    print('# dovecot', os.popen('dovecot --version').read().strip())
    which = sys.argv[1:] or ['imap', 'pop3', 'sieve']
    if 'imap' in which:
        imap(Probe(be.ip, be.imap_port, b'* OK'))
    if 'pop3' in which:
        pop3(Probe(be.ip, be.pop3_port, b'+OK'))
    if 'sieve' in which:
        sieve(Probe(be.ip, vp, b'OK'))
    be.stop()
    sink.stop()


if __name__ == '__main__':
    main_guard(main)
