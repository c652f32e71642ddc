# SPDX-License-Identifier: MIT
"""proxyd's LMTP proxy with bad input and failing backends: pipelined commands before the
greeting, a 1 MiB command line, a 1 MiB header line inside DATA (delivered, as Dovecot
does), DATA without recipients, dot-stuffing edge cases read back over IMAP, the size
limit, and backends that close during DATA (scripted peers next to a real Dovecot):
their recipients get 4xx, nothing is acknowledged that was not delivered."""

import os
import re
import smtplib
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import RawClient, report, main_guard
from fakepeer import FakeBackend, read_line
from lmtpfix import lmtp_backend, start_lmtp_backend, inbox, transaction, read_message
from mtoolfix import Proxyd


def lmtp_until_data(c, log, rcpt_replies=None):
    """Plays an LMTP server up to the 354 of DATA; returns the number of RCPTs."""
    c.sendall(b'220 fake LMTP\r\n')
    n = 0
    while True:
        line = read_line(c)
        if line is None:
            return -1
        log.append(line)
        verb = line.split(' ')[0].upper()
        if verb == 'LHLO':
            c.sendall(b'250-fake\r\n250 PIPELINING\r\n')
        elif verb in ('MAIL',):
            c.sendall(b'250 2.1.0 OK\r\n')
        elif verb == 'RCPT':
            n += 1
            c.sendall(b'250 2.1.5 OK\r\n')
        elif verb == 'DATA':
            c.sendall(b'354 OK\r\n')
            return n
        else:
            c.sendall(b'500 5.5.1 Unknown command\r\n')


def close_during_data(c, log):
    """354, takes a little of the message, then closes without a reply."""
    if lmtp_until_data(c, log) < 0:
        return
    c.settimeout(5)
    try:
        log.append(c.recv(10))
    except OSError:
        pass
    c.close()


def first_then_close(c, log):
    """Takes the whole message, answers 250 for the first recipient, then closes."""
    n = lmtp_until_data(c, log)
    if n < 0:
        return
    buf = read_message(c)
    if buf is None:
        return
    log.append(('message', buf))
    c.sendall(b'250 2.0.0 <x> fake Saved\r\n')
    time.sleep(0.2)
    c.close()


def lmtp_session(port, *rcpts, msg=b'Subject: x\r\n\r\nbody\r\n'):
    lm = smtplib.LMTP('127.0.0.1', port)
    lm.docmd('LHLO', 'x')
    rr, dr = transaction(lm, rcpts, msg)
    lm.quit()
    return rr, dr


