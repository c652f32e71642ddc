# SPDX-License-Identifier: MIT
"""The router profile (make PROFILE=router): what is left out is absent from --list and
--help and says "not in this build" (applets, protocols, settings, passdb drivers, doveadm
commands, TLS to backends, host names), and what is in proxies IMAP, POP3 and Submission,
in plaintext and TLS, to a real Dovecot. MTOOL_ROUTER names the build (make check makes
it); without it the test builds it."""

import imaplib
import os
import poplib
import smtplib
import ssl
import subprocess
import sys
import time

TOP = os.environ['TOP']
ROUTER = os.environ.get('MTOOL_ROUTER') or os.path.join(TOP, 'build/router/mtool')
if not os.access(ROUTER, os.X_OK):
    subprocess.run(['make', '-s', '-C', TOP, 'PROFILE=router'], check=True)
os.environ['MTOOL'] = ROUTER
os.environ.pop('MTOOL_TEST_ASAN', None)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, TESTDIR, free_port, report, main_guard
from mailfix import SmtpSink, mail_backend_kw, mail_backend_ports
from mtoolfix import Proxyd
from tlsfix import make_ca, make_cert


def run(*args):
    r = subprocess.run([ROUTER] + list(args), capture_output=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).decode(errors='replace')


def login_fails(port, user):
    m = imaplib.IMAP4('127.0.0.1', port)
    try:
        m.login(user, 'pass')
        return False
    except imaplib.IMAP4.error:
        return True
    finally:
        m.logout()


def config_error(text):
    path = os.path.join(TESTDIR, 'bad.conf')
    with open(path, 'w') as f:
        f.write(text)
    return run('proxyd', '-c', path)


