# SPDX-License-Identifier: MIT
"""`doveadm replicator ...` against a real Dovecot 2.3 replicator and against mtool
replicatord holding the same replicator.db (written here, read by both: replicatord
migrates Dovecot's file as it is): the real doveadm prints the same bytes against both,
and mtool doveadm prints what the real doveadm prints, in every formatter; errors and exit
codes included. Rows come in each daemon's own hash order, so rows are compared as sets;
times are elapsed seconds against doveadm's clock, so a comparison that straddles a
second is run again."""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, free_port, main_guard, report, stop_all  # noqa: E402
from dvcompare import (FakeUnix, json_sorted, mine, pager_sorted, real,  # noqa: E402
                       recv_until, rows_sorted, wait_eof)
from replfix import Replicatord  # noqa: E402

FORMATS = [None, 'flow', 'tab', 'table', 'pager', 'json']


class NoBackend:
    """A pair member that is never contacted (nothing is due in this test)."""
    def __init__(self, ip):
        self.ip, self.doveadm_port = ip, 9


def norm(res, fmt):
    if fmt == 'pager':
        return pager_sorted(res)
    if fmt == 'json':
        return json_sorted(res)
    return rows_sorted(res, 0 if fmt in (None, 'flow', 'table') else 1)


def argv(fmt, cmd, sock, *args):
    return (['-f', fmt] if fmt else []) + ['replicator', cmd, '-a', sock] + list(args)


def same_bytes(what, a_fn, b_fn, fmt, tries=3):
    for _ in range(tries):
        a, b = a_fn(), b_fn()
        if norm(a, fmt) == norm(b, fmt):
            return True, ''
        time.sleep(0.3)
    return False, '  first:  %r\n  second: %r' % (a, b)


def compare_all(what, cmd, dv_sock, rp_sock, *args, fmts=FORMATS):
    """real doveadm vs Dovecot and vs replicatord; mtool doveadm vs real doveadm on both."""
    for label, fa, fb in (
            ('real doveadm: Dovecot replicator = replicatord',
             lambda f: real(argv(f, cmd, dv_sock, *args)),
             lambda f: real(argv(f, cmd, rp_sock, *args))),
            ('mtool doveadm = real doveadm against replicatord',
             lambda f: real(argv(f, cmd, rp_sock, *args)),
             lambda f: mine(argv(f, cmd, rp_sock, *args))),
            ('mtool doveadm = real doveadm against Dovecot',
             lambda f: real(argv(f, cmd, dv_sock, *args)),
             lambda f: mine(argv(f, cmd, dv_sock, *args)))):
        diffs = []
        for fmt in fmts:
            ok, d = same_bytes(what, lambda: fa(fmt), lambda: fb(fmt), fmt)
            if not ok:
                diffs.append('-f %s:\n%s' % (fmt, d))
        report(not diffs, '%s: %s (%s)' % (what, label, ', '.join(f or 'default' for f in fmts)),
               '\n'.join(diffs))


def write_db(path, now):
    users = [
        # user, prio, update, fast, full, failed, state, success
        ('user1@example.org', 0, now - 100, now - 100, now - 200, 0, 'AQAAAHm4+Jk=', now - 100),
        ('user2@example.org', 0, now - 50, now - 50, now - 3700, 0, '', 0),
        ('user3@example.org', 0, now - 10, now - 10, now - 10, 0, 'AQAAAHm4+Jk=', now - 10),
        ('user4@example.org', 0, now - 60, now - 60, now - 60, 1, '', now - 7200),
        ('user5@example.org', 0, now - 70, now - 70, now - 70, 0, '', 0),
        ('ghost@example.org', 0, now - 5, now - 5, now - 5, 0, '', 0),
    ]
    with open(path, 'w') as f:
        for u in users:
            f.write('%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\n' % u)