def main():
    be = start_lmtp_backend(lmtp_backend('be'))
    fake1 = FakeBackend(close_during_data)
    fake2 = FakeBackend(first_then_close)
    users = {
        'user1@example.org': 'proxy host=127.0.0.1 port=%d' % be.lmtp_port,
        'user2@example.org': 'proxy host=127.0.0.1 port=%d' % be.lmtp_port,
        'closer@example.org': 'proxy host=127.0.0.1 port=%d' % fake1.port,
        'half1@example.org': 'proxy host=127.0.0.1 port=%d' % fake2.port,
        'half2@example.org': 'proxy host=127.0.0.1 port=%d' % fake2.port,
    }
    px = Proxyd(users=users, lmtp=True, settings={'lmtp_proxy_max_mail_size': '3M'})
    with px:
        port = px.lmtp_port
        # -- pipelined commands sent before the greeting was read
        raw = RawClient('127.0.0.1', port)
        raw.send(b'LHLO x\r\nNOOP\r\nVRFY user1\r\nMAIL FROM:<a@example.org>\r\nRSET\r\nQUIT\r\n')
        lines = []
        while True:
            l = raw.line()
            if not l:
                break
            lines.append(l.decode().rstrip('\r\n'))
        raw.close()
        finals = [l for l in lines if not re.match(r'^\d{3}-', l)]
        report(len(finals) == 7 and finals[0].startswith('220 ') and finals[2:] ==
               ['250 2.0.0 OK', '252 2.3.3 Try RCPT instead', '250 2.1.0 OK', '250 2.0.0 OK', '221 2.0.0 Bye'],
               'pipelined commands before the greeting: greeting first, then each reply in order', lines)

        # -- a 1 MiB command line, then the session goes on
        raw = RawClient('127.0.0.1', port)
        raw.line()
        raw.send(b'NOOP ' + b'x' * (1 << 20) + b'\r\nNOOP\r\n')
        a, b = raw.line(), raw.line()
        report(a == b'500 5.5.2 Line too long\r\n' and b == b'250 2.0.0 OK\r\n',
               '1 MiB command line: 500 5.5.2 Line too long, then the next command works', (a, b))
        # -- DATA without MAIL, DATA without recipients, unknown command
        raw.send(b'DATA\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<nouser@example.org>\r\nDATA\r\nHELO x\r\n'
                 b'BDAT 10 LAST\r\n0123456789NOOP\r\n')
        got = [raw.line().decode().rstrip('\r\n') for _ in range(6)]
        report(got[0] == '503 5.5.0 MAIL needed first' and got[3] == '503 5.5.0 No valid recipients',
               'DATA without MAIL / without accepted recipients: 503', got)
        report(got[2].startswith('550 5.1.1 <nouser@example.org>') and got[4] == '500 5.5.1 Unknown command' and
               got[5] == '250 2.0.0 OK', 'unknown user 550, HELO unknown, BDAT LAST without recipients: no reply '
               '(RFC 2033 4.3), its chunk skipped', got)
        raw.send(b'RCPT TO:<user1@example.org> NOTIFY=NEVER\r\nRCPT TO:user1@example.org\r\nQUIT\r\n')
        got = [raw.line().decode().rstrip('\r\n') for _ in range(3)]
        report(got == ['555 5.5.4 Unsupported parameters', "501 5.5.4 Invalid TO: Missing '<' at beginning of path",
                       '221 2.0.0 Bye'], 'unsupported RCPT parameter and a path without <> get Dovecot\'s replies', got)
        raw.close()

        # -- a 1 MiB header line inside DATA is delivered (Dovecot delivers it too)
        long_value = 'v' * (1 << 20)
        msg = ('X-Long: %s\r\nSubject: long header\r\n\r\nbody\r\n' % long_value).encode()
        rr, dr = lmtp_session(port, 'user1@example.org', msg=msg)
        report([c for c, _ in rr + dr] == [250, 250], '1 MiB header line: accepted and 250 after DATA', (rr, dr[:1]))
        got = [m for m in inbox(be, 'user1@example.org') if b'Subject: long header' in m]
        report(len(got) == 1 and ('X-Long: ' + long_value + '\r\n').encode() in got[0],
               'the 1 MiB header line arrived intact in the INBOX')

        # -- dot-stuffing: smtplib stuffs, the backend unstuffs, IMAP shows the original
        body = '.\r\n..\r\n.leading dot\r\n...three\r\n. \r\nend\r\n'
        msg = ('Subject: dots\r\n\r\n' + body).encode()
        rr, dr = lmtp_session(port, 'user1@example.org', 'user2@example.org', msg=msg)
        report([c for c, _ in rr + dr] == [250] * 4, 'dot-stuffed message accepted for two users', (rr, dr))
        ok = True
        for u in ('user1@example.org', 'user2@example.org'):
            got = [m for m in inbox(be, u) if b'Subject: dots' in m]
            ok = ok and len(got) == 1 and got[0].endswith(b'\r\n\r\n' + body.encode())
        report(ok, 'lines ".", "..", ".x", "...", ". " came through unchanged (IMAP)', got)
        # hand-stuffed, with a bare-LF line ending the message the Dovecot way
        raw = RawClient('127.0.0.1', port)
        raw.line()
        raw.send(b'LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<user2@example.org>\r\nDATA\r\n')
        raw.until(b'354')
        raw.send(b'Subject: handstuffed\r\n\r\n..\r\n..x\r\n.\r\nQUIT\r\n')
        a, b = raw.line(), raw.line()
        raw.close()
        got = [m for m in inbox(be, 'user2@example.org') if b'Subject: handstuffed' in m]
        report(a.startswith(b'250 2.0.0 ') and b == b'221 2.0.0 Bye\r\n' and len(got) == 1 and
               got[0].endswith(b'\r\n\r\n.\r\n.x\r\n'),
               'a stuffed lone "." line is delivered as "." and the command after DATA is answered',
               (a, b, got))

        # -- BDAT (CHUNKING): chunks stuffed into the same spool, one reply per recipient
        raw = RawClient('127.0.0.1', port)
        raw.line()
        raw.send(b'LHLO x\r\n')
        caps = raw.until(b'250 ')
        chunk1 = b'Subject: chunked\r\n\r\n.first\r\n'
        chunk2 = b'.\r\n..\r\nno final newline'
        raw.send(b'BDAT 5\r\nHELLONOOP\r\n')
        skipped = [raw.line(), raw.line()]
        raw.send(b'MAIL FROM:<>\r\nRCPT TO:<user1@example.org>\r\nRCPT TO:<user2@example.org>\r\n')
        raw.send(b'BDAT %d\r\n' % len(chunk1) + chunk1)
        raw.send(b'BDAT %d LAST\r\n' % len(chunk2) + chunk2)
        got = [raw.line() for _ in range(6)]
        raw.send(b'MAIL FROM:<>\r\nRCPT TO:<user1@example.org>\r\nBDAT 3\r\nabcDATA\r\nRSET\r\nQUIT\r\n')
        after = [raw.line() for _ in range(6)]
        raw.close()
        report(b'CHUNKING' in b''.join(caps) if isinstance(caps, list) else b'CHUNKING' in caps,
               'LHLO announces CHUNKING', caps)
        report(skipped == [b'503 5.5.0 MAIL needed first\r\n', b'250 2.0.0 OK\r\n'],
               'BDAT without MAIL: 503, and its chunk is skipped (the NOOP after it is answered)', skipped)
        report(got[3] == b'250 2.0.0 Added %d octets\r\n' % len(chunk1) and
               all(l.startswith(b'250 2.0.0 ') and l.endswith(b' Saved\r\n') for l in got[4:6]),
               'BDAT chunk: "Added N octets"; BDAT LAST: one 250 per recipient', got)
        ok = True
        for u in ('user1@example.org', 'user2@example.org'):
            m = [x for x in inbox(be, u) if b'Subject: chunked' in x]
            ok = ok and len(m) == 1 and m[0].endswith(b'\r\n\r\n.first\r\n.\r\n..\r\nno final newline\r\n')
        report(ok, 'BDAT text arrives unchanged (lines ".", "..", ".first"), a final CRLF added', m)
        report(after[2] == b'250 2.0.0 Added 3 octets\r\n' and after[3] == b'503 5.5.0 Bad sequence of commands\r\n'
               and after[4] == b'250 2.0.0 OK\r\n' and after[5] == b'221 2.0.0 Bye\r\n', 'DATA after BDAT: 503, RSET ends it', after)

        # -- message size limit (3M here): every recipient gets 552, nothing delivered
        big = b'Subject: too big\r\n\r\n' + (b'y' * 998 + b'\r\n') * 4000
        rr, dr = lmtp_session(port, 'user1@example.org', 'user2@example.org', msg=big)
        report([c for c, _ in dr] == [552, 552] and all(t.startswith(b'5.2.3 ') for _, t in dr),
               'a message over lmtp_proxy_max_mail_size: 552 5.2.3 for each recipient', dr)
        report(not any(b'Subject: too big' in m for m in inbox(be, 'user1@example.org')),
               'and it was not delivered')

        # -- a backend that closes during DATA: its recipient 451, the real one delivered
        rr, dr = lmtp_session(port, 'user1@example.org', 'closer@example.org', msg=b'Subject: closer\r\n\r\n' + b'z' * 100000 + b'\r\n')
        report([c for c, _ in rr] == [250, 250], 'both recipients accepted at RCPT', rr)
        report(dr[0][0] == 250 and dr[1][0] == 451 and dr[1][1].startswith(b'4.4.0 Proxy failed (connection lost, '),
               'DATA: 250 for the real backend, 451 4.4.0 for the one that closed', dr)
        report(sum(1 for m in inbox(be, 'user1@example.org') if b'Subject: closer' in m) == 1,
               'the real backend\'s recipient has the message')

        # -- LMTP backend answers for the first of its recipients, then closes
        rr, dr = lmtp_session(port, 'half1@example.org', 'user2@example.org', 'half2@example.org',
                              msg=b'Subject: half\r\n\r\n.\r\nlast\r\n')
        report([c for c, _ in dr] == [250, 250, 451], 'backend gone after one reply: 250, 250, then 451 for its second recipient', dr)
        msgs = [e[1] for e in fake2.log if isinstance(e, tuple)]
        report(len(msgs) == 1 and msgs[0].endswith(b'\r\n\r\n..\r\nlast\r\n.\r\n'),
               'the scripted backend got the message dot-stuffed, ending in ".\\r\\n"', msgs)

        # -- a client that pipelines without reading: proxyd stops reading instead of
        #    queueing replies without bound, and still answers every command in the end
        sk = socket.create_connection(('127.0.0.1', port))
        sk.settimeout(3)
        chunk = b'NOOP\r\n' * 10000
        sent = 0
        try:
            while sent < 40 * len(chunk) * 10:
                sent += sk.send(chunk)
        except socket.timeout:
            pass
        total = 40 * len(chunk) * 10
        report(sent < total, 'a client that never reads is not read without bound (%d of %d bytes taken)' % (sent, total))
        # read every reply (in a thread: proxyd reads again only as they are taken)
        sk.settimeout(20)
        got = []

        def reader():
            data = b''
            try:
                while not data.endswith(b'221 2.0.0 Bye\r\n'):
                    d = sk.recv(1 << 20)
                    if not d:
                        break
                    data += d
            except OSError:
                pass
            got.append(data)
        t = threading.Thread(target=reader)
        t.start()
        part = sent % 6
        if part:
            sk.sendall(b'NOOP\r\n'[part:])
        sk.sendall(b'QUIT\r\n')
        t.join(30)
        data = got[0] if got else b''
        sk.close()
        n = (sent + 5) // 6
        report(data.count(b'250 2.0.0 OK\r\n') == n and data.endswith(b'221 2.0.0 Bye\r\n'),
               'and then answers all %d NOOPs and the QUIT' % n, data[-200:])

        # -- the proxy is still fine
        rr, dr = lmtp_session(port, 'user1@example.org', msg=b'Subject: after\r\n\r\nok\r\n')
        report([c for c, _ in rr + dr] == [250, 250], 'proxyd keeps working after all that', (rr, dr))
        log = px.log()
        report(re.search(r'lmtp: Error: proxy: 127\.0\.0\.1:%d: Disconnected by server: (Connection closed|Connection reset by peer) \(state=data' % fake1.port, log)
               is not None, 'the failed backend is logged as an error with its state', log[-3000:])
    report(not px.check_log(), 'no sanitizer reports or crashes in the proxyd log', px.check_log())
    fake1.close()
    fake2.close()
    be.stop()


main_guard(main)
