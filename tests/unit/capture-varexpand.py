#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Captures Dovecot 2.3's %-variable expansion for tests/unit/test_varexpand.c.

Starts a real Dovecot (tests/integration/fixtures.py) whose passwd-file passdb expands
every template of TEMPLATES as a default_fields / override_fields value, asks it with
`doveadm auth test` for the client test_varexpand.c uses, and writes the extra fields it
answered to tests/unit/varexpand_dovecot.h. Run as root from the repo's top directory:

    python3 tests/unit/capture-varexpand.py

Templates hold no spaces (default_fields splits on them). %{pid}, %{uid}, %p and %{hostname}
differ between processes and machines and are not captured.
"""
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
os.environ.setdefault('TESTDIR', tempfile.mkdtemp(prefix='capture-varexpand.'))
import fixtures  # noqa: E402

USER = 'John.Doe@Example.COM@x.org'
PASSWORD = 'pw"1'
CLIENT = ['-x', 'service=imap', '-x', 'rip=192.0.2.10', '-x', 'lip=10.0.0.1',
          '-x', 'rport=51234', '-x', 'lport=143', '-x', 'session=Abc123',
          '-x', 'real_rip=192.0.2.99', '-x', 'real_lip=10.0.0.9',
          '-x', 'real_rport=40000', '-x', 'real_lport=10143']
ENV = ('MTOOL_VX', 'from-env')
# the passdb's own fields, for %{passdb:..}
USER_FIELDS = 'x=val12 n=42'

# (where, template): d = default_fields (before the passdb's fields), o = override_fields
TEMPLATES = [
    'd %u', 'd %n', 'd %d', 'd %s', 'd %l', 'd %r', 'd %a', 'd %b', 'd %w', 'd %m', 'd %c',
    'd [%h][%k]', 'd %%', 'd 100%%u', 'd abc%', 'd abc%L',
    'd %{user}', 'd %{username}', 'd %{domain}', 'd %{service}', 'd %{local_ip}',
    'd %{remote_ip}', 'd %{local_port}', 'd %{remote_port}', 'd %{session}', 'd %{lip}',
    'd %{rip}', 'd %{real_rip}', 'd %{real_lip}', 'd %{real_rport}', 'd %{real_lport}',
    'd %{real_remote_ip}', 'd %{real_local_port}', 'd %{domain_first}', 'd %{domain_last}',
    'd %{orig_user}', 'd %{orig_domain}', 'd %{auth_user}', 'd %{auth_username}',
    'd %{mechanism}', 'd %{mech}', 'd %{password}', 'd [%{master_user}][%{login_user}]',
    # modifiers
    'd %Lu', 'd %Uu', 'd %L{user}', 'd %LUn', 'd %ULn', 'd %Ew', 'd %Xa', 'd %Xu', 'd %Ru',
    'd %Hu', 'd %4Hu', 'd %3.8Hu', 'd %Nu', 'd %256Nu', 'd %4.100Nu', 'd %Mu', 'd %LMu',
    'd %MLu', 'd %Dd', 'd %RLn', 'd %M{service}', 'd %2.8Mu', 'd %Hn/%n',
    # widths and offsets
    'd %1n', 'd %3d', 'd %2.3n', 'd %-3.0d', 'd %-3.2d', 'd %0.-4n', 'd %05a', 'd %02a',
    'd %-3n', 'd %5.-100n', 'd %-100.0n',
    # functions
    'd %{md5:user}', 'd %{sha1:user}', 'd %{sha256:user}', 'd %{sha384:user}',
    'd %{sha512:user}', 'd %{sha256;truncate=12:user}', 'd %{sha256;truncate=16:user}',
    'd %{sha1;truncate=3:username}', 'd %{sha256;format=base64:user}',
    'd %{sha256;truncate=32,format=base64:user}', 'd %{sha1;rounds=3:user}',
    'd %{md5;salt=abc:user}', 'd %{md5;salt=%s-%n:user}', 'd %{md5;rounds=2,salt=z:service}',
    'd %{md5:env:MTOOL_VX}', 'd %L{sha1:service}', 'd %4{md5:user}',
    'd %{env:MTOOL_VX}', 'd [%{env:MTOOL_NOSUCH}]',
    # if
    'd %{if;%s;eq;imap;143;110}', 'd %{if;%s;ne;imap;143;110}', 'd %{if;%a;>;100;big;small}',
    'd %{if;%a;<;100;big;small}', 'd %{if;%a;==;143;y;n}', 'd %{if;%a;!=;143;y;n}',
    'd %{if;%a;<=;143;y;n}', 'd %{if;%a;>=;144;y;n}', 'd %{if;%a;>=;-5;y;n}',
    'd %{if;%u;*;*@Example.COM@*;yes;no}', 'd %{if;%d;!*;*.org;yes;no}',
    'd %{if;%d;*;*.org;yes;no}', 'd %{if;1;==;1;only}', 'd [%{if;1;==;2;only}]',
    'd %{if;%n;lt;Z;a;b}', 'd %{if;%n;gt;Z;a;b}', 'd %{if;%n;le;John.Doe;a;b}',
    'd %{if;%n;ge;K;a;b}', 'd %U{if;%s;eq;imap;up;down}',
    'd %{if;%{service};eq;imap;%{lport};%{rport}}', 'd %{if;a\\;b;eq;a\\;b;same;diff}',
    'd %{if;%{if;%s;eq;imap;1;2};==;1;nested;flat}', 'd %{if;%{passdb:x};eq;;empty;full}',
    # the passdb's fields: empty before them, set after them
    'd %{passdb:x}', 'd %{passdb:x:dflt}', 'd %{userdb:x:udef}', 'd [%{userdb:x}]',
    'o %{passdb:x}', 'o %{passdb:x:dflt}', 'o %{passdb:nosuch:dflt}', 'o %{passdb:n}',
    'o %{if;%{passdb:n};>;40;over;under}', 'o %{md5:passdb:x}',
]


def main():
    ids = fixtures._identities()
    inst = fixtures.DovecotBackend('capture')
    inst.users = {}
    d, o = [], []
    for i, t in enumerate(TEMPLATES):
        (d if t[0] == 'd' else o).append('t%d=%s' % (i, t[2:]))
    os.makedirs(inst.dir, exist_ok=True)
    pw = os.path.join(inst.dir, 'cap.passwd')
    with open(pw, 'w') as f:
        f.write('%s:{PLAIN}%s::::::%s\n' % (USER, PASSWORD, USER_FIELDS))
    inst.extra_conf = '\n'.join([
        'import_environment = TZ %s=%s' % ENV,
        'auth_username_format =',
        'passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s\n'
        '  default_fields = %s\n  override_fields = %s\n}' % (pw, ' '.join(d), ' '.join(o)),
        'userdb {\n  driver = static\n  args = uid=%d gid=%d home=/nonexistent\n}'
        % (ids.uid, ids.gid),
    ])
    # DovecotBackend's own passdbs would come first; keep only the common part
    def write_conf():
        lines = inst._common_conf(ids) + inst._tail_conf()
        with open(inst.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
    inst.write_conf = write_conf
    with inst:
        inst.start()
        r = inst.doveadm('auth', 'test', *CLIENT, USER, PASSWORD, check=False)
    out = r.stdout.decode()
    if 'auth succeeded' not in out:
        sys.exit('doveadm auth test failed:\n%s%s\n%s' % (out, r.stderr.decode(),
                                                         inst.log()[-3000:]))
    got = {}
    for line in out.splitlines():
        m = re.match(r'\s+t(\d+)(?:=(.*))?$', line)
        if m:
            got[int(m.group(1))] = m.group(2) or ''
    missing = [TEMPLATES[i] for i in range(len(TEMPLATES)) if i not in got]
    if missing:
        sys.exit('no answer for %s:\n%s' % (missing, out))

    def c(s):
        return '"%s"' % s.replace('\\', '\\\\').replace('"', '\\"')
    dest = os.path.join(HERE, 'varexpand_dovecot.h')
    with open(dest, 'w') as f:
        f.write('/* SPDX-License-Identifier: MIT */\n/* tests/unit/varexpand_dovecot.h: '
                'written by tests/unit/capture-varexpand.py from\n * Dovecot %s\'s '
                '`doveadm auth test`. Do not edit. */\n' % dovecot_version())
        f.write('#define VX_USER %s\n#define VX_PASSWORD %s\n' % (c(USER), c(PASSWORD)))
        f.write('#define VX_ENV_NAME %s\n#define VX_ENV_VALUE %s\n' % (c(ENV[0]), c(ENV[1])))
        f.write('#define VX_USER_FIELDS %s\n' % c(USER_FIELDS))
        f.write('static const struct { char where; const char *tmpl, *out; } vx_dovecot[] = {\n')
        for i, t in enumerate(TEMPLATES):
            f.write('\t{ \'%s\', %s, %s },\n' % (t[0], c(t[2:]), c(got[i])))
        f.write('};\n')
    print('wrote %s (%d templates)' % (dest, len(TEMPLATES)))


def dovecot_version():
    import subprocess
    return subprocess.run(['dovecot', '--version'], stdout=subprocess.PIPE,
                          text=True).stdout.split()[0]


fixtures.main_guard(main)
