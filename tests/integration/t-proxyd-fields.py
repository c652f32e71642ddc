# SPDX-License-Identifier: MIT
"""Every passdb field proxyd acts on, each against a real Dovecot backend (or a scripted
one where a real Dovecot cannot misbehave on demand), each with an observable effect that
would be missing without the field: the mailbox the login lands in, the backend's log,
the reply the client gets, the time the login takes."""

import imaplib
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard, free_port
from fakepeer import FakeBackend, read_line, silent, garbage_banner
from mtoolfix import Proxyd

UNAVAILABLE = b'NO [UNAVAILABLE] Account is temporarily unavailable.\r\n'


def login(px, user, password='pass', source_ip=None, pre=b''):
    """Raw IMAP LOGIN through the proxy; returns (tagged reply line, client)."""
    raw = RawClient('127.0.0.1', px.imap_port, source_ip=source_ip, timeout=15)
    raw.line()
    if pre:
        raw.send(pre)
        raw.until(b'p ')
    raw.send(b'a LOGIN "%s" "%s"\r\n' % (user.encode(), password.encode()))
    lines = raw.until(b'a ')
    return lines[-1], raw


def subject_of_first(raw):
    raw.send(b's SELECT INBOX\r\nf FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n')
    return b''.join(raw.until(b'f '))


