# SPDX-License-Identifier: MIT
"""directord's ring metrics in a ring with a real Dovecot 2.3 director: the ring synced
(1), the links to the Dovecot director's ip:port connected and synced, the handshake
counted by command, one USER-KICK sent on each of the two links (exactly), the Dovecot
director stopped makes its peer_connected 0; the output passes prometheus_client's parser
and `promtool check metrics`, and every family is in docs/metrics.md."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard, free_port  # noqa: E402
from directordfix import admin_lines, wait_until  # noqa: E402
from metricsfix import Scrape, promtool_check, stats_conf, undocumented  # noqa: E402
from ringfix import Ring  # noqa: E402

MSGS = 'mtool_director_ring_messages_total'


def main():
    http = free_port()
    ring = Ring(['dovecot', 'mtool'], tag='m')
    dv, mt = ring.dirs
    mt.extra_conf += stats_conf(http)
    try:
        ring.start()
        report(ring.wait_synced(), 'the ring of a Dovecot director and directord is synced')
        peer = '%s:%d' % (dv.ip, ring.port)
        s1 = Scrape(http)
        report(s1.value('mtool_director_ring_synced') == 1, 'ring_synced 1', s1.text)
        report(s1.value('mtool_director_ring_peer_connected', peer=peer) == 1,
               'peer_connected{peer=%s} 1' % peer, s1.text)
        links = {(dict(l)['side'], dict(l)['state']): v for (n, l), v in s1.samples.items()
                 if n == 'mtool_director_ring_links' and dict(l).get('peer') == peer}
        report(links and all(st == 'synced' for _, st in links),
               'the links to the Dovecot director are synced (%r)' % links, s1.text)
        report(s1.value(MSGS, direction='received', command='ME') >= 1 and
               s1.value(MSGS, direction='sent', command='VERSION') >= 1 and
               s1.value(MSGS, direction='received', command='other') == 0,
               'the handshake is counted by command, nothing under other', s1.text)

        # one kick from directord's admin socket goes out on each of its links (its left
        # and its right are two links to the Dovecot director); Dovecot passes an update on
        # to every link but its source's, so in a ring of two nothing comes back
        admin_lines(mt.admin_socket, ['USER-KICK\tnobody@example.org'])
        wait_until(lambda: 'USER-KICK' in dv.log(), 10)
        s2 = Scrape(http)
        d = {dr: s2.value(MSGS, direction=dr, command='USER-KICK') -
             s1.value(MSGS, direction=dr, command='USER-KICK') for dr in ('sent', 'received')}
        report(d == {'sent': 2, 'received': 0},
               'USER-KICK: exactly 2 sent (left and right link), none received back', repr(d))
        ok, out = promtool_check(s2.text)
        report(ok, 'promtool check metrics', out)
        missing = undocumented(s1)
        report(not missing, 'every scraped family is in docs/metrics.md', repr(missing))

        dv.stop()
        gone = wait_until(lambda: Scrape(http).value('mtool_director_ring_peer_connected',
                                                     peer=peer) == 0, 15)
        report(gone, 'the Dovecot director stopped: peer_connected{peer=%s} 0' % peer,
               Scrape(http).text)
    finally:
        ring.stop()


main_guard(main)
