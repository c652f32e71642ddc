# SPDX-License-Identifier: MIT
"""directord's /metrics while real clients log in through proxyd (imaplib) to two real
Dovecot backends: lookups, per-host users, vhosts and up/down, moves and kicks by the real
`doveadm director`, health-check probes by host, port and result (a backend stopped goes
down). Counters move by exactly the expected amounts, survive SIGHUP, and the output passes
prometheus_client's parsers and `promtool check metrics`."""

import imaplib
import os
import re
import socket
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, report, main_guard, free_port, port_listening  # noqa: E402
from mtoolfix import Proxyd  # noqa: E402
from directordfix import Directord, wait_until  # noqa: E402
import subprocess  # noqa: E402
from fixtures import TESTDIR  # noqa: E402
from metricsfix import stats_conf, Scrape, promtool_check, undocumented, doc_block  # noqa: E402

A, B = '127.0.0.2', '127.0.0.3'
USERS = ['user%d@example.org' % i for i in range(1, 6)]


def alive(m):
    try:
        return m.noop()[0] == 'OK'
    except Exception:
        return False


def main():
    port = free_port(A)
    while port_listening(B, port):
        port = free_port(A)
    http, pxhttp = free_port(), free_port()
    users = {u: 'pass' for u in USERS}
    bea = DovecotBackend('be-a', ip=A, imap_port=port, users=users).start()
    beb = DovecotBackend('be-b', ip=B, imap_port=port, users=users).start()
    dd = Directord(hosts=[A], settings={
        'director_user_kick_delay': '0',
        'director_health_check': 'yes',
        'director_health_check_ports': 'imap:%d' % port,
        'director_health_check_interval': '300ms',
        'director_health_check_fails': '2',
        'director_health_check_rises': '2',
    }, extra_conf=stats_conf(http)).start()
    px = Proxyd(users={u: 'proxy port=%d' % port for u in USERS},
                settings={'director_socket': dd.proxy_socket}, extra_conf=stats_conf(pxhttp)).start()
    px.wait_log(r'director: connected to')

    s0 = Scrape(http)
    report(s0.value('mtool_director_host_up', host=A, tag='') == 1 and
           s0.value('mtool_director_host_vhosts', host=A, tag='') == 100,
           'host A up with 100 vhosts', s0.text)
    report(any(n == 'mtool_build_info' and dict(l).get('applet') == 'directord' for n, l in s0.samples),
           'build info names directord')

    sessions = {u: imaplib.IMAP4('127.0.0.1', px.imap_port) for u in USERS}
    for u, m in sessions.items():
        m.login(u, 'pass')
    s1 = Scrape(http)
    report(s1.value('mtool_director_lookups_total', result='ok') - s0.value('mtool_director_lookups_total', result='ok') == 5,
           'five logins: lookups{ok} +5', s1.text)
    report(s1.value('mtool_director_host_users', host=A, tag='') == 5, 'five users on A')

    # B is added; one user moved with doveadm (its open session is kicked), one kicked
    dd.director('add', B)
    p0 = Scrape(pxhttp)
    dd.director('move', USERS[0], B)
    dd.director('kick', USERS[1])
    report(wait_until(lambda: not alive(sessions[USERS[0]]) and not alive(sessions[USERS[1]]), 10),
           'the moved and the kicked sessions are closed')
    s2 = Scrape(http)
    report(s2.value('mtool_director_moves_total', reason='doveadm') - s1.value('mtool_director_moves_total', reason='doveadm') == 1,
           'moves{doveadm} +1', s2.text)
    report(s2.value('mtool_director_kicks_total', reason='user_moved') - s1.value('mtool_director_kicks_total', reason='user_moved') == 1 and
           s2.value('mtool_director_kicks_total', reason='doveadm_user') - s1.value('mtool_director_kicks_total', reason='doveadm_user') == 1,
           'kicks{user_moved} +1, kicks{doveadm_user} +1')
    report(s2.value('mtool_director_host_users', host=B, tag='') == 1 and
           s2.value('mtool_director_host_users', host=A, tag='') == 4, 'users per host: A 4, B 1', s2.text)
    p1 = Scrape(pxhttp)
    report(p1.value('mtool_proxyd_kicks_total', protocol='imap') - p0.value('mtool_proxyd_kicks_total', protocol='imap') == 2,
           'proxyd counted the two kicks it carried out')

    # health checks: probes by host and port; B stopped goes down after 2 failed rounds
    report(s2.value('mtool_director_health_checks_total', host=A, port='imap:%d' % port, result='ok') >= 1,
           'health probes of A counted by host and port')
    beb.stop()
    ok = wait_until(lambda: Scrape(http).value('mtool_director_host_up', host=B, tag='') == 0, 15)
    s3 = Scrape(http)
    report(ok and s3.value('mtool_director_health_checks_total', host=B, port='imap:%d' % port, result='failed') >= 2,
           'B stopped: failed probes counted, host_up{B} 0', s3.text)
    report(s3.value('mtool_director_host_up', host=A, tag='') == 1, 'A stays up')

    # formats, SIGHUP
    ok, out = promtool_check(s3.text)
    report(ok, 'promtool check metrics passes', out)
    report(not undocumented(s3), 'every metric is documented in docs/metrics.md', undocumented(s3))
    # the documentation's example configuration and alert rules are valid for promtool
    for name in ('prometheus.yml', 'mtool-alerts.yml'):
        with open(os.path.join(TESTDIR, name), 'w') as f:
            f.write(doc_block(name))
    r = subprocess.run(['promtool', 'check', 'config', os.path.join(TESTDIR, 'prometheus.yml')],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    report(r.returncode == 0 and b'6 rules found' in r.stdout,
           'docs/metrics.md: the scrape config and its 6 alert rules pass promtool', r.stdout)
    om = Scrape(http, openmetrics=True)
    report(om.text.endswith('# EOF\n') and om.value('mtool_director_moves_total', reason='doveadm') ==
           s3.value('mtool_director_moves_total', reason='doveadm'), 'the OpenMetrics parser reads the same counters')
    dd.proc.send_signal(signal.SIGHUP)
    dd.wait_log(r'SIGHUP')
    s4 = Scrape(http)
    report(s4.value('mtool_director_moves_total', reason='doveadm') == s3.value('mtool_director_moves_total', reason='doveadm') and
           s4.value('mtool_director_lookups_total', result='ok') >= s3.value('mtool_director_lookups_total', result='ok') > 0,
           'counters survive SIGHUP')

    # removed hosts disappear from the per-host gauges
    dd.director('remove', B)
    time.sleep(0.3)
    s5 = Scrape(http)
    report(('mtool_director_host_up', frozenset({'host': B, 'tag': ''}.items())) not in s5.samples,
           'a removed host is no longer shown', s5.text)

    for m in sessions.values():
        try:
            m.logout()
        except Exception:
            pass
    px.stop()
    dd.stop()
    bad = dd.check_log() + px.check_log()
    report(not bad, 'no sanitizer reports in the logs', '\n'.join(bad))

    # configuration errors: file:line, not started
    dd.extra_conf = stats_conf(http, address='localhost')
    report(dd.refuses_to_start() and re.search(r"directord\.conf:\d+: inet_listener of service stats: "
                                               r"'localhost' is not an IP address", dd.log()),
           'a host name as address: file:line error, not started', dd.log()[-400:])
    dd.extra_conf = stats_conf(http).replace('port = %d' % http, 'port = 70000')
    report(dd.refuses_to_start() and re.search(r'directord\.conf:\d+: port', dd.log()),
           'a port above 65535: file:line error, not started', dd.log()[-400:])
    busy = socket.socket()
    busy.bind(('127.0.0.1', 0))
    busy.listen(1)
    dd.extra_conf = stats_conf(busy.getsockname()[1])
    report(dd.refuses_to_start() and 'service stats: listen(127.0.0.1, %d) failed' % busy.getsockname()[1] in dd.log(),
           'a port in use: the error names it, not started', dd.log()[-400:])
    busy.close()
    bea.stop()


main_guard(main)
