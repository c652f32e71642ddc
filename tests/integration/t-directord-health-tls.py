# SPDX-License-Identifier: MIT
"""directord's health checks over TLS against a real Dovecot backend configured with TLS
(a CA and a certificate made with the openssl command line): STARTTLS on IMAP, POP3, LMTP,
Submission and ManageSieve and the implicit-TLS imaps/pop3s ports with the backend's CA trusted keep the host up,
the test login goes over TLS; with a wrong CA the host goes down after the configured
failed rounds with the reason logged, and no login reaches the backend; with
director_health_check_ssl_any_cert the implicit-TLS ports pass again."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, report, main_guard, free_port  # noqa: E402
from directordfix import Directord, admin_lines, wait_until as wait  # noqa: E402
from tlsfix import make_ca, make_cert  # noqa: E402
from mailfix import SmtpSink, mail_backend_kw, mail_backend_ports  # noqa: E402

A = '127.0.0.2'


def host_up(dd):
    for l in admin_lines(dd.admin_socket, ['HOST-LIST'])[0]:
        f = l.split('\t')
        if f[0] == A:
            return f[4] == 'U'
    return None


def logins(be):
    return re.findall(r'imap-login: Info: Login: user=<user1@example.org>.*', be.log())


def main():
    ca, wrong = make_ca('ca'), make_ca('wrongca')
    leaf = make_cert(ca, 'backend', ['backend.test'], ips=[A])
    lmtp = free_port(A)
    sink = SmtpSink().start()
    subm, sieve = mail_backend_ports(A)
    kw = mail_backend_kw(sink, subm, sieve)
    kw['protocols'] += ' lmtp'
    kw['extra_conf'] += '\nservice lmtp {\n  inet_listener lmtp {\n    port = %d\n  }\n}\n' % lmtp
    be = DovecotBackend('be', ip=A, ssl=True, **kw)
    os.makedirs(os.path.join(be.dir, 'ssl'), exist_ok=True)
    shutil.copy(leaf['chain'], os.path.join(be.dir, 'ssl', 'cert.pem'))
    shutil.copy(leaf['key'], os.path.join(be.dir, 'ssl', 'key.pem'))
    be.start()
    all_ports = ('imap:%d/starttls pop3:%d/starttls lmtp:%d/starttls submission:%d/starttls '
                 'sieve:%d/starttls imaps:%d pop3s:%d') % (
        be.imap_port, be.pop3_port, lmtp, subm, sieve, be.imaps_port, be.pop3s_port)
    settings = {
        'director_state_file': '',
        'director_health_check': 'yes',
        'director_health_check_ports': all_ports,
        'director_health_check_interval': '300ms',
        'director_health_check_timeout': '3s',
        'director_health_check_fails': '2',
        'director_health_check_rises': '2',
        'director_health_check_user': 'user1@example.org',
        'director_health_check_password': 'pass',
        'director_health_check_ssl_ca_file': '<' + ca['cert'],
    }
    dd = Directord(hosts=[A], settings=settings).start()

    # the right CA: every TLS probe passes, the test logins go over TLS
    report(wait(lambda: len(logins(be)) >= 4) and host_up(dd) and 'failed' not in dd.log(),
           'STARTTLS (IMAP, POP3, LMTP, Submission, ManageSieve) and imaps/pop3s probes pass with the backend\'s CA',
           dd.log()[-1500:] + be.log()[-1500:])
    ls = logins(be)
    report(ls and all('TLS' in l for l in ls), 'every test login reached the backend over TLS',
           '\n'.join(ls[:6]))
    pl = re.findall(r'pop3-login: Info: Disconnected.*', be.log())
    report(pl and all('TLS' in l for l in pl), 'the POP3 probes (STLS, pop3s) reached the backend over TLS',
           be.log()[-1500:])
    for svc in ('submission-login', 'managesieve-login'):
        sl = re.findall(svc + r': Info: Disconnected.*', be.log())
        report(sl and all('TLS' in l for l in sl), 'the %s probes reached the backend over TLS' % svc[:-6],
               be.log()[-1500:])
    report(re.search(r'lmtp\(\d+\): Info: Disconnect from .*\(state=RCPT TO\)', be.log()) is not None,
           'the LMTP probe got to RCPT TO after its STARTTLS', be.log()[-1500:])
    dd.stop()

    # a wrong CA: STARTTLS fails verification, the host goes down after 2 failed rounds
    dd.settings['director_health_check_ssl_ca_file'] = '<' + wrong['cert']
    dd.settings['director_health_check_ports'] = 'imap:%d/starttls' % be.imap_port
    n_logins = len(logins(be))
    dd.start()
    report(wait(lambda: host_up(dd) is False), 'with a wrong CA the host goes down', dd.log()[-1500:])
    reason = r'imap port %d: STARTTLS handshake failed: certificate is not trusted \(unknown CA\)' % be.imap_port
    report(dd.wait_log(r'health check: host 127\.0\.0\.2 failed \(1/2\): ' + reason) is not None and
           dd.wait_log(r'health check: host 127\.0\.0\.2 failed \(2/2\): ' + reason) is not None and
           dd.wait_log(r'health check: Host 127\.0\.0\.2 changed down') is not None,
           'the failed rounds and the reason are logged, then the change', dd.log()[-1500:])
    st = dd.director('status').stdout.decode()
    report(re.search(r'127\.0\.0\.2\s+100\s+down\s', st) is not None, 'doveadm director status shows it down', st)
    report(len(logins(be)) == n_logins, 'no test login reached the backend without a verified TLS',
           '\n'.join(logins(be)[n_logins:]))
    dd.stop()

    # any-cert: the implicit-TLS ports pass whatever the CA; the host is up and stays up
    dd.settings['director_health_check_ssl_any_cert'] = 'yes'
    dd.settings['director_health_check_ports'] = 'imaps:%d pop3s:%d' % (be.imaps_port, be.pop3s_port)
    n_logins = len(logins(be))
    dd.start()
    report(wait(lambda: len(logins(be)) >= n_logins + 2) and host_up(dd) and
           'failed' not in dd.log()[dd.log().rfind('directord started'):],
           'director_health_check_ssl_any_cert: imaps/pop3s probes pass with a wrong CA', dd.log()[-1500:])
    dd.stop()
    bad = dd.check_log()
    report(not bad, 'no sanitizer reports in the log', '\n'.join(bad))

    # a CA file without a certificate is a start-up error, not rounds that can never pass
    dd.settings['director_health_check_ssl_any_cert'] = 'no'
    dd.settings['director_health_check_ssl_ca_file'] = '<' + os.path.join(be.dir, 'dovecot.conf')
    report(dd.refuses_to_start() and 'director_health_check_ssl_ca_file: no CA certificate found' in dd.log(),
           'a CA file without certificates is refused at start-up', dd.log()[-500:])
    be.stop()
    sink.stop()


main_guard(main)
