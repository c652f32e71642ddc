# SPDX-License-Identifier: MIT
"""Self-test of dirfix.py: a real Dovecot director (ring of one) answers the real `doveadm
director status` on its director-admin socket with the configured hosts and vhost counts,
hashes users onto them, proxies an IMAP login to the host it names, and is stopped by PID."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard, pid_alive  # noqa: E402
from dirfix import DovecotDirector  # noqa: E402


def main():
    users = {'user%d@example.org' % i: 'pass' for i in range(1, 11)}
    with DovecotBackend('be1', ip='127.0.0.2', users=users) as be1, \
            DovecotBackend('be2', ip='127.0.0.3', imap_port=be1.imap_port,
                           pop3_port=be1.pop3_port, users=users) as be2:
        d = DovecotDirector('dir', hosts=['127.0.0.2', ('127.0.0.3', 50, 'tagb')],
                            users=list(users), backend_imap_port=be1.imap_port,
                            backend_pop3_port=be1.pop3_port)
        d.start()
        report(os.path.exists(d.admin_socket), 'director-admin socket exists', d.admin_socket)

        r = d.director('status')
        out = r.stdout.decode()
        lines = out.split('\n')
        report(r.returncode == 0 and lines[0].split() == ['mail', 'server', 'ip', 'tag',
                                                         'vhosts', 'state', 'state',
                                                         'changed', 'users'],
               'real doveadm director status: header', out)
        rows = {ln.split()[0]: ln.split() for ln in lines[1:] if ln.strip()}
        report(set(rows) == {'127.0.0.2', '127.0.0.3'}, 'both hosts listed', out)
        report(rows.get('127.0.0.2', [''] * 3)[1] == '100' and
               rows.get('127.0.0.3', [''] * 4)[1:3] == ['tagb', '50'],
               'vhost counts 100 and 50 (set by add), tag tagb', out)

        r = d.director('status', 'user1@example.org')
        out = r.stdout.decode()
        report(r.returncode == 0 and 'Hashed' in out and 'Initial config' in out,
               'status user1 shows Current / Hashed / Initial config', out)
        hashed = [ln.split()[1] for ln in out.split('\n') if ln.startswith('Hashed')]

        # the tagged host is only for users with that tag: user1 hashes to 127.0.0.2
        report(hashed == ['127.0.0.2'], 'an untagged user hashes onto the untagged host', out)
        with RawClient(d.ip, d.imap_port) as c:
            c.line()
            c.send(b'a LOGIN user1@example.org pass\r\n')
            last = c.until(b'a ')[-1]
        report(last.startswith(b'a OK'), 'IMAP login through the director proxy', last)
        out = d.director('status', 'user1@example.org').stdout.decode()
        cur = [ln.split()[1] for ln in out.split('\n') if ln.startswith('Current')]
        report(cur == ['127.0.0.2'], 'after the login the user is assigned (Current)', out)
        report(be1.wait_log(r'imap-login: Info: Login: user=<user1@example.org>', 5) is not None,
               'the login reached backend 127.0.0.2', be1.log()[-2000:])

        r = subprocess.run(['doveadm', '-c', d.conf, 'director', 'ring', 'status', '-a',
                            d.admin_socket], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        report(r.returncode == 0 and (b' %d ' % d.ring_port) in r.stdout,
               'ring status names the ring port', r.stdout)

        pids = d.pids()
        d.stop()
        report(not any(pid_alive(p) for p in pids), 'director stopped by PID, nothing left',
               pids)
        d.start()
        out = d.director('status').stdout.decode()
        report('50' in out, 'restart: configured state again (vhosts re-applied)', out)
        d.stop()

        d2 = DovecotDirector('dir2', hosts=['127.0.0.4'], login=False)
        d2.start()
        r = d2.director('status')
        report(r.returncode == 0 and b'127.0.0.4' in r.stdout, 'login=False: admin only',
               r.stdout + r.stderr)
        d2.stop()


main_guard(main)
