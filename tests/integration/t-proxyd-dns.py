# SPDX-License-Identifier: MIT
"""host= names resolved on the event loop (core/dns.c) against a DNS stand-in on 127.x.y.z
(dnsfix.py) named by proxy_resolv_conf: while one name's lookup hangs, logins for users
with IP hosts and cached names go through at normal speed; answers are cached for their
TTL and asked again after it; NXDOMAIN is a temporary failure with a log line (and is
cached); proxy_hosts_file comes first; a truncated answer is asked again over TCP; a
malformed answer is ignored; a server that refuses is skipped; resolv.conf's search list
applies; LMTP recipients wait the same way."""

import imaplib
import os
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, report, main_guard  # noqa
from mtoolfix import Proxyd  # noqa
from dnsfix import FakeDns, free_ip  # noqa
from lmtpfix import lmtp_backend, start_lmtp_backend  # noqa

TEMP = b'[UNAVAILABLE] Account is temporarily unavailable.'


def login(px, user):
    """(ok, seconds, error text)"""
    t0 = time.monotonic()
    try:
        c = imaplib.IMAP4('127.0.0.1', px.imap_port, timeout=15)
        try:
            c.login(user, 'pass')
            c.logout()
            return True, time.monotonic() - t0, ''
        except imaplib.IMAP4.error as e:
            return False, time.monotonic() - t0, str(e)
    except OSError as e:
        return False, time.monotonic() - t0, str(e)


