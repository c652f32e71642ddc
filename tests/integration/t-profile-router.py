# SPDX-License-Identifier: MIT
"""The router profile (make PROFILE=router): what is left out is absent from --list and
--help and says "not in this build" (applets, protocols, settings, doveadm commands), and
what is in proxies IMAP to a real Dovecot. MTOOL_ROUTER names the build (make check makes
it); without it the test builds it."""

import imaplib
import os
import subprocess
import sys

TOP = os.environ['TOP']
ROUTER = os.environ.get('MTOOL_ROUTER') or os.path.join(TOP, 'build/router/mtool')
if not os.access(ROUTER, os.X_OK):
    subprocess.run(['make', '-s', '-C', TOP, 'PROFILE=router'], check=True)
os.environ['MTOOL'] = ROUTER
os.environ.pop('MTOOL_TEST_ASAN', None)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, TESTDIR, report, main_guard
from mtoolfix import Proxyd


def run(*args):
    r = subprocess.run([ROUTER] + list(args), capture_output=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).decode(errors='replace')


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
    with DovecotBackend('be') as be:
        with Proxyd(users={'user1@example.org': 'proxy host=127.0.0.1 port=%d' % be.imap_port}) as px:
            m = imaplib.IMAP4('127.0.0.1', px.imap_port)
            typ, _ = m.login('user1@example.org', 'pass')
            typ2, _ = m.select('INBOX')
            m.logout()
            report(typ == 'OK' and typ2 == 'OK', 'the router build proxies IMAP to Dovecot', px.log())


main_guard(main)
