# SPDX-License-Identifier: MIT
"""Helpers for the LMTP proxy tests: a real Dovecot backend with LMTP (dovecot-lmtpd) and
mail readable over IMAP, and reading an INBOX directly from a backend."""

import imaplib

from fixtures import DovecotBackend, free_port, wait_port


def lmtp_backend(name, lmtps=False, lmtp_port=None, **kw):
    """A DovecotBackend that also speaks LMTP on .lmtp_port (maildir under its mail dir);
    lmtps=True (with ssl=True): also LMTP over TLS on .lmtps_port."""
    port = lmtp_port or free_port(kw.get('ip', '127.0.0.1'))
    sport = free_port() if lmtps else 0
    extra = 'service lmtp {\n  inet_listener lmtp {\n    port = %d\n  }\n%s}\n' % (
        port, '  inet_listener lmtps {\n    port = %d\n    ssl = yes\n  }\n' % sport if sport else '')
    be = DovecotBackend(name, protocols='imap pop3 lmtp', extra_conf=extra + kw.pop('extra_conf', ''), **kw)
    be.lmtp_port = port
    be.lmtps_port = sport
    return be


def start_lmtp_backend(be):
    be.start()
    wait_port(be.ip, be.lmtp_port, 15)
    return be


def inbox(be, user, password='pass'):
    """Every message in user's INBOX on backend be, read over IMAP directly (bytes list)."""
    m = imaplib.IMAP4(be.ip, be.imap_port)
    try:
        m.login(user, password)
        typ, data = m.select('INBOX')
        n = int(data[0])
        out = []
        for i in range(1, n + 1):
            typ, d = m.fetch(str(i), '(BODY.PEEK[])')
            out.append(d[0][1])
        m.logout()
        return out
    except Exception:
        try:
            m.logout()
        except Exception:
            pass
        raise


def read_message(c, timeout=5):
    """For scripted backends: the DATA stream from socket c up to and with its final
    ".\\r\\n" (bytes), or None if the peer closed first."""
    buf = b''
    c.settimeout(timeout)
    while not buf.endswith(b'\r\n.\r\n'):
        d = c.recv(65536)
        if not d:
            return None
        buf += d
    return buf


def transaction(lmtp, rcpts, msg, sender='sender@example.org'):
    """MAIL, RCPT each, DATA on an smtplib.LMTP; returns ([RCPT replies], [DATA replies]),
    each (code, text). smtplib reads one DATA reply; LMTP sends one per accepted recipient
    (RFC 2033), so the rest are read here."""
    code, resp = lmtp.mail(sender)
    assert code == 250, (code, resp)
    rr = [lmtp.rcpt(r) for r in rcpts]
    accepted = sum(1 for c, _ in rr if c == 250)
    dr = []
    if accepted:
        dr.append(lmtp.data(msg))
        dr += [lmtp.getreply() for _ in range(accepted - 1)]
    return rr, dr
