# SPDX-License-Identifier: MIT
"""passdb sql against a real PostgreSQL started here: one chain of dovecot-sql.conf.ext files,
each reaching the server another way (TCP with SCRAM-SHA-256, the UNIX socket, TCP with md5,
TCP over TLS with the certificate verified), run by mtool proxyd and by a real Dovecot 2.3
proxy; both must give the same answers. Proxy fields come from columns; a SHA512-CRYPT
password is checked by the proxy, another user's password is forwarded (nopassword);
unknown users, injection attempts through the login name, a slow query that must not hold
up other logins, and a database that stops and comes back."""

import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures
from fixtures import DovecotBackend, RawClient, report, main_guard, TESTDIR
from sqlfix import PgServer, DovecotSqlProxy, SqlProxyd
from tlsfix import make_ca, make_cert


def crypt512(pw):
    r = subprocess.run(['doveadm', 'pw', '-s', 'SHA512-CRYPT', '-p', pw], stdout=subprocess.PIPE,
                       check=True)
    return r.stdout.decode().strip()


def login(port, user, password, timeout=10):
    """The tagged answer to LOGIN, without Dovecot's [host:time] suffix, and seconds taken."""
    c = RawClient('127.0.0.1', port, timeout=timeout)
    c.line()
    t0 = time.monotonic()
    q = lambda s: '"%s"' % s.replace('\\', '\\\\').replace('"', '\\"')
    c.send(('a LOGIN %s %s\r\n' % (q(user), q(password))).encode())
    line = c.until(b'a ')[-1].decode(errors='replace').rstrip('\r\n')
    took = time.monotonic() - t0
    c.close()
    return re.sub(r' \[[^\]]*:[0-9 :-]+\]$', '', line), took


def write_conf(name, connect, where):
    path = os.path.join(TESTDIR, name + '.conf.ext')
    with open(path, 'w') as f:
        f.write('# dovecot-sql.conf.ext for %s\n'
                'driver = pgsql\n'
                'connect = %s\n'
                'default_pass_scheme = SHA512-CRYPT\n'
                "password_query = SELECT username AS user, password, host, port, 'y' AS proxy, \\\n"
                '  nopassword, destuser FROM users \\\n'
                "  WHERE username = '%%u' AND via = '%s' \\\n"
                "  AND pg_sleep(CASE WHEN username LIKE 'slow%%%%' THEN 2 ELSE 0 END) IS NOT NULL\n"
                % (name, connect, where))
    os.chmod(path, 0o644)
    return path


