# SPDX-License-Identifier: MIT
"""directord in live director rings with real Dovecot 2.3 directors (director-ring.md §5):
two Dovecot directors plus one directord, then one Dovecot plus two directord, every one on
its own 127.0.0.x and ring port. Checks: every director sees the ring synced with the right
left/right (T1); 10,000 users assigned through Dovecot's director-userdb and directord's
proxy socket agree everywhere (T2, T3); host add/update/down/up/remove and flush on any
director reach all, waiting for the ring sync, and 10,000 lookups still agree (T4); moves on
any director kick a session held through directord's proxy socket and hold its logins until
the USER-KILLED token went round (T5); kicks reach directord's proxies; `ring status` is
printed byte for byte alike by the real doveadm and mtool doveadm; a SIGKILLed directord is
healed around and rejoins with the ring's state (T7); `ring remove` of a running directord
does not leave it serving new users alone, `ring add` brings it back (T9); a conflicting USER
from a peer makes the lower address win everywhere and kicks the loser's session (T10); a peer from an
unlisted address gets nothing, a listed one that sends an unknown command or a 1 MiB line is
dropped with a log line while the ring stays synced (T15); the Dovecot directors never log a
line of ours as invalid."""
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard, _dovecot_bin  # noqa: E402
from directordfix import admin_lines, wait_until  # noqa: E402
from dvcompare import mine  # noqa: E402
from ringfix import Ring, lookup_proxy, lookup_auth, ProxyConn  # noqa: E402

NUSERS = 10000
USERS = ['user%d@example.org' % i for i in range(NUSERS)]


def lookups(d, users):
    """(current host, hashed host) per user from USER-LOOKUP."""
    return [tuple(l.split('\t')[i] for i in (0, 2)) for l in
            admin_lines(d.admin_socket, ['USER-LOOKUP\t%s' % u for u in users])]


def agree(ring, what, users=USERS):
    ref = lookups(ring.dirs[0], users)
    bad = []
    for d in ring.alive()[1:]:
        mine_ = lookups(d, users)
        bad += ['%s %s: %r vs %r' % (d.name, u, a, b) for u, a, b in zip(users, ref, mine_) if a != b]
    report(not bad, '%s: %d users have the same current and hashed host on all %d directors' %
           (what, len(users), len(ring.alive())), '\n'.join(bad[:10]))


def same_users(ring, what, n=None, timeout=10):
    def ok():
        lists = [ring.user_list(d) for d in ring.alive()]
        return all(x == lists[0] for x in lists) and (n is None or len(lists[0]) == n)
    good = wait_until(ok, timeout)
    sizes = [len(ring.user_list(d)) for d in ring.alive()]
    report(good, '%s: USER-LIST equal on every director (%s users)' % (what, sizes))


def same_hosts(ring, what, timeout=10):
    def ok():
        lists = [ring.host_list(d) for d in ring.alive()]
        return all(x == lists[0] for x in lists)
    good = wait_until(ok, timeout)
    report(good, '%s: HOST-LIST equal on every director' % what,
           '\n'.join('%s: %r' % (d.name, ring.host_list(d)) for d in ring.alive()))


def roles(ring, what):
    """each director's right is the next in address order, its left the previous"""
    bad = []
    alive = ring.alive()
    for i, d in enumerate(alive):
        rows = {r[2]: r[0] for r in ring.status(d) if r[2] in ('left', 'right')}
        want = {'right': alive[(i + 1) % len(alive)].ip, 'left': alive[i - 1].ip}
        if rows != want:
            bad.append('%s: %r, expected %r' % (d.name, rows, want))
    report(not bad, '%s: every director has the expected left and right' % what, '\n'.join(bad))


def doveadm(d, *args):
    return d.director(*args, check=False)


