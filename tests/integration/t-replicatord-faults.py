# SPDX-License-Identifier: MIT
"""replicatord when things go wrong, with two real Dovecot 2.3 backends: B stopped during
deliveries (and killed in the middle of a sync of a large message), replicatord SIGKILLed
in the middle of a sync and restarted from its state file, a user whose syncs always fail
while the others go on, an unknown user, a wrong doveadm_password, a doveadm server that
never answers, malformed notify lines, and a damaged replicator.db. Nothing is lost or
duplicated: Message-ID lists are compared on both sides."""

import os
import socket
import subprocess
import threading
import time

from fixtures import free_port, main_guard, report, stop_all
from replfix import (Replicatord, backend_pair, seed_inboxes, imap_messages, lmtp_deliver, message,
                     wait_for)

USERS = ['user%d@example.org' % i for i in range(1, 6)]


def status(rp, mask=None):
    r = subprocess.run(['doveadm', '-O', '-f', 'tab', 'replicator', 'status', '-a', rp.admin] +
                       ([mask] if mask else []), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=10)
    rows = [l.split('\t') for l in r.stdout.decode().splitlines()[1:]]
    return {row[0]: row for row in rows}


def mids(be, user):
    return sorted(m for _, _, m in imap_messages(be, user) or [])


def same_on_both(a, b, user, want):
    return mids(a, user) == want and mids(b, user) == want


def all_synced(rp, n=5):
    s = status(rp, '*')
    return len(s) == n and all(r[4] != '-' and r[5] == '-' for r in s.values()) and s


class Silent:
    """A TCP server that accepts and never says a word (a hung doveadm server)."""
    def __init__(self):
        self.ip = '127.0.0.1'
        self.sock = socket.socket()
        self.sock.bind((self.ip, 0))
        self.sock.listen(16)
        self.doveadm_port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return


