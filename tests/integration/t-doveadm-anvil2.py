# SPDX-License-Identifier: MIT
"""mtool doveadm who|kick against an anvil that speaks version 2 (Dovecot 2.4's protocol, as
mtool proxyd serves it; docs/anvil-protocol.md): a scripted server checks the lines mtool
sends and the outputs are pinned here (Debian's doveadm 2.3 cannot speak version 2). Also
how the version is found: a version 2 server greets first, a silent one is version 1, a
late greeting restarts the client in version 2."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import TESTDIR, report, main_guard
from dvcompare import FakeUnix, AnvilV2, anvil_v1_script, mine

SOCK = os.path.join(TESTDIR, 'anvil')
G = ['0123456789abcdef0123456789abcde%d' % i for i in range(5)]
SESSIONS = [['1234', 'user1@example.org', 'imap', '127.0.0.1', G[1], '10.0.0.1', 'blue'],
            ['1234', 'user1@example.org', 'imap', '127.0.0.9', G[2], '10.0.0.2', ''],
            ['1235', 'user2@example.org', 'pop3', '::1', G[3], '10.0.0.1'],
            ['1235', 'us\x01ter3', 'imap', '', G[4], '']]
HELLO = [b'VERSION\tanvil-client\t2\t0', b'']


def check(what, args, want_out, want_cmds, want_rc=0, want_err=b'', server=None):
    a = server or AnvilV2(['user_team'], SESSIONS, kick=lambda line: b'1\n')
    with FakeUnix(SOCK, a):
        r = mine([args[0], '-a', SOCK] + args[1:])
    if isinstance(want_out, str):
        want_out = want_out.encode()
    ok = r == (want_rc, want_out, want_err) and (want_cmds is None or a.cmds == want_cmds)
    report(ok, what, 'got %r\nsent %r\nwant %r\nwant sent %r'
           % (r, a.cmds, (want_rc, want_out, want_err), want_cmds))
    return a


def main():
    dump = HELLO + [b'CONNECT-DUMP']
    check('who', ['who'],
          'username          # proto (pids) (ips)                             \n'
          'user1@example.org 2 imap  (1234) (127.0.0.1 127.0.0.9)             \n'
          'user2@example.org 1 pop3  (1235) (::1)                             \n'
          'us\ter3            1 imap  (1235) ()                                \n', dump)
    check('who -1: 2.3 columns, then dest ip and the passdb fields', ['who', '-1'],
          'username                     proto pid  ip        dest ip  user_team\n'
          'user1@example.org            imap  1234 127.0.0.1 10.0.0.1 blue     \n'
          'user1@example.org            imap  1234 127.0.0.9 10.0.0.2          \n'
          'user2@example.org            pop3  1235 ::1       10.0.0.1          \n'
          'us\ter3                       imap  1235                             \n', dump)
    a = AnvilV2(['user_team'], SESSIONS)
    with FakeUnix(SOCK, a):
        r = mine(['-f', 'json', 'who', '-1', '-a', SOCK, 'user2*'])
    report(r == (0, b'[{"username":"user2@example.org","service":"pop3","pid":"1235","ip":"::1",'
                    b'"dest_ip":"10.0.0.1","user_team":""}]', b''), 'who -1 -f json: keys', r)
    check('who user mask', ['who', 'user1*'],
          'username          # proto (pids) (ips)                             \n'
          'user1@example.org 2 imap  (1234) (127.0.0.1 127.0.0.9)             \n', dump)
    check('who -f FIELD MASK: the mask applies to the passdb field', ['who', '-f', 'user_team', 'b*'],
          'username          # proto (pids) (ips)                        \n'
          'user1@example.org 1 imap  (1234) (127.0.0.1)                  \n', dump)
    check('who -f unknown field: nothing matches', ['who', '-f', 'user_nosuch', '*'],
          'username # proto (pids) (ips)                         \n', dump)
    check('who -1 network', ['who', '-1', '127.0.0.9'],
          'username                     proto pid  ip        dest ip  user_team\n'
          'user1@example.org            imap  1234 127.0.0.9 10.0.0.2          \n', dump)

    check('kick user: KICK-USER, no dump', ['kick', 'user2@example.org'],
          '1 connections kicked\n', HELLO + [b'KICK-USER\tuser2@example.org'])
    check('kick user with a TAB: escaped', ['kick', 'a\tb'],
          '1 connections kicked\n', HELLO + [b'KICK-USER\ta\x01tb'])
    check('kick mask: dump, then KICK-USER per session', ['kick', 'user1*'],
          '2 connections kicked\n',
          dump + [b'KICK-USER\tuser1@example.org\t' + G[1].encode(),
                  b'KICK-USER\tuser1@example.org\t' + G[2].encode()])
    check('kick -h dest host', ['kick', '-h', '10.0.0.1'], '2 connections kicked\n',
          dump + [b'KICK-USER\tuser1@example.org\t' + G[1].encode(),
                  b'KICK-USER\tuser2@example.org\t' + G[3].encode()])
    check('kick -h dest host and mask', ['kick', '-h', '10.0.0.1', 'user1*'],
          '1 connections kicked\n', dump + [b'KICK-USER\tuser1@example.org\t' + G[1].encode()])
    check('kick client IP', ['kick', '127.0.0.9'], '1 connections kicked\n',
          dump + [b'KICK-USER\tuser1@example.org\t' + G[2].encode()])
    check('kick -f FIELD VALUE: KICK-ALT-USER', ['kick', '-f', 'user_team', 'blue'],
          '1 connections kicked\n', HELLO + [b'KICK-ALT-USER\tuser_team\tblue'])
    check('kick --passdb-field FIELD MASK', ['kick', '--passdb-field', 'user_team', 'b*'],
          '1 connections kicked\n', dump + [b'KICK-USER\tuser1@example.org\t' + G[1].encode()])
    check('kick -f FIELD without a value', ['kick', '-f', 'user_team'], b'', [],
          64, b'Error: Username must be given with passdb-field parameter\n')
    check('kick nobody: 0, exit 0 (as doveadm 2.4)', ['kick', 'nobody*'],
          '0 connections kicked\n', dump)
    a = AnvilV2(['user_team'], SESSIONS, kick=lambda line: b'1\n')
    with FakeUnix(SOCK, a):
        r = mine(['-f', 'json', 'kick', '-a', SOCK, 'user2@example.org'])
    report(r == (0, b'[{"count":"1"}]', b''), 'kick -f json', r)
    many = [['99', 'bulk%d' % i, 'imap', '10.9.0.%d' % (i % 250), '%032x' % (i + 1), '10.0.0.5']
            for i in range(300)]
    a = check('kick 300 sessions: pipelined KICK-USER', ['kick', 'bulk*'],
              '300 connections kicked\n', None,
              server=AnvilV2([], many, kick=lambda line: b'1\n'))
    report(len(a.cmds) == 303, 'kick 300 sessions: 300 commands', len(a.cmds))
    check('kick: error reply', ['kick', 'user2@example.org'], '0 connections kicked\n', None, 75,
          b'Error: Unexpected reply from anvil: -Unknown command\n',
          AnvilV2([], SESSIONS, kick=lambda line: b'-Unknown command\n'))
    check('kick -h: not an IP', ['kick', '-h', 'backend.example.org'], b'', None, 75,
          b'Fatal: dest-host isn\'t a valid IP address\n')

    # the dump's errors (doveadm 2.4's texts): exit 75, what came is printed
    check('who: invalid dump line', ['who', '-1'],
          'username                     proto pid  ip        dest ip  user_team\n'
          'user1@example.org            imap  1234 127.0.0.1 10.0.0.1 blue     \n', None, 75,
          b'Error: Invalid input: 12\tu\timap\t\tnot-a-guid\t\n',
          AnvilV2([], [], dump_raw=b'user_team\n' + b'\t'.join(f.encode() for f in SESSIONS[0])
                  + b'\n12\tu\timap\t\tnot-a-guid\t\n\n'))
    check('who: anvil hangs up mid-dump', ['who', '-1'],
          'username                          proto pid ip dest ip\n', None, 75,
          ('Error: read(%s) failed: Unexpected EOF\n' % SOCK).encode(),
          AnvilV2([], [], dump_raw=b'\n'))

    # finding the version
    check('a late greeting: version 2 after all (the v1 attempt is refused)', ['kick', 'user2@example.org'],
          '1 connections kicked\n', [b'VERSION\tanvil\t1\t0'] + HELLO +
          [b'KICK-USER\tuser2@example.org'],
          server=AnvilV2([], SESSIONS, kick=lambda line: b'1\n', greet_delay=0.5))
    check('an unknown VERSION line', ['who'], b'', None, 75,
          b'Fatal: Invalid VERSION line: VERSION\tanvil-server\t3\t0\n',
          AnvilV2([], SESSIONS, greet=b'VERSION\tanvil-server\t3\t0\n'))
    with FakeUnix(SOCK, anvil_v1_script(b'imap/1.2.3.4/u\t1\t1\n\n')):
        r = mine(['kick', '-a', SOCK, '-h', '10.0.0.1'])
        report(r[0] == 64 and b'needs anvil protocol version 2' in r[2],
               'kick -h against a version 1 anvil: refused', r)
        r = mine(['who', '-a', SOCK, '-f', 'user_team', 'x'])
        report(r[0] == 64 and b'needs anvil protocol version 2' in r[2],
               'who -f against a version 1 anvil: refused', r)
        r = mine(['kick', '-a', SOCK, '--passdb-field', 'user_x', 'x'])
        report(r[0] == 64 and b'needs anvil protocol version 2' in r[2],
               'kick --passdb-field against a version 1 anvil: refused', r)


main_guard(main)
