# SPDX-License-Identifier: MIT
"""passdb sql against a real MariaDB started here: a chain of dovecot-sql.conf.ext files,
each reaching the server another way (TCP with mysql_native_password, the UNIX socket, a
second TCP account, TLS with the CA verified for an account that REQUIRE SSL, two host= of
which the first is down), run by mtool proxyd and by a real Dovecot 2.3 proxy; both must
give the same answers (sqlfix.run_suite, as for PostgreSQL). MariaDB has no
caching_sha2_password server plugin: that path is covered by unit tests only."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, main_guard
from sqlfix import MariaServer, crypt512, run_suite, user_rows, write_sql_conf
from tlsfix import make_ca, make_cert


def main():
    ca = make_ca('ca')
    leaf = make_cert(ca, 'mariadb', ['localhost'])
    for f in (leaf['cert'], leaf['key'], ca['cert']):
        os.chmod(f, 0o644)
    os.chmod(os.path.dirname(ca['cert']), 0o755)
    my = MariaServer(ssl=(leaf['cert'], leaf['key']))
    with my, DovecotBackend('be') as be:
        lit = lambda v: 'NULL' if v is None else "'%s'" % v.replace("'", "''")
        accounts = ''.join(
            "CREATE USER '%s'@'%s' IDENTIFIED BY '%s' %s;\n"
            "GRANT SELECT ON mail.* TO '%s'@'%s';\n" % (u, h, p, req, u, h)
            for u, p, req in (('mail', 'mailpw', ''), ('second', 'secondpw', ''),
                              ('tlsuser', 'tlspw', 'REQUIRE SSL'))
            for h in ('127.0.0.1', 'localhost'))
        my.sql("CREATE DATABASE mail;\n" + accounts +
               "USE mail;\n"
               "CREATE TABLE users (username varchar(255) PRIMARY KEY, password text, host text,\n"
               "  port int, nopassword text, destuser text, via text) DEFAULT CHARSET=utf8mb4;\n"
               "CREATE TABLE secrets (s text); INSERT INTO secrets VALUES ('leaked');\n" +
               ''.join("INSERT INTO users VALUES (%s, %s, '127.0.0.1', %d, %s, %s, %s);\n"
                       % (lit(u), lit(p), be.imap_port, lit(n), lit(d), lit(w))
                       for u, p, w, n, d in user_rows(crypt512('pass'))))
        sleep = "SLEEP(IF(username LIKE 'slow%%', 2, 0)) = 0"
        tcp = 'host=127.0.0.1 port=%d dbname=mail' % my.port
        confs = [
            write_sql_conf('mysql', 'tcp', tcp + ' user=mail password=mailpw', sleep),
            write_sql_conf('mysql', 'unix', 'host=%s dbname=mail user=mail password=mailpw'
                           % my.socket, sleep),
            write_sql_conf('mysql', 'auth2', tcp + ' user=second password=secondpw', sleep),
            write_sql_conf('mysql', 'tls', tcp + ' user=tlsuser password=tlspw ssl_ca=%s '
                           'ssl_verify_server_cert=no' % ca['cert'], sleep),
            write_sql_conf('mysql', 'failover', 'host=%s/nonexistent.sock host=127.0.0.1 port=%d '
                           'dbname=mail user=second password=secondpw maxconns=2'
                           % (my.dir, my.port), sleep),
        ]
        run_suite(my, be, confs, {'unix': 'over the UNIX socket',
                                  'auth2': 'a second account over TCP',
                                  'tls': 'TLS to the server (the account REQUIRE SSL), CA verified'})


main_guard(main)
