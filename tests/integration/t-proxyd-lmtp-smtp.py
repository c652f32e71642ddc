# SPDX-License-Identifier: MIT
"""proxyd's LMTP proxy toward an SMTP backend (passdb field protocol=smtp): EHLO instead
of LHLO, XCLIENT with the client's address, one DATA reply from the backend for all its
recipients turned into one LMTP reply per recipient; next to a real Dovecot LMTP backend
in the same transaction. The SMTP backend is a scripted sink (a real Dovecot submission
server needs an authenticated client); also a backend that never answers (proxy_timeout)."""

import os
import re
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard
from fakepeer import FakeBackend, read_line, silent
from lmtpfix import lmtp_backend, start_lmtp_backend, inbox, transaction, read_message
from mtoolfix import Proxyd


def smtp_sink(c, log, lmtp=False):
    c.sendall(b'220 sink ESMTP\r\n')
    nrcpt = 0
    while True:
        line = read_line(c)
        if line is None:
            return
        log.append(line)
        verb = line.split(' ')[0].upper()
        if verb == ('LHLO' if lmtp else 'EHLO'):
            c.sendall(b'250-sink\r\n250-XCLIENT ADDR PORT PROTO HELO LOGIN SESSION TTL TIMEOUT\r\n250 8BITMIME\r\n')
        elif verb == 'XCLIENT':
            c.sendall(b'220 sink ESMTP\r\n')
        elif verb == 'MAIL':
            c.sendall(b'250 2.1.0 Ok\r\n')
        elif verb == 'RCPT':
            nrcpt += 1
            c.sendall(b'250 2.1.5 Ok\r\n')
        elif verb == 'DATA':
            c.sendall(b'354 End data with <CR><LF>.<CR><LF>\r\n')
            buf = read_message(c)
            if buf is None:
                return
            log.append(('message', buf))
            c.sendall(b'250 2.0.0 Ok: queued as ABC123\r\n' * (nrcpt if lmtp else 1))
        elif verb == 'QUIT':
            c.sendall(b'221 2.0.0 Bye\r\n')
            return
        else:
            c.sendall(b'502 5.5.2 Error: command not recognized\r\n')


def main():
    be = start_lmtp_backend(lmtp_backend('be'))
    sink = FakeBackend(smtp_sink)
    lsink = FakeBackend(lambda c, log: smtp_sink(c, log, lmtp=True))
    mute = FakeBackend(silent)
    users = {
        'user1@example.org': 'proxy host=127.0.0.1 port=%d' % be.lmtp_port,
        'smtp1@example.org': 'proxy host=127.0.0.1 port=%d protocol=smtp' % sink.port,
        'smtp2@example.org': 'proxy host=127.0.0.1 port=%d protocol=smtp' % sink.port,
        'slow@example.org': 'proxy host=127.0.0.1 port=%d proxy_timeout=2' % mute.port,
        'lmtp6@example.org': 'proxy host=127.0.0.1 port=%d' % lsink.port,
    }
    # listening on ::1 too, for a client with an IPv6 address
    with Proxyd(users=users, lmtp=True, settings={'listen': '127.0.0.1, ::1'}) as px:
        lm = smtplib.LMTP('127.0.0.1', px.lmtp_port)
        lm.docmd('LHLO', 'client.example.org')
        rr, dr = transaction(lm, ['smtp1@example.org', 'user1@example.org', 'smtp2@example.org'],
                             b'Subject: to smtp\r\n\r\n.dot\r\nbody\r\n')
        report([c for c, _ in rr] == [250, 250, 250], 'RCPT: SMTP and LMTP backends accept', rr)
        report([c for c, _ in dr] == [250, 250, 250] and all(t.endswith(b' Saved') for _, t in dr),
               'DATA: one 250 per recipient, the SMTP backend\'s single reply counted for both of its recipients', dr)
        # the slow backend: its recipient fails after proxy_timeout, the session goes on
        code, text = lm.mail('sender@example.org')
        slow = lm.rcpt('slow@example.org')
        lm.rset()
        lm.quit()
        report(slow[0] == 451 and slow[1].startswith(b'4.4.0 Proxy failed (timed out, session='),
               'a backend that never answers: 451 4.4.0 Proxy failed (timed out, ...) after proxy_timeout', slow)

        verbs = [l.split(' ')[0] if isinstance(l, str) else l[0] for l in sink.log]
        report(verbs[:3] == ['EHLO', 'XCLIENT', 'EHLO'] and 'LHLO' not in verbs,
               'protocol=smtp: EHLO, XCLIENT, EHLO again (no LHLO)', sink.log)
        xc = [l for l in sink.log if isinstance(l, str) and l.startswith('XCLIENT')]
        report(xc and re.match(r'XCLIENT HELO=client\.example\.org PROTO=LMTP SESSION=\S+:P\d+ TTL=5 PORT=\d+ ADDR=127\.0\.0\.1$', xc[0]),
               'XCLIENT attributes in Dovecot\'s order with the client\'s address and TTL 4', xc)
        rcpts = [l for l in sink.log if isinstance(l, str) and l.startswith('RCPT')]
        msgs = [l[1] for l in sink.log if isinstance(l, tuple)]
        report(rcpts == ['RCPT TO:<smtp1@example.org>', 'RCPT TO:<smtp2@example.org>'] and len(msgs) == 1 and
               msgs[0].endswith(b'\r\n\r\n..dot\r\nbody\r\n.\r\n'),
               'both recipients in one SMTP transaction, one message, dot-stuffed', (rcpts, msgs))
        report(sum(1 for m in inbox(be, 'user1@example.org') if b'Subject: to smtp' in m) == 1,
               'the LMTP backend\'s recipient has the message too')
        report(re.search(r'Sent message to <smtp2@example.org> at 127\.0\.0\.1:%d: 250 2\.0\.0 Ok: queued as ABC123 \(3/3 at \d+ ms\)' % sink.port,
                         px.log()) is not None, 'per-recipient log line for the SMTP backend', px.log()[-1500:])

        # an IPv6 client: XCLIENT ADDR=IPV6:... toward SMTP, plain toward LMTP (as Dovecot)
        lm = smtplib.LMTP('::1', px.lmtp_port)
        lm.docmd('LHLO', 'v6.example.org')
        rr, dr = transaction(lm, ['smtp1@example.org', 'lmtp6@example.org'], b'Subject: v6\r\n\r\nx\r\n')
        lm.quit()
        xs = [l for l in sink.log if isinstance(l, str) and l.startswith('XCLIENT')]
        xl = [l for l in lsink.log if isinstance(l, str) and l.startswith('XCLIENT')]
        report([c for c, _ in dr] == [250, 250] and xs and xs[-1].endswith(' ADDR=IPV6:::1') and
               xl and xl[-1].endswith(' ADDR=::1'),
               'IPv6 client: ADDR=IPV6:::1 toward SMTP, ADDR=::1 toward LMTP', (dr, xs[-1:], xl[-1:]))
        bad = px.check_log()
    report(not bad, 'no sanitizer reports or crashes in the proxyd log', bad)
    sink.close()
    lsink.close()
    mute.close()
    be.stop()


main_guard(main)
