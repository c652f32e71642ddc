# SPDX-License-Identifier: MIT
"""Connection limits before login, against a real Dovecot backend and the real doveadm:
- a flood of pre-login connections from one address fills default_client_limit *
  default_process_limit: the oldest pre-login connections are dropped with Dovecot's
  "Connection queue full" and its warning, and another address logs in within a second;
- a service's own client_limit/process_limit (submission-login) with Dovecot's SMTP reply;
- login_max_prelogin_per_ip refuses the next connection of a full address, the others and
  login_trusted_networks are not limited, and a place freed is usable again;
- with a descriptor limit of 160, a flood of 150 connections leaves the descriptor reserve
  alone: a normal login still reaches the backend and `doveadm proxy list` still works."""
import imaplib
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402
from fixtures import DovecotBackend, RawClient, report, main_guard, free_port  # noqa: E402
from mtoolfix import Proxyd  # noqa: E402
from dvcompare import real  # noqa: E402

HOST = 'mx.example.test'


def flood(px, src, n, port=None):
    """n connections from src that have read their greeting (or were closed at once)."""
    out = []
    for _ in range(n):
        try:
            c = RawClient('127.0.0.1', port or px.imap_port, source_ip=src, timeout=5)
            out.append(c)
        except OSError:
            pass
    return out


def first_lines(conns, wait=0.3):
    """What each connection has received after wait (greeting, then maybe a BYE)."""
    time.sleep(wait)
    return [c.read(0.01) for c in conns]


def timed_login(px, user='user1@example.org'):
    t0 = time.monotonic()
    try:
        m = imaplib.IMAP4('127.0.0.1', px.imap_port, timeout=10)
        typ, _ = m.login(user, 'pass')
        m.logout()
    except Exception as e:
        typ = repr(e)
    return typ, time.monotonic() - t0


def close_all(conns):
    for c in conns:
        c.close()


def main():
    with DovecotBackend('be') as be:
        hp = 'proxy host=127.0.0.1 port=%d' % be.imap_port
        users = {'user%d@example.org' % i: hp for i in range(1, 4)}

        # ---- default_client_limit * default_process_limit, per service ----
        subm = free_port()
        px = Proxyd(name='svc', users=users, settings={
            'default_client_limit': '20', 'default_process_limit': '1', 'login_max_prelogin_per_ip': '0',
            'protocols': 'imap pop3 submission', 'hostname': HOST},
            extra_conf='service submission-login {\n  client_limit = 3\n  process_limit = 2\n'
                       '  inet_listener submission {\n    port = %d\n  }\n}\n' % subm).start()
        conns = flood(px, '127.0.0.5', 40)
        got = first_lines(conns)
        dropped = sum(1 for g in got if b'* BYE Connection queue full\r\n' in g)
        report(len(conns) == 40 and dropped >= 19,
               'a flood of 40 from one address into client_limit 20: the oldest get "* BYE Connection queue full"',
               '%d connections, %d dropped' % (len(conns), dropped))
        typ, took = timed_login(px)
        report(typ == 'OK' and took < 1.0, 'another address logs in meanwhile within a second (%.2fs)' % took, typ)
        log = px.log()
        report('service(imap-login): client_limit (20) reached, client connections are being dropped' in log and
               'imap-login: Info: Disconnected: Connection queue full (no auth attempts' in log,
               "Dovecot's warning, and a disconnect line per dropped client", log[-1500:])
        report(log.count('client_limit (20) reached') <= 3, 'the warning is logged at most once a second',
               '%d times' % log.count('client_limit (20) reached'))
        close_all(conns)
        s = flood(px, '127.0.0.6', 7, port=subm)
        got = first_lines(s)
        want = b'421 4.0.0 %s Connection queue full\r\n' % HOST.encode()
        report(sum(1 for g in got if want in g) == 1 and want in got[0],
               'service submission-login { client_limit = 3 process_limit = 2 }: the 7th drops the oldest with %r' % want,
               got)
        report('service(submission-login): process_limit (2) reached' in px.log(),
               'the warning names process_limit, as Dovecot\'s master does', px.log()[-800:])
        close_all(s)
        px.stop()
        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))

        # ---- login_max_prelogin_per_ip ----
        px = Proxyd(name='perip', users=users, trusted_networks='127.0.0.8',
                    settings={'login_max_prelogin_per_ip': '5'}).start()
        five = flood(px, '127.0.0.7', 5)
        sixth = RawClient('127.0.0.1', px.imap_port, source_ip='127.0.0.7')
        got6 = sixth.read(0.5)
        report(got6 == b'* BYE Too many connections from your IP address.\r\n' and sixth.closed(2),
               'login_max_prelogin_per_ip = 5: the sixth connection gets a BYE and is closed', got6)
        got5 = first_lines(five, 0.1)
        report(all(g.startswith(b'* OK') and b'BYE' not in g for g in got5), 'the first five are left alone', got5)
        typ, took = timed_login(px)
        report(typ == 'OK' and took < 1.0, 'another address logs in (%.2fs)' % took, typ)
        trusted = flood(px, '127.0.0.8', 8)
        got = first_lines(trusted, 0.2)
        report(len(got) == 8 and all(g.startswith(b'* OK') and b'BYE' not in g for g in got),
               'login_trusted_networks are not counted (8 from a trusted address)', got)
        five[0].close()
        time.sleep(0.2)
        again = RawClient('127.0.0.1', px.imap_port, source_ip='127.0.0.7')
        g = again.read(0.3)
        report(g.startswith(b'* OK') and b'BYE' not in g, 'a place freed by a disconnect is usable again', g)
        report('login_max_prelogin_per_ip (5) reached for 127.0.0.7' in px.log(), 'logged once', px.log()[-600:])
        close_all(five + trusted + [again, sixth])
        px.stop()

        # ---- the descriptor reserve ----
        orig = fixtures._pdeathsig

        def low_nofile():
            resource.setrlimit(resource.RLIMIT_NOFILE, (160, 160))
            orig()
        fixtures._pdeathsig = low_nofile
        try:
            px = Proxyd(name='fds', users=users, settings={'login_max_prelogin_per_ip': '0'}).start()
        finally:
            fixtures._pdeathsig = orig
        conns = flood(px, '127.0.0.5', 150)
        got = first_lines(conns, 0.05)
        dropped = sum(1 for g in got if b'Connection queue full' in g)
        typ, took = timed_login(px, 'user2@example.org')
        report(typ == 'OK' and took < 1.0,
               'descriptor limit 160, a flood of 150: a login still reaches the backend within a second (%.2fs)' % took,
               '%s; %d of the flood dropped' % (typ, dropped))
        rc, out, err = real(['proxy', 'list', '-a', os.path.join(px.dir, 'run', 'ipc')])
        report(rc == 0, 'the real doveadm proxy list still gets an answer from the admin socket', err)
        report(dropped > 0 and 'descriptor limit 160 reached (64 kept in reserve)' in px.log(),
               'the flood was cut at the reserve, logged', '%d dropped; %s' % (dropped, px.log()[-600:]))
        close_all(conns)
        px.stop()
        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))


if __name__ == '__main__':
    main_guard(main)
