#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/sql.py: logins/s and proxy CPU per login with an sql passdb, mtool proxyd next to
Debian's Dovecot 2.3 proxy using the same dovecot-sql.conf.ext, for PostgreSQL and MariaDB
(each started here from Debian's packages), with the auth cache off (every login queries
the database) and on (warm: every user was looked up before the measured logins).

    python3 bench/sql.py [--logins 5000] [--clients 50] [--users 200] [--runs 1] [--keep]

Uses bench/run.py's backend, load generator and CPU accounting. Rows have nopassword: the
backend checks the password, so the figures are the passdb path, not a crypt scheme. The
proxy's CPU is its own process (mtool) or all of its processes (Dovecot: login and auth);
the database's CPU per login is shown apart. Not a test: nothing passes or fails."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))


def main():
    import run as R
    args, scratch = R.passdb_bench(__doc__, 'sql', 5000, 500,
                                   extra=lambda ap: ap.add_argument('--drivers',
                                                                    default='pgsql,mysql'))
    import fixtures
    from sqlfix import PgServer, MariaServer, DovecotSqlProxy, SqlProxyd, write_sql_conf

    results = []
    try:
        be = R.start_backend(args)
        users = ['user%d@example.org' % i for i in range(1, args.users + 1)]
        rows = ''.join("('%s', NULL, '127.0.0.1', %d, 'y', NULL, 'tcp'),\n" % (u, be.imap_port)
                       for u in users).rstrip(',\n')
        table = ("CREATE TABLE users (username varchar(255) PRIMARY KEY, password text, "
                 "host text, port int, nopassword text, destuser text, via text);\n"
                 "INSERT INTO users VALUES %s;\n" % rows)
        for driver in args.drivers.split(','):
            if driver == 'pgsql':
                db = PgServer()
                db.init()
                db.start()
                db.sql("CREATE ROLE mail LOGIN PASSWORD 'mailpw';\nCREATE DATABASE mail OWNER mail;\n")
                db.sql(table + "GRANT SELECT ON users TO mail;\n", db='mail')
                conf = write_sql_conf('pgsql', 'tcp', 'host=127.0.0.1 port=%d dbname=mail '
                                      'user=mail password=mailpw sslmode=disable' % db.port, 'true')
            else:
                db = MariaServer()
                db.init()
                db.start()
                db.sql("CREATE DATABASE mail;\nCREATE USER 'mail'@'127.0.0.1' IDENTIFIED BY "
                       "'mailpw';\nGRANT SELECT ON mail.* TO 'mail'@'127.0.0.1';\n")
                db.sql(table, db='mail')
                conf = write_sql_conf('mysql', 'tcp', 'host=127.0.0.1 port=%d dbname=mail '
                                      'user=mail password=mailpw' % db.port, 'true')
            for cache in ('off', 'warm'):
                settings = {'auth_cache_size': '10M' if cache == 'warm' else '0'}
                cores = os.cpu_count() or 2
                dv = DovecotSqlProxy([conf], name='dv-%s-%s' % (driver, cache), backend=be,
                                     settings=settings,
                                     login_settings={'service_count': 0, 'process_min_avail': cores})
                px = SqlProxyd([conf], name='px-%s-%s' % (driver, cache),
                               settings=dict(settings, login_trusted_networks='127.0.0.0/8'))
                dv.start()
                px.start()
                targets = [R.Target('Dovecot 2.3 proxy', dv.imap_port, dv.pids, dv),
                           R.Target('mtool proxyd', px.imap_port, lambda px=px: [px.pid], px)]
                res = R.bench_login(be, targets, args)
                dbcpu = {}
                for t in targets:
                    # the database's share, measured on one more run per target
                    d0 = R.cpu_seconds(fixtures.descendants(db.pid) + [db.pid])
                    r = R.loadgen('login', '-p', t.port, '-c', args.clients, '-n', args.logins,
                                  '-u', args.users)
                    d1 = R.cpu_seconds(fixtures.descendants(db.pid) + [db.pid])
                    dbcpu[t.label] = (d1 - d0) * 1000 / int(r['logins'])
                for t in targets:
                    rr = res[t.label]
                    results.append((driver, cache, t.label, R.med(rr, 'rate'), R.med(rr, 'cpu_ms'),
                                    dbcpu[t.label], R.med(rr, 'p99')))
                fixtures.stop(dv, px)
            db.stop()
        fixtures.stop(be)
    finally:
        R.passdb_bench_done(args, scratch)
    print('%-6s %-6s %-18s %10s %14s %12s %9s' % ('driver', 'cache', 'proxy', 'logins/s',
                                                 'proxy CPU ms', 'db CPU ms', 'p99 ms'))
    for d, c, label, rate, cpu, dbms, p99 in results:
        print('%-6s %-6s %-18s %10.1f %14.3f %12.3f %9.1f' % (d, c, label, rate, cpu, dbms, p99))


if __name__ == '__main__':
    main()
