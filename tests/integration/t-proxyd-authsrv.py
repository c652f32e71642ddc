# SPDX-License-Identifier: MIT
"""passdb auth: mtool proxyd asks a real Dovecot 2.3 auth server (authfix.DovecotAuth, run
with protocols = none) over the auth-client protocol, on its UNIX socket and on TCP. Behind
the auth server: a passwd-file and a sqlite passdb. Their fields (proxy, host, port,
destuser, pass, user renames, nologin + reason) route the logins to one of two real Dovecot
backends, checked in the backends' logs; wrong passwords and unknown users fail; the auth
server stopped gives a temporary failure at once and logins work again after its restart;
its auth processes stopped with SIGSTOP give a temporary failure after the driver's timeout
(not a hang), and logins work again after SIGCONT."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from authfix import AuthProxyd, DovecotAuth
from fixtures import DovecotBackend, main_guard, report
from sqlfix import login

TEMPFAIL = 'a NO [UNAVAILABLE] Temporary authentication failure.'


def routed(be, user, start):
    """be's log, from offset start, shows user logged in."""
    return be.wait_log(r'imap-login: Info: Login: user=<%s>' % user.replace('.', r'\.'), timeout=3,
                       start=start) is not None


def login_again(px, seconds=20):
    """Logs in every 0.5 s until it works (the driver's reconnect delay) or time runs out;
    the last answer."""
    deadline = time.monotonic() + seconds
    while True:
        r, _ = login(px.imap_port, 'user1@example.org', 'pass')
        if r.startswith('a OK') or time.monotonic() > deadline:
            return r
        time.sleep(0.5)


def main():
    with DovecotBackend('be1') as be1, \
         DovecotBackend('be2', users={'sqluser@example.org': 'sqlpass',
                                      'other@example.org': 'pass'}) as be2:
        to1 = 'proxy host=127.0.0.1 port=%d' % be1.imap_port
        to2 = 'proxy host=127.0.0.1 port=%d' % be2.imap_port
        passwd = [
            'user1@example.org:{PLAIN}pass::::::' + to1,
            'user2@example.org:{PLAIN}secret::::::%s pass=pass' % to1,
            'alias@example.org:{PLAIN}pass::::::%s destuser=other@example.org' % to2,
            'ren@example.org:{PLAIN}pass::::::%s user=user3@example.org' % to1,
            'off@example.org:{PLAIN}pass::::::nologin reason=Moved_elsewhere',
        ]
        rows = [('sqluser@example.org', 'sqlpass',
                 {'proxy': 'y', 'host': '127.0.0.1', 'port': be2.imap_port})]
        au = DovecotAuth(passwd, rows)
        with au:
            px = AuthProxyd('timeout=2 ' + au.socket)
            pt = AuthProxyd('127.0.0.1:%d' % au.port, name='mtool-tcp')
            with px, pt:
                cases = [
                    ('user1@example.org', 'pass', be1, 'user1@example.org',
                     'passwd-file behind auth: proxy, host, port'),
                    ('user2@example.org', 'secret', be1, 'user2@example.org',
                     'pass= from the auth server is sent to the backend'),
                    ('alias@example.org', 'pass', be2, 'other@example.org',
                     'destuser routes to the second backend'),
                    ('ren@example.org', 'pass', be1, 'user3@example.org',
                     'user= renamed by the auth server'),
                    ('sqluser@example.org', 'sqlpass', be2, 'sqluser@example.org',
                     'sqlite passdb behind auth'),
                ]
                for i, (user, pw, be, who, what) in enumerate(cases):
                    start = len(be.log())
                    r, _ = login(px.imap_port, user, pw, source_ip='127.0.3.%d' % (i + 1))
                    report(r.startswith('a OK') and routed(be, who, start), what, r)
                fails = [
                    ('user1@example.org', 'wrong', 'a wrong password fails'),
                    ('sqluser@example.org', 'pass', 'a wrong password fails (sqlite)'),
                    ('nobody@example.org', 'pass', 'an unknown user fails'),
                    ('user1@example.org', '', 'an empty password fails'),
                ]
                for i, (user, pw, what) in enumerate(fails):
                    r, _ = login(px.imap_port, user, pw, source_ip='127.0.4.%d' % (i + 1))
                    report('AUTHENTICATIONFAILED' in r, what, r)
                r, _ = login(px.imap_port, 'off@example.org', 'pass', source_ip='127.0.4.9')
                report(r.startswith('a NO') and 'Moved_elsewhere' in r,
                       'nologin with a reason: the reason is shown', r)
                start = len(be2.log())
                r, _ = login(pt.imap_port, 'alias@example.org', 'pass', source_ip='127.0.4.10')
                report(r.startswith('a OK') and routed(be2, 'other@example.org', start),
                       'the auth server over TCP (host:port)', r)

                # the auth server goes away: a temporary failure at once, then recovery
                au.stop()
                r, took = login(px.imap_port, 'user1@example.org', 'pass')
                report(r == TEMPFAIL and took < 3, 'auth server down: temporary failure at once',
                       '%r in %.2fs' % (r, took))
                report(px.wait_log(r'auth\(.*auth-client\)', timeout=2) is not None,
                       'auth server down: the failure is logged')
                au.start()
                r = login_again(px)
                report(r.startswith('a OK'), 'auth server back: logins work again', r)

                # a stuck auth server: the driver's timeout (2 s), not a hang
                pids = au.auth_pids()
                for p in pids:
                    os.kill(p, signal.SIGSTOP)
                try:
                    r, took = login(px.imap_port, 'user1@example.org', 'pass')
                    report(r == TEMPFAIL and 1.5 < took < 5,
                           'auth server stopped (SIGSTOP): temporary failure after the timeout',
                           '%r in %.2fs (auth pids %s)' % (r, took, pids))
                    report(px.wait_log(r'request timed out after 2000 ms', timeout=2) is not None,
                           'auth server stopped: the timeout is logged')
                finally:
                    for p in pids:
                        os.kill(p, signal.SIGCONT)
                r = login_again(px)
                report(r.startswith('a OK'), 'auth server resumed (SIGCONT): logins work again', r)
            for p in (px, pt):
                report(not p.check_log(), 'no crash or sanitizer report (%s)' % p.name,
                       '\n'.join(p.check_log()))


main_guard(main)
