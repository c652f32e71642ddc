# SPDX-License-Identifier: MIT
"""passdb default_fields / override_fields with %-variables: the same passdb block routes
the same logins through a real Dovecot proxy and through mtool proxyd to a real Dovecot
backend; each login's landing mailbox (or its failure) must be the same, and the expected
one. The Dovecot proxy runs first, so the block is known to be valid Dovecot config."""

import imaplib
import os
import re
import poplib
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, DovecotProxy, RawClient, report, main_guard, _identities
from mtoolfix import Proxyd

# what the login lines end with: no values that differ between the two runs (ports,
# sessions); %{passdb:..} are the fields auth returned, empty elements are left out
LOGLOG = {'login_log_format_elements':
          'user=<%u> service=%s method=%m %c dest=%{passdb:destuser} none=%{passdb:nosuch} '
          'lip=%l %Ln port=%{if;%{passdb:port};==;1;one;other}'}

# login -> its passwd-file extra fields (password 'pass' for all)
USERS = {
    # destuser from the default_fields' %Lu: the login's own mailbox
    'user2@example.org': '',
    # override_fields pick %{passdb:target} when the passdb has it
    'alias@example.org': 'target=user3@example.org',
    # the user's own field is expanded too, with a modifier chain and an if
    'hashed@example.org': 'target=user%{if;%1Mn;lt;8;4;5}@example.org',
    # the passdb's own port replaces the default one: a dead port, the login fails
    'badport@example.org': 'port=1 target=user1@example.org',
    # an override_fields value replaces the passdb's: host from the passdb is ignored
    'redirect@example.org': 'host=192.0.2.1 target=user1@example.org',
}


def passdb_block(path, be):
    return '\n'.join([
        'passdb {',
        '  driver = passwd-file',
        '  args = scheme=PLAIN %s' % path,
        '  default_fields = proxy=y host=192.0.2.1 port=%%{if;%%s;eq;imap;%d;%d}'
        % (be.imap_port, be.pop3_port),
        '  override_fields = host=127.0.0.1 '
        'destuser=%{if;%{passdb:target};eq;;%Lu;%{passdb:target}}',
        '}', ''])


class TemplateProxy(DovecotProxy):
    """The fixture's Dovecot proxy with the test's passdb block instead of its own."""

    def __init__(self, block, **kw):
        super().__init__(**kw)
        self.block = block

    def write_conf(self):
        ids = _identities()
        lines = self._common_conf(ids) + [
            self.block,
            'userdb {\n  driver = static\n  args = uid=%d gid=%d home=/nonexistent '
            'allow_all_users=yes\n}' % (ids.uid, ids.gid),
            'login_proxy_timeout = 5 secs',
        ] + self._tail_conf()
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')


def imap_subject(port, user):
    try:
        c = imaplib.IMAP4('127.0.0.1', port, timeout=15)
        c.login(user, 'pass')
        c.select('INBOX')
        typ, data = c.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
        c.logout()
        return data[0][1].decode().strip()
    except Exception as e:
        return 'failed: %s' % str(e).split(']')[0]


def pop3_subject(port, user):
    try:
        c = poplib.POP3('127.0.0.1', port, timeout=15)
        c.user(user)
        c.pass_('pass')
        lines = c.top(1, 0)[1]
        c.quit()
        return [l.decode() for l in lines if l.startswith(b'Subject:')][0]
    except Exception as e:
        return 'failed: %s' % str(e).split(']')[0]


def run(port_imap, port_pop3):
    out = {}
    for user in USERS:
        out[('imap', user)] = imap_subject(port_imap, user)
    for user in ('user2@example.org', 'alias@example.org'):
        out[('pop3', user)] = pop3_subject(port_pop3, user)
    return out


def main():
    with DovecotBackend('be') as be:
        for i in range(1, 6):
            be.deliver('user%d@example.org' % i, 'Subject: mailbox of user%d\r\n\r\nx\r\n' % i)
        users_file = os.path.join(be.dir, '..', 'templates.passwd')
        with open(users_file, 'w') as f:
            for u, fields in USERS.items():
                f.write('%s:{PLAIN}pass::::::%s\n' % (u, fields))
        os.chmod(users_file, 0o644)
        block = passdb_block(os.path.abspath(users_file), be)

        dv = TemplateProxy(block, name='dvproxy', backend=be, settings=LOGLOG)
        with dv:
            dv.start()
            want = run(dv.imap_port, dv.pop3_port)
        # mtool: its fixture's own passdb is empty (every user unknown: the next passdb)
        with Proxyd(users={}, extra_conf=block,
                    settings=dict(LOGLOG, verbose_proctitle='yes')) as px:
            got = run(px.imap_port, px.pop3_port)
            mlog = px.log()
            # verbose_proctitle: the title counts the connections as Dovecot's does
            clients = [RawClient('127.0.0.1', px.imap_port) for _ in range(2)]
            for c in clients:
                c.line()
            time.sleep(1.5)
            with open('/proc/%d/cmdline' % px.pid, 'rb') as f:
                title = f.read().replace(b'\0', b' ').strip()
            report(title.endswith(b'proxyd [2 pre-login]'), 'verbose_proctitle: %s' % title, title)
            for c in clients:
                c.close()
        dlog = open(dv.log_path, encoding='utf-8', errors='replace').read()
        # what Dovecot gave is what the test means, or the test itself is wrong
        expect_hashed = want[('imap', 'hashed@example.org')]
        meant = {
            ('imap', 'user2@example.org'): 'Subject: mailbox of user2',
            ('imap', 'alias@example.org'): 'Subject: mailbox of user3',
            ('imap', 'redirect@example.org'): 'Subject: mailbox of user1',
            ('pop3', 'user2@example.org'): 'Subject: mailbox of user2',
            ('pop3', 'alias@example.org'): 'Subject: mailbox of user3',
        }
        for k, v in meant.items():
            report(want[k] == v, 'Dovecot proxy: %s %s -> %s' % (k + (v,)), want[k])
        report(expect_hashed in ('Subject: mailbox of user4', 'Subject: mailbox of user5'),
               'Dovecot proxy: hashed@ lands in user4 or user5', expect_hashed)
        report(want[('imap', 'badport@example.org')].startswith('failed'),
               'Dovecot proxy: the passdb\'s own port beats default_fields', want)
        for k in want:
            report(got[k] == want[k], 'mtool as Dovecot: %s %s -> %s' % (k + (want[k],)),
                   'mtool: %s' % got[k])
        px.check_log()
        # login_log_format_elements: the same elements after the same messages
        for user in ('alias@example.org', 'user2@example.org', 'badport@example.org'):
            rx = re.compile(r'imap-login: (?:Info|Error): (proxy\(%s[^)]*\): ).*?: '
                            r'(user=<.*)$' % re.escape(user), re.M)
            dv_lines = [m.group(2) for m in rx.finditer(dlog)]
            mt_lines = [m.group(2) for m in rx.finditer(mlog)]
            report(dv_lines and dv_lines[-1:] == mt_lines[-1:],
                   'login_log_format_elements: %s logged as Dovecot does' % user,
                   'Dovecot %r, mtool %r' % (dv_lines, mt_lines))


main_guard(main)
