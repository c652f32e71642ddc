# SPDX-License-Identifier: MIT
"""proxyd's /metrics (service stats { inet_listener http }) scraped while real clients
(imaplib, poplib, raw sockets, the LMTP client of smtplib) log in through proxyd to a real
Dovecot, fail, relay bytes and get kicked: each counter moves by exactly the expected
amount. The output parses with python3-prometheus-client (text and OpenMetrics) and passes
`promtool check metrics`; counters survive SIGHUP; the endpoint answers nothing but
/metrics, and slow, oversized or numerous HTTP clients do not stall logins."""

import imaplib
import os
import poplib
import signal
import smtplib
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, RawClient, report, main_guard, free_port  # noqa: E402
from mtoolfix import Proxyd, MTOOL  # noqa: E402
from tlsfix import make_ca, make_cert, s_client  # noqa: E402
from metricsfix import stats_conf, Scrape, http_get, http_raw, promtool_check, PROM_ACCEPT, undocumented  # noqa: E402

LOGINS = 'mtool_proxyd_logins_total'


def delta(before, after, name, **labels):
    return after.value(name, **labels) - before.value(name, **labels)


def tls_handshakes(be):
    """TLS handshakes on the client side: a full one, a resumed one (openssl's -sess_in),
    and a failed one (no TLS at all on the imaps port); on the backend side, one to a
    Dovecot with implicit TLS."""
    ca = make_ca('ca')
    leaf = make_cert(ca, 'srv', ['mail.test'])
    os.chmod(leaf['key'], 0o644)
    http = free_port()
    tbe = DovecotBackend('be-tls', ssl=True).start()
    px = Proxyd(name='tls', users={'user1@example.org': 'proxy host=127.0.0.1 port=%d' % be.imap_port,
                                   'user2@example.org': 'proxy host=127.0.0.1 port=%d ssl=any-cert' % tbe.imaps_port},
                tls=True, settings={'ssl': 'yes', 'ssl_cert': '<' + leaf['chain'], 'ssl_key': '<' + leaf['key']},
                extra_conf=stats_conf(http))
    with px:
        s0 = Scrape(http)
        sess = os.path.join(px.dir, 'tls.sess')
        out1 = s_client(px.imaps_port, ['-tls1_2', '-sess_out', sess], input=b'a LOGOUT\r\n')
        out2 = s_client(px.imaps_port, ['-tls1_2', '-sess_in', sess], input=b'a LOGOUT\r\n')
        raw = RawClient('127.0.0.1', px.imaps_port)
        raw.send(b'hello, this is no TLS record\r\n' * 4)
        raw.closed(3)
        raw.close()
        m = imaplib.IMAP4('127.0.0.1', px.imap_port)
        m.login('user2@example.org', 'pass')
        m.logout()
        time.sleep(0.3)
        s1 = Scrape(http)
        name = 'mtool_tls_handshakes_total'
        report('Reused, TLSv1.2' in out2, 'openssl resumed its TLS session', out2[-600:])
        report(delta(s0, s1, name, side='client', result='success', resumed='no') == 1 and
               delta(s0, s1, name, side='client', result='success', resumed='yes') == 1,
               'tls handshakes{client,success}: one full, one resumed', s1.text)
        report(delta(s0, s1, name, side='client', result='failed', resumed='no') == 1,
               'a client that speaks no TLS: tls handshakes{client,failed} +1', out1[-300:])
        report(delta(s0, s1, name, side='backend', result='success', resumed='no') == 1,
               'a login to a TLS backend: tls handshakes{backend,success} +1', s1.text)
    tbe.stop()


