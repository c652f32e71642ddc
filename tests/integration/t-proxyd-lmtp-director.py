# SPDX-License-Identifier: MIT
"""LMTP recipients routed by mtool directord: the passdb says proxy without host (as in a
Dovecot director setup), proxyd asks directord where each recipient goes, and one LMTP
transaction delivers to users on two real Dovecot backends (127.0.0.2, 127.0.0.3); each
message is in the INBOX on the host directord names. With directord gone, recipients get
451 and the log says why."""
import os
import re
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard, free_port, port_listening  # noqa: E402
from lmtpfix import lmtp_backend, start_lmtp_backend, inbox, transaction  # noqa: E402
from mtoolfix import Proxyd  # noqa: E402
from directordfix import Directord, admin_lines  # noqa: E402

A, B = '127.0.0.2', '127.0.0.3'
USERS = ['user%d@example.org' % i for i in range(1, 21)]


def main():
    port = free_port(A)
    while port_listening(B, port):
        port = free_port(A)
    users = {u: 'pass' for u in USERS}
    bes = {A: start_lmtp_backend(lmtp_backend('be-a', ip=A, lmtp_port=port, users=users)),
           B: start_lmtp_backend(lmtp_backend('be-b', ip=B, lmtp_port=port, users=users))}
    dd = Directord(hosts=[A, B]).start()
    px = Proxyd(users={u: 'proxy port=%d' % port for u in USERS}, lmtp=True,
                settings={'director_socket': dd.proxy_socket}).start()
    px.wait_log(r'director: connected to')

    lm = smtplib.LMTP('127.0.0.1', px.lmtp_port)
    lm.docmd('LHLO', 'client.example.org')
    rr, dr = transaction(lm, USERS, b'Subject: via director\r\n\r\nhello\r\n')
    lm.quit()
    report([c for c, _ in rr] == [250] * len(USERS) and [c for c, _ in dr] == [250] * len(USERS),
           '20 recipients without host, routed by directord: all accepted and delivered',
           [x for x in rr + dr if x[0] != 250][:5])
    where = {u: admin_lines(dd.admin_socket, ['USER-LOOKUP\t%s\t' % u])[0].split('\t')[0] for u in USERS}
    wrong = []
    for u in USERS:
        here = sum(1 for m in inbox(bes[where[u]], u) if b'Subject: via director' in m)
        other = sum(1 for m in inbox(bes[B if where[u] == A else A], u) if b'Subject: via director' in m)
        if here != 1 or other != 0:
            wrong.append((u, where[u], here, other))
    report(not wrong and set(where.values()) <= {A, B},
           'each message is in the INBOX on the host directord assigned (%d on A, %d on B)'
           % (sum(1 for h in where.values() if h == A), sum(1 for h in where.values() if h == B)), wrong)

    dd.stop()
    lm = smtplib.LMTP('127.0.0.1', px.lmtp_port)
    lm.docmd('LHLO', 'x')
    lm.mail('sender@example.org')
    code, text = lm.rcpt('user1@example.org')
    lm.quit()
    report(code == 451 and text.startswith(b'4.4.0 Proxy failed (session='),
           'directord gone: 451 4.4.0 Proxy failed', (code, text))
    report(re.search(r'lmtp: Error: proxy\(user1@example.org\): director: User user1@example.org host lookup failed: ',
                     px.log()) is not None, 'and the log says the director lookup failed', px.log()[-1500:])
    bad = px.check_log()
    px.stop()
    report(not bad, 'no sanitizer reports or crashes in the proxyd log', bad)
    for be in bes.values():
        be.stop()


main_guard(main)
