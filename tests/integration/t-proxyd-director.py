# SPDX-License-Identifier: MIT
"""End to end: two real Dovecot backends (127.0.0.2, 127.0.0.3) behind mtool proxyd, which
asks mtool directord where each user goes (passdb: proxy without host). 200 users log in
with imaplib; a host is added and `doveadm director flush --max-parallel 10` spreads the
users (sessions of moved users are kicked, the others stay); `director move` kicks an open
session and the next login lands on the new host where the user's mail is; `director
remove` sends a host's users elsewhere; directord stopped: logins fail with Dovecot's
temporary-failure text and a log line, and work again once it is back (with its state)."""
import imaplib
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, report, main_guard, free_port, port_listening  # noqa: E402
from mtoolfix import Proxyd  # noqa: E402
from directordfix import Directord, admin_lines  # noqa: E402

A, B = '127.0.0.2', '127.0.0.3'
NUSERS = 200
USERS = ['user%d@example.org' % i for i in range(1, NUSERS + 1)]


def login(px, user):
    m = imaplib.IMAP4('127.0.0.1', px.imap_port, timeout=20)
    typ, data = m.login(user, 'pass')
    return m


def alive(m):
    try:
        return m.noop()[0] == 'OK'
    except Exception:
        return False


def assignments(dd):
    """{hash: ip} from USER-LIST"""
    return {int(l.split('\t')[0]): l.split('\t')[2] for l in admin_lines(dd.admin_socket, ['USER-LIST'])[0]}


def lookup(dd, user):
    return admin_lines(dd.admin_socket, ['USER-LOOKUP\t%s\t' % user])[0].split('\t')


def backend_of_last_login(bes, user, starts):
    """which backend logged user's login last (after the given log offsets)"""
    hit = None
    for ip, be in bes.items():
        if re.search(r'imap-login: Info: Login: user=<%s>' % re.escape(user), be.log()[starts[ip]:]):
            hit = ip if hit is None else 'both'
    return hit