def main():
    now = int(time.time())
    dv = DovecotBackend('dovecot', extra_conf=(
        'service replicator {\n  unix_listener replicator-doveadm {\n    mode = 0600\n  }\n}\n'))
    os.makedirs(dv.state_dir, exist_ok=True)
    write_db(os.path.join(dv.state_dir, 'replicator.db'), now)
    dv.start()
    dv_sock = os.path.join(dv.base_dir, 'replicator-doveadm')

    rp = Replicatord(NoBackend('127.0.0.2'), NoBackend('127.0.0.3'), free_port(), settings={
        'replicator_list_users': 'no', 'replicator_retry_min': '10 mins',
        'replicator_startup_sync': 'no'}, args=())
    os.makedirs(rp.state_dir, exist_ok=True)
    shutil.copy(os.path.join(dv.state_dir, 'replicator.db'), rp.dovecot_db)
    rp.start()
    report(rp.wait_log(r'imported 6 users from Dovecot') is not None,
           'replicatord reads the replicator.db a Dovecot replicator would read', rp.log())

    compare_all('status', 'status', dv_sock, rp.admin)
    compare_all('status *', 'status', dv_sock, rp.admin, '*')
    compare_all('status user1*', 'status', dv_sock, rp.admin, 'user1*')
    compare_all('status nomatch*', 'status', dv_sock, rp.admin, 'nomatch*')
    compare_all('dsync-status (no sync run yet)', 'dsync-status', dv_sock, rp.admin)
    compare_all('remove nobody (unknown user)', 'remove', dv_sock, rp.admin, 'nobody@example.org')
    compare_all('replicate -p urgent (bad priority)', 'replicate', dv_sock, rp.admin, '-p', 'urgent',
                'user1@example.org', fmts=[None, 'json'])
    compare_all('replicate nomatch* (+0)', 'replicate', dv_sock, rp.admin, 'nomatch*')

    # changing commands, run once per tool (each run changes the state)
    for fmt in FORMATS:
        for cmd, args in (('replicate', ['-f', '-p', 'high', 'user5@example.org']),
                          ('replicate', ['user2*']),
                          ('add', ['new%s@example.org' % fmt]),
                          ('remove', ['ghost@example.org'])):
            r = [real(argv(fmt, cmd, dv_sock, *args)), real(argv(fmt, cmd, rp.admin, *args))]
            if cmd == 'remove':
                mine(argv(None, 'add', rp.admin, *args))
            r.append(mine(argv(fmt, cmd, rp.admin, *args)))
            report(r[0] == r[1] == r[2], '%s %s -f %s: same output from both tools against both '
                   'daemons' % (cmd, ' '.join(args), fmt or 'default'), repr(r))
            if cmd == 'remove':
                real(argv(None, 'add', dv_sock, *args))
                real(argv(None, 'add', rp.admin, *args))

    # over TCP: doveadm treats an -a without '/' as host:port (no authentication)
    tcp = '127.0.0.1:%d' % rp.admin_port
    a = real(argv(None, 'status', rp.admin))
    b = real(argv(None, 'status', tcp))
    report(a == b and a[0] == 0, 'real doveadm over TCP (-a host:port) gets the same status', repr((a, b)))
    a = mine(argv('tab', 'status', tcp, 'user1*'))
    b = real(argv('tab', 'status', tcp, 'user1*'))
    report(a == b, 'mtool doveadm over TCP prints what the real doveadm prints', repr((a, b)))

    # errors: missing socket, wrong service, a replicator that hangs up
    missing = os.path.join(rp.dir, 'nonexistent', 'replicator-doveadm')
    a, b = real(argv(None, 'status', missing)), mine(argv(None, 'status', missing))
    report(a == b and a[0] == 75, 'missing socket: same Fatal line and exit 75', repr((a, b)))
    a, b = real(['replicator']), mine(['replicator'])
    report(a == b and a[0] == 64, 'no subcommand: the same usage text, exit 64', repr((a, b)))
    fake = os.path.join(rp.dir, 'fake.sock')

    def wrong(c, log):
        c.sendall(b'VERSION\tdirector-doveadm\t1\t0\n')
        wait_eof(c)

    def hangup(c, log):
        c.sendall(b'VERSION\treplicator-doveadm-server\t1\t0\n')
        got = b''
        c.settimeout(5)
        while got.count(b'\n') < 2:
            d = c.recv(4096)
            if not d:
                break
            got += d
        log.append(got)
        c.sendall(b'user1@example.org\tnone\t1\t0\t0\t1\n')

    def silent(c, log):
        time.sleep(5.5)

    for name, script, cmds in (('wrong VERSION', wrong, [['status']]),
                               ('silent for 5 s', silent, [['dsync-status']]),
                               ('hang-up mid-reply', hangup,
                                [['status'], ['status', '*'], ['replicate', 'u'], ['add', 'u'],
                                 ['dsync-status']])):
        with FakeUnix(fake, script):
            for c in cmds:
                for fmt in ((None,) if script is silent else (None, 'json')):
                    a = real(argv(fmt, c[0], fake, *c[1:]))
                    b = mine(argv(fmt, c[0], fake, *c[1:]))
                    report(a == b, '%s, %s -f %s: same output and exit code %d' % (
                        name, ' '.join(c), fmt or 'default', a[0]), repr((a, b)))

    # bad input on the socket: the daemon logs, closes that connection, lives
    import socket
    for bad in (b'VERSION\treplicator-doveadm-client\t1\t0\nFOO\n',
                b'VERSION\treplicator-doveadm-client\t1\t0\nREPLICATE\tlow\n',
                b'VERSION\treplicator-doveadm-client\t1\t0\n\n',
                b'VERSION\twrong\t1\t0\nSTATUS\n',
                b'VERSION\treplicator-doveadm-client\t1\t0\nSTATUS\t' + b'x' * 2000000 + b'\n'):
        s = socket.socket(socket.AF_UNIX)
        s.connect(rp.admin)
        try:
            s.sendall(bad)
        except OSError:
            pass
        s.settimeout(5)
        data = b''
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
        except OSError:
            pass
        s.close()
        report(data == b'VERSION\treplicator-doveadm-server\t1\t0\n',
               'bad admin input %r...: no reply, connection closed' % bad[40:60], repr(data[:200]))
    a = real(argv(None, 'status', rp.admin))
    report(a[0] == 0 and b'Total number of known users' in a[1], 'replicatord still answers', repr(a))
    report('Unknown command: FOO' in rp.log() and 'REPLICATE: Invalid parameters' in rp.log() and
           'Unexpectedly received empty line' in rp.log(), 'each bad line is logged', rp.log())
    code = rp.stop()
    report(code == 0 and not rp.check_log(), 'replicatord stops cleanly', '\n'.join(rp.check_log()))
    stop_all()


main_guard(main)
