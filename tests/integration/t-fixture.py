# SPDX-License-Identifier: MIT
"""Self-test of fixtures.py: a real Dovecot backend (IMAP, POP3, master user, delivery) and a
real Dovecot login proxy in front of it, started and stopped by PID with nothing left behind."""
import imaplib
import os
import poplib
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import (DovecotBackend, DovecotProxy, RawClient, report, main_guard,  # noqa: E402
                      pid_alive, free_port, wait_port, port_listening, stop)

MSG = (b'From: a@example.org\r\nTo: user1@example.org\r\nSubject: fixture test\r\n'
       b'Message-ID: <fixture@example.org>\r\n\r\nhello from the fixture\r\n')


def imap_login(ip, port, user, password):
    m = imaplib.IMAP4(ip, port, timeout=5)
    try:
        typ, _ = m.login(user, password)
        return m, typ
    except imaplib.IMAP4.error as e:
        m.shutdown()
        return None, str(e)


def main():
    t0 = time.monotonic()
    p = free_port()
    report(not port_listening('127.0.0.1', p), 'free_port gives a port nobody listens on')

    be = DovecotBackend('backend')
    be.start()
    report(be.running() and port_listening(be.ip, be.imap_port) and
           port_listening(be.ip, be.pop3_port), 'backend listens on imap and pop3',
           repr(be))
    wait_port(be.ip, be.imap_port, 1)

    with RawClient(be.ip, be.imap_port) as c:
        greet = c.line()
    report(greet.startswith(b'* OK [CAPABILITY ') and
           greet.endswith(b'] Dovecot backend backend ready.\r\n'),
           'raw greeting carries login_greeting', greet)

    m, typ = imap_login(be.ip, be.imap_port, 'user1@example.org', 'pass')
    report(typ == 'OK', 'imaplib LOGIN user1 on the backend', typ)
    if m:
        m.logout()
    m, typ = imap_login(be.ip, be.imap_port, 'user1@example.org', 'wrong')
    report(m is None and 'AUTHENTICATIONFAILED' in typ, 'wrong password is refused', typ)

    pop = poplib.POP3(be.ip, be.pop3_port, timeout=5)
    try:
        pop.user('user2@example.org')
        r = pop.pass_('pass')
        report(r.startswith(b'+OK'), 'poplib USER/PASS user2 on the backend', r)
        report(pop.stat() == (0, 0), 'user2 has an empty maildrop', pop.stat())
    finally:
        pop.quit()

    be.deliver('user1@example.org', MSG)
    m, typ = imap_login(be.ip, be.imap_port, 'user1@example.org', 'pass')
    if m:
        m.select('INBOX')
        typ, data = m.fetch('1', '(BODY.PEEK[])')
        body = data[0][1] if data and isinstance(data[0], tuple) else b''
        report(b'hello from the fixture' in body and b'Subject: fixture test' in body,
               'delivered message FETCHed over IMAP', repr(data)[:300])
        m.logout()
    else:
        report(False, 'delivered message FETCHed over IMAP', typ)

    pop = poplib.POP3(be.ip, be.pop3_port, timeout=5)
    try:
        pop.user('user1@example.org')
        pop.pass_('pass')
        _, lines, _ = pop.retr(1)
        report(b'hello from the fixture' in lines, 'delivered message RETRieved over POP3', lines)
    finally:
        pop.quit()

    m, typ = imap_login(be.ip, be.imap_port, 'user1@example.org*proxy', 'masterpass')
    report(typ == 'OK', 'master user login user1@example.org*proxy', typ)
    if m:
        typ, data = m.select('INBOX')
        report(typ == 'OK' and data == [b'1'], 'master user sees user1\'s INBOX', data)
        m.logout()
    report(be.wait_log(r'Login: user=<user1@example.org>, method=PLAIN, rip=127\.0\.0\.1')
           is not None, 'backend log has the Login line', be.log()[-2000:])

    px = DovecotProxy('proxy', backend=be, login_settings={'service_count': 0})
    px.start()
    m, typ = imap_login(px.ip, px.imap_port, 'user1@example.org', 'pass')
    report(typ == 'OK', 'imaplib LOGIN through the Dovecot proxy', typ)
    if m:
        typ, data = m.select('INBOX')
        report(typ == 'OK' and data == [b'1'], 'SELECT INBOX through the proxy', data)
        m.logout()
    m, typ = imap_login(px.ip, px.imap_port, 'user1@example.org', 'wrong')
    report(m is None and 'AUTHENTICATIONFAILED' in typ,
           'wrong password through the proxy is refused', typ)
    pop = poplib.POP3(px.ip, px.pop3_port, timeout=5)
    try:
        pop.user('user3@example.org')
        r = pop.pass_('pass')
        report(r.startswith(b'+OK'), 'poplib login through the proxy', r)
    finally:
        pop.quit()
    report(px.wait_log(r'proxy\(user1@example\.org,127\.0\.0\.1:\d+\): Started proxying '
                       r'to <127\.0\.0\.1>') is not None,
           'proxy log: started proxying to the backend', px.log()[-2000:])
    report(be.wait_log(r'ID sent: .*x-originating-ip=127\.0\.0\.1') is not None,
           'backend log: ID forwarded by the proxy', be.log()[-2000:])

    # hold a session through the proxy while stopping: the mail process must die too
    held = imaplib.IMAP4(px.ip, px.imap_port, timeout=5)
    held.login('user2@example.org', 'pass')
    pids = set(be.pids()) | set(px.pids())
    report(len(pids) >= 4, 'masters and children are known by PID', sorted(pids))
    t1 = time.monotonic()
    stop(px, be)            # both at once (each master takes ~1 s to exit)
    held.sock.close()
    left = sorted(q for q in pids if pid_alive(q))
    report(not left, 'no dovecot process of this test remains', left)
    report(not port_listening(be.ip, be.imap_port) and not port_listening(px.ip, px.imap_port),
           'ports are closed after stop')
    report(not be.running() and not px.running() and be.stop() is None,
           'stop is idempotent')
    print('# total %.2f s, stop %.2f s' % (time.monotonic() - t0, time.monotonic() - t1))


main_guard(main)
