# SPDX-License-Identifier: MIT
"""Pre-login limits of IMAP, POP3 and ManageSieve, as Dovecot 2.3.19 has them (measured by
capture-prelogin-limits.py, docs/dovecot-login-behaviour.md §7): every case is sent to the
real Dovecot backend and to mtool, and mtool must answer exactly as Dovecot does (the same
bytes, the connection closed or not) on both sides of each limit. The ID sizes of issue 21
included. Then imap_id_send, imap_id_log and imap_id_retain."""

import importlib.util
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, free_port, report, main_guard  # noqa
from mailfix import SmtpSink, mail_backend_kw, mail_backend_ports  # noqa
import mtoolfix  # noqa
from mtoolfix import Proxyd  # noqa

# the capture script's probe: the same exchange against Dovecot and mtool
_spec = importlib.util.spec_from_file_location(
    'cap', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'capture-prelogin-limits.py'))
cap = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cap)


def outcome(port, greet_end, steps, wait):
    return cap.Probe('127.0.0.1', port, greet_end).run(steps, wait)


def id_cmd(pairs, size):
    return b'a ID (' + b' '.join(b'"k%d" "%s"' % (i, b'v' * size) for i in range(pairs)) + b')\r\n'


def short(b):
    return b if len(b) < 200 else b[:120] + b'...(%d bytes)' % len(b)