def main():
    ca = make_ca('ca')
    leaf = make_cert(ca, 'pg', ['localhost'])
    pg = PgServer(hba=['host all md5user 127.0.0.1/32 md5',
                       'hostnossl all tlsuser 127.0.0.1/32 reject',
                       'hostssl all tlsuser 127.0.0.1/32 scram-sha-256'],
                  ssl=(leaf['cert'], leaf['key']))
    pg.init()
    pg.start()
    with DovecotBackend('be') as be:
        port = be.imap_port
        pg.sql("CREATE ROLE mail LOGIN PASSWORD 'mail pw';\n"
               "CREATE ROLE sockuser LOGIN PASSWORD 'sockpw';\n"
               "CREATE ROLE tlsuser LOGIN PASSWORD 'tlspw';\n"
               "SET password_encryption = 'md5';\n"
               "CREATE ROLE md5user LOGIN PASSWORD 'md5pw';\n"
               "CREATE DATABASE mail OWNER mail;\n")
        c512 = crypt512('pass')
        rows = [
            ('user1@example.org', c512, 'tcp', None, None),
            ('user2@example.org', None, 'tcp', 'y', None),
            ('alias@example.org', None, 'tcp', 'y', 'user4@example.org'),
            ('user3@example.org', c512, 'unix', None, None),
            ('user4@example.org', None, 'md5', 'y', None),
            ('user5@example.org', c512, 'tls', None, None),
            ('slow@example.org', None, 'tcp', 'y', 'user1@example.org'),
            ("o'brien@example.org", None, 'tcp', 'y', 'user2@example.org'),
        ]
        def lit(v):
            return 'NULL' if v is None else "'%s'" % v.replace("'", "''")
        pg.sql("CREATE TABLE users (username text PRIMARY KEY, password text, host text,\n"
               "  port int, nopassword text, destuser text, via text);\n"
               "CREATE TABLE secrets (s text); INSERT INTO secrets VALUES ('leaked');\n" +
               ''.join("INSERT INTO users VALUES (%s, %s, '127.0.0.1', %d, %s, %s, %s);\n"
                       % (lit(u), lit(p), port, lit(n), lit(d), lit(w)) for u, p, w, n, d in rows) +
               "GRANT SELECT ON users, secrets TO mail, sockuser, md5user, tlsuser;\n", db='mail')
        confs = [
            write_conf('tcp', 'host=127.0.0.1 port=%d dbname=mail user=mail '
                       "password='mail pw' sslmode=disable" % pg.port, 'tcp'),
            write_conf('unix', 'host=%s port=%d dbname=mail user=sockuser password=sockpw'
                       % (pg.dir, pg.port), 'unix'),
            write_conf('md5', 'host=127.0.0.1 port=%d dbname=mail user=md5user password=md5pw '
                       'sslmode=disable' % pg.port, 'md5'),
            write_conf('tls', 'host=127.0.0.1 port=%d dbname=mail user=tlsuser password=tlspw '
                       'sslmode=verify-ca sslrootcert=%s' % (pg.port, ca['cert']), 'tls'),
        ]
        os.chmod(os.path.dirname(ca['cert']), 0o755)
        os.chmod(ca['cert'], 0o644)
        # Dovecot's default auth_username_chars keeps quotes out of the queries: both
        # proxies answer without asking the database
        dv = DovecotSqlProxy(confs, name='dvdefault', backend=be)
        px = SqlProxyd(confs, name='pxdefault')
        with dv, px:
            for user in ("o'brien@example.org", "x' OR '1'='1", 'back\\slash'):
                mine, _ = login(px.imap_port, user, 'pass')
                theirs, _ = login(dv.imap_port, user, 'pass')
                report(mine == theirs == 'a NO [AUTHENTICATIONFAILED] Authentication failed.',
                       'auth_username_chars refuses %r as Dovecot does' % user,
                       'mtool %r, Dovecot %r' % (mine, theirs))
            report(px.wait_log(r'Username character disallowed by auth_username_chars: 0x27', timeout=2),
                   'the refused character is logged')
        # from here on every byte is allowed: the escaping has to hold
        anychar = {'auth_username_chars': ''}
        dv = DovecotSqlProxy(confs, name='dvproxy', backend=be, settings=anychar)
        px = SqlProxyd(confs, settings=anychar)
        with dv, px:
            cases = [
                ('user1@example.org', 'pass', 'SHA512-CRYPT column checked by the proxy'),
                ('user1@example.org', 'wrong', 'a wrong password against SHA512-CRYPT'),
                ('user2@example.org', 'pass', 'nopassword: the password is forwarded'),
                ('user2@example.org', 'wrong', 'nopassword: the backend refuses a wrong one'),
                ('alias@example.org', 'pass', 'destuser from a column'),
                ('user3@example.org', 'pass', 'over the UNIX socket (SCRAM-SHA-256)'),
                ('user4@example.org', 'pass', 'md5 authentication to the server'),
                ('user5@example.org', 'pass', 'TLS to the server, CA verified'),
                ('nobody@example.org', 'pass', 'user not found'),
                ("o'brien@example.org", 'pass', 'a quote in a real user name'),
                ("x' OR '1'='1", 'pass', 'injection: OR 1=1'),
                ("x' UNION SELECT 'user1@example.org', NULL, '127.0.0.1', %d, 'y', 'y', NULL --" % port,
                 'pass', 'injection: UNION with nopassword'),
                ("\\' OR 1=1 --", 'pass', 'injection: backslash before a quote'),
                ("user1@example.org'; DROP TABLE users; --", 'pass', 'injection: stacked statement'),
                ('%u%d%%', 'pass', 'percent signs in the name'),
                ('üser€@example.org', 'pass', 'multibyte user name'),
            ]
            for user, pw, what in cases:
                mine, _ = login(px.imap_port, user, pw)
                theirs, _ = login(dv.imap_port, user, pw)
                report(mine == theirs, '%s: %s' % (what, mine), 'mtool %r, Dovecot %r' % (mine, theirs))
            ok, _ = login(px.imap_port, 'user1@example.org', 'pass')
            report(ok.startswith('a OK'), 'a proxied login succeeds', ok)
            for user in ("x' OR '1'='1", "x' UNION SELECT 'user1@example.org', NULL, '127.0.0.1', %d, "
                         "'y', 'y', NULL --" % port):
                r, _ = login(px.imap_port, user, 'pass')
                report('AUTHENTICATIONFAILED' in r, 'injection finds nothing: %.20s...' % user, r)
            report(pg.sql('SELECT count(*) FROM users', db='mail').strip() == str(len(rows)),
                   'the users table is intact after the injection attempts')

            # one slow lookup (2 s) holds up nobody else
            res = {}
            t = threading.Thread(target=lambda: res.update(slow=login(px.imap_port, 'slow@example.org', 'pass')))
            t.start()
            time.sleep(0.3)
            quick, took = login(px.imap_port, 'user1@example.org', 'pass')
            t.join()
            report(quick.startswith('a OK') and took < 1.0,
                   'a login during a slow query is not delayed', '%r in %.2fs' % (quick, took))
            report(res['slow'][0].startswith('a OK') and res['slow'][1] >= 1.9,
                   'the slow login itself succeeds after its query', repr(res['slow']))

            # the database goes away: a temporary failure, as Dovecot's
            pg.stop()
            mine, took = login(px.imap_port, 'user1@example.org', 'pass')
            theirs, _ = login(dv.imap_port, 'user1@example.org', 'pass')
            report(mine == 'a NO [UNAVAILABLE] Temporary authentication failure.' and took < 3,
                   'database down: temporary failure at once', '%r in %.2fs' % (mine, took))
            report(mine == theirs, 'database down: the same answer as Dovecot', 'Dovecot %r' % theirs)
            report(px.wait_log(r'Password query failed|Not connected to database', timeout=2) is not None,
                   'database down: the failure is logged')
            pg.start()
            deadline = time.monotonic() + 15
            while True:
                r, _ = login(px.imap_port, 'user1@example.org', 'pass')
                if r.startswith('a OK') or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            report(r.startswith('a OK'), 'database back: logins work again', r)
            for user, what in (('user3@example.org', 'UNIX socket'), ('user5@example.org', 'TLS')):
                r, _ = login(px.imap_port, user, 'pass')
                report(r.startswith('a OK'), 'database back: %s reconnects' % what, r)

            # killed hard, in the middle of a slow query
            res = {}
            t = threading.Thread(target=lambda: res.update(slow=login(px.imap_port, 'slow@example.org', 'pass')))
            t.start()
            time.sleep(0.5)
            pg.kill()
            t.join()
            report(res['slow'][0].startswith('a NO [UNAVAILABLE]'),
                   'server killed mid-query: temporary failure', repr(res['slow']))
            pg.start()
        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))
    pg.stop()


main_guard(main)