def main():
    notify_port = free_port()
    a, b = backend_pair(notify_port)
    a.start()
    seed_inboxes(a, b)
    b.start()
    rp = Replicatord(a, b, notify_port).start()
    report(bool(wait_for(lambda: all_synced(rp), timeout=20)), 'start-up: every user synced once',
           repr(status(rp, '*')))

    # --- B down during deliveries: the syncs fail, back off, and catch up when B returns
    b.stop()
    lmtp_deliver(a, USERS[0], message('<down1@test>'))
    lmtp_deliver(a, USERS[1], message('<down2@test>'))
    st = wait_for(lambda: (lambda s: s if s.get(USERS[0], ['']*6)[5] == 'y' else None)(
        status(rp, '*')), timeout=15)
    report(st is not None, 'with B down the sync fails and status shows failed "y"', repr(status(rp, '*')))
    report('sync failed' in rp.log(), 'the failure and its reason are logged',
           rp.log()[-1500:])
    b.start()
    ok = wait_for(lambda: same_on_both(a, b, USERS[0], ['<down1@test>']) and
                  same_on_both(a, b, USERS[1], ['<down2@test>']), timeout=20)
    report(ok, 'when B is back, the retry brings the mail over, once',
           repr((mids(a, USERS[0]), mids(b, USERS[0]), mids(b, USERS[1]))))
    report(bool(wait_for(lambda: all_synced(rp), timeout=15)), 'and the failed marks clear',
           repr(status(rp, '*')))

    # --- B killed in the middle of a sync of a large message
    start = len(rp.log())
    lmtp_deliver(a, USERS[2], message('<big1@test>', size=30 * 1024 * 1024))
    rp.wait_log(r'%s: \w+ sync on' % USERS[2], timeout=10, start=start)
    time.sleep(0.05)
    b.stop()
    time.sleep(0.5)
    b.start()
    ok = wait_for(lambda: same_on_both(a, b, USERS[2], ['<big1@test>']), timeout=30)
    report(ok, 'B stopped during a sync of a 30 MB message: the message is on B once afterwards',
           repr((mids(a, USERS[2]), mids(b, USERS[2]))))

    # --- replicatord SIGKILLed mid-sync; mail arriving while it is down is not lost
    wait_for(lambda: all_synced(rp), timeout=15)
    start = len(rp.log())
    lmtp_deliver(a, USERS[3], message('<big2@test>', size=30 * 1024 * 1024))
    m = rp.wait_log(r'%s: \w+ sync on' % USERS[3], timeout=10, start=start)
    rp.kill()
    report(m is not None, 'replicatord killed with SIGKILL while syncing %s' % USERS[3])
    lmtp_deliver(a, USERS[4], message('<while-down@test>'))
    lmtp_deliver(b, USERS[0], message('<while-down-b@test>'))
    with open(rp.db) as f:
        saved = [l.split('\t')[0] for l in f.read().splitlines()]
    report(sorted(saved) == USERS, 'the state file left by the kill is whole', repr(saved))
    start = len(rp.log())
    rp.start()
    ok = wait_for(lambda: same_on_both(a, b, USERS[3], ['<big2@test>']) and
                  same_on_both(a, b, USERS[4], ['<while-down@test>']) and
                  same_on_both(a, b, USERS[0], ['<down1@test>', '<while-down-b@test>']),
                  timeout=30)
    report(ok, 'after the restart the interrupted sync and the notifications queued by the '
           'aggregators meanwhile all arrive, once each',
           repr([(mids(a, u), mids(b, u)) for u in USERS]))
    after = rp.log()[start:]
    report('5 users from' in after and 'full sync on' not in after,
           'the restart continues from the state file: no full resync of everyone', after[-2000:])

    # --- one user whose syncs always fail does not hold up the others
    home = os.path.join(a.mail_dir, 'example.org', 'user5')
    os.chmod(home, 0)
    try:
        subprocess.run(['doveadm', '-O', 'replicator', 'replicate', '-a', rp.admin, '-p', 'high',
                        USERS[4]], stdout=subprocess.DEVNULL, timeout=10)
        wait_for(lambda: status(rp, USERS[4]).get(USERS[4], ['']*6)[5] == 'y', timeout=10)
        for i in range(4):
            lmtp_deliver(a, USERS[i], message('<hol%d@test>' % i))
        ok = wait_for(lambda: all('<hol%d@test>' % i in mids(b, USERS[i]) for i in range(4)),
                      timeout=15)
        report(ok, 'with %s failing every sync, the other users\' mail still moves' % USERS[4],
               repr([mids(b, u) for u in USERS[:4]]))
        s = status(rp, USERS[4]).get(USERS[4], [])
        report(len(s) == 6 and s[5] == 'y', 'status shows the failing user as failed', repr(s))
        r = subprocess.run(['doveadm', '-O', 'replicator', 'status', '-a', rp.admin],
                           stdout=subprocess.PIPE, timeout=10).stdout.decode()
        report("Waiting 'failed' requests     1" in r or "Queued 'failed' requests      1" in r,
               'the overview counts it under failed requests', r)
    finally:
        os.chmod(home, 0o700)
    spans = rp.sync_spans()
    report(not [s for s in spans if s[2] == 'OVERLAP'],
           'never two syncs of one user at once (%d syncs)' % len(spans))

    # --- an unknown user: its first sync answers NOUSER and it leaves the queue
    subprocess.run(['doveadm', '-O', 'replicator', 'add', '-a', rp.admin, 'ghost@example.org'],
                   timeout=10)
    gone = wait_for(lambda: 'ghost@example.org' not in status(rp, '*'), timeout=10)
    report(gone and 'ghost@example.org: removed from replication' in rp.log(),
           'an unknown user is removed after its first sync (NOUSER)', rp.log()[-800:])

    # --- malformed notify lines: logged, that connection closed, the daemon lives
    for bad, what in ((b'VERSION\treplicator-notify\t1\t0\nU\tuser1@example.org\turgent\n', 'invalid priority'),
                      (b'VERSION\treplicator-notify\t1\t0\nU\tuser1@example.org\tsync\n', 'sync request without'),
                      (b'VERSION\treplicator-notify\t1\t0\nX\tuser1@example.org\thigh\n', 'unknown command'),
                      (b'VERSION\treplicator-notify\t1\t0\nU\tx\n', 'too few fields'),
                      (b'VERSION\tother\t1\t0\nU\tuser1@example.org\thigh\n', 'version mismatch'),
                      (b'VERSION\treplicator-notify\t1\t0\nU\t' + b'x' * 9000 + b'\thigh\n', 'too long')):
        s = socket.create_connection(('127.0.0.1', notify_port), timeout=5)
        s.sendall(bad)
        try:
            data = s.recv(100)
        except OSError:
            data = b'?'
        s.close()
        report(data == b'', 'notify input with %s: connection closed without a reply' % what,
               repr(data))
    s = socket.create_connection(('127.0.0.1', notify_port), timeout=10)
    s.sendall(b'VERSION\treplicator-notify\t1\t0\nU\tuser2@example.org\tsync\t77\n')
    data = b''
    while not data.endswith(b'\n'):    # the reply may come in pieces
        more = s.recv(100)
        if not more:
            break
        data += more
    s.close()
    report(data == b'+\t77\n', 'a well-formed sync request on the same port is answered +\\t77 '
           'after the sync', repr(data))
    report(rp.proc.poll() is None, 'replicatord lives through all of it')

    # --- a wrong doveadm_password and a doveadm server that never answers
    for name, peer, settings, why in (
            ('wrongpw', (a, b), {'doveadm_password': 'wrong'}, 'refused doveadm_password'),
            ('silent', (Silent(), b), {'replicator_connect_timeout': '1s'},
             'timed out waiting for the doveadm server')):
        bad = Replicatord(peer[0], peer[1], free_port(), name=name, notify=False,
                          settings=dict(settings, replicator_list_users='no')).start()
        subprocess.run(['doveadm', '-O', 'replicator', 'replicate', '-a', bad.admin, USERS[0]],
                       stdout=subprocess.DEVNULL, timeout=10)
        m = bad.wait_log(why, timeout=10)
        s = status(bad, USERS[0]).get(USERS[0], [])
        report(m is not None and len(s) == 6 and s[5] == 'y' and bad.proc.poll() is None,
               '%s: the sync fails with "%s" in the log, failed in status, daemon alive' % (name, why),
               bad.log()[-1000:])
        bad.stop()

    rp.stop()
    report(not rp.check_log(), 'no crash or sanitizer report in the log', '\n'.join(rp.check_log()))

    # --- a damaged replicator.db is refused and left as it is
    with open(rp.db, 'a') as f:
        f.write('user9@example.org\t0\tnot-a-time\t0\t0\t0\t\t0\n')
    before = open(rp.db, 'rb').read()
    r = subprocess.run([os.environ.get('MTOOL'), 'replicatord', '-c', rp.conf],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    err = r.stderr.decode()
    report(r.returncode != 0 and 'corrupted replicator record: a time is not a number' in err and
           ':6:' in err and open(rp.db, 'rb').read() == before,
           'a damaged replicator.db: start refused with file:line and why, file untouched', err)
    stop_all()


main_guard(main)