def main():
    rc, out = run('--list')
    report(rc == 0 and out.split() == ['doveadm', 'proxyd'], '--list: doveadm and proxyd only', out)
    rc, out = run('--help')
    report('directord' not in out and 'replicatord' not in out and 'LMTP' not in out
           and 'IMAP/POP3/Submission login proxy' in out, '--help leaves the others out', out)
    rc, out = run('--version')
    report('profile router' in out and 'LMTP' not in out, '--version names the profile', out)
    rc, out = run('directord')
    report(rc == 2 and 'directord: not in this build' in out, 'directord: not in this build', out)
    rc, out = run('doveadm', 'director', 'status')
    report(rc == 64 and 'director: not in this build' in out, 'doveadm director: not in this build', out)
    rc, out = config_error('protocols = imap lmtp\n')
    report(rc == 1 and "bad.conf:1: protocols: 'lmtp': not in this build" in out,
           'protocols = lmtp: not in this build, with file:line', out)
    rc, out = config_error('protocols = imap\n\ndirector_socket = /run/x\nmanagesieve_notify_capability = x\n')
    report(rc == 1 and 'bad.conf:3: director_socket: not in this build (feature director_client)' in out
           and 'bad.conf:4: managesieve_notify_capability: not in this build (feature managesieve)' in out,
           'settings of features left out: not in this build, with file:line', out)
    stage = os.path.join(TESTDIR, 'stage')
    r = subprocess.run(['make', '-s', '-C', TOP, 'install', 'PROFILE=router', 'DESTDIR=' + stage,
                        'PREFIX=/usr'], capture_output=True, timeout=300)
    got = sorted(os.listdir(os.path.join(stage, 'usr/bin'))) if r.returncode == 0 else r
    man8 = sorted(os.listdir(os.path.join(stage, 'usr/share/man/man8'))) if r.returncode == 0 else []
    report(got == ['doveadm', 'mtool', 'proxyd'] and man8 == ['proxyd.8'],
           'make install PROFILE=router: links and man pages of its applets only', '%s %s' % (got, man8))
    rc, out = config_error('protocols = imap\nno_such_setting = 1\n')
    report(rc == 1 and "unknown setting 'no_such_setting'" in out, 'a typo is still an unknown setting', out)
    # DOVECOT_SETTINGS is out: a Dovecot setting mtool does not use is unknown to this build,
    # the structure (services, their settings, filters) still checks, typos get mtool's names
    rc, out = config_error('protocols = imap\nmail_location = maildir:~/Maildir\n'
                           'service imap-login {\n  process_min_avail = 2\n}\nprotocol imap {\n}\n'
                           'login_greting = x\n')
    report(rc == 1 and "bad.conf:2: unknown setting 'mail_location': not known to this build "
           "(profile router, feature dovecot_settings is out)" in out
           and "bad.conf:8: unknown setting 'login_greting' (did you mean 'login_greeting'?): not known"
           in out and out.count('bad.conf:') == 2,
           'a Dovecot setting the router does not use: not known to this build', out)
    # what the router leaves out of proxyd (docs/build.md): said with file:line
    rc, out = config_error('protocols = imap\npassdb {\n  driver = sql\n  args = /etc/x.conf\n}\n')
    report(rc == 1 and 'bad.conf:2: passdb: passdb driver sql is not supported by this build' in out,
           'passdb driver sql: not supported by this build, with file:line', out)
    rc, out = config_error('protocols = imap\nauth_cache_size = 1M\nhaproxy_trusted_networks = 127.0.0.1\n'
                           'proxy_resolv_conf = /etc/resolv.conf\nssl_client_ca_file = /x\n'
                           'verbose_proctitle = yes\nlogin_log_format_elements = user=<%u>\n')
    report(rc == 1 and all(x in out for x in (
        'bad.conf:2: auth_cache_size: not in this build (feature auth_cache)',
        'bad.conf:3: haproxy_trusted_networks: not in this build (feature haproxy)',
        'bad.conf:4: proxy_resolv_conf: not in this build (feature dns)',
        'bad.conf:5: ssl_client_ca_file: not in this build (feature backend_tls)',
        'bad.conf:6: verbose_proctitle: not in this build (feature proctitle)',
        'bad.conf:7: login_log_format_elements: not in this build (feature login_log_format)')),
           'auth cache, PROXY protocol, resolver, backend TLS, proctitle, log format settings: '
           'not in this build', out)
    rc, out = config_error('protocols = imap\nservice stats {\n  inet_listener http {\n    port = 9900\n  }\n}\n')
    report(rc == 1 and 'bad.conf:4: service stats: inet_listener: the metrics endpoint is not in this build'
           in out, 'a metrics listener: not in this build, with file:line', out)
    rc, out = run('doveadm', 'auth', 'cache', 'flush')
    report(rc == 64 and 'auth: not in this build' in out, 'doveadm auth cache flush: not in this build', out)

    ca = make_ca('ca')
    srv = make_cert(ca, 'srv', ['mail.test'], ips=['127.0.0.1'])
    ctx = ssl.create_default_context(cafile=ca['cert'])
    sink = SmtpSink().start()
    sp, vp = mail_backend_ports()
    be = DovecotBackend('be', **mail_backend_kw(sink, sp, vp)).start()
    fields = 'proxy host=127.0.0.1 port=%d'
    users = {'user1@example.org': fields % be.imap_port,
             'user2@example.org': fields % be.pop3_port,
             'user3@example.org': fields % sp,
             'tls@example.org': (fields % be.imap_port) + ' ssl=yes',
             'named@example.org': 'proxy host=localhost port=%d' % be.imap_port}
    subm = free_port()
    try:
        with Proxyd(users=users, tls=True,
                    settings={'protocols': 'imap pop3 submission', 'ssl': 'yes',
                              'ssl_cert': '<' + srv['chain'], 'ssl_key': '<' + srv['key'],
                              'auth_mechanisms': 'plain login'},
                    extra_conf='service submission-login {\n  inet_listener submission {\n'
                               '    port = %d\n  }\n}\n' % subm) as px:
            m = imaplib.IMAP4('127.0.0.1', px.imap_port)
            typ, _ = m.login('user1@example.org', 'pass')
            typ2, _ = m.select('INBOX')
            m.logout()
            report(typ == 'OK' and typ2 == 'OK', 'the router build proxies IMAP to Dovecot', px.log())
            m = imaplib.IMAP4_SSL('127.0.0.1', px.imaps_port, ssl_context=ctx)
            typ, _ = m.login('user1@example.org', 'pass')
            m.logout()
            report(typ == 'OK', 'IMAP over TLS (imaps) through the router build', px.log()[-800:])
            m = imaplib.IMAP4('127.0.0.1', px.imap_port)
            m.starttls(ssl_context=ctx)
            typ, _ = m.login('user1@example.org', 'pass')
            m.logout()
            report(typ == 'OK', 'IMAP STARTTLS through the router build', px.log()[-800:])
            p = poplib.POP3('127.0.0.1', px.pop3_port)
            p.user('user2@example.org')
            p.pass_('pass')
            count, _ = p.stat()
            p.quit()
            report(count >= 0, 'the router build proxies POP3 to Dovecot', px.log()[-800:])
            p = poplib.POP3_SSL('127.0.0.1', px.pop3s_port, context=ctx)
            p.user('user2@example.org')
            resp = p.pass_('pass')
            p.quit()
            report(resp.startswith(b'+OK'), 'POP3 over TLS (pop3s) through the router build', px.log()[-800:])
            with smtplib.SMTP('127.0.0.1', subm, timeout=20) as sm:
                sm.starttls(context=ctx)
                sm.login('user3@example.org', 'pass')
                refused = sm.sendmail('user3@example.org', ['rcpt@example.net'],
                                      b'Subject: router\r\n\r\nthrough the router profile\r\n')
            deadline = time.time() + 10
            while not sink.messages and time.time() < deadline:
                time.sleep(0.1)
            report(refused == {} and any(b'through the router profile' in msg.data for msg in sink.messages),
                   'Submission with STARTTLS through the router build, relayed by Dovecot', px.log()[-1500:])
            report(login_fails(px.imap_port, 'tls@example.org') and px.wait_log(r'ssl=yes/starttls: TLS to backends is not in this build') is not None,
                   'ssl=yes toward a backend: the login fails, the log says why', px.log()[-1500:])
            report(login_fails(px.imap_port, 'named@example.org') and px.wait_log(r'host names are not in this build \(feature dns\): host= must be an IP')
                   is not None, 'host=NAME: the login fails, the log says host= must be an IP', px.log()[-1500:])
    finally:
        be.stop()
        sink.stop()

main_guard(main)