def ring_status_same(d):
    """the real doveadm and mtool doveadm print ring status alike (retried: the counters
    move with every PING)"""
    for _ in range(5):
        real = subprocess.run([_dovecot_bin('doveadm'), 'director', 'ring', 'status', '-a',
                               d.admin_socket], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rc, out, err = mine(['director', 'ring', 'status', '-a', d.admin_socket])
        if (real.returncode, real.stdout, real.stderr) == (rc, out, err):
            return True, ''
        time.sleep(0.2)
    return False, 'real: %r\nmtool: %r' % (real.stdout, out)


def dovecot_log_clean(ring, what):
    bad = []
    for d in ring.dirs:
        if d.kind != 'dovecot':
            continue
        for l in open(d.log_path, errors='replace'):
            if ('Unknown command' in l or 'Invalid' in l or 'Incompatible' in l) and 'director' in l:
                bad.append('%s: %s' % (d.name, l.rstrip()))
    report(not bad, '%s: the Dovecot directors never saw a line they reject' % what, '\n'.join(bad[:10]))


def mixed_two_dovecot():
    ring = Ring(['dovecot', 'dovecot', 'mtool'], settings={'director_user_kick_delay': '1s'})
    try:
        ring.start()
        report(ring.wait_synced(), 'T1 D+D+M: every director reports "ring synced" with a left and a right')
        roles(ring, 'T1 D+D+M')
        d0, d2, m = ring.dirs
        for d in (d0, m):
            ok, detail = ring_status_same(d)
            report(ok, 'ring status on %s: real doveadm and mtool doveadm print the same' % d.kind, detail)
        for args in (['ring', 'remove', '127.0.0.99'], ['ring', 'add', '127.0.0.1', str(ring.port)]):
            res = []
            for d in (d0, m):
                real = subprocess.run([_dovecot_bin('doveadm'), 'director'] + args[:2] + ['-a', d.admin_socket] +
                                      args[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                res.append((real.returncode, real.stdout, real.stderr))
                res.append(mine(['director'] + args[:2] + ['-a', d.admin_socket] + args[2:]))
            report(len(set(res)) == 1, 'ring %s: the real doveadm and mtool doveadm print the same against '
                   'Dovecot and directord' % ' '.join(args[1:2]), res)
        out = doveadm(m, 'ring', 'status').stdout.decode()
        report(len(out.splitlines()) == 4 and 'ring synced' in out and ' left ' in out and ' right ' in out,
               'the real doveadm renders directord\'s ring status (self, left, right)', out)

        # T2/T3: assignments through both kinds of director
        a = lookup_auth(d0, USERS[:NUSERS // 2])
        b = lookup_proxy(m, USERS[NUSERS // 2:])
        report(None not in a.values() and None not in b.values(),
               'T3: 10,000 users assigned (half by Dovecot\'s director-userdb, half by directord\'s proxy socket)')
        same_users(ring, 'T3', NUSERS)

        # T4: host changes on any director reach all, and the answers still agree
        r = doveadm(m, 'add', '127.0.0.4', '50')
        report(r.returncode == 0, 'T4: director add on directord answers OK after the ring sync', r.stderr)
        same_hosts(ring, 'T4 add on directord')
        agree(ring, 'T4 after add')
        for d, args in ((d2, ('update', '127.0.0.4', '80')), (m, ('down', '127.0.0.4')),
                        (d0, ('up', '127.0.0.4')), (m, ('update', '127.0.0.2', '60'))):
            r = doveadm(d, *args)
            report(r.returncode == 0, 'T4: %s on %s: OK' % (' '.join(args), d.kind), r.stderr)
            same_hosts(ring, 'T4 %s on %s' % (' '.join(args), d.kind))
        agree(ring, 'T4 after update/down/up')
        r = doveadm(m, 'remove', '127.0.0.4')
        report(r.returncode == 0, 'T4: remove on directord: OK', r.stderr)
        same_hosts(ring, 'T4 remove on directord')
        same_users(ring, 'T4 remove on directord')

        # T5: moves from either side; a session held through directord's proxy is kicked
        pc = ProxyConn(m)
        user = USERS[NUSERS - 1]
        cur = pc.lookup(user)
        other = '127.0.0.3' if cur == '127.0.0.2' else '127.0.0.2'
        pc.send('START\tg1\t%s\t\t%s' % (user, cur))
        t0 = time.monotonic()
        r = doveadm(d2, 'move', user, other)
        report(r.returncode == 0, 'T5: director move on Dovecot D2: OK', r.stderr)
        kicked = [l for l in pc.kicks(3) if l[0] == 'KICK' and l[1] == 'g1']
        report(kicked, 'T5: the move on D2 kicks the session held through directord\'s proxy')
        got = wait_until(lambda: all(lookups(d, [user])[0][0] == other for d in ring.dirs), 5)
        report(got, 'T5: every director has the user on the new host')
        pc.send('END\tg1')
        host = pc.lookup(user, timeout=20)
        took = time.monotonic() - t0
        report(host == other and took < 15, 'T5: the user\'s next login goes to the new host once the kill '
               'round is over (%.1f s)' % took, host)
        user2 = USERS[0]
        cur2 = lookups(m, [user2])[0][0]
        other2 = '127.0.0.3' if cur2 == '127.0.0.2' else '127.0.0.2'
        r = doveadm(m, 'move', user2, other2)
        report(r.returncode == 0, 'T5: director move on directord: OK', r.stderr)
        got = wait_until(lambda: all(lookups(d, [user2])[0][0] == other2 for d in ring.dirs), 5)
        report(got, 'T5: a move on directord reaches both Dovecot directors')
        time.sleep(2.5)
        log = open(d0.log_path, errors='replace').read()
        report('move timed out' not in log, 'T5: no "move timed out" on the Dovecot directors')

        # kicks from a Dovecot director reach directord's proxies (those that hold a session
        # of the user: directord sends KICK-USER only there)
        pc.send('START\tg2\t%s\t\t%s' % (USERS[5], pc.lookup(USERS[5])))
        r = doveadm(d0, 'kick', USERS[5])
        kicks = pc.kicks(3)
        report(['KICK-USER', USERS[5]] in kicks, 'director kick on Dovecot D0 reaches directord\'s proxies', kicks)
        pc.send('END\tg2')

        # flush on Dovecot forgets everywhere
        r = doveadm(d2, 'flush', '-F', '127.0.0.3')
        report(r.returncode == 0, 'flush -F 127.0.0.3 on D2: OK', r.stderr)
        same_users(ring, 'flush on D2')
        left = [h for h in ring.user_list(m).values() if h == '127.0.0.3']
        report(not left, 'flush on D2: directord forgot the users of 127.0.0.3', len(left))
        pc.close()
        dovecot_log_clean(ring, 'D+D+M')
    finally:
        ring.stop()


def misbehaving_peer(ring, target):
    """T15 against directord target: unlisted source, unknown command, a 1 MiB line"""
    # unlisted: 127.0.0.99 is not a director
    s = socket.socket()
    s.bind(('127.0.0.99', 0))
    s.settimeout(5)
    s.connect((target.ip, ring.port))
    try:
        data = s.recv(100)
    except OSError:
        data = b''
    s.close()
    report(data == b'' and wait_until(lambda: 'Server not listed in director_servers' in target.log(), 3),
           'T15: a peer from an unlisted address gets no byte and a log line')
    # listed peers that misbehave (one address each: a protocol error bars it for 60 s)
    for fake, what, payload, logline in (
            ('127.0.0.15', 'an unknown command', b'BOGUS\tx\n', 'Unknown command BOGUS'),
            ('127.0.0.16', 'a 1 MiB line', b'X' * (1 << 20) + b'\n', 'more than 1024 bytes')):
        doveadm(ring.dirs[0], 'ring', 'add', fake, str(ring.port))
        wait_until(lambda: any(x[0] == fake for x in ring.status(target)), 5)
        s = socket.socket()
        s.bind((fake, 0))
        s.settimeout(5)
        s.connect((target.ip, ring.port))
        # in one write: a peer that is not the right left is sent CONNECT and not heard
        try:
            s.sendall(b'VERSION\tdirector\t1\t9\nME\t%s\t%d\t%d\n' %
                      (fake.encode(), ring.port, int(time.time())) + payload)
            while s.recv(65536):
                pass
        except OSError:
            pass
        s.close()
        report(wait_until(lambda: logline in target.log(), 3),
               'T15: %s closes the link with a log line' % what,
               '\n'.join(target.log().splitlines()[-15:]))
        doveadm(ring.dirs[0], 'ring', 'remove', fake, str(ring.port))
    report(ring.wait_synced(15), 'T15: the ring is synced again after the misbehaving peer')


def user_hash(user):
    """Dovecot's director hash of a user (director_username_hash = %Lu)"""
    return int.from_bytes(hashlib.md5(user.lower().encode()).digest()[:4], 'big') or 1


def conflict(ring, target):
    """T10 (the merge part): a peer that says a user is on another host than target has it:
    the lower address wins on every director and the sessions on the loser are kicked"""
    pc = ProxyConn(target)
    user = next(u for u in ('conflict%d@example.org' % i for i in range(100))
                if pc.lookup(u) == '127.0.0.3')
    pc.send('START\tc1\t%s\t\t127.0.0.3' % user)
    time.sleep(0.3)
    fake = '127.0.0.17'
    doveadm(ring.dirs[0], 'ring', 'add', fake, str(ring.port))
    wait_until(lambda: any(x[0] == fake for x in ring.status(target)), 5)
    s = socket.socket()
    s.bind((fake, 0))
    s.settimeout(5)
    s.connect((target.ip, ring.port))
    s.sendall(b'VERSION\tdirector\t1\t9\nME\t%s\t%d\t%d\nUSER\t%d\t127.0.0.2\t%d\n' %
              (fake.encode(), ring.port, int(time.time()), user_hash(user), int(time.time())))
    time.sleep(1)
    s.close()
    report(wait_until(lambda: 'is being redirected to two hosts' in target.log(), 3),
           'T10: directord logs the conflict ("redirected to two hosts")')
    kicked = [l for l in pc.kicks(3) if l[0] == 'KICK' and l[1] == 'c1']
    report(kicked, 'T10: the session on the losing host is kicked through directord\'s proxy')
    ok = wait_until(lambda: all(lookups(d, [user])[0][0] == '127.0.0.2' for d in ring.alive()), 5)
    report(ok, 'T10: the lower address wins on every director',
           [(d.name, lookups(d, [user])[0]) for d in ring.alive()])
    pc.send('END\tc1')
    pc.close()
    doveadm(ring.dirs[0], 'ring', 'remove', fake, str(ring.port))


def mixed_two_directord():
    ring = Ring(['dovecot', 'mtool', 'mtool'], tag='b',
                mtool_settings={'director_lookup_timeout': '2s'})
    try:
        # the directord first: the Dovecot director joins a ring of directord
        ring.start(order=[1, 2, 0])
        report(ring.wait_synced(), 'T1 D+M+M (Dovecot started last): every director reports "ring synced"')
        roles(ring, 'T1 D+M+M')
        d0, m1, m2 = ring.dirs
        lookup_auth(d0, USERS[:3000])
        lookup_proxy(m1, USERS[3000:6500])
        lookup_proxy(m2, USERS[6500:])
        same_users(ring, 'T3 D+M+M', NUSERS)
        r = doveadm(m2, 'add', '127.0.0.4', '30')
        same_hosts(ring, 'T4 D+M+M add on the second directord')
        agree(ring, 'T4 D+M+M')

        # T7: SIGKILL a directord: the others heal; it comes back with the ring's state
        os.kill(m1.pid, signal.SIGKILL)
        m1.proc.wait()
        m1.proc = None
        t0 = time.monotonic()
        healed = ring.wait_synced(10, dirs=[d0, m2])
        report(healed, 'T7: after SIGKILL of a directord the other two are a synced ring of two '
               '(%.1f s)' % (time.monotonic() - t0))
        r = lookup_proxy(m2, ['newuser%d' % i for i in range(20)])
        report(None not in r.values(), 'T7: new users are assigned on the healed ring')
        m1.start()
        report(ring.wait_synced(15), 'T7: the restarted directord rejoins and the ring syncs')
        same_users(ring, 'T7 rejoin: the restarted directord adopted the ring\'s users')

        # T9: ring remove of a running directord: no ring of one serving new users
        r = doveadm(d0, 'ring', 'remove', m2.ip, str(ring.port))
        report(r.returncode == 0, 'T9: ring remove of a running directord: OK', r.stderr)
        wait_until(lambda: 'removed from the ring' in m2.log() or 'cut off' in m2.log(), 10)
        time.sleep(1)
        r = lookup_proxy(m2, ['lonely%d' % i for i in range(3)], timeout=10)
        report(all(v is None for v in r.values()),
               'T9: the removed directord does not assign new users on its own', r)
        r = doveadm(d0, 'ring', 'add', m2.ip, str(ring.port))
        report(ring.wait_synced(40), 'T9: ring add brings it back and the ring syncs')
        same_users(ring, 'T9 after ring add', timeout=15)
        conflict(ring, m2)
        misbehaving_peer(ring, m2)
        dovecot_log_clean(ring, 'D+M+M')
    finally:
        ring.stop()


def main():
    mixed_two_dovecot()
    mixed_two_directord()


if __name__ == '__main__':
    main_guard(main)
