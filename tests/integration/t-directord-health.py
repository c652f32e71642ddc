# SPDX-License-Identifier: MIT
"""directord's health checks against two real Dovecot backends (IMAP with a test login, and
POP3): a stopped backend is marked down after the configured failed rounds, its users are
moved to the other host, `doveadm director status` shows it; started again, it comes back
up after the configured good rounds. Then the state file: directord killed with SIGKILL
keeps what it had saved, a clean restart keeps everything, a damaged file is reported."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, report, main_guard, free_port, port_listening  # noqa: E402
from directordfix import Directord, admin_lines, wait_until as wait  # noqa: E402

A, B = '127.0.0.2', '127.0.0.3'


def two_free_ports():
    while True:
        p = free_port(A)
        if not port_listening(B, p):
            return p


def host_state(dd, ip):
    for l in admin_lines(dd.admin_socket, ['HOST-LIST'])[0]:
        f = l.split('\t')
        if f[0] == ip:
            return f
    return None


def main():
    imap, pop3, lmtp = two_free_ports(), two_free_ports(), two_free_ports()
    lmtp_conf = 'service lmtp {\n  inet_listener lmtp {\n    port = %d\n  }\n}\n' % lmtp
    bea = DovecotBackend('be-a', ip=A, imap_port=imap, pop3_port=pop3, protocols='imap pop3 lmtp',
                         extra_conf=lmtp_conf).start()
    beb = DovecotBackend('be-b', ip=B, imap_port=imap, pop3_port=pop3, protocols='imap pop3 lmtp',
                         extra_conf=lmtp_conf).start()
    dd = Directord(hosts=[A, B], settings={
        'director_health_check': 'yes',
        'director_health_check_ports': 'imap:%d pop3:%d lmtp:%d' % (imap, pop3, lmtp),
        'director_health_check_interval': '300ms',
        'director_health_check_timeout': '2s',
        'director_health_check_fails': '2',
        'director_health_check_rises': '2',
        'director_health_check_user': 'user1@example.org',
        'director_health_check_password': 'pass',
        'director_user_kick_delay': '0',
    }).start()
    users = ['user%d@example.org' % i for i in range(1, 41)]
    for u in users:
        dd.director('move', u, B)
    report(all(l.split('\t')[2] == B for l in admin_lines(dd.admin_socket, ['USER-LIST'])[0]),
           '40 users assigned to B')
    time.sleep(1)
    report(host_state(dd, B)[4] == 'U' and 'failed' not in dd.log(),
           'both backends pass the checks (IMAP login, POP3 greeting, LMTP)', dd.log()[-800:])
    report(re.search(r'Login: user=<user1@example.org>', bea.log()) is not None,
           'the IMAP test login reached the backend')
    report(re.search(r'lmtp\(\d+\): Info: Connect from', bea.log()) is not None and
           'failed' not in dd.log(), 'the LMTP probe (LHLO, MAIL, RCPT) passes', bea.log()[-800:])

    beb.stop()
    ok = wait(lambda: host_state(dd, B)[4] == 'D')
    report(ok, 'the stopped backend is marked down', dd.log()[-1500:])
    report(dd.wait_log(r'health check: host 127\.0\.0\.3 failed \(2/2\): imap port %d: ' % imap) is not None and
           dd.wait_log(r'health check: Host 127\.0\.0\.3 changed down') is not None,
           'the failures and the change are logged', dd.log()[-1500:])
    ok = wait(lambda: all(l.split('\t')[2] == A for l in admin_lines(dd.admin_socket, ['USER-LIST'])[0]))
    report(ok and dd.wait_log(r'Moved 40 users in 1 hosts') is not None,
           'its 40 users were moved to A', dd.log()[-1500:])
    st = dd.director('status').stdout.decode()
    report(re.search(r'127\.0\.0\.3\s+100\s+down\s+\d{4}-', st) is not None,
           'doveadm director status shows it down with the time of the change', st)

    beb.start()
    ok = wait(lambda: host_state(dd, B)[4] == 'U')
    report(ok and dd.wait_log(r'health check: host 127\.0\.0\.3 answers again \(2 good rounds in a row\)') is not None,
           'back up after 2 good rounds in a row', dd.log()[-1500:])

    # an operator's "down" is not undone by the checks
    dd.director('down', A)
    time.sleep(1.5)
    report(host_state(dd, A)[4] == 'D', 'a host the operator took down stays down')
    dd.director('up', A)

    # state file: saved within a second of a change, survives SIGKILL. Without the checks
    # from here: they would (rightly) take the unreachable 127.0.0.9 down and move its user
    dd.stop()
    dd.settings['director_health_check'] = 'no'
    dd.start()
    dd.director('add', '127.0.0.9', '7')
    dd.director('move', 'keep@example.org', '127.0.0.9')
    dump = dd.director('dump').stdout
    users_before = admin_lines(dd.admin_socket, ['USER-LIST'])[0]

    def saved():
        try:
            with open(dd.state_path()) as f:
                t = f.read()
        except FileNotFoundError:
            return False
        return '127.0.0.9\t\t7' in t and t.count('\nuser\t') == len(users_before)
    report(wait(saved), 'the state file has the new host and every assignment')
    dd.proc.send_signal(signal.SIGKILL)
    dd.proc.wait()
    dd.proc = None
    dd.start()
    report(dd.director('dump').stdout == dump, 'after SIGKILL the hosts are restored (dump equal)',
           dd.director('dump').stdout)
    users_after = admin_lines(dd.admin_socket, ['USER-LIST'])[0]
    report(sorted(users_after) == sorted(users_before),
           'after SIGKILL the %d assignments are restored' % len(users_before),
           '\n'.join(sorted(set(users_before) ^ set(users_after))))
    dd.director('update', '127.0.0.9', '9')
    dd.stop()
    dd.start()
    report(b'127.0.0.9 9' in dd.director('dump').stdout, 'a change just before a clean stop is kept')
    dd.stop()
    bad = dd.check_log()
    report(not bad, 'no sanitizer reports in the log', '\n'.join(bad))
    with open(dd.state_path(), 'w') as f:
        f.write('garbage\n')
    report(dd.refuses_to_start() and 'not a directord state file' in dd.log(),
           'a damaged state file is reported and directord does not start on it', dd.log()[-500:])
    bea.stop()
    beb.stop()


main_guard(main)