def wait(cond, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def main():
    port = free_port(A)
    while port_listening(B, port):
        port = free_port(A)
    users = {u: 'pass' for u in USERS}
    bea = DovecotBackend('be-a', ip=A, imap_port=port, users=users).start()
    beb = DovecotBackend('be-b', ip=B, imap_port=port, users=users).start()
    bes = {A: bea, B: beb}
    dd = Directord(hosts=[A], settings={'director_user_kick_delay': '1s'}).start()
    px = Proxyd(users={u: 'proxy port=%d' % port for u in USERS},
                settings={'director_socket': dd.proxy_socket}).start()
    px.wait_log(r'director: connected to')

    # 1. 200 users log in and out: all on A, each assignment known to directord
    failed = []
    for u in USERS:
        try:
            m = login(px, u)
            m.logout()
        except Exception as e:
            failed.append('%s: %s' % (u, e))
    asg = assignments(dd)
    report(not failed and len(asg) == NUSERS and set(asg.values()) == {A},
           '200 users logged in through proxyd+directord, all assigned to %s' % A,
           '\n'.join(failed[:5]) + '\n%d assignments: %s' % (len(asg), set(asg.values())))
    nlogins = len(re.findall(r'imap-login: Info: Login: user=<user\d+@example.org>', bea.log()))
    report(nlogins >= NUSERS, 'backend A logged the 200 logins (%d)' % nlogins)

    # 2. 30 sessions stay open; B is added; flush --max-parallel 10 spreads the users
    open_ = {u: login(px, u) for u in USERS[:30]}
    r = dd.director('add', B)
    hashed = {u: lookup(dd, u)[2] for u in USERS}
    to_b = [u for u in USERS if hashed[u] == B]
    log_at = len(dd.log())
    r = dd.director('flush', '--max-parallel', '10', 'all', check=False)
    report(r.returncode == 0, 'doveadm director flush --max-parallel 10 all: OK', r.stderr)
    m = dd.wait_log(r'Moved (\d+) users in 2 hosts in [\d.]+ secs \(max parallel=10\)', timeout=40, start=log_at)
    report(m is not None and int(m.group(1)) == len(to_b),
           'flush moved exactly the %d users that now hash to B (%s)' % (len(to_b), m and m.group(0)),
           dd.log()[log_at:][-1500:])
    asg = assignments(dd)
    cur = {u: lookup(dd, u)[0] for u in USERS}
    report(all(cur[u] == hashed[u] for u in USERS), 'after the flush every user is on its hashed host',
           [(u, cur[u], hashed[u]) for u in USERS if cur[u] != hashed[u]][:5])
    moved_open = [u for u in open_ if hashed[u] == B]
    kept_open = [u for u in open_ if hashed[u] == A]
    ok = wait(lambda: not any(alive(open_[u]) for u in moved_open), 20)
    report(ok and moved_open, 'open sessions of the %d moved users were kicked' % len(moved_open))
    report(all(alive(open_[u]) for u in kept_open),
           'open sessions of the %d users that stayed on A still work' % len(kept_open))
    starts = {ip: len(be.log()) for ip, be in bes.items()}
    for u in moved_open[:5] + kept_open[:5]:
        login(px, u).logout()
    where = {u: backend_of_last_login(bes, u, starts) for u in moved_open[:5] + kept_open[:5]}
    report(all(where[u] == hashed[u] for u in where), 'new logins land on the new hosts', where)
    for m in open_.values():
        try:
            m.shutdown()
        except Exception:
            pass

    # 3. move with a session open: kicked, next login on the new host, its mail is there
    u = next(x for x in USERS[40:] if hashed[x] == A)
    beb.deliver(u, b'From: a@example.org\r\nSubject: waiting on B\r\n\r\nhello\r\n')
    s = login(px, u)
    s.select('INBOX')
    report(lookup(dd, u)[0] == A, '%s is on A with a session open' % u)
    r = dd.director('move', u, B, check=False)
    report(r.returncode == 0, 'doveadm director move %s %s: OK' % (u, B), r.stderr)
    report(wait(lambda: not alive(s), 10), 'the open session was kicked by the move')
    starts = {ip: len(be.log()) for ip, be in bes.items()}
    m = login(px, u)
    typ, data = m.select('INBOX')
    typ2, subj = m.fetch('1', '(BODY[HEADER.FIELDS (SUBJECT)])') if data[0] != b'0' else ('NO', None)
    m.logout()
    report(backend_of_last_login(bes, u, starts) == B and typ2 == 'OK' and b'waiting on B' in subj[0][1],
           'the next login landed on B and sees the mail delivered there', (data, subj))
    report(re.search(r'User hash \d+ moved from %s to %s' % (A, B), dd.log()) is not None,
           'directord logged the move')

    # 4. remove B with a session open there: kicked, next login on A
    v = next(x for x in USERS if hashed[x] == B and x != u)
    s = login(px, v)
    r = dd.director('remove', B, check=False)
    report(r.returncode == 0, 'doveadm director remove %s: OK' % B, r.stderr)
    report(wait(lambda: not alive(s), 10), 'the session on the removed host was kicked')
    starts = {ip: len(be.log()) for ip, be in bes.items()}
    login(px, v).logout()
    report(backend_of_last_login(bes, v, starts) == A and lookup(dd, v)[0] == A,
           'after remove the user logs in on A', lookup(dd, v))
    report(all(ip == A for ip in assignments(dd).values()), 'no assignment points at the removed host')

    # 5. directord away: Dovecot's temporary failure and a log line; back with its state
    before = assignments(dd)
    dd.stop()
    m = imaplib.IMAP4('127.0.0.1', px.imap_port, timeout=20)
    try:
        m.login(USERS[0], 'pass')
        err = 'logged in'
    except imaplib.IMAP4.error as e:
        err = str(e)
    m.shutdown()
    report('[UNAVAILABLE]' in err and 'Temporary authentication failure' in err,
           'directord down: login fails with the temporary-failure reply', err)
    report(px.wait_log(r'director: User %s host lookup failed: directord is not reachable' % re.escape(USERS[0]))
           is not None, 'proxyd logged the failed director lookup', px.log()[-600:])
    dd.start()
    report(px.wait_log(r'director: connected to', timeout=20, start=len(px.log()) - 200) is not None or
           wait(lambda: px.log().count('director: connected to') >= 2, 15),
           'proxyd reconnected to directord (backoff)')
    report(assignments(dd) == before, 'directord restored its %d assignments from the state file' % len(before))
    ok = wait(lambda: px.log().count('director: connected to') >= 2, 15)
    login(px, USERS[0]).logout()
    report(ok, 'logins work again after directord is back')

    px.stop()
    dd.stop()
    bea.stop()
    beb.stop()
    bad = dd.check_log() + px.check_log()
    report(not bad, 'no sanitizer reports in the logs', '\n'.join(bad))


main_guard(main)
