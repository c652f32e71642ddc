# SPDX-License-Identifier: MIT
"""Capture what real Dovecot 2.3 submission-login and Pigeonhole managesieve-login send,
directly and as a proxy (not a test: the runner only runs t-*). Source of sections 5 and 6
of docs/dovecot-login-behaviour.md.

    sudo TESTDIR=$(mktemp -d) python3 tests/integration/capture-subm-sieve.py > out.txt
"""
import importlib.util
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from fixtures import DovecotBackend, DovecotProxy, free_port, main_guard  # noqa
from mailfix import SmtpSink, mail_backend_kw, mail_backend_ports  # noqa

spec = importlib.util.spec_from_file_location('cap', os.path.join(here, 'capture-login.py'))
cap = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cap)
session, b64, Tap, emit = cap.session, cap.b64, cap.Tap, cap.emit


def plain(u, p, z=''):
    return b64('%s\0%s\0%s' % (z, u, p))


def main():
    sink = SmtpSink().start()
    sp, vp = mail_backend_ports()
    be = DovecotBackend('backend', **mail_backend_kw(sink, sp, vp)).start()
    time.sleep(0.5)
    S, V = sp, vp
    print('# dovecot', os.popen('dovecot --version').read().strip())

    print('## submission-login directly (trusted client)\n')
    session('greeting, EHLO, HELO', '127.0.0.1', S, [b'EHLO client.example\r\n', b'HELO x\r\n'])
    session('untrusted client EHLO', '127.0.0.1', S, [b'EHLO client.example\r\n'], source_ip='127.0.0.1')
    session('commands before AUTH', '127.0.0.1', S, [
        b'NOOP\r\n', b'RSET\r\n', b'MAIL FROM:<a@b>\r\n', b'RCPT TO:<a@b>\r\n', b'DATA\r\n',
        b'VRFY x\r\n', b'EXPN x\r\n', b'HELP\r\n', b'BDAT 1\r\n', b'STARTTLS\r\n',
        b'FOO\r\n', b'EHLO\r\n', b'AUTH\r\n', b'AUTH FOO\r\n', b'AUTH PLAIN ####\r\n'])
    session('commands before EHLO', '127.0.0.1', S, [b'AUTH PLAIN ' + plain('user1@example.org', 'pass') + b'\r\n'])
    session('bad commands until disconnect', '127.0.0.1', S, [b'EHLO x\r\n'] + [b'FOO%d\r\n' % i for i in range(12)])
    session('AUTH PLAIN ok', '127.0.0.1', S, [b'EHLO x\r\n', b'AUTH PLAIN ' + plain('user1@example.org', 'pass') + b'\r\n', b'QUIT\r\n'])
    session('AUTH PLAIN wrong', '127.0.0.1', S, [b'EHLO x\r\n', (b'AUTH PLAIN ' + plain('user1@example.org', 'bad') + b'\r\n', 1.0),
                                                 (b'AUTH PLAIN ' + plain('user1@example.org', 'bad') + b'\r\n', 1.0),
                                                 (b'AUTH PLAIN ' + plain('user1@example.org', 'bad') + b'\r\n', 1.0),
                                                 (b'AUTH PLAIN ' + plain('user1@example.org', 'bad') + b'\r\n', 1.0)])
    session('AUTH PLAIN no IR', '127.0.0.1', S, [b'EHLO x\r\n', b'AUTH PLAIN\r\n', b'*\r\n', b'AUTH PLAIN\r\n', b'=\r\n', b'AUTH PLAIN\r\n', b'!!!\r\n'])
    session('AUTH LOGIN', '127.0.0.1', S, [b'EHLO x\r\n', b'AUTH LOGIN\r\n', b64('user1@example.org') + b'\r\n', (b64('pass') + b'\r\n', 1.0)])
    session('AUTH LOGIN with IR', '127.0.0.1', S, [b'EHLO x\r\n', b'AUTH LOGIN ' + b64('user1@example.org') + b'\r\n', (b64('pass') + b'\r\n', 1.0)])
    session('pipelined before greeting', '127.0.0.1', S, [b'EHLO x\r\nNOOP\r\nQUIT\r\n'], greet=False)
    session('long line 2000', '127.0.0.1', S, [b'EHLO x\r\n', b'NOOP ' + b'x' * 2000 + b'\r\n', b'NOOP\r\n'])
    session('long line 1 MiB', '127.0.0.1', S, [b'EHLO x\r\n', (b'NOOP ' + b'x' * (1 << 20) + b'\r\n', 1.0), b'NOOP\r\n'])
    session('long AUTH line', '127.0.0.1', S, [b'EHLO x\r\n', (b'AUTH PLAIN ' + b'A' * 20000 + b'\r\n', 1.0), b'NOOP\r\n'])
    session('XCLIENT (trusted)', '127.0.0.1', S, [b'EHLO x\r\n', b'XCLIENT ADDR=127.0.0.9 PORT=4444 SESSION=abc TTL=3\r\n', b'EHLO y\r\n'])
    session('QUIT', '127.0.0.1', S, [b'QUIT\r\n'])
    be.stop()

    # untrusted backend for the untrusted-client view
    beU_s, beU_v = mail_backend_ports()
    beU = DovecotBackend('backendU', **mail_backend_kw(sink, beU_s, beU_v, trusted=False)).start()
    time.sleep(0.5)
    session('submission untrusted EHLO', '127.0.0.1', beU_s, [b'EHLO x\r\n', b'XCLIENT ADDR=1.2.3.4\r\n'])
    session('managesieve untrusted greeting', '127.0.0.1', beU_v, [b'XCLIENT ADDR=1.2.3.4\r\n'], greet=False)

    print('## managesieve-login directly\n')
    session('greeting', '127.0.0.1', beU_v, [b'CAPABILITY\r\n', b'NOOP\r\n', b'NOOP "tag"\r\n', b'LOGOUT\r\n'], greet=False)
    session('bad commands', '127.0.0.1', beU_v, [b'FOO\r\n', b'FOO\r\n', b'FOO\r\n', b'FOO\r\n', b'FOO\r\n', b'FOO\r\n', b'FOO\r\n', b'FOO\r\n', b'FOO\r\n', b'FOO\r\n', b'FOO\r\n'], greet=False)
    session('pre-login commands', '127.0.0.1', beU_v, [b'LISTSCRIPTS\r\n', b'STARTTLS\r\n', b'HAVESPACE "a" 1\r\n', b'AUTHENTICATE\r\n', b'AUTHENTICATE "FOO"\r\n', b'AUTHENTICATE PLAIN\r\n', b'AUTHENTICATE "PLAIN" "####"\r\n'], greet=False)
    session('AUTHENTICATE PLAIN ok (IR quoted)', '127.0.0.1', beU_v, [b'AUTHENTICATE "PLAIN" "' + plain('user1@example.org', 'pass') + b'"\r\n', b'LOGOUT\r\n'], greet=False)
    session('AUTHENTICATE PLAIN wrong', '127.0.0.1', beU_v, [(b'AUTHENTICATE "PLAIN" "' + plain('user1@example.org', 'bad') + b'"\r\n', 1.0)] * 4, greet=False)
    session('AUTHENTICATE PLAIN continuation', '127.0.0.1', beU_v, [b'AUTHENTICATE "PLAIN"\r\n', b'"' + plain('user1@example.org', 'pass') + b'"\r\n'], greet=False)
    session('AUTHENTICATE PLAIN continuation literal', '127.0.0.1', beU_v, [b'AUTHENTICATE "PLAIN"\r\n', b'{%d+}\r\n' % len(plain('user1@example.org', 'pass')) + plain('user1@example.org', 'pass') + b'\r\n'], greet=False)
    session('AUTHENTICATE PLAIN abort', '127.0.0.1', beU_v, [b'AUTHENTICATE "PLAIN"\r\n', b'"*"\r\n', b'AUTHENTICATE "PLAIN"\r\n', b'*\r\n'], greet=False)
    session('AUTHENTICATE literal IR', '127.0.0.1', beU_v, [b'AUTHENTICATE "PLAIN" {%d+}\r\n' % len(plain('user1@example.org', 'pass')) + plain('user1@example.org', 'pass') + b'\r\n'], greet=False)
    session('AUTHENTICATE sync literal', '127.0.0.1', beU_v, [b'AUTHENTICATE "PLAIN" {%d}\r\n' % len(plain('user1@example.org', 'pass')), plain('user1@example.org', 'pass') + b'\r\n'], greet=False)
    session('huge literal', '127.0.0.1', beU_v, [b'AUTHENTICATE "PLAIN" {100000000+}\r\n', b'NOOP\r\n'], greet=False)
    session('long line', '127.0.0.1', beU_v, [(b'NOOP "' + b'x' * (1 << 20) + b'"\r\n', 1.0), b'NOOP\r\n'], greet=False)
    session('pipelined before greeting', '127.0.0.1', beU_v, [b'NOOP\r\nCAPABILITY\r\nLOGOUT\r\n'], greet=False)
    session('LOGIN unknown/AUTHENTICATE LOGIN', '127.0.0.1', beU_v, [b'AUTHENTICATE "LOGIN"\r\n', b'"' + b64('user1@example.org') + b'"\r\n', (b'"' + b64('pass') + b'"\r\n', 1.0)], greet=False)

    print('## through a Dovecot proxy\n')
    bes, bev = mail_backend_ports()
    be = DovecotBackend('backend2', **mail_backend_kw(sink, bes, bev)).start()
    tapS, tapV = Tap('127.0.0.1', bes), Tap('127.0.0.1', bev)
    psp, pvp = free_port(), free_port()
    users = {
        'user1@example.org': 'port=%d' % tapS.port,
        'user2@example.org': 'port=%d' % tapV.port,
        'user3@example.org': {'password': 'pass', 'fields': 'port=%d master=proxy pass=masterpass' % tapS.port},
        'user4@example.org': {'password': 'pass', 'fields': 'port=%d master=proxy pass=masterpass' % tapV.port},
        'dead@example.org': 'port=%d' % free_port(),
        'fwd@example.org': {'password': 'pass', 'fields': 'port=%d destuser=user1@example.org pass=pass forward_x=y' % tapS.port},
    }
    extra = '\n'.join([
        'hostname = proxy.test',
        'service submission-login {\n  inet_listener submission {\n    port = %d\n  }\n}' % psp,
        'service managesieve-login {\n  inet_listener sieve {\n    port = %d\n  }\n}' % pvp,
    ])
    px = DovecotProxy('proxy', backend=be, users=users, extra_conf=extra, protocols='imap pop3 submission sieve',
                      trusted_networks='').start()
    time.sleep(0.5)

    def SP(title, port, steps, tap, settle=0.5, **kw):
        tap.take()
        session(title, '127.0.0.1', port, steps, settle=settle, **kw)
        time.sleep(0.3)
        emit(['#### proxy <-> backend'] + tap.take())

    SP('proxy submission EHLO + AUTH ok, MAIL', psp, [b'EHLO client.example\r\n', b'AUTH PLAIN ' + plain('user1@example.org', 'pass') + b'\r\n',
                                                    b'MAIL FROM:<user1@example.org>\r\n', b'RCPT TO:<x@example.com>\r\n', b'DATA\r\n', b'Subject: t\r\n\r\nhi\r\n.\r\n', b'QUIT\r\n'], tapS)
    SP('proxy submission wrong password', psp, [b'EHLO c\r\n', (b'AUTH PLAIN ' + plain('user1@example.org', 'bad') + b'\r\n', 1.5), b'QUIT\r\n'], tapS)
    SP('proxy submission master user', psp, [b'EHLO c\r\n', (b'AUTH PLAIN ' + plain('user3@example.org', 'pass') + b'\r\n', 1.5), b'QUIT\r\n'], tapS)
    SP('proxy submission forward + destuser', psp, [b'EHLO c\r\n', (b'AUTH PLAIN ' + plain('fwd@example.org', 'pass') + b'\r\n', 1.5), b'QUIT\r\n'], tapS)
    SP('proxy submission dead backend', psp, [b'EHLO c\r\n', (b'AUTH PLAIN ' + plain('dead@example.org', 'pass') + b'\r\n', 12), b'QUIT\r\n'], tapS)
    SP('proxy submission HELO then AUTH', psp, [b'HELO c\r\n', (b'AUTH PLAIN ' + plain('user1@example.org', 'pass') + b'\r\n', 1.5), b'QUIT\r\n'], tapS)
    SP('proxy submission AUTH without EHLO', psp, [(b'AUTH PLAIN ' + plain('user1@example.org', 'pass') + b'\r\n', 1.5), b'QUIT\r\n'], tapS)
    SP('proxy submission AUTH LOGIN', psp, [b'EHLO c\r\n', b'AUTH LOGIN\r\n', b64('user1@example.org') + b'\r\n', (b64('pass') + b'\r\n', 1.5), b'QUIT\r\n'], tapS)
    SP('proxy sieve ok', pvp, [(b'AUTHENTICATE "PLAIN" "' + plain('user2@example.org', 'pass') + b'"\r\n', 1.5), b'LISTSCRIPTS\r\n', b'LOGOUT\r\n'], tapV, greet=False)
    SP('proxy sieve wrong', pvp, [(b'AUTHENTICATE "PLAIN" "' + plain('user2@example.org', 'bad') + b'"\r\n', 1.5), b'LOGOUT\r\n'], tapV, greet=False)
    SP('proxy sieve master', pvp, [(b'AUTHENTICATE "PLAIN" "' + plain('user4@example.org', 'pass') + b'"\r\n', 1.5), b'LOGOUT\r\n'], tapV, greet=False)
    SP('proxy sieve dead', pvp, [(b'AUTHENTICATE "PLAIN" "' + plain('dead@example.org', 'pass') + b'"\r\n', 12), b'LOGOUT\r\n'], tapV, greet=False)
    time.sleep(0.5)
    print('## proxy log\n```')
    print(open(px.log_path).read())
    print('```\n## backend log\n```')
    print(open(be.log_path).read())
    print('```')
    sink.stop()


main_guard(main)