def main():
    dns = FakeDns(free_ip()).start()
    dns.add('mail.test', '127.0.0.1', ttl=2)
    dns.add('other.test', '127.0.0.1', ttl=60)
    dns.add('short.sub.test', '127.0.0.1', ttl=60)
    dns.hang('hang.test')
    dns.delay('slow.test', '127.0.0.1', 1.0)
    dns.nxdomain('nx.test', neg_ttl=30)
    dns.truncate('big.test', '127.0.0.1')
    dns.garbage('evil.test')
    dns.delay('lslow.test', '127.0.0.1', 1.0)
    be = start_lmtp_backend(lmtp_backend('be'))
    users = {'lslow@example.org': 'proxy host=lslow.test port=%d destuser=user1@example.org' % be.lmtp_port}
    for u, host in (('ip', '127.0.0.1'), ('name', 'mail.test'), ('other', 'other.test'),
                    ('hang', 'hang.test'), ('slow', 'slow.test'), ('nx', 'nx.test'),
                    ('hosts', 'local-alias.test'), ('big', 'big.test'), ('evil', 'evil.test'),
                    ('nxmaybe', 'nx.test'), ('short', 'short'), ('late', 'late.test')):
        users['%s@example.org' % u] = 'proxy host=%s port=%d destuser=user1@example.org' % (host, be.imap_port)
    px = Proxyd(users=users, lmtp=True)
    os.makedirs(px.dir, exist_ok=True)
    resolv = os.path.join(px.dir, 'resolv.conf')
    hosts = os.path.join(px.dir, 'hosts')
    with open(resolv, 'w') as f:
        # the first server listens nowhere (refused at once): every lookup moves on to the
        # second, the stand-in
        f.write('# test resolver\nnameserver %s\nnameserver %s\noptions timeout:2 attempts:1\n'
                'search sub.test\n' % (free_ip(), dns.ip))
    with open(hosts, 'w') as f:
        f.write('127.0.0.1 localhost\n127.0.0.1   local-alias.test  # comment\n')
    px.settings.update({'proxy_resolv_conf': resolv, 'proxy_hosts_file': hosts})
    with px:
        ok, secs, err = login(px, 'name@example.org')
        report(ok and dns.count('mail.test') == 1, 'a host= name is resolved and the login proxied',
               '%s %s queries=%d' % (ok, err, dns.count('mail.test')))
        ok, secs, err = login(px, 'name@example.org')
        report(ok and dns.count('mail.test') == 1, 'the answer is cached for its TTL (no new query)',
               'queries=%d' % dns.count('mail.test'))
        login(px, 'other@example.org')
        ok, secs, err = login(px, 'short@example.org')
        report(ok and dns.count('short.sub.test') == 1 and dns.count('short') == 0,
               'a name without dots is asked with the search list first (search sub.test)',
               '%s %s %d %d' % (ok, err, dns.count('short.sub.test'), dns.count('short')))

        # one name hangs: its login waits, others go through at normal speed
        res = {}
        t = threading.Thread(target=lambda: res.__setitem__('hang', login(px, 'hang@example.org')))
        t.start()
        time.sleep(0.3)
        fast = [login(px, u) for u in ('ip@example.org', 'other@example.org', 'hosts@example.org',
                                       'ip@example.org')]
        report(all(r[0] and r[1] < 0.5 for r in fast) and t.is_alive(),
               'while one lookup hangs, IP, cached and hosts-file logins go through at once',
               repr(fast))
        t.join(10)
        r = res.get('hang')
        report(r is not None and not r[0] and TEMP.decode() in r[2] and 1.5 < r[1] < 4,
               'the hanging lookup ends in a temporary failure after the timeout', repr(r))
        report(px.wait_log(r'Couldn\'t resolve host hang\.test: Temporary failure in name resolution \(timed out\)')
               is not None, 'the timeout is logged', px.log()[-800:])
        report(dns.count('hosts.test') == 0 and dns.count('local-alias.test') == 0,
               'proxy_hosts_file is read before any nameserver')

        # the hosts file changed: read again (looked at once a second)
        with open(hosts + '.new', 'w') as f:
            f.write('127.0.0.1 localhost local-alias.test\n127.0.0.1 late.test\n')
        os.rename(hosts + '.new', hosts)

        # TTL expiry: mail.test had ttl=2
        time.sleep(max(0, 2.2 - 0))
        ok, secs, err = login(px, 'name@example.org')
        report(ok and dns.count('mail.test') == 2, 'after the TTL the name is asked again',
               'queries=%d' % dns.count('mail.test'))

        # NXDOMAIN: temporary failure with a log line, then from the negative cache
        t_nx = time.monotonic()
        ok, secs, err = login(px, 'nx@example.org')
        report(not ok and TEMP.decode() in err and secs < 1, 'NXDOMAIN: a temporary failure', err)
        report(px.wait_log(r'proxy\(nx@example\.org.*Couldn\'t resolve host nx\.test: Host not found \(NXDOMAIN\)|'
                           r'Couldn\'t resolve host nx\.test: Host not found \(NXDOMAIN\)') is not None,
               'NXDOMAIN is logged')
        n = dns.count('nx.test')
        ok, secs, err = login(px, 'nxmaybe@example.org')
        report(not ok and dns.count('nx.test') == n, 'NXDOMAIN is cached (negative cache)', 'queries %d -> %d'
               % (n, dns.count('nx.test')))

        # a slow answer delays only its own login
        ok, secs, err = login(px, 'slow@example.org')
        report(ok and 0.8 < secs < 3, 'a slow answer: the login waits for it, then goes on', '%s %.2f %s' % (ok, secs, err))

        ok, secs, err = login(px, 'big@example.org')
        report(ok and dns.tcp_count('big.test') >= 1, 'a truncated answer is asked again over TCP',
               '%s %s tcp=%d' % (ok, err, dns.tcp_count('big.test')))
        ok, secs, err = login(px, 'evil@example.org')
        report(not ok and TEMP.decode() in err and px.wait_log(r'Couldn\'t resolve host evil\.test: '
                                                              r'Temporary failure') is not None,
               'a malformed answer (compression loop) is ignored: timeout, temporary failure', err)

        ok, secs, err = login(px, 'late@example.org')
        report(ok and dns.count('late.test') == 0 and px.wait_log(r'dns: .*hosts changed') is not None,
               'a changed hosts file is read again', '%s %s %d' % (ok, err, dns.count('late.test')))

        # LMTP: a recipient waits for its name while logins go on; then it is delivered
        with smtplib.LMTP('127.0.0.1', px.lmtp_port, timeout=10) as l:
            l.ehlo('client.test')
            l.mail('sender@example.org')
            res = {}

            def rcpt():
                t0 = time.monotonic()
                res['rcpt'] = l.rcpt('lslow@example.org') + (time.monotonic() - t0,)
            t = threading.Thread(target=rcpt)
            t.start()
            time.sleep(0.2)
            fast = login(px, 'ip@example.org')
            t.join(10)
            r = res.get('rcpt')
            report(r is not None and r[0] == 250 and r[2] > 0.8 and fast[0] and fast[1] < 0.5,
                   'LMTP: a recipient waits for its name (1 s) while a login goes through at once',
                   '%r %r' % (r, fast))
            code, msg = l.data(b'Subject: dns\r\n\r\nhello\r\n')
            report(code == 250, 'LMTP: ... and is delivered to the backend it names', '%r %r' % (code, msg))
        # the SOA's negative TTL (30 s) holds, not the 5 s used without one
        time.sleep(max(0, t_nx + 5.5 - time.monotonic()))
        n = dns.count('nx.test')
        with smtplib.LMTP('127.0.0.1', px.lmtp_port, timeout=10) as l:
            l.ehlo('client.test')
            l.mail('sender@example.org')
            code, msg = l.rcpt('nx@example.org')
            report(dns.count('nx.test') == n, 'NXDOMAIN is kept for the SOA\'s negative TTL',
                   'queries %d -> %d' % (n, dns.count('nx.test')))
            report(code == 451 and px.wait_log(r'proxy\(nx@example\.org\): Couldn\'t resolve host nx\.test: '
                                               r'Host not found') is not None,
                   'LMTP: a recipient whose host= has no address: 451, logged', '%r %r' % (code, msg))
            l.rset()
    be.stop()
    dns.stop()


main_guard(main)
