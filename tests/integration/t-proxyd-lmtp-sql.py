# SPDX-License-Identifier: MIT
"""LMTP recipients looked up in an sql passdb (a real PostgreSQL started here): each RCPT
waits for its lookup without stalling other sessions, the route comes from columns, an
unknown recipient and a database that is gone get Dovecot's replies, and a message gets
to the real Dovecot backend."""

import os
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import TESTDIR, main_guard, report
from lmtpfix import inbox, lmtp_backend, start_lmtp_backend
from sqlfix import PgServer, SqlProxyd


def main():
    pg = PgServer()
    be = lmtp_backend('be')
    with pg:
        start_lmtp_backend(be)
        pg.sql("CREATE ROLE mail LOGIN PASSWORD 'mailpw';\nCREATE DATABASE mail OWNER mail;\n")
        pg.sql("CREATE TABLE users (username text PRIMARY KEY, port int);\n"
               "INSERT INTO users VALUES ('user1@example.org', %d), ('slow@example.org', %d);\n"
               "GRANT SELECT ON users TO mail;\n" % (be.lmtp_port, be.lmtp_port), db='mail')
        conf = os.path.join(TESTDIR, 'lmtp-sql.conf.ext')
        with open(conf, 'w') as f:
            f.write('driver = pgsql\n'
                    'connect = host=%s port=%d dbname=mail user=mail password=mailpw\n'
                    "password_query = SELECT NULL AS password, 'y' AS nopassword, 'y' AS proxy, \\\n"
                    "  '127.0.0.1' AS host, port, \\\n"
                    "  CASE WHEN username LIKE 'slow%%%%' THEN 'user2@example.org' END AS destuser \\\n"
                    "  FROM users WHERE username = '%%u' \\\n"
                    "  AND pg_sleep(CASE WHEN username LIKE 'slow%%%%' THEN 2 ELSE 0 END) IS NOT NULL\n"
                    % (pg.dir, pg.port))
        os.chmod(conf, 0o644)
        with SqlProxyd([conf], lmtp=True) as px:
            res = {}

            def slow():
                lm = smtplib.LMTP('127.0.0.1', px.lmtp_port)
                lm.docmd('LHLO', 'test')
                lm.mail('sender@example.org')
                t0 = time.monotonic()
                res['slow'] = (lm.rcpt('slow@example.org'), time.monotonic() - t0)
                lm.quit()
            t = threading.Thread(target=slow)
            t.start()
            time.sleep(0.3)
            lm = smtplib.LMTP('127.0.0.1', px.lmtp_port)
            lm.docmd('LHLO', 'test')
            lm.mail('sender@example.org')
            t0 = time.monotonic()
            r1 = lm.rcpt('user1@example.org')
            took = time.monotonic() - t0
            r2 = lm.rcpt('nobody@example.org')
            report(r1[0] == 250 and took < 1.0, 'a RCPT during another session\'s slow lookup is not delayed',
                   '%r in %.2fs' % (r1, took))
            report(r2 == (550, b'5.1.1 <nobody@example.org> User doesn\'t exist: nobody@example.org'),
                   'an unknown recipient: Dovecot\'s reply', repr(r2))
            code, _ = lm.data(b'Subject: via sql\r\n\r\nhello\r\n')
            report(code == 250, 'the message is delivered', code)
            lm.quit()
            t.join()
            report(res['slow'][0][0] == 250 and res['slow'][1] >= 1.9,
                   'the slow RCPT is accepted after its query', repr(res['slow']))
            msgs = inbox(be, 'user1@example.org')
            report(any(b'Subject: via sql' in m for m in msgs), 'it is in the backend\'s INBOX', len(msgs))
            pg.stop()
            lm = smtplib.LMTP('127.0.0.1', px.lmtp_port)
            lm.docmd('LHLO', 'test')
            lm.mail('sender@example.org')
            r3 = lm.rcpt('user1@example.org')
            report(r3 == (451, b'4.3.0 Temporary user lookup failure'),
                   'database down: Dovecot\'s temporary failure', repr(r3))
            lm.quit()
            pg.start()
        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))
    be.stop()


main_guard(main)