def main():
    with DovecotBackend('be') as be:
        for i in range(1, 6):
            be.deliver('user%d@example.org' % i,
                       'Subject: mailbox of user%d\r\n\r\nx\r\n' % i)
        hp = 'proxy host=127.0.0.1 port=%d' % be.imap_port
        dead_port = free_port()
        with FakeBackend(silent) as quiet, FakeBackend(garbage_banner) as junk:
            users = {
                'user1@example.org': hp,
                'alias@example.org': hp + ' destuser=user3@example.org',
                'renamed@example.org': hp + ' user=user2@example.org',
                'viamaster@example.org': hp + ' destuser=user4@example.org master=proxy pass=masterpass',
                'viasep@example.org': hp + ' destuser=user5@example.org*proxy pass=masterpass',
                'maybe-self@example.org': 'proxy_maybe host=127.0.0.1 port=%d destuser=user1@example.org',
                'maybe-other@example.org': 'proxy_maybe host=127.0.0.1 port=%d destuser=user2@example.org' % be.imap_port,
                'loop@example.org': 'proxy host=127.0.0.1 port=%d',
                'delayed@example.org': hp + ' destuser=user1@example.org delay_until=%d',
                'far@example.org': hp + ' delay_until=%d' % (time.time() + 3600),
                'slow@example.org': 'proxy host=127.0.0.1 port=%d proxy_timeout=2' % quiet.port,
                'dead@example.org': 'proxy host=127.0.0.1 port=%d proxy_timeout=3' % dead_port,
                'junk@example.org': 'proxy host=127.0.0.1 port=%d' % junk.port,
                'untrusted@example.org': hp + ' destuser=user1@example.org proxy_not_trusted source_ip=127.0.0.7',
                'fwd@example.org': hp + ' destuser=user1@example.org forward_color=blue forward_flag',
                'mech@example.org': hp + ' destuser=user2@example.org proxy_mech=LOGIN',
                'anypass@example.org': ('', hp + ' destuser=user1@example.org nopassword'),
                'blocked@example.org': 'nologin reason=Moved',
                'local@example.org': 'destuser=user1@example.org',
                'byname@example.org': 'proxy host=localhost port=%d destuser=user2@example.org' % be.imap_port,
            }
            px = Proxyd(users={}, trusted_networks='127.0.0.5/32',
                        settings={'login_proxy_max_reconnects': 2})
            px.users = users
            # fields that name the proxy's own port need it: fill them in now
            for u in ('maybe-self@example.org', 'loop@example.org'):
                px.users[u] = users[u] % px.imap_port
            px.users['delayed@example.org'] = users['delayed@example.org'] % (time.time() + 2)
            with px:
                l, raw = login(px, 'alias@example.org')
                report(l.startswith(b'a OK') and b'mailbox of user3' in subject_of_first(raw),
                       'destuser: the login lands in user3\'s mailbox', l)
                raw.close()

                l, raw = login(px, 'renamed@example.org')
                report(l.startswith(b'a OK') and b'mailbox of user2' in subject_of_first(raw),
                       'user: the passdb renames the user (destuser defaults to the new name)', l)
                raw.close()
                report(px.wait_log(r'proxy\(user2@example.org,[^)]*\): Started proxying') is not None,
                       'user: the proxy logs the renamed user')

                l, raw = login(px, 'viamaster@example.org')
                report(l.startswith(b'a OK') and b'mailbox of user4' in subject_of_first(raw),
                       'master+pass: master-user login lands in user4\'s mailbox', l)
                raw.close()
                m = be.wait_log(r'Login: user=<user4@example.org>, method=PLAIN')
                report(m is not None, 'master+pass: backend logged user4 (AUTHENTICATE PLAIN with authzid)')

                l, raw = login(px, 'viasep@example.org')
                report(l.startswith(b'a OK') and b'mailbox of user5' in subject_of_first(raw),
                       'destuser=user*master with the backend\'s separator', l)
                raw.close()

                l, raw = login(px, 'maybe-other@example.org')
                report(l.startswith(b'a OK') and b'mailbox of user2' in subject_of_first(raw),
                       'proxy_maybe to another host proxies', l)
                raw.close()

                l, raw = login(px, 'maybe-self@example.org')
                report(l == b'a ' + UNAVAILABLE,
                       'proxy_maybe to self without proxy_local_host fails as "Proxying loops"', l)
                raw.close()
                report(px.wait_log(r'maybe-self@example.org\): Proxying loops') is not None,
                       'proxy_maybe to self: logged')

                l, raw = login(px, 'local@example.org')
                report(l == b'a ' + UNAVAILABLE, 'no proxy field and no proxy_local_host: refused', l)
                raw.close()

                l, raw = login(px, 'loop@example.org')
                report(l == b'a ' + UNAVAILABLE, 'proxy to itself with the same user: refused', l)
                raw.close()
                report(px.wait_log(r'loop@example.org\): Proxying loops to itself') is not None,
                       'proxy to itself: "Proxying loops to itself" logged')

                px.users['delayed@example.org'] = hp + ' destuser=user1@example.org delay_until=%d' % (time.time() + 2)
                px.write_users()     # the passwd-file passdb rereads a changed file
                t0 = time.monotonic()
                l, raw = login(px, 'delayed@example.org')
                took = time.monotonic() - t0
                report(l.startswith(b'a OK') and took >= 0.8, 'delay_until holds the login until then',
                       '%r after %.2fs' % (l, took))
                raw.close()

                l, raw = login(px, 'far@example.org')
                report(l.startswith(b'a NO [UNAVAILABLE] Temporary authentication failure.'),
                       'delay_until too far ahead: temporary failure', l)
                raw.close()

                t0 = time.monotonic()
                l, raw = login(px, 'slow@example.org')
                took = time.monotonic() - t0
                report(l == b'a ' + UNAVAILABLE and took < 10,
                       'proxy_timeout: a backend that never answers fails the login in time',
                       '%r after %.2fs' % (l, took))
                raw.close()
                report(px.wait_log(r'Error: proxy\(slow@example.org,[^)]*\): Login timed out in state=banner \(after 2 secs') is not None,
                       'proxy_timeout: "Login timed out" logged')

                l, raw = login(px, 'dead@example.org')
                report(l == b'a ' + UNAVAILABLE, 'dead backend: temporary failure', l)
                raw.close()
                report(px.wait_log(r'Error: proxy\(dead@example.org,127\.0\.0\.1:%d\): connect\(127\.0\.0\.1, %d\) failed: Connection refused \(after \d secs, 2 reconnects' % (dead_port, dead_port)) is not None,
                       'dead backend: the connect error is logged')

                l, raw = login(px, 'junk@example.org')
                report(l == b'a ' + UNAVAILABLE, 'garbage banner: temporary failure', l)
                raw.close()
                report(px.wait_log(r'proxy\(junk@example.org,[^)]*\): Remote server sent invalid input: Invalid banner: HTTP/1.0 400') is not None,
                       'garbage banner: "Invalid banner" logged')

                # a client from 127.0.0.9: the backend sees it through ID unless proxy_not_trusted
                l, raw = login(px, 'untrusted@example.org', source_ip='127.0.0.9')
                raw.close()
                m = be.wait_log(r'Login: user=<user1@example.org>, method=PLAIN, rip=127\.0\.0\.7,')
                report(l.startswith(b'a OK') and m is not None,
                       'proxy_not_trusted + source_ip: no ID sent, the backend sees the proxy\'s source 127.0.0.7', l)

                l, raw = login(px, 'fwd@example.org')
                raw.close()
                m = be.wait_log(r'ID sent: .*x-forward-color=blue')
                report(l.startswith(b'a OK') and m is not None, 'forward_*: sent as x-forward-* in ID', l)

                l, raw = login(px, 'mech@example.org')
                report(l.startswith(b'a OK') and b'mailbox of user2' in subject_of_first(raw),
                       'proxy_mech=LOGIN: backend login with AUTHENTICATE LOGIN', l)
                raw.close()
                report(be.wait_log(r'Login: user=<user2@example.org>, method=LOGIN') is not None,
                       'proxy_mech=LOGIN: the backend logged method=LOGIN')

                l, raw = login(px, 'anypass@example.org', password='pass')
                report(l.startswith(b'a OK'), 'nopassword: the password is checked by the backend only', l)
                raw.close()
                l, raw = login(px, 'anypass@example.org', password='wrong')
                report(l == b'a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n',
                       'nopassword: a wrong password is refused by the backend', l)
                raw.close()

                l, raw = login(px, 'blocked@example.org')
                report(l == b'a NO [AUTHENTICATIONFAILED] Moved\r\n',
                       'nologin + reason', l)
                raw.close()

                l, raw = login(px, 'byname@example.org')
                report(l.startswith(b'a OK') and b'mailbox of user2' in subject_of_first(raw),
                       'host as a DNS name (localhost)', l)
                raw.close()

                # a trusted proxy in front of us lowers the TTL; at 1 we refuse (loop protection)
                pre = b'p ID ("x-proxy-ttl" "1" "x-originating-ip" "192.0.2.1")\r\n'
                l, raw = login(px, 'user1@example.org', source_ip='127.0.0.5', pre=pre)
                report(l == b'a NO [SERVERBUG] Account is temporarily unavailable.\r\n',
                       'TTL from a trusted upstream reaching zero: refused', l)
                raw.close()
                report(px.wait_log(r'TTL reached zero') is not None, 'TTL: logged')
                pre = b'p ID ("x-proxy-ttl" "3" "x-originating-ip" "192.0.2.1")\r\n'
                l, raw = login(px, 'user1@example.org', source_ip='127.0.0.5', pre=pre)
                raw.close()
                m = be.wait_log(r'ID sent: .*x-originating-ip=192\.0\.2\.1, .*x-proxy-ttl=2')
                report(l.startswith(b'a OK') and m is not None,
                       'trusted upstream: its client address and TTL-1 go to the backend', l)
                l, raw = login(px, 'user1@example.org', source_ip='127.0.0.9', pre=pre)
                raw.close()
                m = be.wait_log(r'ID sent: .*x-originating-ip=127\.0\.0\.9, .*x-proxy-ttl=4')
                report(l.startswith(b'a OK') and m is not None,
                       'untrusted client: its ID x-* fields are ignored', l)

        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))

        # proxy_local_host takes the users Dovecot would log in locally; login_source_ips
        px2 = Proxyd('mtool2', users={
            'maybe-self@example.org': 'proxy_maybe host=127.0.0.1 port=%d destuser=user3@example.org',
            'local@example.org': 'destuser=user2@example.org',
            'src@example.org': hp + ' destuser=user1@example.org proxy_not_trusted',
            'always-self@example.org': 'proxy_maybe proxy_always host=127.0.0.1 port=%d',
            'odd@example.org': hp + ' destuser=user1@example.org frobnicate=1',
        }, settings={'proxy_local_host': '127.0.0.1', 'proxy_local_port': be.imap_port,
                     'login_source_ips': '127.0.0.8'}, args=['-D'])
        px2.users['maybe-self@example.org'] %= px2.imap_port
        px2.users['always-self@example.org'] %= px2.imap_port
        with px2:
            l, raw = login(px2, 'maybe-self@example.org')
            report(l.startswith(b'a OK') and b'mailbox of user3' in subject_of_first(raw),
                   'proxy_maybe to self goes to proxy_local_host', l)
            raw.close()
            l, raw = login(px2, 'local@example.org')
            report(l.startswith(b'a OK') and b'mailbox of user2' in subject_of_first(raw),
                   'no proxy field goes to proxy_local_host', l)
            raw.close()
            l, raw = login(px2, 'src@example.org')
            raw.close()
            m = be.wait_log(r'Login: user=<user1@example.org>, method=PLAIN, rip=127\.0\.0\.8,')
            report(l.startswith(b'a OK') and m is not None, 'login_source_ips: the backend sees 127.0.0.8', l)
            l, raw = login(px2, 'always-self@example.org')
            raw.close()
            report(l == b'a ' + UNAVAILABLE and px2.wait_log(r'always-self@example.org\): host not given') is not None,
                   'proxy_maybe + proxy_always to self: proxied to a director-given host, not locally', l)
            l, raw = login(px2, 'odd@example.org')
            raw.close()
            report(l.startswith(b'a OK') and px2.wait_log(r"Debug: proxy\(odd@example.org\): ignoring unknown passdb field 'frobnicate'") is not None,
                   'an unknown passdb field is ignored with a debug line', l)
        report(not px2.check_log(), 'no crash or sanitizer report (second proxy)', '\n'.join(px2.check_log()))

    # proxy_nopipelining: a scripted backend records what arrives before it answers ID
    def recorder(c, log):
        c.sendall(b'* OK [CAPABILITY IMAP4rev1 ID SASL-IR] fake ready\r\n')
        first = read_line(c)
        log.append(first)
        more = read_line(c, timeout=0.5)
        log.append(more)
        if first and first.startswith('I '):
            c.sendall(b'* ID NIL\r\nI OK ID done\r\n')
        pending = [more] if more else []
        while True:
            line = pending.pop() if pending else read_line(c)
            if line is None:
                return
            log.append(line)
            tag = line.split(' ')[0]
            if tag == 'L':
                c.sendall(b'L OK [CAPABILITY IMAP4rev1 FAKE] Logged in\r\n')
            else:
                c.sendall(tag.encode() + b' OK done\r\n')
    for nopipe in (False, True):
        with FakeBackend(recorder) as fb:
            fields = 'proxy host=127.0.0.1 port=%d%s' % (fb.port, ' proxy_nopipelining' if nopipe else '')
            with Proxyd('mtool-np%d' % nopipe, users={'user1@example.org': fields}) as px3:
                l, raw = login(px3, 'user1@example.org')
                raw.close()
            before_id_reply = fb.log[1]
            what = 'proxy_nopipelining: nothing is sent before the ID reply' if nopipe else \
                'pipelining: LOGIN follows ID without waiting'
            ok = l.startswith(b'a OK [CAPABILITY IMAP4rev1 FAKE]') and \
                (before_id_reply is None if nopipe else (before_id_reply or '').startswith('L LOGIN'))
            report(ok, what, '%r %r' % (l, fb.log))
        print('# proxyd log:\n' + '\n'.join('#   ' + l for l in px.log().splitlines()[-60:]))


main_guard(main)
