# SPDX-License-Identifier: MIT
"""proxyd as a TLS server (BearSSL) in front of a real Dovecot backend, with real clients:
curl over imaps://, pop3s:// and --ssl-reqd (STARTTLS/STLS), Python's imaplib (IMAP4_SSL,
starttls()), openssl s_client (-starttls imap/pop3, SNI, session resumption). Commands
pipelined behind STARTTLS/STLS must not survive the upgrade; ssl = required refuses
cleartext logins before TLS; SIGHUP serves a new certificate while an established session
goes on."""

import imaplib
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard, TESTDIR
from mtoolfix import Proxyd
from tlsfix import make_ca, make_cert, s_client

BIG = b'From: a@example.org\r\nSubject: big\r\n\r\n' + b''.join(
    b'line %06d of a message larger than many TLS records ........................\r\n' % i
    for i in range(4000))


def curl(*args):
    r = subprocess.run(['curl', '-sS', '--max-time', '20'] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode, r.stdout.decode(errors='replace'), r.stderr.decode(errors='replace')


def ctx_for(ca):
    ctx = ssl.create_default_context(cafile=ca['cert'])
    return ctx


def main():
    ca = make_ca('ca')
    srv = make_cert(ca, 'srv', ['mail.test'], ips=['127.0.0.1', '127.0.0.2'])
    ec = make_cert(ca, 'ec', ['ec.test'], kind='ec')
    new = make_cert(ca, 'new', ['new.test'], ips=['127.0.0.1'])
    # the served certificate lives in files the test rewrites for the SIGHUP case
    live_cert, live_key = os.path.join(TESTDIR, 'live.pem'), os.path.join(TESTDIR, 'live.key')
    open(live_cert, 'w').write(open(srv['chain']).read())
    open(live_key, 'w').write(open(srv['key']).read())
    # SIGHUP reads the files again as the user proxyd runs as (nobody when started as root)
    for d in (os.path.join(TESTDIR, 'certs'), TESTDIR):
        for n in os.listdir(d):
            if n.endswith('.key'):
                os.chmod(os.path.join(d, n), 0o644)

    with DovecotBackend('be') as be:
        be.deliver('user1@example.org', BIG)
        be.deliver('user2@example.org', b'Subject: pop\r\n\r\nhello pop3\r\n')
        users = {'user1@example.org': 'proxy host=127.0.0.1 port=%d' % be.imap_port,
                 'user2@example.org': 'proxy host=127.0.0.1 port=%d' % be.pop3_port}
        extra = 'local_name ec.test {\n  ssl_cert = <%s\n  ssl_key = <%s\n}\n' % (ec['chain'], ec['key'])
        px = Proxyd(users=users, tls=True, extra_conf=extra,
                    settings={'ssl': 'yes', 'ssl_cert': '<' + live_cert, 'ssl_key': '<' + live_key})
        with px:
            resolve = ['--resolve', 'mail.test:%d:127.0.0.1' % px.imaps_port,
                       '--resolve', 'mail.test:%d:127.0.0.1' % px.pop3s_port,
                       '--resolve', 'mail.test:%d:127.0.0.1' % px.imap_port,
                       '--resolve', 'mail.test:%d:127.0.0.1' % px.pop3_port]
            rc, out, err = curl('--cacert', ca['cert'], *resolve, '-u', 'user1@example.org:pass',
                                'imaps://mail.test:%d/' % px.imaps_port)
            report(rc == 0 and 'INBOX' in out, 'curl --cacert imaps:// lists the mailboxes', out + err)
            rc, out, err = curl('--cacert', ca['cert'], *resolve, '-u', 'user2@example.org:pass',
                                'pop3s://mail.test:%d/1' % px.pop3s_port)
            report(rc == 0 and 'hello pop3' in out, 'curl --cacert pop3s:// retrieves a message', out + err)
            rc, out, err = curl('--ssl-reqd', '--cacert', ca['cert'], *resolve, '-u', 'user1@example.org:pass',
                                'imap://mail.test:%d/' % px.imap_port)
            report(rc == 0 and 'INBOX' in out, 'curl --ssl-reqd imap:// (STARTTLS)', out + err)
            rc, out, err = curl('--ssl-reqd', '--cacert', ca['cert'], *resolve, '-u', 'user2@example.org:pass',
                                'pop3://mail.test:%d/1' % px.pop3_port)
            report(rc == 0 and 'hello pop3' in out, 'curl --ssl-reqd pop3:// (STLS)', out + err)

            # imaplib over implicit TLS, with a message larger than many records: the relay
            # runs through the engine, and every byte arrives
            m = imaplib.IMAP4_SSL('127.0.0.1', px.imaps_port, ssl_context=ctx_for(ca))
            typ, data = m.login('user1@example.org', 'pass')
            report(typ == 'OK', 'imaplib IMAP4_SSL LOGIN', data)
            m.select('INBOX')
            typ, data = m.fetch('1', '(BODY.PEEK[])')
            report(typ == 'OK' and data[0][1] == BIG, 'a %d-byte message fetched through TLS intact' % len(BIG),
                   repr(data)[:300])
            held = m    # stays open across the SIGHUP below
            plog = px.wait_log(r'Started proxying to <127\.0\.0\.1> .*, TLS, session=<')
            report(plog is not None, 'the login log line says TLS', px.log()[-600:])

            m2 = imaplib.IMAP4('127.0.0.1', px.imap_port)
            report('STARTTLS' in m2.welcome.decode(), 'STARTTLS is advertised', m2.welcome)
            typ, data = m2.starttls(ssl_context=ctx_for(ca))
            report(typ == 'OK', 'imaplib starttls()', data)
            typ, data = m2.capability()
            report(typ == 'OK' and b'STARTTLS' not in data[0], 'no STARTTLS in the capabilities after TLS', data)
            typ, data = m2.login('user1@example.org', 'pass')
            report(typ == 'OK', 'imaplib LOGIN after starttls()', data)
            m2.logout()

            out = s_client(px.imap_port, ['-starttls', 'imap', '-CAfile', ca['cert'], '-verify_return_error',
                                          '-servername', 'mail.test'],
                           input=b'a LOGIN user1@example.org pass\nb SELECT INBOX\nc LOGOUT\n')
            report('Verify return code: 0 (ok)' in out and re.search(r'a OK .*Logged in', out)
                   and '* 1 EXISTS' in out, 'openssl s_client -starttls imap: verified, logged in', out[-1500:])
            out = s_client(px.pop3_port, ['-starttls', 'pop3', '-CAfile', ca['cert'], '-verify_return_error'],
                           input=b'USER user2@example.org\nPASS pass\nSTAT\nQUIT\n')
            report('Verify return code: 0 (ok)' in out and re.search(r'\+OK 1 \d+', out),
                   'openssl s_client -starttls pop3: verified, logged in', out[-1500:])

            # SNI picks the certificate (an ECDSA one for ec.test), otherwise the default
            out = s_client(px.imaps_port, ['-servername', 'ec.test', '-CAfile', ca['cert']], input=b'a LOGOUT\n')
            report(re.search(r'subject=.*CN ?= ?ec\.test', out) and 'ECDHE-ECDSA' in out,
                   'SNI ec.test gets the ECDSA certificate of local_name ec.test', out[:1500])
            out = s_client(px.imaps_port, ['-servername', 'other.test', '-CAfile', ca['cert']], input=b'a LOGOUT\n')
            report(re.search(r'subject=.*CN ?= ?mail\.test', out) and 'ECDHE-RSA' in out,
                   'another name gets the default RSA certificate', out[:1500])
            report('TLSv1.2' in out and 'GCM' in out, 'TLS 1.2 with an AEAD suite by default', out[:2000])

            # session resumption from the cache
            sess = os.path.join(TESTDIR, 'sess.pem')
            out1 = s_client(px.imaps_port, ['-sess_out', sess, '-CAfile', ca['cert']], input=b'a LOGOUT\n')
            out2 = s_client(px.imaps_port, ['-sess_in', sess, '-CAfile', ca['cert']], input=b'a LOGOUT\n')
            report('New,' in out1 and 'Reused,' in out2, 'a second connection resumes the session (Reused)',
                   out2[:1500])

            # commands pipelined behind STARTTLS are dropped, not run over TLS
            raw = socket.create_connection(('127.0.0.1', px.imap_port))
            raw.settimeout(5)
            f = raw.makefile('rb')
            f.readline()
            raw.sendall(b'a STARTTLS\r\nb LOGIN user1@example.org pass\r\n')
            ok_line = f.readline()
            tls = ctx_for(ca).wrap_socket(raw, server_hostname='mail.test')
            tls.sendall(b'c NOOP\r\n')
            got = b''
            while not got.endswith(b'\r\n') or b'c ' not in got:
                d = tls.recv(4096)
                if not d:
                    break
                got += d
            report(ok_line.startswith(b'a OK') and got.startswith(b'c OK') and b'b ' not in got,
                   'IMAP: a LOGIN pipelined behind STARTTLS is discarded', repr(ok_line + got))
            tls.close()

            raw = socket.create_connection(('127.0.0.1', px.pop3_port))
            raw.settimeout(5)
            f = raw.makefile('rb')
            f.readline()
            raw.sendall(b'STLS\r\nUSER user2@example.org\r\n')
            ok_line = f.readline()
            tls = ctx_for(ca).wrap_socket(raw, server_hostname='mail.test')
            tls.sendall(b'PASS pass\r\n')
            got = tls.recv(4096)
            report(ok_line.startswith(b'+OK') and got.startswith(b'-ERR') and b'Logged in' not in got,
                   'POP3: a USER pipelined behind STLS is discarded (PASS then fails)', repr(ok_line + got))
            tls.close()

            # SIGHUP: a new certificate for new handshakes, the open session goes on
            open(live_cert, 'w').write(open(new['chain']).read())
            open(live_key, 'w').write(open(new['key']).read())
            start = len(px.log())
            px.proc.send_signal(signal.SIGHUP)
            report(px.wait_log(r'SIGHUP: certificates reloaded', start=start) is not None,
                   'SIGHUP reloads the certificates', px.log()[start:])
            out = s_client(px.imaps_port, ['-CAfile', ca['cert']], input=b'a LOGOUT\n')
            report(re.search(r'subject=.*CN ?= ?new\.test', out), 'new handshakes get the new certificate', out[:1200])
            typ, data = held.noop()
            typ2, data2 = held.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
            report(typ == 'OK' and typ2 == 'OK' and b'big' in data2[0][1],
                   'the session established before SIGHUP keeps working', (data, data2))
            held.logout()
            report(not px.check_log(), 'no crash or sanitizer report', '\n'.join(px.check_log()))

        # ssl = required: a client that is not "secured" (another address) must use TLS
        px2 = Proxyd(name='req', ip='127.0.0.2', users=users,
                     settings={'ssl': 'required', 'ssl_cert': '<' + srv['chain'], 'ssl_key': '<' + srv['key'],
                               'disable_plaintext_auth': 'no', 'ssl_min_protocol': 'TLSv1.2',
                               'ssl_session_cache_size': '0',
                               'ssl_cipher_list': 'ALL:!aNULL:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-SHA@STRENGTH'})
        with px2:
            # ssl_session_cache_size = 0: no cache, so every handshake is a full one
            sess = os.path.join(TESTDIR, 'sess2.pem')
            out1 = s_client(px2.imap_port, ['-starttls', 'imap', '-sess_out', sess, '-CAfile', ca['cert']],
                            input=b'a LOGOUT\n', ip='127.0.0.2')
            out2 = s_client(px2.imap_port, ['-starttls', 'imap', '-sess_in', sess, '-CAfile', ca['cert']],
                            input=b'a LOGOUT\n', ip='127.0.0.2')
            report('New,' in out1 and 'New,' in out2 and 'Reused,' not in out2,
                   'ssl_session_cache_size = 0: no session is resumed', out2[:1500])
            # ssl_cipher_list: the one suite named that BearSSL has; the other one is reported
            out = s_client(px2.imap_port, ['-starttls', 'imap', '-CAfile', ca['cert']], input=b'a LOGOUT\n',
                           ip='127.0.0.2')
            report('Cipher is ECDHE-RSA-CHACHA20-POLY1305' in out, 'ssl_cipher_list picks ChaCha20-Poly1305',
                   out[-1500:])
            report(re.search(r'warning: ssl_cipher_list: not available with BearSSL, ignored: DHE-RSA-AES128-SHA',
                             px2.log()) is not None, 'a suite BearSSL lacks is named in a start-up warning',
                   px2.log()[:1500])
            start = len(px2.log())
            out = s_client(px2.imap_port, ['-starttls', 'imap', '-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'],
                           input=b'a LOGOUT\n', ip='127.0.0.2')
            report('Cipher is (NONE)' in out or 'Cipher is 0000' in out or 'alert' in out.lower(),
                   'a TLS 1.1 client is refused', out[-800:])
            report(px2.wait_log(r'TLS handshake failed: ', start=start) is not None,
                   'the refused TLS 1.1 handshake is logged', px2.log()[start:])
            c = RawClient('127.0.0.2', px2.imap_port, source_ip='127.0.0.1')
            greet = c.line()
            c.send(b'a LOGIN user1@example.org pass\r\n')
            reply = b''.join(c.until('a '))
            report(b'LOGINDISABLED' in greet and b'STARTTLS' in greet and b'a NO [PRIVACYREQUIRED]' in reply,
                   'ssl = required: cleartext LOGIN refused before TLS', greet + reply)
            c.close()
            m = imaplib.IMAP4('127.0.0.2', px2.imap_port)
            m.starttls(ssl_context=ctx_for(ca))
            typ, data = m.login('user1@example.org', 'pass')
            report(typ == 'OK', 'ssl = required: LOGIN accepted after STARTTLS', data)
            m.logout()
            report(not px2.check_log(), 'no crash or sanitizer report (ssl = required)', '\n'.join(px2.check_log()))


main_guard(main)
