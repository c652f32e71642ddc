# SPDX-License-Identifier: MIT
"""Health checks in a ring of three directord, all with director_health_check = yes, in
front of two real Dovecot backends: only the ring's lowest director (127.0.0.1) originates
the HOST down change when a backend stops, the other two probe too but only apply it, and
all three agree on the host's state. The originator killed with SIGKILL, the lowest of the
two left takes over once their ring is synced again and brings the backend back up when it
returns (docs/directord.8.md, RING: health checks in a ring)."""
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, report, main_guard, free_port, port_listening  # noqa: E402
from ringfix import Ring  # noqa: E402
from directordfix import admin_lines, wait_until as wait  # noqa: E402

A, B = '127.0.0.2', '127.0.0.3'
ORIGINATES = r'health check: this director now originates'
CHANGED = r'health check: Host 127\.0\.0\.3 changed %s'


def host_state(d, ip):
    for l in admin_lines(d.admin_socket, ['HOST-LIST'])[0]:
        f = l.split('\t')
        if f[0] == ip:
            return f[4]
    return None


def main():
    while True:
        imap = free_port(A)
        if not port_listening(B, imap):
            break
    bea = DovecotBackend('rh-be-a', ip=A, imap_port=imap).start()
    beb = DovecotBackend('rh-be-b', ip=B, imap_port=imap).start()
    ring = Ring(['mtool', 'mtool', 'mtool'], tag='rh', hosts=(A, B), settings={
        'director_health_check': 'yes',
        'director_health_check_ports': 'imap:%d' % imap,
        'director_health_check_interval': '300ms',
        'director_health_check_timeout': '1s',
        'director_health_check_fails': '2',
        'director_health_check_rises': '2',
    })
    try:
        ring.start()
        report(ring.wait_synced(), 'a ring of three directord with health checks in all is synced')
        m0, m1, m2 = ring.dirs
        report(m0.wait_log(ORIGINATES) is not None and
               all(d.wait_log(r'health check: another director of the ring originates') is not None
                   for d in (m1, m2)) and not any(re.search(ORIGINATES, d.log()) for d in (m1, m2)),
               'the lowest director (127.0.0.1) originates, the other two only probe',
               [d.log()[-600:] for d in ring.dirs])

        beb.stop()
        ok = wait(lambda: all(host_state(d, B) == 'D' for d in ring.dirs), 15)
        report(ok, 'the stopped backend is down on all three directors',
               [d.log()[-800:] for d in ring.dirs])
        report(len(re.findall(CHANGED % 'down', m0.log())) == 1 and
               not any(re.search(CHANGED % 'down', d.log()) for d in (m1, m2)),
               'exactly one director (the lowest) originated the HOST down change',
               [d.log()[-800:] for d in ring.dirs])
        report(all(re.search(r'health check: host 127\.0\.0\.3 failed', d.log()) and
                   re.search(r'director\(127\.0\.0\.\d+\): Host 127\.0\.0\.3 changed down', d.log())
                   for d in (m1, m2)),
               'the other two probed it failing too and applied the change from the ring')

        os.kill(m0.pid, signal.SIGKILL)
        m0.proc.wait()
        m0.proc = None
        report(ring.wait_synced(15, dirs=[m1, m2]), 'after SIGKILL of the originator the other '
               'two are a synced ring')
        report(m1.wait_log(ORIGINATES, timeout=10) is not None and
               not re.search(ORIGINATES, m2.log()),
               'the lowest of the two left (127.0.0.12) takes over', m1.log()[-800:])
        report(all(host_state(d, B) == 'D' for d in (m1, m2)), 'the host is still down meanwhile')

        beb.start()
        ok = wait(lambda: all(host_state(d, B) == 'U' for d in (m1, m2)), 15)
        report(ok, 'the backend back: up on both directors', [d.log()[-800:] for d in (m1, m2)])
        report(len(re.findall(CHANGED % 'up', m1.log())) == 1 and not re.search(CHANGED % 'up', m2.log()),
               'the new originator (and only it) brought it up', [d.log()[-800:] for d in (m1, m2)])
        report(all(host_state(d, A) == 'U' for d in (m1, m2)) and
               all(not d.check_log() for d in ring.dirs), 'the other host stayed up; no crash')
    finally:
        ring.stop()
        bea.stop()
        beb.stop()


if __name__ == '__main__':
    main_guard(main)
