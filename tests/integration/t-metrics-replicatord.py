# SPDX-License-Identifier: MIT
"""replicatord's /metrics while it syncs between two real Dovecot 2.3 backends: the
start-up full syncs, the two incremental syncs (one per side) asked for by the real
`doveadm replicator replicate`, one failed full sync (a user the backends' userdb does not
know, which is then dropped) move the sync counters and the duration histogram by exactly
those amounts; the users gauge agrees with `doveadm replicator status`; the counters
survive SIGHUP; the output passes prometheus_client's parsers and `promtool check
metrics`, and every family is in docs/metrics.md."""

import signal
import subprocess

from fixtures import free_port, main_guard, report, stop_all
from metricsfix import Scrape, promtool_check, stats_conf, undocumented
from replfix import Replicatord, backend_pair, seed_inboxes, wait_for

USERS = ['user%d@example.org' % i for i in range(1, 6)]
SYNCS = 'mtool_replicator_syncs_total'
HIST = 'mtool_replicator_sync_duration_seconds_count'


def doveadm(rp, *args):
    return subprocess.run(['doveadm', '-O', '-f', 'tab', 'replicator'] + list(args[:1]) +
                          ['-a', rp.admin] + list(args[1:]), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=10)


def counts(s):
    return {(t, r): s.value(SYNCS, type=t, result=r)
            for t in ('full', 'incremental') for r in ('ok', 'failed')}


def main():
    notify_port, http = free_port(), free_port()
    a, b = backend_pair(notify_port)
    a.start()
    seed_inboxes(a, b)
    b.start()
    rp = Replicatord(a, b, notify_port, extra_conf=stats_conf(http)).start()
    rp.wait_log(r'metrics: listening on')

    # start-up: every user listed and fully synced once
    s1 = wait_for(lambda: (lambda s: s if s.value(SYNCS, type='full', result='ok') >= 5 and
                           s.value('mtool_replicator_running_syncs') == 0 else None)(Scrape(http)),
                  timeout=25)
    report(s1 is not None, 'the 5 start-up full syncs are counted')
    if s1 is None:
        stop_all()
        return
    c1 = counts(s1)
    report(c1 == {('full', 'ok'): 5, ('full', 'failed'): 0, ('incremental', 'ok'): 0,
                  ('incremental', 'failed'): 0},
           'start-up: exactly 5 full ok, nothing else', repr(c1))
    report(s1.value(HIST, type='full') == 5 and s1.value(HIST, type='incremental') == 0,
           'the duration histogram observed the 5 full syncs', s1.text)
    report(s1.value('mtool_replicator_users') == 5, 'users gauge: 5')
    queued = {p: s1.value('mtool_replicator_queued_users', priority=p)
              for p in ('none', 'low', 'high', 'sync')}
    report(queued == {'none': 5, 'low': 0, 'high': 0, 'sync': 0} and
           s1.value('mtool_replicator_oldest_pending_seconds') == 0,
           'idle: 5 users with no pending request, oldest request age 0', repr(queued))

    # `replicate` names no side: one incremental sync from each side of the pair
    doveadm(rp, 'replicate', USERS[0])
    s2 = wait_for(lambda: (lambda s: s if s.value(SYNCS, type='incremental', result='ok') >= 2 and
                           s.value('mtool_replicator_running_syncs') == 0 else None)(Scrape(http)),
                  timeout=15)
    c2 = counts(s2) if s2 else {}
    want = dict(c1)
    want[('incremental', 'ok')] += 2
    report(c2 == want, '`doveadm replicator replicate`: exactly two incremental ok more (A to B, '
           'B to A)', repr(c2))

    # a user the userdb does not know: one failed full sync (NOUSER), then dropped
    doveadm(rp, 'add', 'nosuch@example.org')
    s3 = wait_for(lambda: (lambda s: s if s.value(SYNCS, type='full', result='failed') >= 1 and
                           s.value('mtool_replicator_running_syncs') == 0 else None)(Scrape(http)),
                  timeout=15)
    c3 = counts(s3) if s3 else {}
    want[('full', 'failed')] += 1
    report(c3 == want, 'an unknown user: exactly one full failed more', repr(c3) + '\n' + rp.log()[-1500:])
    report(s3 is not None and s3.value('mtool_replicator_users') == 5 and
           s3.value(HIST, type='full') == 6 and s3.value(HIST, type='incremental') == 2,
           'the unknown user is dropped (users 5); the histogram saw 6 full and 2 incremental',
           s3.text if s3 else '')

    # the queue gauges say what doveadm replicator status says
    st = doveadm(rp, 'status').stdout.decode()
    total = [l for l in st.splitlines() if l.startswith('Total number of known users')]
    report(total and total[0].split('\t')[-1].strip() == '%d' % s3.value('mtool_replicator_users'),
           'the users gauge says what doveadm replicator status says', st)

    ok, out = promtool_check(s3.text if s3 else '')
    report(ok, 'promtool check metrics', out)
    om = Scrape(http, openmetrics=True)
    report(om.text.endswith('# EOF\n') and om.value(SYNCS, type='full', result='ok') == 5,
           'OpenMetrics scrape parses with the same counts')
    missing = undocumented(om)
    report(not missing, 'every scraped family is in docs/metrics.md', repr(missing))
    rp.proc.send_signal(signal.SIGHUP)
    rp.wait_log(r'SIGHUP')
    report(counts(Scrape(http)) == want, 'the counters survive SIGHUP')
    stop_all()


main_guard(main)
