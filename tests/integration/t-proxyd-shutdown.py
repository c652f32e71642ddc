# SPDX-License-Identifier: MIT
"""SIGTERM as Dovecot's login processes take it: pre-login clients get "Shutting down" in
their protocol's words (IMAP "* BYE", POP3 "-ERR", Submission "421 4.3.2 <host>",
ManageSieve BYE), the listeners close at once. shutdown_clients = yes (the default): a
proxied session (to a real Dovecot) ends, logged as Dovecot logs it. shutdown_clients =
no: a relayed FETCH still completes after SIGTERM and proxyd exits when the session ends;
shutdown_clients_timeout bounds the wait."""
import imaplib
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard, free_port, port_listening  # noqa: E402
from mtoolfix import Proxyd  # noqa: E402

HOST = 'mx.example.test'
MSG = b'From: a@example.org\r\nSubject: big\r\n\r\n' + b'x' * 76 + b'\r\n'


def exited(px, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if px.proc.poll() is not None:
            return True
        time.sleep(0.05)
    return px.proc.poll() is not None


def proxyd(name, be, settings):
    subm, sieve = free_port(), free_port()
    hp = 'proxy host=127.0.0.1 port=%d' % be.imap_port
    px = Proxyd(name=name, users={'user%d@example.org' % i: hp for i in range(1, 4)},
                settings=dict({'protocols': 'imap pop3 submission sieve', 'hostname': HOST}, **settings),
                extra_conf='service submission-login {\n  inet_listener submission {\n    port = %d\n  }\n}\n'
                           'service managesieve-login {\n  inet_listener sieve {\n    port = %d\n  }\n}\n'
                           % (subm, sieve))
    px.subm_port, px.sieve_port = subm, sieve
    return px.start()


def main():
    with DovecotBackend('be') as be:
        be.deliver('user1@example.org', MSG * 20000)     # ~1.6 MB: a FETCH that takes a while

        # ---- shutdown_clients = yes (default) ----
        px = proxyd('yes', be, {})
        pre = {'imap': RawClient('127.0.0.1', px.imap_port), 'pop3': RawClient('127.0.0.1', px.pop3_port),
               'submission': RawClient('127.0.0.1', px.subm_port), 'sieve': RawClient('127.0.0.1', px.sieve_port)}
        pre['imap'].line(), pre['pop3'].line(), pre['submission'].line()
        pre['sieve'].until(b'OK')
        m = imaplib.IMAP4('127.0.0.1', px.imap_port, timeout=10)
        m.login('user2@example.org', 'pass')
        px.wait_log(r'Started proxying')
        t0 = time.monotonic()
        px.proc.send_signal(signal.SIGTERM)
        want = {'imap': b'* BYE Shutting down\r\n', 'pop3': b'-ERR Shutting down\r\n',
                'submission': b'421 4.3.2 %s Shutting down\r\n' % HOST.encode(),
                'sieve': b'BYE "Shutting down"\r\n'}
        for proto, c in pre.items():
            got = c.line()
            report(got == want[proto] and c.closed(2), '%s pre-login client gets %r and is closed' % (proto, want[proto]),
                   repr(got))
        report(exited(px, 5), 'shutdown_clients = yes: proxyd exits at once (%.2fs)' % (time.monotonic() - t0))
        log = px.log()
        report('imap-login: Info: Disconnected: Shutting down (no auth attempts' in log,
               'each pre-login client logged as Dovecot logs it', log[-1500:])
        report('proxy(user2@example.org,127.0.0.1:%d): Disconnected by proxy: Process shutting down' % be.imap_port in log,
               'the proxied session ends with a log line', log[-1500:])
        try:
            m.noop()
            alive = True
        except Exception:
            alive = False
        report(not alive, 'the proxied session is closed')
        px.stop()

        # ---- shutdown_clients = no ----
        px = proxyd('no', be, {'shutdown_clients': 'no'})
        m = imaplib.IMAP4('127.0.0.1', px.imap_port, timeout=20)
        m.login('user1@example.org', 'pass')
        m.select('INBOX')
        pre = RawClient('127.0.0.1', px.imap_port)
        pre.line()
        px.wait_log(r'Started proxying')
        px.proc.send_signal(signal.SIGTERM)
        got = pre.line()
        report(got == b'* BYE Shutting down\r\n', 'shutdown_clients = no: a pre-login client still gets the BYE', repr(got))
        report(px.wait_log(r'shutdown_clients = no: 1 proxied sessions are left to finish') is not None,
               'proxyd says the proxied session is left to finish', px.log()[-800:])
        time.sleep(0.2)
        report(not port_listening('127.0.0.1', px.imap_port), 'the listener is closed after SIGTERM')
        typ, data = m.fetch('1', '(BODY.PEEK[])')
        size = len(data[0][1]) if typ == 'OK' and data and isinstance(data[0], tuple) else 0
        report(typ == 'OK' and size == len(MSG * 20000), 'a relayed FETCH (1.6 MB) completes after SIGTERM',
               '%s %d bytes' % (typ, size))
        report(px.proc.poll() is None, 'proxyd still runs while the session lives')
        m.logout()
        report(exited(px, 3), 'proxyd exits once the last session has ended', px.log()[-800:])
        px.stop()

        # ---- shutdown_clients_timeout ----
        px = proxyd('timeout', be, {'shutdown_clients': 'no', 'shutdown_clients_timeout': '1s'})
        m = imaplib.IMAP4('127.0.0.1', px.imap_port, timeout=10)
        m.login('user3@example.org', 'pass')
        px.wait_log(r'Started proxying')
        t0 = time.monotonic()
        px.proc.send_signal(signal.SIGTERM)
        gone = exited(px, 5)
        took = time.monotonic() - t0
        report(gone and 0.8 <= took < 3, 'shutdown_clients_timeout = 1s: an idle session is ended after it (%.2fs)' % took)
        log = px.log()
        report('shutdown_clients_timeout reached: ending the 1 proxied sessions left' in log and
               'Disconnected by proxy: Process shutting down' in log, 'logged, with a line for the session', log[-800:])
        px.stop()
        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))


if __name__ == '__main__':
    main_guard(main)
