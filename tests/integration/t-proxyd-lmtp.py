# SPDX-License-Identifier: MIT
"""proxyd's LMTP proxy in front of two real Dovecot LMTP backends, with Python's
smtplib.LMTP over TCP and over the UNIX socket: one transaction, recipients on two
backends, the message read back over IMAP directly from each backend; a recipient on a
dead backend gets 4xx while the others are delivered; an unknown user gets Dovecot's 550;
recipient_delimiter details, destuser with ORCPT, XCLIENT toward the backends."""

import os
import re
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import RawClient, free_port, report, main_guard
from lmtpfix import lmtp_backend, start_lmtp_backend, inbox, transaction
from mtoolfix import Proxyd


def message(subject, body='one line\r\n'):
    return ('From: sender@example.org\r\nTo: somebody@example.org\r\nSubject: %s\r\n'
            'Message-ID: <%s@mtool.test>\r\n\r\n%s' % (subject, subject.replace(' ', '.'), body)).encode()


def has_subject(msgs, subject):
    return sum(1 for m in msgs if ('Subject: %s\r\n' % subject).encode() in m)


def main():
    be1 = start_lmtp_backend(lmtp_backend('be1'))
    be2 = start_lmtp_backend(lmtp_backend('be2'))
    dead = free_port()
    users = {
        'user1@example.org': 'proxy host=127.0.0.1 port=%d' % be1.lmtp_port,
        'user3@example.org': 'proxy host=127.0.0.1 port=%d' % be1.lmtp_port,
        'user2@example.org': 'proxy host=127.0.0.1 port=%d' % be2.lmtp_port,
        'user4@example.org': 'proxy host=127.0.0.1 port=%d proxy_timeout=5' % dead,
        'alias@example.org': 'proxy host=127.0.0.1 port=%d destuser=user5@example.org forward_x=yes' % be2.lmtp_port,
    }
    px = Proxyd(users=users, lmtp=True, trusted_networks='127.0.0.0/8')
    with px:
        # -- TCP, two users on two backends, one transaction
        lm = smtplib.LMTP('127.0.0.1', px.lmtp_port)
        code, caps = lm.docmd('LHLO', 'client.example.org')
        capt = caps.decode()
        report(code == 250 and all(c in capt for c in ('PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES')),
               'LHLO announces PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES', capt)
        rr, dr = transaction(lm, ['user1@example.org', 'user2@example.org'], message('two backends'))
        report([c for c, _ in rr] == [250, 250], 'RCPT for users on two backends: 250 each', rr)
        report(len(dr) == 2 and all(c == 250 and b'Saved' in t for c, t in dr),
               'DATA: one 250 ... Saved per recipient (RFC 2033)', dr)
        lm.quit()
        report(has_subject(inbox(be1, 'user1@example.org'), 'two backends') == 1,
               'the message is in user1\'s INBOX on backend 1 (IMAP)')
        report(has_subject(inbox(be2, 'user2@example.org'), 'two backends') == 1,
               'the message is in user2\'s INBOX on backend 2 (IMAP)')
        report(has_subject(inbox(be2, 'user1@example.org'), 'two backends') == 0 and
               has_subject(inbox(be1, 'user2@example.org'), 'two backends') == 0,
               'and nowhere else')

        # -- UNIX socket; two recipients on one backend share one backend connection
        before = len(re.findall(r'lmtp\(\d+\): Info: Connect from', be1.log()))
        lm = smtplib.LMTP(px.lmtp_socket)
        lm.docmd('LHLO', 'client.example.org')
        rr, dr = transaction(lm, ['user1@example.org', 'user3@example.org'], message('unix socket'))
        lm.quit()
        report([c for c, _ in rr] == [250, 250] and [c for c, _ in dr] == [250, 250],
               'smtplib.LMTP over the UNIX socket: 2 recipients delivered', (rr, dr))
        report(has_subject(inbox(be1, 'user1@example.org'), 'unix socket') == 1 and
               has_subject(inbox(be1, 'user3@example.org'), 'unix socket') == 1,
               'both INBOXes on backend 1 have it')
        be1.wait_log(r'saved mail to INBOX[\s\S]*saved mail to INBOX', 2)
        after = len(re.findall(r'lmtp\(\d+\): Info: Connect from', be1.log()))
        report(after - before == 1, 'recipients on the same backend shared one backend connection',
               '%d new connections' % (after - before))

        # -- a third recipient on a dead backend: 4xx for it, the other two delivered
        lm = smtplib.LMTP('127.0.0.1', px.lmtp_port)
        lm.docmd('LHLO', 'client.example.org')
        rr, dr = transaction(lm, ['user1@example.org', 'user4@example.org', 'user2@example.org'],
                             message('dead backend'))
        lm.quit()
        report(rr[0][0] == 250 and rr[2][0] == 250 and rr[1][0] == 451 and rr[1][1].startswith(b'4.4.0 Proxy failed (connect, session='),
               'recipient on a dead backend: 451 4.4.0 Proxy failed (connect, ...); the others 250', rr)
        report([c for c, _ in dr] == [250, 250], 'DATA: two replies, both 250', dr)
        report(has_subject(inbox(be1, 'user1@example.org'), 'dead backend') == 1 and
               has_subject(inbox(be2, 'user2@example.org'), 'dead backend') == 1,
               'the two live recipients have the message')
        report(has_subject(inbox(be1, 'user4@example.org'), 'dead backend') == 0 and
               has_subject(inbox(be2, 'user4@example.org'), 'dead backend') == 0,
               'the dead backend\'s recipient got it nowhere')

        # -- unknown user: the same reply as Dovecot's own LMTP gives
        lm = smtplib.LMTP('127.0.0.1', px.lmtp_port)
        lm.docmd('LHLO', 'x')
        lm.mail('sender@example.org')
        mine = lm.rcpt('nouser@example.org')
        lm.quit()
        lm = smtplib.LMTP('127.0.0.1', be1.lmtp_port)
        lm.docmd('LHLO', 'x')
        lm.mail('sender@example.org')
        theirs = lm.rcpt('nouser@example.org')
        lm.quit()
        report(mine == theirs and mine[0] == 550, 'unknown user: the same 550 5.1.1 as Dovecot', (mine, theirs))

        # -- detail (recipient_delimiter "+"), destuser with ORCPT and forward fields
        lm = smtplib.LMTP('127.0.0.1', px.lmtp_port)
        lm.docmd('LHLO', 'x')
        rr, dr = transaction(lm, ['user2+lists@example.org', 'alias@example.org'], message('detail and destuser'))
        lm.quit()
        report([c for c, _ in rr + dr] == [250] * 4, 'user2+lists and alias (destuser) accepted and delivered', (rr, dr))
        report(has_subject(inbox(be2, 'user2@example.org'), 'detail and destuser') == 1,
               'user2+lists@ was looked up as user2@ and delivered')
        report(has_subject(inbox(be2, 'user5@example.org'), 'detail and destuser') == 1,
               'alias@ went to its destuser user5@ on backend 2')

        # -- XCLIENT toward the backend: the client's address and our session id
        raw = RawClient('127.0.0.1', px.lmtp_port, source_ip='127.0.0.7')
        raw.line()
        raw.send(b'LHLO raw\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<user1@example.org>\r\nDATA\r\n')
        got = raw.until(b'354')
        raw.send(message('xclient') + b'.\r\n')
        final = raw.line()
        final = final.decode() if isinstance(final, bytes) else final
        raw.send(b'QUIT\r\n')
        raw.line()
        raw.close()
        m = re.match(r'250 2\.\d\.\d (\S+) Saved', final)
        report(m is not None, 'raw LMTP delivery', (got, final))
        if m:
            sess = m.group(1)
            mm = be1.wait_log(r'lmtp\(user1@example.org\)<\d+><%s:P\d+>: Info: .*saved mail to INBOX' % re.escape(sess), 3)
            report(mm is not None, 'the backend logged our session id from XCLIENT SESSION=<trans>:P<n>', be1.log()[-1500:])
            msgs = [m for m in inbox(be1, 'user1@example.org') if b'Subject: xclient' in m]
            rcvd = msgs[0].split(b'\r\n\r\n')[0].decode() if msgs else ''
            report(re.search(r'Received: from \S+ \(\[127\.0\.0\.7\]\)', rcvd) is not None,
                   'the backend\'s Received: header has the client\'s address (XCLIENT ADDR)', rcvd)

        # -- XCLIENT from a trusted client: session (xtext) and TTL carried on
        raw = RawClient('127.0.0.1', px.lmtp_port)
        raw.line()
        raw.send(b'XCLIENT SESSION=up+2Bstream TTL=3\r\n')
        gr = raw.line()
        raw.send(b'LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<user1@example.org>\r\nDATA\r\n')
        raw.until(b'354')
        raw.send(message('upstream session') + b'.\r\n')
        final = raw.line()
        report(gr.startswith(b'220 ') and final.startswith(b'250 2.0.0 up+stream Saved'),
               'XCLIENT SESSION= from a trusted client becomes the session id', (gr, final))
        report(be1.wait_log(r'lmtp\(user1@example.org\)<\d+><up\+stream:P1>: Info: .*saved mail', 3) is not None,
               'and reaches the backend xtext-encoded (SESSION=up+2Bstream:P1)', be1.log()[-800:])
        raw.close()
        raw = RawClient('127.0.0.1', px.lmtp_port)
        raw.line()
        raw.send(b'XCLIENT TTL=0\r\nMAIL FROM:<>\r\nRCPT TO:<user1@example.org>\r\nQUIT\r\n')
        got = [raw.line() for _ in range(4)]
        raw.close()
        report(got[2] == b'554 5.4.6 Proxying appears to be looping (TTL=0)\r\n',
               'XCLIENT TTL=0: 554 5.4.6 Proxying appears to be looping (TTL=0)', got)

        log = px.log()
        report(re.search(r'lmtp: Info: proxy\(user1@example.org\): <[^>]+>: Sent message to <user1@example.org> at 127\.0\.0\.1:%d: 250 2\.0\.0 .* \(1/2 at \d+ ms\)' % be1.lmtp_port, log) is not None,
               'proxyd logs "Sent message to" as Dovecot does', log[-2000:])
        report(re.search(r'lmtp: Info: Connect from local', log) is not None and
               re.search(r'lmtp: Info: Disconnect from 127\.0\.0\.1: Logged out \(state=READY\)', log) is not None,
               'connect and disconnect lines', log[-2000:])
    report(not px.check_log(), 'no sanitizer reports or crashes in the proxyd log', px.check_log())
    be1.stop()
    be2.stop()


main_guard(main)
