#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/authsrv.py: logins/s and proxy CPU per login through passdb auth (mtool proxyd asking
a Dovecot 2.3 auth server over its auth-client socket), next to Debian's Dovecot 2.3 proxy
whose imap-login processes ask the same auth server (`executable = imap-login
<auth server>/auth-login`, the login socket Dovecot's own login processes use). The auth
server (tests/integration/authfix.py, protocols = none) has a passwd-file passdb with
{PLAIN} passwords and proxy fields.

    python3 bench/authsrv.py [--logins 2000] [--clients 50] [--users 200] [--runs 1] [--keep]

Uses bench/run.py's backend, load generator and CPU accounting. The proxy's CPU is its own
process (mtool) or its login processes and master (Dovecot); the auth server's CPU per
login is shown apart, from one more run per target. Not a test: nothing passes or fails."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))


def main():
    import run as R
    args, scratch = R.passdb_bench(__doc__, 'authsrv', 2000, 300)
    import fixtures
    from authfix import AuthProxyd, DovecotAuth

    results = []
    try:
        be = R.start_backend(args)
        passwd = ['user%d@example.org:{PLAIN}%s::::::proxy host=127.0.0.1 port=%d'
                  % (i, R.PASSWORD, be.imap_port) for i in range(1, args.users + 1)]
        au = DovecotAuth(passwd, [], name='authsrv')
        au.start()
        cores = os.cpu_count() or 2
        login_sock = os.path.join(au.base_dir, 'auth-login')
        # no users in its own passdb: a login that works came through the auth server
        dv = fixtures.DovecotProxy(
            name='dv', backend=be, users={},
            login_settings={'service_count': 0, 'process_min_avail': cores},
            extra_conf='service imap-login {\n  executable = imap-login %s\n  chroot =\n}\n'
                       % login_sock)
        px = AuthProxyd(au.socket, name='px',
                        settings={'login_trusted_networks': '127.0.0.0/8'})
        dv.start()
        px.start()
        # Dovecot's cost: its master and login processes, not its own (unused) auth
        dv_pids = lambda: [p for p in dv.pids() if _title(p) in ('dovecot', 'imap-login')]
        targets = [R.Target('Dovecot 2.3 proxy', dv.imap_port, dv_pids, dv),
                   R.Target('mtool proxyd', px.imap_port, lambda: [px.pid], px)]
        res = R.bench_login(be, targets, args)
        aucpu = {}
        for t in targets:
            d0 = R.cpu_seconds(au.pids())
            r = R.loadgen('login', '-p', t.port, '-c', args.clients, '-n', args.logins,
                          '-u', args.users)
            d1 = R.cpu_seconds(au.pids())
            aucpu[t.label] = (d1 - d0) * 1000 / int(r['logins'])
        for t in targets:
            rr = res[t.label]
            results.append((t.label, R.med(rr, 'rate'), R.med(rr, 'cpu_ms'), aucpu[t.label],
                            R.med(rr, 'p99')))
        fixtures.stop(dv, px, au, be)
    finally:
        R.passdb_bench_done(args, scratch)
    print('%-18s %10s %14s %14s %9s' % ('proxy', 'logins/s', 'proxy CPU ms', 'auth CPU ms',
                                       'p99 ms'))
    for label, rate, cpu, aums, p99 in results:
        print('%-18s %10.1f %14.3f %14.3f %9.1f' % (label, rate, cpu, aums, p99))


def _title(pid):
    """The last part of a Dovecot process title: dovecot, imap-login, auth, ..."""
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            cmd = f.read().split(b'\0')[0].decode(errors='replace')
    except OSError:
        return ''
    return cmd.split(' ')[0].rsplit('/', 1)[-1]


if __name__ == '__main__':
    main()
