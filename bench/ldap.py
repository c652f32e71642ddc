#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/ldap.py: logins/s and proxy CPU per login with an ldap passdb, mtool proxyd next to
Debian's Dovecot 2.3 proxy using the same dovecot-ldap.conf.ext, against Debian's slapd
started here (tests/integration/ldapfix.py), for the password checked by the proxy
({SSHA} userPassword read by the service DN) and by auth_bind.

    python3 bench/ldap.py [--logins 5000] [--clients 50] [--users 200] [--runs 1] [--keep]

Uses bench/run.py's backend, load generator and CPU accounting (the backend accepts any
user's password "pass"). The proxy's CPU is its own process (mtool) or all of its
processes (Dovecot: login and auth); slapd's CPU per login is shown apart. No auth cache.
Not a test: nothing passes or fails."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))


def main():
    import run as R
    args, scratch = R.passdb_bench(__doc__, 'ldap', 5000, 500)
    import fixtures
    from ldapfix import DovecotLdapProxy, LdapProxyd, Slapd, ssha, write_ldap_conf

    results = []
    try:
        be = R.start_backend(args)
        pw = ssha('pass')
        users = [dict(uid='user%d@example.org' % i, userPassword=pw, mailProxyHost='127.0.0.1',
                      mailProxyPort=str(be.imap_port)) for i in range(1, args.users + 1)]
        ld = Slapd(users)
        ld.init()
        ld.start()
        filt = '(&(objectClass=inetOrgPerson)(uid=%u))'
        tmpl = '=proxy=y, =host=%{ldap:mailProxyHost}, =port=%{ldap:mailProxyPort}'
        confs = {
            'proxy checks': write_ldap_conf('check', ld.uri_tcp, filt,
                                            'userPassword=password, ' + tmpl),
            'auth_bind': write_ldap_conf('bind', ld.uri_tcp, filt, tmpl, 'auth_bind = yes\n'),
        }
        cores = os.cpu_count() or 2
        for how, conf in confs.items():
            tag = how.split()[0]
            dv = DovecotLdapProxy([conf], name='dv-' + tag, backend=be,
                                  login_settings={'service_count': 0, 'process_min_avail': cores})
            px = LdapProxyd([conf], name='px-' + tag,
                            settings={'login_trusted_networks': '127.0.0.0/8'})
            dv.start()
            px.start()
            targets = [R.Target('Dovecot 2.3 proxy', dv.imap_port, dv.pids, dv),
                       R.Target('mtool proxyd', px.imap_port, lambda px=px: [px.pid], px)]
            res = R.bench_login(be, targets, args)
            ldcpu = {}
            for t in targets:
                d0 = R.cpu_seconds([ld.pid])
                r = R.loadgen('login', '-p', t.port, '-c', args.clients, '-n', args.logins,
                              '-u', args.users)
                d1 = R.cpu_seconds([ld.pid])
                ldcpu[t.label] = (d1 - d0) * 1000 / int(r['logins'])
            for t in targets:
                rr = res[t.label]
                results.append((how, t.label, R.med(rr, 'rate'), R.med(rr, 'cpu_ms'),
                                ldcpu[t.label], R.med(rr, 'p99')))
            fixtures.stop(dv, px)
        ld.stop()
        fixtures.stop(be)
    finally:
        R.passdb_bench_done(args, scratch)
    print('%-13s %-18s %10s %14s %14s %9s' % ('password', 'proxy', 'logins/s', 'proxy CPU ms',
                                             'slapd CPU ms', 'p99 ms'))
    for how, label, rate, cpu, ldms, p99 in results:
        print('%-13s %-18s %10.1f %14.3f %14.3f %9.1f' % (how, label, rate, cpu, ldms, p99))


if __name__ == '__main__':
    main()
