# SPDX-License-Identifier: MIT
"""auth_username_format (Dovecot's default %Lu), auth_username_translation and
auth_master_user_separator: the same logins through a real Dovecot proxy and through mtool
proxyd, with the same passwd-file (lower-case names), reach the same mailbox of a real
Dovecot backend and log the same user name. The backend does not fold case
(auth_username_format empty there), so a proxy that forwarded the name as typed fails."""

import imaplib
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, DovecotProxy, DEFAULT_USERS, report, main_guard
from mtoolfix import Proxyd

CASES = [
    # (proxy settings, passdb names, logins, what each must reach)
    ({}, ['user1@example.org', 'user2@example.org'],
     {'User1@Example.ORG': 'user1', 'USER2@EXAMPLE.ORG': 'user2', 'user1@example.org': 'user1',
      'Nobody@Example.ORG': None, 'user2@example.org*user2@example.org': None}),
    ({'auth_username_format': '%Ln', 'auth_username_translation': '"#@"',
      'auth_master_user_separator': '*'}, ['joe'],
     {'Joe#Example.COM': 'joe', 'JOE': 'joe', 'joe@x': 'joe', 'joe+x': None,
      'joe*joe': 'joe', 'Joe*joe': None, 'ann*joe': None}),
]


def subject(port, user):
    c = imaplib.IMAP4('127.0.0.1', port, timeout=15)
    try:
        # quoted: the name as it is, whatever the server's atom rules
        c.login('"%s"' % user, 'pass')
        c.select('INBOX')
        data = c.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')[1]
        return data[0][1].decode().strip()
    except Exception as e:
        return 'failed: %s' % str(e).split(']')[0]
    finally:
        c.shutdown()    # the login line is logged at the disconnect


def raw_login(port, user):
    """LOGIN with the name as an unquoted atom: the tagged reply's status word."""
    with socket.create_connection(('127.0.0.1', port), timeout=15) as s:
        f = s.makefile('rb')
        f.readline()
        s.sendall(b'a LOGIN %s pass\r\n' % user.encode())
        while True:
            line = f.readline()
            if not line or line.startswith(b'a '):
                return line.split(b' ')[1].decode() if line else 'EOF'


def users_in_log(text):
    """The user names of the login lines, in order: proxy(NAME,..) and user=<NAME>."""
    return re.findall(r'imap-login: \w+: (?:proxy\(([^,)]*)|.*?user=<([^>]*)>)', text)


def main():
    be_users = dict(DEFAULT_USERS, joe='pass')
    with DovecotBackend('be', users=be_users, settings={'auth_username_format': ''}) as be:
        for u in ('user1@example.org', 'user2@example.org', 'joe'):
            be.deliver(u, 'Subject: mailbox of %s\r\n\r\nx\r\n' % u.split('@')[0])
        report(subject(be.imap_port, 'User1@Example.ORG').startswith('failed'),
               'the backend does not fold case (so the test can fail)')
        fields = 'proxy=y nopassword=y host=127.0.0.1 port=%d' % be.imap_port
        for n, (settings, names, logins) in enumerate(CASES):
            dv = DovecotProxy(name='dv%d' % n, backend=be, users=names, settings=settings)
            with dv:
                dv.start()
                want = {u: subject(dv.imap_port, u) for u in logins}
                want_raw = raw_login(dv.imap_port, 'joe*joe') if n == 1 else None
            dlog = users_in_log(open(dv.log_path, encoding='utf-8', errors='replace').read())
            with Proxyd(name='mt%d' % n, users={u: fields for u in names},
                        settings=settings) as px:
                got = {u: subject(px.imap_port, u) for u in logins}
                got_raw = raw_login(px.imap_port, 'joe*joe') if n == 1 else None
            mlog = users_in_log(px.log())
            bad = px.check_log()
            for u, mailbox in logins.items():
                meant = 'Subject: mailbox of %s' % mailbox if mailbox else 'failed'
                report(want[u].startswith(meant), 'Dovecot proxy %s: %s -> %s'
                       % (settings or 'defaults', u, meant), want[u])
                report(got[u] == want[u], 'mtool as Dovecot: %s -> %s' % (u, want[u]), got[u])
            if n == 1:
                report(want_raw == 'OK' and got_raw == want_raw,
                       'an unquoted master login (a LOGIN joe*joe pass) as Dovecot: %s' % want_raw,
                       'mtool: %s' % got_raw)
            # compared as sets of lines: a session's last line may come after the next
            # login's, in either proxy
            report(sorted(dlog) == sorted(mlog), 'case %d: the log names the users as Dovecot '
                   'does: %s' % (n, dlog), 'mtool %s' % mlog)
            report(not bad, 'case %d: mtool log clean' % n, bad)


main_guard(main)
