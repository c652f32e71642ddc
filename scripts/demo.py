# SPDX-License-Identifier: MIT
"""The README's run command: a real Dovecot backend on 127.0.0.1 with a demo user, and
mtool proxyd in front of it with a working default config, IMAP and POP3 in clear and over
TLS (a certificate from a demo CA made with openssl). Prints how to log in with curl, then
runs until Ctrl-C (or for DEMO_SECONDS seconds), and stops both by PID."""

import os
import sys
import tempfile
import time

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('MTOOL', os.path.join(top, 'mtool'))
os.environ.setdefault('TESTDIR', tempfile.mkdtemp(prefix='mtool-demo.'))
os.makedirs(os.environ['TESTDIR'], exist_ok=True)
sys.path.insert(0, os.path.join(top, 'tests', 'integration'))

from fixtures import DovecotBackend, stop_all  # noqa: E402
from mtoolfix import Proxyd  # noqa: E402
from tlsfix import make_ca, make_cert  # noqa: E402

USER, PASS = 'demo@example.org', 'demo'


def main():
    be = DovecotBackend('backend', users={USER: PASS}).start()
    be.deliver(USER, 'From: mtool@example.org\r\nSubject: Welcome to mtool\r\n\r\n'
                     'This message was fetched through mtool proxyd.\r\n')
    fields = 'proxy host=127.0.0.1 port=%d'
    ca = make_ca('demo-ca')
    cert = make_cert(ca, 'demo', ['localhost'], kind='ec', ips=['127.0.0.1'])
    px = Proxyd('proxyd', users={USER: (PASS, fields % be.imap_port)}, tls=True,
                settings={'ssl_cert': '<' + cert['chain'], 'ssl_key': '<' + cert['key']},
                imap_port=int(os.environ.get('DEMO_IMAP_PORT', '10143')),
                pop3_port=int(os.environ.get('DEMO_POP3_PORT', '10110')))
    px.imaps_port = int(os.environ.get('DEMO_IMAPS_PORT', '10993'))
    px.pop3s_port = 0
    # one passdb entry per protocol port: POP3 logins use the backend's POP3 port
    px.extra_conf = ''
    px.start()
    print('''
mtool proxyd is running (pid %d) in front of a real Dovecot backend (pid %d).
  config:  %s
  log:     %s

Log in through the proxy:
  curl -u %s:%s imap://127.0.0.1:%d/                 # list mailboxes
  curl -u %s:%s 'imap://127.0.0.1:%d/INBOX;UID=1'    # read the welcome message
  curl --cacert %s -u %s:%s imaps://127.0.0.1:%d/    # the same over TLS
  curl --cacert %s --ssl-reqd -u %s:%s imap://127.0.0.1:%d/    # STARTTLS
  mtool proxyd --help

Ctrl-C stops both.''' % (px.pid, be.pid, px.conf, px.log_path, USER, PASS, px.imap_port,
                          USER, PASS, px.imap_port, ca['cert'], USER, PASS, px.imaps_port,
                          ca['cert'], USER, PASS, px.imap_port), flush=True)
    secs = float(os.environ.get('DEMO_SECONDS', '0'))
    try:
        deadline = time.monotonic() + secs
        while secs == 0 or time.monotonic() < deadline:
            time.sleep(0.5)
            if px.proc is None or px.proc.poll() is not None:
                print('proxyd exited; its log:\n' + px.log())
                break
    except KeyboardInterrupt:
        pass
    finally:
        stop_all()


main()