def main():
    http = free_port()
    dead = free_port()
    lmtp_be = free_port()
    be = DovecotBackend('be', protocols='imap pop3 lmtp',
                        extra_conf='service lmtp {\n  inet_listener lmtp {\n    port = %d\n  }\n}\n' % lmtp_be)
    be.start()
    ok = 'proxy host=127.0.0.1 port=%d' % be.imap_port
    px = Proxyd(users={
        'user1@example.org': ok,
        'user2@example.org': 'proxy host=127.0.0.1 port=%d' % dead,
        'user3@example.org': 'nologin reason=Moved\\_away',
        'user4@example.org': 'proxy host=127.0.0.1 port=%d' % be.pop3_port,
        'user5@example.org': 'proxy host=127.0.0.1 port=%d' % lmtp_be,
    }, settings={'login_proxy_max_reconnects': '0'}, lmtp=True,
        extra_conf=stats_conf(http))
    px.start()
    report(px.wait_log(r'metrics: listening on 127\.0\.0\.1 port %d' % http) is not None,
           'proxyd logs the metrics listener', px.log()[-500:])

    s0 = Scrape(http)
    report(s0.content_type == 'text/plain; version=0.0.4; charset=utf-8', 'text format 0.0.4 by default',
           s0.content_type)
    report(s0.value('mtool_build_info', applet='proxyd', version=s0.text.split('version="')[1].split('"')[0]) == 1,
           'build info', s0.text[:300])
    report(s0.value(LOGINS, protocol='imap', result='auth_failed') == 0 and
           (LOGINS, frozenset({'protocol': 'pop3', 'result': 'success'}.items())) in s0.samples,
           'login series exist at 0 from the start')

    # one imap login that relays exactly known bytes, then logs out
    raw = RawClient('127.0.0.1', px.imap_port)
    raw.line()
    mid = Scrape(http)
    report(mid.value('mtool_proxyd_sessions', protocol='imap', state='pre_login') == 1,
           'a connected client counts as pre_login', mid.text)
    raw.send(b'a LOGIN user1@example.org pass\r\n')
    l = raw.until(b'a ')
    report(l[-1].startswith(b'a OK'), 'imap login through proxyd', l)
    mid = Scrape(http)
    report(mid.value('mtool_proxyd_sessions', protocol='imap', state='proxying') == 1 and
           mid.value('mtool_proxyd_sessions', protocol='imap', state='pre_login') == 0,
           'the logged-in session counts as proxying', mid.text)
    report(mid.value('mtool_proxyd_backend_sessions', backend='127.0.0.1:%d' % be.imap_port) == 1,
           'sessions per backend', mid.text)
    sent = b'b NOOP\r\nc LOGOUT\r\n'
    raw.send(sent)
    got = raw.read(3)
    raw.close()
    time.sleep(0.3)
    s1 = Scrape(http)
    report(delta(s0, s1, LOGINS, protocol='imap', result='success') == 1, 'logins{imap,success} +1')
    report(delta(s0, s1, 'mtool_proxyd_login_duration_seconds_count', protocol='imap') == 1,
           'login duration observed once')
    report(delta(s0, s1, 'mtool_proxyd_relayed_bytes_total', protocol='imap', direction='client_to_backend') == len(sent),
           'bytes client to backend: exactly the %d bytes sent after login' % len(sent),
           s1.value('mtool_proxyd_relayed_bytes_total', protocol='imap', direction='client_to_backend'))
    down = delta(s0, s1, 'mtool_proxyd_relayed_bytes_total', protocol='imap', direction='backend_to_client')
    report(down == len(got) and b'c OK' in got, 'bytes backend to client: exactly the %d bytes received' % len(got),
           '%d counted, %r received' % (down, got))
    report(delta(s0, s1, 'mtool_passdb_lookup_duration_seconds_count', driver='passwd-file') == 1,
           'one passdb lookup timed (driver passwd-file)')

    # failures: wrong password, nologin with a reason, a backend that refuses connections
    m = imaplib.IMAP4('127.0.0.1', px.imap_port)
    try:
        m.login('user1@example.org', 'wrong')
    except imaplib.IMAP4.error:
        pass
    for user in ('user3@example.org', 'user2@example.org'):
        try:
            m.login(user, 'pass')
        except imaplib.IMAP4.error:
            pass
    m.logout()
    time.sleep(0.2)
    s2 = Scrape(http)
    report(delta(s1, s2, LOGINS, protocol='imap', result='auth_failed') == 1, 'wrong password: auth_failed +1')
    report(delta(s1, s2, LOGINS, protocol='imap', result='auth_refused') == 1, 'nologin reason=: auth_refused +1')
    report(delta(s1, s2, LOGINS, protocol='imap', result='proxy_failed') == 1, 'dead backend: proxy_failed +1')
    report(delta(s1, s2, 'mtool_proxyd_backend_connect_failures_total', backend='127.0.0.1:%d' % dead,
                 reason='refused') == 1, 'backend connect failure counted by backend and reason', s2.text)
    report(delta(s1, s2, LOGINS, protocol='imap', result='success') == 0, 'no success counted for failures')
    report(delta(s1, s2, 'mtool_passdb_lookup_duration_seconds_count', driver='passwd-file') == 3,
           'three passdb lookups timed')

    # POP3 with poplib; kicked by doveadm proxy kick
    p = poplib.POP3('127.0.0.1', px.pop3_port)
    p.user('user4@example.org')
    p.pass_('pass')
    r = subprocess.run([MTOOL, 'doveadm', 'proxy', 'kick', '-a', os.path.join(px.dir, 'run', 'ipc'),
                        'user4@example.org'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    report(r.returncode == 0, 'doveadm proxy kick', r.stdout)
    time.sleep(0.3)
    s3 = Scrape(http)
    report(delta(s2, s3, LOGINS, protocol='pop3', result='success') == 1, 'logins{pop3,success} +1')
    report(delta(s2, s3, 'mtool_proxyd_kicks_total', protocol='pop3') == 1, 'kicks{pop3} +1', s3.text)
    report(s3.value('mtool_proxyd_sessions', protocol='pop3', state='proxying') == 0, 'the kicked session is gone')
    try:
        p.quit()
    except Exception:
        pass

    # LMTP: one recipient accepted, one unknown
    lm = smtplib.LMTP('127.0.0.1', px.lmtp_port)
    lm.docmd('LHLO', 'client.example.org')
    code1, _ = lm.docmd('MAIL FROM:<a@example.org>')
    code2, _ = lm.docmd('RCPT TO:<user5@example.org>')
    code3, _ = lm.docmd('RCPT TO:<nobody@example.org>')
    lm.docmd('RSET')
    lm.quit()
    time.sleep(0.2)
    s4 = Scrape(http)
    report(code2 == 250 and code3 == 550, 'LMTP recipients answered 250 and 550', (code1, code2, code3))
    report(delta(s3, s4, 'mtool_proxyd_lmtp_recipients_total', result='accepted') == 1 and
           delta(s3, s4, 'mtool_proxyd_lmtp_recipients_total', result='rejected') == 1,
           'lmtp recipients: accepted +1, rejected +1', s4.text)

    # formats and promtool
    ok, out = promtool_check(s4.text)
    report(ok, 'promtool check metrics passes', out)
    report(not undocumented(s4), 'every metric is documented in docs/metrics.md', undocumented(s4))
    om = Scrape(http, openmetrics=True)
    report(om.content_type.startswith('application/openmetrics-text; version=1.0.0') and
           om.text.endswith('# EOF\n'), 'OpenMetrics when Prometheus asks for it', om.content_type)
    report(om.value(LOGINS, protocol='imap', result='success') == s4.value(LOGINS, protocol='imap', result='success'),
           'the OpenMetrics parser reads the same counters', om.text[:500])

    # SIGHUP keeps the counters
    px.proc.send_signal(signal.SIGHUP)
    px.wait_log(r'SIGHUP')
    s5 = Scrape(http)
    report(all(s5.value(LOGINS, protocol=p_, result=r_) == s4.value(LOGINS, protocol=p_, result=r_)
               for p_ in ('imap', 'pop3') for r_ in ('success', 'auth_failed', 'proxy_failed')) and
           s5.value('mtool_proxyd_kicks_total', protocol='pop3') == 1, 'counters survive SIGHUP')

    # nothing else is served
    st, hd, _ = http_get(http, path='/')
    report(st == 404, 'GET / is 404', st)
    st, hd, _ = http_get(http, method='POST')
    report(st == 405 and hd.get('allow') == 'GET, HEAD', 'POST /metrics is 405 with Allow', (st, hd))
    st, hd, body = http_get(http, method='HEAD')
    report(st == 200 and body == b'' and int(hd.get('content-length', '0')) > 100, 'HEAD /metrics', (st, hd))
    raw = http_raw(http, b'GET /metrics HTTP/1.1\r\n\r\n')
    report(raw.startswith(b'HTTP/1.1 400 '), 'HTTP/1.1 without Host is 400', raw[:60])
    raw = http_raw(http, b'GET /metrics HTTP/1.1\r\nHost: x\r\nX: ' + b'a' * 5000 + b'\r\n\r\n')
    report(raw.startswith(b'HTTP/1.1 431 '), 'a 5000-byte header is 431', raw[:60])
    raw = http_raw(http, b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + b'\0' * 40)
    report(raw.startswith(b'HTTP/1.1 400 '), 'a TLS ClientHello is 400', raw[:60])
    r = subprocess.run(['curl', '-sS', '--max-time', '5', '-H', 'Accept: ' + PROM_ACCEPT,
                        'http://127.0.0.1:%d/metrics' % http], stdout=subprocess.PIPE)
    report(r.returncode == 0 and r.stdout.endswith(b'# EOF\n'), 'curl scrapes it too')

    # slowloris and many connections: 40 clients holding half a request, one byte at a time
    slow = []
    for i in range(40):
        s = socket.create_connection(('127.0.0.1', http))
        s.sendall(b'GET /metr')
        slow.append(s)
    t0 = time.monotonic()
    m = imaplib.IMAP4('127.0.0.1', px.imap_port)
    m.login('user1@example.org', 'pass')
    m.logout()
    report(time.monotonic() - t0 < 2, 'an IMAP login is not held up by 40 stalled HTTP clients',
           time.monotonic() - t0)
    st, _, body = http_get(http)
    report(st == 200 and b'mtool_proxyd_logins_total' in body,
           'a scrape still gets through (the oldest stalled client makes room)')
    for s in slow:
        s.close()
    # one client trickling a byte every 0.5 s is cut off after the 5 s request deadline
    s = socket.create_connection(('127.0.0.1', http))
    t0 = time.monotonic()
    closed_at = None
    for ch in b'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ' + b'a' * 30:
        try:
            s.sendall(bytes([ch]))
        except OSError:
            closed_at = time.monotonic() - t0
            break
        s.settimeout(0.5)
        try:
            if s.recv(100) == b'':
                closed_at = time.monotonic() - t0
                break
        except socket.timeout:
            pass
        except OSError:
            closed_at = time.monotonic() - t0
            break
    s.close()
    report(closed_at is not None and 4.5 <= closed_at <= 7, 'a byte-at-a-time client is closed at the 5 s deadline',
           closed_at)
    s6 = Scrape(http)
    report(s6.value('mtool_metrics_http_dropped_total', reason='evicted') >= 24 and
           s6.value('mtool_metrics_http_dropped_total', reason='request_timeout') >= 1,
           'evictions and timeouts are counted', s6.text[-800:])

    px.stop()
    bad = px.check_log()
    report(not bad, 'no sanitizer reports or crashes in the log', '\n'.join(bad))
    tls_handshakes(be)
    be.stop()


main_guard(main)
