# SPDX-License-Identifier: MIT
"""Fixtures for the replicatord tests: a pair of real Dovecot 2.3 backends set up for
replication the way replicatord.8 describes it (notify + replication plugins and the
aggregator on each, doveadm servers on TCP with doveadm_password, mail_replica pointing at
the peer, Dovecot's own replicator without sockets, the aggregator notifying replicatord
over TCP), and `mtool replicatord` itself, started and stopped by PID.

    a, b = backend_pair(notify_port)          # DovecotBackend on 127.0.0.2 and 127.0.0.3
    a.start(); seed_inboxes(a, b); b.start()
    with Replicatord(a, b, notify_port) as rp:  # rp.admin = its replicator-doveadm socket
        lmtp_deliver(a, 'user1@example.org', msg)
        imap_messages(b, 'user1@example.org')  -> [(uid, flags, body bytes)]
"""

import imaplib
import os
import re
import smtplib
import time

import fixtures
from fixtures import DovecotBackend, TESTDIR, free_port
from mtoolfix import MTOOL, Proxyd

DOVEADM_PASSWORD = 'replsecret'


def backend_pair(notify_port, sync_timeout_a=0, users=None, dovecot_replicator=False):
    """Backends A (127.0.0.2) and B (127.0.0.3), not started. sync_timeout_a: the replication
    plugin's replication_sync_timeout on A (0 = off). dovecot_replicator: instead of
    notifying replicatord, each runs Dovecot's own replicator (bench/replicator.py)."""
    ids = fixtures._identities()
    ips = ('127.0.0.2', '127.0.0.3')
    ports = [free_port(ip) for ip in ips]
    # each aggregator notifies its own listener (`backend =`): on one host every source
    # address is 127.0.0.1, so that is how replicatord knows which side changed
    notify_ports = [notify_port, free_port()]
    out = []
    for i, (name, ip) in enumerate((('a', ips[0]), ('b', ips[1]))):
        peer = 1 - i
        lmtp_port = free_port(ip)
        plugin = ['  mail_replica = tcp:%s:%d' % (ips[peer], ports[peer])]
        if i == 0 and sync_timeout_a:
            plugin.append('  replication_sync_timeout = %d' % sync_timeout_a)
        extra = '\n'.join([
            'mail_plugins = $mail_plugins notify replication',
            'doveadm_port = %d' % ports[i],
            'doveadm_password = %s' % DOVEADM_PASSWORD,
            'service doveadm {\n  inet_listener doveadm {\n    address = %s\n    port = %d\n  }\n}'
            % (ip, ports[i]),
            'service lmtp {\n  inet_listener lmtp {\n    address = %s\n    port = %d\n  }\n}'
            % (ip, lmtp_port),
            # Dovecot's replicator gets no socket: nothing starts it
            'service replicator {\n  unix_listener replicator-doveadm {\n    mode = 0\n  }\n'
            '  unix_listener replicator {\n    mode = 0\n  }\n}' if not dovecot_replicator else
            # or its own: dsync (as the mail user) NOTIFYs it through replicator-doveadm
            'service replicator {\n  unix_listener replicator-doveadm {\n    mode = 0600\n'
            '    user = %s\n  }\n}\nreplication_max_conns = 10' % ids.mail_user,
            'service aggregator {\n  fifo_listener replication-notify-fifo {\n    user = %s\n  }\n'
            '  unix_listener replication-notify {\n    user = %s\n  }\n}'
            % (ids.mail_user, ids.mail_user),
            'replicator_host = 127.0.0.1' if not dovecot_replicator else '',
            'replicator_port = %d' % notify_ports[i] if not dovecot_replicator else '',
            'plugin {\n%s\n}' % '\n'.join(plugin),
        ])
        be = DovecotBackend(('d' if dovecot_replicator else '') + name, ip=ip,
                            protocols='imap pop3 lmtp', extra_conf=extra, users=users)
        be.lmtp_port = lmtp_port
        be.doveadm_port = ports[i]
        be.notify_port = notify_ports[i]
        out.append(be)
    return out


