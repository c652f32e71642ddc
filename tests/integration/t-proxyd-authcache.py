# SPDX-License-Identifier: MIT
"""The auth cache (auth_cache_size, auth_cache_ttl, auth_cache_negative_ttl) of an sql
passdb, side by side with a real Dovecot 2.3 proxy with the same settings and the same
dovecot-sql.conf.ext: positive and negative entries outlive changes in the database until
`doveadm auth cache flush` (the real doveadm against proxyd's auth-master socket, mtool's
against Dovecot's), a changed password is looked up again after a success, and an expired
entry answers while the database is down. Who may connect to the socket is checked too."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, main_guard, report
from mtoolfix import MTOOL
from sqlfix import (PgServer, DovecotSqlProxy, SqlProxyd, crypt512, login, user_rows,
                    write_sql_conf)


def flush(tool, sock, *users):
    argv = ([MTOOL, 'doveadm'] if tool == 'mtool' else ['doveadm']) + \
        ['auth', 'cache', 'flush', '-a', sock] + list(users)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    return r.returncode, r.stdout.decode(errors='replace').strip()


def main():
    pg = PgServer()
    with pg, DovecotBackend('be') as be:
        pg.sql("CREATE ROLE mail LOGIN PASSWORD 'mailpw';\nCREATE DATABASE mail OWNER mail;\n")
        lit = lambda v: 'NULL' if v is None else "'%s'" % v.replace("'", "''")
        c512 = crypt512('pass')
        pg.sql("CREATE TABLE users (username text PRIMARY KEY, password text, host text,\n"
               "  port int, nopassword text, destuser text, via text);\n" +
               ''.join("INSERT INTO users VALUES (%s, %s, '127.0.0.1', %d, %s, %s, %s);\n"
                       % (lit(u), lit(p), be.imap_port, lit(n), lit(d), lit(w))
                       for u, p, w, n, d in user_rows(c512)) +
               "GRANT SELECT ON users TO mail;\n", db='mail')
        conf = write_sql_conf('pgsql', 'tcp', 'host=127.0.0.1 port=%d dbname=mail user=mail '
                              'password=mailpw' % pg.port, 'true',
                              # the backend keeps its own password: the proxy logs in with it
                              columns=", 'pass' AS pass")
        cache = {'auth_cache_size': '1M', 'auth_cache_ttl': '1 hour',
                 'auth_cache_negative_ttl': '1 hour'}
        dv = DovecotSqlProxy([conf], name='dvproxy', backend=be, settings=cache)
        px = SqlProxyd([conf], settings=cache)
        with dv, px:
            socks = {'mtool': os.path.join(px.dir, 'run', 'auth-master'),
                     'dovecot': os.path.join(dv.base_dir, 'auth-master')}
            ports = {'mtool': px.imap_port, 'dovecot': dv.imap_port}

            def both(what, user, pw, want):
                got = {k: login(p, user, pw)[0] for k, p in ports.items()}
                ok = all(g.startswith(want) for g in got.values())
                report(ok, '%s (mtool and Dovecot)' % what, repr(got))

            both('a first login fills the cache', 'user1@example.org', 'pass', 'a OK')
            both('an unknown user is cached too', 'new@example.org', 'pass', 'a NO [AUTHENTICATIONFAILED]')
            pg.sql("UPDATE users SET password = %s WHERE username = 'user1@example.org';\n"
                   "INSERT INTO users VALUES ('new@example.org', NULL, '127.0.0.1', %d, 'y', "
                   "'user2@example.org', 'tcp');\n" % (lit(crypt512('changed')), be.imap_port), db='mail')
            both('the old password still works from the cache', 'user1@example.org', 'pass', 'a OK')
            both('the new user is still unknown (negative entry)', 'new@example.org', 'pass',
                 'a NO [AUTHENTICATIONFAILED]')
            both('the new password: a mismatch after a success asks the database',
                 'user1@example.org', 'changed', 'a OK')
            # flush one user, each tool against the other's server
            for tool, server in (('dovecot', 'mtool'), ('mtool', 'dovecot')):
                rc, out = flush(tool, socks[server], 'new@example.org')
                report(rc == 0 and out == '1 cache entries flushed',
                       '%s doveadm flushes one user on %s' % (tool, server), '%d %r' % (rc, out))
            both('after the flush the new user logs in', 'new@example.org', 'pass', 'a OK')
            counts = {}
            for tool, server in (('dovecot', 'mtool'), ('mtool', 'dovecot')):
                rc, out = flush(tool, socks[server])
                counts[server] = out
                report(rc == 0 and out.endswith('cache entries flushed'),
                       '%s doveadm flushes everything on %s' % (tool, server), '%d %r' % (rc, out))
            report(counts['mtool'] == counts['dovecot'], 'both caches held as many entries', repr(counts))
            rc, out = flush('dovecot', socks['mtool'])
            report(out == '0 cache entries flushed', 'an empty cache flushes nothing', out)

            # only root and the socket's owner may connect
            r = subprocess.run(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups',
                                MTOOL, 'doveadm', 'auth', 'cache', 'flush', '-a', socks['mtool']],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
            report(r.returncode != 0 and b'Permission denied' in r.stdout,
                   'another user cannot reach the auth-master socket', r.stdout)
            os.chmod(socks['mtool'], 0o666)
            r = subprocess.run(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups',
                                MTOOL, 'doveadm', 'auth', 'cache', 'flush', '-a', socks['mtool']],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
            report(r.returncode != 0 and px.wait_log(r'auth-master: refused a connection from uid', 2),
                   'a socket opened by mistake still refuses other users', r.stdout)
            os.chmod(socks['mtool'], 0o600)

        # an expired entry answers while the database is down (mtool only: Dovecot
        # 2.3.19's auth process was seen dying when its server went away)
        px = SqlProxyd([conf], name='pxttl', settings=dict(cache, auth_cache_ttl='1 s'))
        with px:
            r1, _ = login(px.imap_port, 'user1@example.org', 'changed')
            time.sleep(1.2)
            pg.stop()
            r2, _ = login(px.imap_port, 'user1@example.org', 'changed')
            report(r1.startswith('a OK') and r2.startswith('a OK'),
                   'database down: an expired entry answers', '%r %r' % (r1, r2))
            report(px.wait_log('Falling back to expired data from cache', 2) is not None,
                   'the fallback is logged as Dovecot logs it')
            r3, _ = login(px.imap_port, 'user2@example.org', 'pass')
            report(r3.startswith('a NO [UNAVAILABLE]'), 'a user never cached gets the temporary failure', r3)
            pg.start()
        report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))


main_guard(main)
