# SPDX-License-Identifier: MIT
"""replicatord moves mail between two real Dovecot 2.3 backends: start-up listing and
first syncs, LMTP delivery to A readable on B, flags and expunges made on B reaching A,
folder create and rename, a sync request (replication_sync_timeout on A) answered after
its sync, no two syncs of one user at once, and the state file written as it goes."""

import os
import socket
import subprocess

from fixtures import free_port, main_guard, report, stop_all
from replfix import (Replicatord, backend_pair, seed_inboxes, imap_login, imap_mailboxes, imap_messages,
                     lmtp_deliver, message, wait_for)

USERS = ['user%d@example.org' % i for i in range(1, 6)]


def status(rp, mask):
    r = subprocess.run(['doveadm', '-O', '-f', 'tab', 'replicator', 'status', '-a', rp.admin,
                        mask], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    rows = [l.split('\t') for l in r.stdout.decode().splitlines()[1:]]
    return {row[0]: row for row in rows}


def mids(rows):
    return sorted(m for _, _, m in rows or [])


def main():
    notify_port = free_port()
    a, b = backend_pair(notify_port, sync_timeout_a=10)
    a.start()
    seed_inboxes(a, b)
    b.start()
    rp = Replicatord(a, b, notify_port, extra_conf=(
        'service aggregator {\n  unix_listener replication-notify {\n    mode = 0600\n  }\n'
        '  fifo_listener replication-notify-fifo {\n    mode = 0600\n  }\n}\n')).start()

    # start-up: the users are listed through A's doveadm server and synced once
    st = wait_for(lambda: (lambda s: s if len(s) == 5 and all(r[4] != '-' for r in s.values())
                           else None)(status(rp, '*')), timeout=20)
    report(st is not None and sorted(st) == USERS,
           'start-up lists the 5 users through A and syncs each once', repr(status(rp, '*')))

    # LMTP to A (with replication_sync_timeout: the reply waits for the sync) -> on B at once
    took = lmtp_deliver(a, USERS[0], message('<m1@test>'))
    on_b = imap_messages(b, USERS[0])
    report(mids(on_b) == ['<m1@test>'],
           'LMTP delivery to A is on B when LMTP answers (sync request answered after its '
           'sync, %.2f s)' % took, repr(on_b))
    report('Sync failure' not in a.log() and 'Panic' not in rp.log(),
           'the sync request got "+" (no "Sync failure" on A)', a.log()[-2000:])

    # more mail, then a flag and an expunge made on B reach A (B's aggregator: "low")
    lmtp_deliver(a, USERS[0], message('<m2@test>'))
    lmtp_deliver(a, USERS[0], message('<m3@test>'))
    m = imap_login(b, USERS[0])
    m.select('INBOX')
    typ, data = m.uid('SEARCH', 'HEADER', 'Message-ID', '<m2@test>')
    uid2 = data[0].decode()
    typ, data = m.uid('SEARCH', 'HEADER', 'Message-ID', '<m3@test>')
    uid3 = data[0].decode()
    m.uid('STORE', uid2, '+FLAGS', '(\\Flagged)')
    m.uid('STORE', uid3, '+FLAGS', '(\\Deleted)')
    m.expunge()
    m.create('Projects')
    m.logout()

    def a_has_changes():
        rows = imap_messages(a, USERS[0])
        flagged = [mid for _, fl, mid in rows if '\\Flagged' in fl]
        return mids(rows) == ['<m1@test>', '<m2@test>'] and flagged == ['<m2@test>'] and rows
    rows = wait_for(a_has_changes, timeout=15)
    report(bool(rows), 'a flag set and a message expunged on B reach A', repr(imap_messages(a, USERS[0])))
    boxes = wait_for(lambda: 'Projects' in imap_mailboxes(a, USERS[0]), timeout=15)
    report(boxes, 'a folder created on B reaches A', repr(imap_mailboxes(a, USERS[0])))

    # a rename on A reaches B
    m = imap_login(a, USERS[0])
    m.rename('Projects', 'Archive')
    m.logout()
    ok = wait_for(lambda: (lambda l: 'Archive' in l and 'Projects' not in l)(
        imap_mailboxes(b, USERS[0])), timeout=15)
    report(ok, 'a folder renamed on A is renamed on B', repr(imap_mailboxes(b, USERS[0])))

    # every user's mail, both directions at once: deliveries to A and B for all users
    for u in USERS:
        lmtp_deliver(a, u, message('<a-%s>' % u))
        lmtp_deliver(b, u, message('<b-%s>' % u))
    want = {u: sorted(['<a-%s>' % u, '<b-%s>' % u] + (['<m1@test>', '<m2@test>'] if u == USERS[0] else []))
            for u in USERS}
    ok = wait_for(lambda: all(mids(imap_messages(a, u)) == want[u] and
                              mids(imap_messages(b, u)) == want[u] for u in USERS), timeout=20)
    report(ok, 'deliveries to A and to B for every user end up on both, once each',
           repr({u: (mids(imap_messages(a, u)), mids(imap_messages(b, u))) for u in USERS}))

    # the replication plugin's own socket and FIFO, served by replicatord itself (for a
    # replicatord on a backend's base_dir, without Dovecot's aggregator)
    a.doveadm('-o', 'mail_plugins=', 'save', '-u', USERS[2], input=message('<fifo@test>').encode())
    with open(os.path.join(rp.dir, 'run', 'replication-notify-fifo'), 'w') as f:
        f.write('%s\thigh\n' % USERS[2])
    ok = wait_for(lambda: '<fifo@test>' in mids(imap_messages(b, USERS[2])), timeout=10)
    report(ok, 'a "<user>\\thigh" line on replication-notify-fifo syncs that user')
    a.doveadm('-o', 'mail_plugins=', 'save', '-u', USERS[3], input=message('<sock@test>').encode())
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(os.path.join(rp.dir, 'run', 'replication-notify'))
    s.sendall(('%s\tsync\n' % USERS[3]).encode())
    reply = b''
    while not reply.endswith(b'\n'):
        d = s.recv(10)
        if not d:
            break
        reply += d
    s.close()
    on_b = mids(imap_messages(b, USERS[3]))
    report(reply == b'+\n' and '<sock@test>' in on_b,
           '"<user>\\tsync" on replication-notify is answered "+" once the mail is on B',
           repr((reply, on_b)))

    # who may connect: the admin socket is root's, the notify socket the internal user's
    import pwd
    for name, mode, owner in (('replicator-doveadm', 0o600, 'root'),
                              ('replicator', 0o600, 'dovecot' if os.geteuid() == 0 else None),
                              ('replication-notify', 0o600, 'root')):
        st = os.stat(os.path.join(rp.dir, 'run', name))
        who = pwd.getpwuid(st.st_uid).pw_name
        report(st.st_mode & 0o777 == mode and (owner is None or who == owner),
               'socket %s is mode %o, owned by %s' % (name, mode, owner or who),
               '%o %s' % (st.st_mode & 0o777, who))
    report(pwd.getpwuid(os.stat('/proc/%d' % rp.pid).st_uid).pw_name ==
           ('dovecot' if os.geteuid() == 0 else pwd.getpwuid(os.getuid()).pw_name),
           'replicatord runs as default_internal_user after binding')

    # replicate -f really runs a full sync (Dovecot's replicator drops the -f)
    start = len(rp.log())
    subprocess.run(['doveadm', '-O', 'replicator', 'replicate', '-a', rp.admin, '-f', USERS[4]],
                   stdout=subprocess.DEVNULL, timeout=10)
    m = rp.wait_log(r'%s: full sync done' % USERS[4], timeout=10, start=start)
    report(m is not None and '%s: full sync on' % USERS[4] in rp.log()[start:],
           '`replicate -f` runs a full sync', rp.log()[start:][-1000:])

    spans = rp.sync_spans()
    overlaps = [s for s in spans if s[2] == 'OVERLAP']
    report(spans and not overlaps, 'never two syncs of one user at once (%d syncs)' % len(spans),
           repr(overlaps))
    locks = [l for l in a.log().splitlines() + b.log().splitlines() if 'Timed out after' in l]
    report(not locks, 'no dsync lock timeouts in the backends\' logs', '\n'.join(locks[:5]))

    # the state file is written while running, in Dovecot's format plus the initiator
    with open(rp.db) as f:
        lines = f.read().splitlines()
    cols = [l.split('\t') for l in lines]
    report(len(lines) == 5 and all(len(c) == 10 and c[8] == '%s:%d' % (a.ip, a.doveadm_port)
                                   and c[6].startswith('AQAAA') for c in cols),
           'replicator.db has every user, 8 Dovecot columns + pair and second state, with states',
           '\n'.join(lines))
    st = os.stat(rp.db)
    report(st.st_mode & 0o777 == 0o600, 'replicator.db is mode 0600', oct(st.st_mode))

    code = rp.stop()
    report(code == 0 and not rp.check_log(), 'replicatord stops cleanly on SIGTERM',
           '\n'.join(rp.check_log()))
    stop_all()


main_guard(main)
