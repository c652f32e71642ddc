# SPDX-License-Identifier: MIT
"""passdb sql against a real PostgreSQL started here: a chain of dovecot-sql.conf.ext files,
each reaching the server another way (TCP with SCRAM-SHA-256, the UNIX socket, TCP with md5,
TCP over TLS with the CA verified, two host= of which the first is down), run by mtool
proxyd and by a real Dovecot 2.3 proxy; both must give the same answers (sqlfix.run_suite:
proxy fields from columns, a SHA512-CRYPT password checked by the proxy, another forwarded,
unknown users, injection attempts, a slow query that must not hold up other logins, and a
database that stops and comes back)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, main_guard
from sqlfix import PgServer, crypt512, run_suite, user_rows, write_sql_conf
from tlsfix import make_ca, make_cert


def main():
    ca = make_ca('ca')
    leaf = make_cert(ca, 'pg', ['localhost'])
    pg = PgServer(hba=['host all md5user 127.0.0.1/32 md5',
                       'hostnossl all tlsuser 127.0.0.1/32 reject',
                       'hostssl all tlsuser 127.0.0.1/32 scram-sha-256'],
                  ssl=(leaf['cert'], leaf['key']))
    with pg, DovecotBackend('be') as be:
        pg.sql("CREATE ROLE mail LOGIN PASSWORD 'mail pw';\n"
               "CREATE ROLE sockuser LOGIN PASSWORD 'sockpw';\n"
               "CREATE ROLE tlsuser LOGIN PASSWORD 'tlspw';\n"
               "SET password_encryption = 'md5';\n"
               "CREATE ROLE md5user LOGIN PASSWORD 'md5pw';\n"
               "CREATE DATABASE mail OWNER mail;\n")
        lit = lambda v: 'NULL' if v is None else "'%s'" % v.replace("'", "''")
        pg.sql("CREATE TABLE users (username text PRIMARY KEY, password text, host text,\n"
               "  port int, nopassword text, destuser text, via text);\n"
               "CREATE TABLE secrets (s text); INSERT INTO secrets VALUES ('leaked');\n" +
               ''.join("INSERT INTO users VALUES (%s, %s, '127.0.0.1', %d, %s, %s, %s);\n"
                       % (lit(u), lit(p), be.imap_port, lit(n), lit(d), lit(w))
                       for u, p, w, n, d in user_rows(crypt512('pass'))) +
               "GRANT SELECT ON users, secrets TO mail, sockuser, md5user, tlsuser;\n", db='mail')
        os.chmod(os.path.dirname(ca['cert']), 0o755)
        os.chmod(ca['cert'], 0o644)
        sleep = "pg_sleep(CASE WHEN username LIKE 'slow%%' THEN 2 ELSE 0 END) IS NOT NULL"
        tcp = 'host=127.0.0.1 port=%d dbname=mail' % pg.port
        confs = [
            write_sql_conf('pgsql', 'tcp', tcp + " user=mail password='mail pw' sslmode=disable", sleep),
            write_sql_conf('pgsql', 'unix', 'host=%s port=%d dbname=mail user=sockuser password=sockpw'
                           % (pg.dir, pg.port), sleep),
            write_sql_conf('pgsql', 'auth2', tcp + ' user=md5user password=md5pw sslmode=disable', sleep),
            write_sql_conf('pgsql', 'tls', tcp + ' user=tlsuser password=tlspw sslmode=verify-ca '
                           'sslrootcert=%s' % ca['cert'], sleep),
            write_sql_conf('pgsql', 'failover', 'host=%s/nonexistent host=127.0.0.1 port=%d dbname=mail '
                           "user=mail password='mail pw' sslmode=disable maxconns=2" % (pg.dir, pg.port),
                           sleep),
        ]
        run_suite(pg, be, confs, {'unix': 'over the UNIX socket (SCRAM-SHA-256)',
                                  'auth2': 'md5 authentication to the server',
                                  'tls': 'TLS to the server (the tlsuser may not log in without), CA verified'})


main_guard(main)
