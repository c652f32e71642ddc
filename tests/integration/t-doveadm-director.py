# SPDX-License-Identifier: MIT
"""`mtool doveadm director ...` against the real `doveadm director ...`, both talking to a
real Dovecot 2.3 director (dirfix.py): stdout, stderr and exit code must be the same bytes,
for every formatter. This file covers what does not change the director's state (status,
status <user> [<tag>], ring status, dump, map in all its forms), run by both tools on the
same state, the base_dir socket lookup (-c, -o base_dir), every argument and connection
error, and scripted director-admin sockets for replies a real director will not give on
demand (a bad USER-LOOKUP reply, a hang-up, silence, a wrong VERSION). The state-changing
commands are in t-doveadm-director-state.py."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard, TESTDIR  # noqa: E402
from dirfix import DovecotDirector  # noqa: E402
from dvcompare import (compare, real, FakeUnix, recv_until, wait_eof,  # noqa: E402
                       DOVEADM)

FORMATS = [None, 'flow', 'tab', 'table', 'pager', 'json', 'formatted']
USERS = ['user%d@example.org' % i for i in range(1, 31)] + ['Mixed.Case@Example.org']


def fmt_args(fmt):
    return ['-f', fmt] if fmt else []


def fmt_name(fmt):
    return fmt or 'default'


def populate(d):
    """Users assigned to hosts (director move creates the assignment), one host down."""
    for i, u in enumerate(USERS[:24]):
        host = ['127.0.0.2', '127.0.0.3', '127.0.0.4'][i % 3]
        d.director('move', u, host)
    d.director('down', '127.0.0.5')


def read_only(d):
    A = d.admin_socket
    users_file = os.path.join(TESTDIR, 'users.txt')
    with open(users_file, 'w') as f:
        # CRLF and a duplicate hash-free name list; the last line has no LF (not read)
        f.write('\n'.join(USERS[:20]) + '\r\nuser21@example.org\nlast-without-lf')
    hash10 = real(['director', 'map', '-a', A, '-u', 'user10@example.org'])[1].split()[0]
    cases = [
        ('status', ['director', 'status', '-a', A]),
        ('status <user> (assigned)', ['director', 'status', '-a', A, 'user1@example.org']),
        ('status <user> (mixed case, %Lu)', ['director', 'status', '-a', A,
                                             'Mixed.Case@Example.org']),
        ('status <user> (unknown)', ['director', 'status', '-a', A, 'nobody@example.org']),
        ('status <user> <tag>', ['director', 'status', '-a', A, 'user2@example.org', 'tagx']),
        ('status <user> <unknown tag>', ['director', 'status', '-a', A, 'user2@example.org',
                                         'nosuchtag']),
        ('ring status', ['director', 'ring', 'status', '-a', A]),
        ('dump -a', ['director', 'dump', '-a', A]),
        ('map (userdb)', ['director', 'map', '-a', A]),
        ('map <ip>', ['director', 'map', '-a', A, '127.0.0.3']),
        ('map <name>', ['director', 'map', '-a', A, 'localhost']),
        ('map -f users_file', ['director', 'map', '-a', A, '-f', users_file]),
        ('map -f users_file <ip>', ['director', 'map', '-a', A, '-f', users_file,
                                    '127.0.0.4']),
        ('map -f - (stdin, empty)', ['director', 'map', '-a', A, '-f', '-']),
        ('map -u', ['director', 'map', '-a', A, '-u', 'user10@example.org']),
        ('map -h', ['director', 'map', '-a', A, '-h', hash10.decode()]),
        ('map -h (no such hash)', ['director', 'map', '-a', A, '-h', '12345']),
        ('map --user-map (long name)', ['director', 'map', '--socket-path', A, '--user-map',
                                        'x@y']),
    ]
    for fmt in FORMATS:
        for what, args in cases:
            # the userdb of `map` is found through base_dir: the config gives it
            compare('%s (-f %s)' % (what, fmt_name(fmt)), fmt_args(fmt) + args,
                    config=d.conf)
    # the socket from base_dir: -c config, -o base_dir=..., and `dump` without -a
    for fmt in FORMATS:
        compare('status, socket from the config\'s base_dir (-f %s)' % fmt_name(fmt),
                fmt_args(fmt) + ['director', 'status'], config=d.conf)
        compare('dump, socket from base_dir, no -a in its lines (-f %s)' % fmt_name(fmt),
                fmt_args(fmt) + ['director', 'dump'], config=d.conf)
        compare('status with -o base_dir= (-f %s)' % fmt_name(fmt),
                fmt_args(fmt) + ['-o', 'base_dir=%s' % d.base_dir, 'director', 'status'])
    # doveadm hashes with its own director_username_hash (-o, or the config)
    for fmt_set in ('%u', '%n', '%Ln@%d', '%d%{user}', '%x'):
        for args in (['director', 'map', '-a', A, '-u', 'Mixed.Case@Example.org'],
                     ['director', 'move', '-a', A, 'Mixed.Case@Example.org', '127.0.0.9'],
                     ['director', 'map', '-a', A, '-f', users_file]):
            compare('director_username_hash=%s: %s' % (fmt_set, args[1]),
                    ['-o', 'director_username_hash=%s' % fmt_set] + args)
    compare('global -h hides the titles (table)', ['-h', 'director', 'status', '-a', A])
    compare('global -h hides the titles (tab)', ['-h', '-f', 'tab', 'director', 'map', '-a',
                                                 A], config=d.conf)


def errors(d):
    A = d.admin_socket
    missing = os.path.join(TESTDIR, 'nonexistent', 'director-admin')
    cases = [
        ('director (no command)', ['director']),
        ('director ring (no command)', ['director', 'ring']),
        ('director foo (unknown)', ['director', 'foo']),
        ('missing socket', ['director', 'status', '-a', missing]),
        ('missing socket (base_dir)', ['-o', 'base_dir=%s' % os.path.dirname(missing),
                                       'director', 'status']),
        ('not a director socket (auth userdb)', ['director', 'status', '-a',
                                                 d.userdb_socket]),
        ('not a director socket (TCP ring port)', ['director', 'status', '-a',
                                                   '%s:%d' % (d.ip, d.ring_port)]),
        ('TCP port nobody listens on', ['director', 'status', '-a', '127.0.0.1:1']),
        ('status: bad option', ['director', 'status', '-x']),
        ('status: extraneous arguments', ['director', 'status', '-a', A, 'u', 't', 'more']),
        ('add: no host', ['director', 'add', '-a', A]),
        ('add: bad vhost count', ['director', 'add', '-a', A, '127.0.0.9', 'abc']),
        ('add: negative vhost count', ['director', 'add', '-a', A, '127.0.0.9', '-1']),
        ('add: vhost count too large', ['director', 'add', '-a', A, '127.0.0.9', '2000']),
        ('add: numeric host', ['director', 'add', '-a', A, '5']),
        ('add: tag changes', ['director', 'add', '-a', A, '127.0.0.4@other']),
        ('add: -t without a value', ['director', 'add', '-a', A, '-t']),
        ('add: unresolvable host', ['director', 'add', '-a', A, 'nonexistent.invalid', '5']),
        ('update: no vhost count', ['director', 'update', '-a', A, '127.0.0.9']),
        ('update: unknown host', ['director', 'update', '-a', A, '127.0.0.9', '10']),
        ('remove: unknown host', ['director', 'remove', '-a', A, '127.0.0.9']),
        ('up: unknown host', ['director', 'up', '-a', A, '127.0.0.9']),
        ('down: no host', ['director', 'down', '-a', A]),
        ('move: unknown host', ['director', 'move', '-a', A, 'user1@example.org',
                                '127.0.0.99']),
        ('move: no host', ['director', 'move', '-a', A, 'user1@example.org']),
        ('kick: no user', ['director', 'kick', '-a', A]),
        ('flush: no host', ['director', 'flush', '-a', A]),
        ('flush: unknown host', ['director', 'flush', '-a', A, '127.0.0.99']),
        ('flush: unknown host, bad --max-parallel', ['director', 'flush', '-a', A,
                                                     '--max-parallel', 'abc', '127.0.0.99']),
        ('flush: unresolvable host', ['director', 'flush', '-a', A, 'nonexistent.invalid']),
        ('map -u: no user', ['director', 'map', '-a', A, '-u']),
        ('map -h: no hash', ['director', 'map', '-a', A, '-h']),
        ('map -f: unreadable file', ['director', 'map', '-a', A, '-f',
                                     os.path.join(TESTDIR, 'nofile')]),
        ('ring add: no ip', ['director', 'ring', 'add', '-a', A]),
        ('ring add: not an ip', ['director', 'ring', 'add', '-a', A, 'foo']),
        ('ring add: port 0', ['director', 'ring', 'add', '-a', A, '127.0.0.1', '0']),
        ('ring add: port too large', ['director', 'ring', 'add', '-a', A, '127.0.0.1',
                                      '99999']),
        ('ring remove: unknown director', ['director', 'ring', 'remove', '-a', A,
                                           '127.0.0.9']),
    ]
    for fmt in (None, 'json', 'tab'):
        for what, args in cases:
            compare('%s (-f %s)' % (what, fmt_name(fmt)), fmt_args(fmt) + args,
                    config=d.conf)
    compare('unknown formatter', ['-f', 'nosuch', 'director', 'status', '-a', A])


def lookup_reply(reply, close=False):
    """A director-admin socket: greets, reads a command, sends reply (or hangs up)."""
    def script(c, log):
        c.sendall(b'VERSION\tdirector-doveadm\t1\t0\n')
        got = recv_until(c, b'\n')
        if got.count(b'\n') < 2:
            got += recv_until(c, b'\n')
        log.append(got)
        if close:
            return
        c.sendall(reply)
        wait_eof(c)
    return script


def scripted():
    path = os.path.join(TESTDIR, 'fake-director-admin')
    cases = [
        ('USER-LOOKUP reply with 3 fields', ['director', 'status', '-a', path, 'u'],
         lookup_reply(b'127.0.0.2\t0\t127.0.0.2\n')),
        ('USER-LOOKUP reply with a bad expire time', ['director', 'status', '-a', path, 'u'],
         lookup_reply(b'127.0.0.2\tsoon\t127.0.0.2\t127.0.0.2\n')),
        ('USER-LOOKUP with an expire time', ['director', 'status', '-a', path, 'u'],
         lookup_reply(b'127.0.0.2\t1700000000\t127.0.0.3\t\n')),
        ('director hangs up after the command', ['director', 'status', '-a', path],
         lookup_reply(b'', close=True)),
        ('HOST-LIST with short and odd lines', ['director', 'status', '-a', path],
         lookup_reply(b'127.0.0.2\t100\t5\n127.0.0.3\t7\t1\ttag\\tx\tD\t1700000000\n'
                      b'127.0.0.4\t1\t0\t\tU\tnot-a-time\n\n')),
        ('USER-LIST with a bad line', ['director', 'map', '-a', path, '-f', '/dev/null'],
         lookup_reply(b'12\t1700000000\t127.0.0.2\nxx\t1\t127.0.0.2\n13\t5\tnot-ip\n\n')),
        ('DIRECTOR-LIST with short and non-numeric lines',
         ['director', 'ring', 'status', '-a', path],
         lookup_reply(b'127.0.0.1\t9090\tleft\t0\tsynced\t5\t10\t20\t0\t0\t1700000000\t0\n'
                      b'handshaking - 3 USERs received\t0\t0\t0\t0\t0\tx\t0\n'
                      b'127.0.0.9\t9090\t\t1700000001\t\n\n')),
        ('add: an error reply', ['director', 'add', '-a', path, '127.0.0.9'],
         lookup_reply(b'vhost count too large\n')),
        ('move: TRYAGAIN', ['director', 'move', '-a', path, 'u', '127.0.0.9'],
         lookup_reply(b'TRYAGAIN\n')),
        ('move: another reply', ['director', 'move', '-a', path, 'u', '127.0.0.9'],
         lookup_reply(b'what\n')),
        ('kick: a failure reply', ['director', 'kick', '-a', path, 'u'],
         lookup_reply(b'TRYAGAIN\n')),
        ('flush all: a failure reply', ['director', 'flush', '-a', path, 'all'],
         lookup_reply(b'NOTFOUND\n')),
        ('flush host: another reply', ['director', 'flush', '-a', path, '127.0.0.9'],
         lookup_reply(b'Ring sync timed out\n')),
        ('ring add: a failure reply', ['director', 'ring', 'add', '-a', path, '127.0.0.9'],
         lookup_reply(b'nope\n')),
    ]
    for what, args, script in cases:
        for fmt in (None, 'tab', 'json'):
            logs = []
            with FakeUnix(path, script) as srv:
                a = real(fmt_args(fmt) + args)
                logs.append(list(srv.log))
            with FakeUnix(path, script) as srv:
                b = compare_mine(fmt_args(fmt) + args)
                logs.append(list(srv.log))
            report(a == b, 'scripted: %s (-f %s)' % (what, fmt_name(fmt)), diff(a, b))
            report(logs[0] == logs[1], 'scripted: %s: same bytes sent (-f %s)'
                   % (what, fmt_name(fmt)), logs)
    # a wrong VERSION line, and a socket that never speaks (doveadm waits 5 s)
    for what, greet in (('wrong VERSION', b'VERSION\tdirector\t1\t0\n'),
                        ('wrong major version', b'VERSION\tdirector-doveadm\t2\t0\n'),
                        ('silent socket', None)):
        def script(c, log, greet=greet):
            if greet:
                c.sendall(greet)
            wait_eof(c, 8)
        with FakeUnix(path, script):
            a = real(['director', 'status', '-a', path])
            b = compare_mine(['director', 'status', '-a', path])
        report(a == b, 'scripted: %s' % what, diff(a, b))


def compare_mine(args):
    from dvcompare import mine
    return mine(args)


def diff(a, b):
    from dvcompare import diff as d
    return d(a, b)


def main():
    d = DovecotDirector('dir', hosts=['127.0.0.2', ('127.0.0.3', 50), ('127.0.0.4', 20, 'tagx'),
                                      '127.0.0.5'],
                        users=USERS, login=False)
    d.start()
    populate(d)
    read_only(d)
    errors(d)
    scripted()
    d.stop()


if __name__ == '__main__':
    assert DOVEADM
    main_guard(main)