class Replicatord(Proxyd):
    """mtool replicatord for the pair (a, b), each aggregator's notifications on its
    own listener (a.notify_port, b.notify_port, 127.0.0.1), its replicator-doveadm socket at
    .admin, an optional TCP admin listener at .admin_port. Started with -D (debug log: each sync's start and end)."""

    kind = 'mtool-replicatord'
    applet = 'replicatord'

    def __init__(self, a, b, notify_port, name='replicatord', settings=None, admin_port=True,
                 args=('-D',), extra_conf='', notify=True):
        super().__init__(name=name, settings=settings, args=args, extra_conf=extra_conf)
        self.notify = notify    # False: no notify listeners (another replicatord has them)
        self.a, self.b = a, b
        self.notify_port = notify_port
        self.admin_port = free_port() if admin_port else 0
        self.admin = os.path.join(self.dir, 'run', 'replicator-doveadm')
        self.state_dir = os.path.join(self.dir, 'state')
        self.db = os.path.join(self.state_dir, 'replicatord', 'replicator.db')
        self.dovecot_db = os.path.join(self.state_dir, 'replicator.db')
        self.log_path = os.path.join(self.dir, 'replicatord.log')

    def write_conf(self):
        os.makedirs(os.path.join(self.dir, 'run'), exist_ok=True)
        ids = fixtures._identities()
        lines = [
            'base_dir = %s/run' % self.dir,
            'state_dir = %s' % self.state_dir,
            'default_internal_user = %s' % ids.internal_user,
            'doveadm_password = %s' % DOVEADM_PASSWORD,
            'replicator_pairs = %s:%d %s:%d' % (self.a.ip, self.a.doveadm_port, self.b.ip,
                                                self.b.doveadm_port),
            'replicator_retry_min = 1s',
            'replicator_retry_max = 2s',
            'replicator_startup_rate = 1000',
            'service replicator {',
        ]
        for be in (self.a, self.b):
            if self.notify and getattr(be, 'notify_port', None):
                lines.append('  inet_listener notify-%s {\n    address = 127.0.0.1\n    port = %d\n'
                             '    backend = %s:%d\n  }' % (be.name, be.notify_port, be.ip,
                                                        be.doveadm_port))
        if self.admin_port:
            lines.append('  inet_listener replicator-doveadm {\n    address = 127.0.0.1\n'
                         '    port = %d\n  }' % self.admin_port)
        lines.append('}')
        lines += ['%s = %s' % kv for kv in self.settings.items()]
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n' + self.extra_conf)

    def kill(self):
        """SIGKILL, as a crash."""
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        if self in fixtures._running:
            fixtures._running.remove(self)

    def sync_spans(self):
        """[(user, start line no, end line no or None)] from the debug log."""
        spans, open_ = [], {}
        for i, line in enumerate(self.log().splitlines()):
            if 'replicatord started' in line:
                # a restart: what the last run had open is ended by the kill
                spans += [(u, s, 'KILLED') for u, s in open_.items()]
                open_ = {}
            m = re.search(r'Debug: (\S+): (full|incremental|normal) sync on ', line)
            if m:
                if m.group(1) in open_:
                    spans.append((m.group(1), open_[m.group(1)], 'OVERLAP'))
                open_[m.group(1)] = i
                continue
            m = re.search(r': (\S+): (?:(?:full|incremental) sync done|sync failed|removed from)',
                          line)
            if m and m.group(1) in open_:
                spans.append((m.group(1), open_.pop(m.group(1)), i))
        return spans + [(u, s, None) for u, s in open_.items()]


def seed_inboxes(a, b):
    """Call with A started and B not: creates every user's INBOX on A and copies it, GUID
    included, into B's storage. Two INBOXes created independently on A and B have
    different GUIDs, and dsync then fails for that user for good ("Remote lost mailbox
    GUID"): the same seeding the lab does for Dovecot's own replicator (replicator.md
    §4.5, §6.6). The mail_plugins are off so that nothing notifies replicatord."""
    ids = fixtures._identities()
    os.makedirs(b.mail_dir, exist_ok=True)
    if ids.root:
        os.chown(b.mail_dir, ids.uid, ids.gid)
    a.doveadm('-o', 'mail_plugins=', 'mailbox', 'status', '-A', 'guid', 'INBOX')
    for user in a.users:
        name, domain = user.split('@')
        a.doveadm('-o', 'mail_plugins=', 'sync', '-u', user,
                  'maildir:%s/%s/%s/Maildir' % (b.mail_dir, domain, name))


def lmtp_deliver(be, rcpt, msg):
    """Deliver msg (str) to rcpt on backend be over LMTP; returns the seconds it took."""
    t = time.monotonic()
    with smtplib.LMTP(be.ip, be.lmtp_port, timeout=30) as s:
        s.sendmail('sender@example.com', [rcpt], msg.encode())
    return time.monotonic() - t


def imap_login(be, user):
    m = imaplib.IMAP4(be.ip, be.imap_port, timeout=15)
    m.login(user, 'pass')
    return m


def imap_messages(be, user, mailbox='INBOX'):
    """[(uid, flags string, Message-ID)] of the mailbox, or None if it does not exist."""
    m = imap_login(be, user)
    try:
        typ, _ = m.select('"%s"' % mailbox, readonly=True)
        if typ != 'OK':
            return None
        typ, data = m.uid('FETCH', '1:*', '(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
        out = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            head = item[0].decode()
            uid = int(re.search(r'UID (\d+)', head).group(1))
            flags = re.search(r'FLAGS \(([^)]*)\)', head).group(1)
            mid = re.search(rb'Message-ID: *(\S+)', item[1], re.I)
            out.append((uid, flags, mid.group(1).decode() if mid else ''))
        return out
    finally:
        m.logout()


def imap_mailboxes(be, user):
    m = imap_login(be, user)
    try:
        typ, data = m.list()
        return sorted(re.search(rb'"([^"]*)"$|(\S+)$', d).group(0).decode().strip('"')
                      for d in data if d)
    finally:
        m.logout()


def wait_for(fn, timeout=15.0, step=0.1):
    """Calls fn() until it returns a true value or timeout; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def message(mid, size=0):
    body = ('x' * 76 + '\r\n') * (size // 78) if size else 'hello\r\n'
    return ('From: sender@example.com\r\nTo: rcpt@example.org\r\nSubject: test %s\r\n'
            'Message-ID: %s\r\n\r\n%s' % (mid, mid, body))