def main():
    sink = SmtpSink().start()
    sp, vp = mail_backend_ports()
    kw = mail_backend_kw(sink, sp, vp, trusted=False)
    be = DovecotBackend('be', **kw).start()
    sieve_port = free_port()
    fields = 'proxy host=127.0.0.1 port=%d'
    px = Proxyd(users={'user1@example.org': fields % be.imap_port},
                settings={'protocols': 'imap pop3 sieve', 'auth_mechanisms': 'plain login',
                          'imap_id_log': '*', 'imap_id_send': 'name * "x-note" "a \\"b\\""'},
                extra_conf='service managesieve-login {\n  inet_listener sieve {\n'
                           '    port = %d\n  }\n}\n' % sieve_port)
    with px:
        time.sleep(0.3)
        imap = [
            ('ID of 60 strings of 1024 chars (~31 KB, issue 21)', [id_cmd(30, 1024)], 1.0),
            ('ID of 30 strings of 1000 chars (~15 KB)', [id_cmd(15, 1000)], 0.5),
            ('ID of 16 strings of 1000 chars (~8 KB)', [id_cmd(8, 1000)], 0.5),
            ('ID of 1000 small pairs', [b'a ID (' + b' '.join(b'"k%d" "v"' % i for i in range(1000)) + b')\r\n'], 1.0),
            ('ID value of 1024 chars', [b'a ID ("name" "' + b'x' * 1024 + b'")\r\n'], 0.3),
            ('ID value of 1025 chars', [b'a ID ("name" "' + b'x' * 1025 + b'")\r\n'], 0.3),
            ('ID key of 30 chars', [b'a ID ("' + b'k' * 30 + b'" "v")\r\n'], 0.3),
            ('ID key of 31 chars', [b'a ID ("' + b'k' * 31 + b'" "v")\r\n', b'b NOOP\r\n'], 0.3),
            ('ID value as a 1026-byte literal', [b'a ID ("name" {1026+}\r\n' + b'x' * 1026 + b')\r\n'], 0.3),
            ('ID value as a 1027-byte literal', [b'a ID ("name" {1027+}\r\n' + b'x' * 1027 + b')\r\n'], 0.3),
            ('ID NIL, no argument, odd list', [b'a ID NIL\r\n', b'b ID\r\n', b'c ID ("name")\r\n'], 0.3),
            ('ID nested list, atom value, atom key, bad list', [b'a ID ("a" ("b" "c"))\r\n', b'b ID ("a" b)\r\n',
                                                                b'c ID (a "b")\r\n', b'd ID foo\r\n', b'e NOOP\r\n'], 0.3),
            ('ID with trailing data, ID twice', [b'a ID ("a" "b") x\r\n', b'b ID ("c" "d")\r\n'], 0.3),
            ('quoted string of 1024 chars', [b'a NOOP "' + b'x' * 1024 + b'"\r\n'], 0.3),
            ('quoted string of 1025 chars', [b'a NOOP "' + b'x' * 1025 + b'"\r\n'], 0.3),
            ('atom of 1025 chars', [b'a NOOP ' + b'x' * 1025 + b'\r\n'], 0.3),
            ('atom of 1026 chars', [b'a NOOP ' + b'x' * 1026 + b'\r\n'], 0.3),
            ('literal of 1026 bytes', [b'a NOOP {1026+}\r\n' + b'x' * 1026 + b'\r\n'], 0.3),
            ('literal of 1027 bytes', [b'a NOOP {1027+}\r\n' + b'x' * 1027 + b'\r\n'], 0.3),
            ('literal announced up to byte 8192', [b'a NOOP {8179}\r\n'], 0.3),
            ('literal announced past byte 8192', [b'a NOOP {8180}\r\n'], 0.3),
            ('literal announced past byte 8192, later in the line', [b'a NOOP ' + b'x ' * 1000 + b'{6180}\r\n'], 0.3),
            ('4093 arguments (8192 bytes)', [b'a NOOP' + b' x' * 4093 + b'\r\n'], 0.3),
            ('4094 arguments (8194 bytes)', [b'a NOOP' + b' x' * 4094 + b'\r\n', b'b NOOP\r\n'], 0.3),
            ('list nesting 1 and 2', [b'a NOOP (x)\r\n', b'b NOOP ((x))\r\n', b'c NOOP\r\n'], 0.3),
            ('tag of 126 and 127 chars', [b'T' * 126 + b' NOOP\r\n', b'U' * 127 + b' NOOP\r\n'], 0.3),
            ('parser errors answered in its words, not counted',
             [b'a NOOP "x\r\n', b'b NOOP x\r\n', b'c NOOP \xc3\xa4\r\n', b'd NOOP )\r\n', b'e NOOP\r\n'], 0.3),
            ('unknown escape in a quoted string', [b'a NOOP "p\\s"\r\n'], 0.3),
            ('AUTHENTICATE initial response of 8191 chars', [b'a AUTHENTICATE PLAIN ' + b'A' * 8191 + b'\r\n'], 0.6),
            ('AUTHENTICATE initial response of 8192 chars', [b'a AUTHENTICATE PLAIN ' + b'A' * 8192 + b'\r\n'], 0.6),
            ('AUTHENTICATE continuation of 8191 chars', [b'a AUTHENTICATE PLAIN\r\n', b'A' * 8191 + b'\r\n'], 0.6),
            ('AUTHENTICATE continuation of 8192 chars', [b'a AUTHENTICATE PLAIN\r\n', b'A' * 8192 + b'\r\n'], 0.6),
            ('LOGIN password as a 1026-byte literal', [b'a LOGIN user1@example.org {1026+}\r\n' + b'x' * 1026 + b'\r\n'], 1.0),
            ('LOGIN password as a 1027-byte literal', [b'a LOGIN user1@example.org {1027+}\r\n' + b'x' * 1027 + b'\r\n'], 1.0),
        ]
        pop3 = [
            ('USER of 1024 chars', [b'USER ' + b'x' * 1024 + b'\r\n'], 0.3),
            ('USER of 1025 chars', [b'USER ' + b'x' * 1025 + b'\r\n'], 0.3),
            ('a 64 KiB line', [b'NOOP ' + b'x' * 65536 + b'\r\n'], 0.3),
            ('AUTH initial response of 8191 chars', [b'AUTH PLAIN ' + b'A' * 8191 + b'\r\n'], 0.6),
            ('AUTH initial response of 8192 chars', [b'AUTH PLAIN ' + b'A' * 8192 + b'\r\n'], 0.6),
            ('AUTH continuation of 8191 chars', [b'AUTH PLAIN\r\n', b'A' * 8191 + b'\r\n'], 0.6),
            ('AUTH continuation of 8192 chars', [b'AUTH PLAIN\r\n', b'A' * 8192 + b'\r\n'], 0.6),
        ]
        sieve = [
            ('quoted string of 1024 chars', [b'NOOP "' + b'x' * 1024 + b'"\r\n'], 0.3),
            ('quoted string of 1025 chars', [b'NOOP "' + b'x' * 1025 + b'"\r\n'], 0.3),
            ('atom of 1025 chars', [b'NOOP ' + b'x' * 1025 + b'\r\n'], 0.3),
            ('atom of 1026 chars', [b'NOOP ' + b'x' * 1026 + b'\r\n'], 0.3),
            ('literal of 1026 bytes', [b'NOOP {1026+}\r\n' + b'x' * 1026 + b'\r\n'], 0.3),
            ('literal of 1027 bytes', [b'NOOP {1027+}\r\n' + b'x' * 1027 + b'\r\n'], 0.3),
            ('AUTHENTICATE quoted initial response of 8192 chars', [b'AUTHENTICATE "PLAIN" "' + b'A' * 8192 + b'"\r\n'], 1.0),
            ('AUTHENTICATE quoted initial response of 8193 chars', [b'AUTHENTICATE "PLAIN" "' + b'A' * 8193 + b'"\r\n'], 1.0),
            ('AUTHENTICATE literal initial response of 8192 bytes', [b'AUTHENTICATE "PLAIN" {8192+}\r\n' + b'A' * 8192 + b'\r\n'], 1.0),
            ('AUTHENTICATE literal initial response of 8193 bytes', [b'AUTHENTICATE "PLAIN" {8193+}\r\n' + b'A' * 8193 + b'\r\n'], 1.0),
            ('AUTHENTICATE continuation of 8192 chars', [b'AUTHENTICATE "PLAIN"\r\n', b'"' + b'A' * 8192 + b'"\r\n'], 1.0),
            ('AUTHENTICATE continuation of 8193 chars', [b'AUTHENTICATE "PLAIN"\r\n', b'"' + b'A' * 8193 + b'"\r\n'], 1.0),
            ('4094 arguments (8192 bytes)', [b'NOOP' + b' x' * 4094 + b'\r\n'], 0.3),
            ('4095 arguments (8194 bytes)', [b'NOOP' + b' x' * 4095 + b'\r\n', b'NOOP\r\n'], 0.3),
            ('literal announced up to byte 8192', [b'NOOP {8181}\r\n'], 0.3),
            ('literal announced past byte 8192', [b'NOOP {8182}\r\n'], 0.3),
            ('a 64 KiB line', [b'NOOP ' + b'x' * 65536 + b'\r\n'], 0.3),
        ]
        for proto, cases, dport, mport, greet in (
                ('imap', imap, be.imap_port, px.imap_port, b'* OK'),
                ('pop3', pop3, be.pop3_port, px.pop3_port, b'+OK'),
                ('sieve', sieve, vp, sieve_port, b'OK')):
            for what, steps, wait in cases:
                # both servers at once: the case costs its wait time once
                res = {}
                ts = [threading.Thread(target=lambda k, p: res.__setitem__(k, outcome(p, greet, steps, wait)),
                                       args=(k, p)) for k, p in (('d', dport), ('m', mport))]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
                d, m = res['d'], res['m']
                # the ID answer is each server's own (imap_id_send)
                dn = (d[0].replace(b'* ID ("name" "Dovecot")', b'* ID'), d[1])
                mn = (m[0].replace(b'* ID ("name" "mtool" "x-note" "a \\"b\\"")', b'* ID'), m[1])
                report(dn == mn, '%s: %s: as Dovecot' % (proto, what),
                       'dovecot %r %s, mtool %r %s' % (short(d[0]), d[1], short(m[0]), m[1]))

        # memory: a connection that sent a 31 KB ID and went idle holds no more than an
        # idle one (the parser's storage, up to 11 KiB, is given back)
        def rss():
            with open('/proc/%d/status' % px.pid) as f:
                return next(int(l.split()[1]) for l in f if l.startswith('VmRSS'))

        def park(n, data):
            out = []
            for _ in range(n):
                c = RawClient('127.0.0.1', px.imap_port)
                c.line()
                if data:
                    c.send(data)
                    c.until(b'a OK')
                out.append(c)
            return out
        # (not under ASan, whose quarantine keeps freed memory on purpose)
        asan = 'asan' in os.path.basename(mtoolfix.MTOOL)
        held = park(20, b'') if not asan else []
        r0 = rss()
        held += park(200, b'') if not asan else []
        r1 = rss()
        held += park(200, id_cmd(30, 1024)) if not asan else []
        r2 = rss()
        for c in held:
            c.close()
        if not asan:
            report((r2 - r1) < (r1 - r0) + 200 and (r2 - r1) / 200 < 6,
                   'memory: 200 connections idle after a 31 KB ID hold what 200 idle ones hold',
                   'idle: %d KiB, after an ID: %d KiB' % (r1 - r0, r2 - r1))

        # imap_id_log = *: the same ID to Dovecot (which logs all fields too) and to mtool:
        # the same fields logged, values cut at 80 bytes, the first ID only
        idl = b'a ID ("name" "' + b'n' * 100 + b'" "v\\"x" NIL "ctl" {3+}\r\na\tb)\r\nb ID ("second" "x")\r\n'
        for port in (be.imap_port, px.imap_port):
            c = RawClient('127.0.0.1', port)
            c.line()
            c.send(idl)
            c.until(b'b OK')
            c.close()
        pat = r'ID sent: (name=n.*?): user=<'
        m = px.wait_log(pat)
        dm = be.wait_log(pat)
        mine = m.group(1) if m else None
        theirs = dm.group(1) if dm else None
        report(mine is not None and mine == theirs and mine == 'name=%s..., v"x=NIL, ctl=a?b' % ('n' * 77) and
               'second' not in px.log(),
               'imap_id_log = *: the fields logged as Dovecot logs them, from the first ID only',
               'mtool %r, dovecot %r' % (mine, theirs))
        # imap_id_send: the configured answer, a quoted value with its escape
        got = outcome(px.imap_port, b'* OK', [b'a ID NIL\r\n'], 0.3)[0]
        report(got == b'* ID ("name" "mtool" "x-note" "a \\"b\\"")\r\na OK ID completed.\r\n',
               'imap_id_send = name * "x-note" ...: answered as configured', got)
    be.stop()
    sink.stop()


main_guard(main)
