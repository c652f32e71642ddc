# SPDX-License-Identifier: MIT
"""Drop-in configs (issue 13): a real Dovecot 2.3 proxy's dovecot.conf, first run by the
real Dovecot (so it is known to be valid), then by `mtool proxyd -c` unchanged on the same
ports, with imaplib and poplib over plain and TLS; Debian's stock /etc/dovecot tree (copied from
the installed dovecot-core files) turned into a proxy by the edits of Dovecot's proxy
documentation; a real Dovecot director's config run by `mtool directord -c` and
`mtool proxyd -c` unchanged, users landing where Dovecot's director put them; the settings
registry's answers: unused settings reported once, a
misspelling with its suggestion and file:line, -n output."""

import glob
import imaplib
import os
import poplib
import re
import shutil
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import (DovecotBackend, DovecotProxy, TESTDIR, free_port, port_listening, report,
                      main_guard)
from mtoolfix import Proxyd, MTOOL
from dirfix import DovecotDirector

NOVERIFY = ssl.create_default_context()
NOVERIFY.check_hostname = False
NOVERIFY.verify_mode = ssl.CERT_NONE


class RealProxy(DovecotProxy):
    """A Dovecot proxy whose users carry host and port in their passwd-file line (the
    fixture's default_fields form needs passdb default_fields, which the expansions work
    brings to mtool)."""

    def write_conf(self):
        super().write_conf()
        text = open(self.conf).read()
        text = re.sub(r'\n  default_fields = [^\n]*', '', text)
        open(self.conf, 'w').write(text)
        # user2 is a POP3 user: the port is per user here, per protocol with default_fields
        lines = open(self.passwd_file).read().splitlines()
        open(self.passwd_file, 'w').write(''.join(
            '%s host=%s port=%d\n' % (l, self.host, self.backend_pop3_port if
                                      l.startswith('user2@') else self.backend_imap_port)
            for l in lines))


class RealDirector(DovecotDirector):
    """A Dovecot director with its login proxies; the passdb's port without %{if} (one port
    for IMAP, as above)."""

    def write_conf(self):
        super().write_conf()
        text = open(self.conf).read()
        text = re.sub(r'port=%\{if;[^}]*\}', 'port=%d' % self.backend_imap_port, text)
        open(self.conf, 'w').write(text)


class FileProxyd(Proxyd):
    """mtool proxyd (or another applet) on a config file the test wrote (nothing written
    by the fixture)."""

    def __init__(self, name, conf, log_path=None, args=(), applet='proxyd'):
        super().__init__(name=name, args=args)
        self.applet = applet
        self.conf = conf
        if log_path:
            self.log_path = log_path    # the config's log_path: proxyd logs there

    def write_conf(self):
        pass


def imap_login(port, use_ssl=False, user='user1@example.org'):
    try:
        m = (imaplib.IMAP4_SSL('127.0.0.1', port, ssl_context=NOVERIFY) if use_ssl
             else imaplib.IMAP4('127.0.0.1', port))
        typ, _ = m.login(user, 'pass')
        typ2, data = m.select('INBOX')
        m.logout()
        return typ == 'OK' and typ2 == 'OK', data
    except Exception as e:  # noqa: BLE001 - the report says what went wrong
        return False, repr(e)


def pop3_login(port, use_ssl=False):
    try:
        p = (poplib.POP3_SSL('127.0.0.1', port, context=NOVERIFY) if use_ssl
             else poplib.POP3('127.0.0.1', port))
        p.user('user2@example.org')
        r = p.pass_('pass')
        p.stat()
        p.quit()
        return r.startswith(b'+OK'), r
    except Exception as e:  # noqa: BLE001 - the report says what went wrong
        return False, repr(e)


def run(*args):
    r = subprocess.run([MTOOL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode, r.stdout.decode(errors='replace'), r.stderr.decode(errors='replace')


# Dovecot's proxies usually make the port depend on the protocol with default_fields =
# port=%{if;%s;eq;imap;...}: that form is a case for when passdb default_fields and %{if}
# are in (the expansions work); here the port is in each user's line.
def real_proxy_config(be):
    px = RealProxy('realproxy', backend=be, ssl=True)
    with px:
        ok, d = imap_login(px.imap_port)
        report(ok, 'the real Dovecot runs the proxy config (IMAP login)', d)
    # the same file, unchanged, the same ports
    rc, out, err = run('proxyd', '-n', '-c', px.conf)
    report(rc == 0 and 'instance_name' in out and 'first_valid_uid' in out and
           'userdb' in out and 'service/anvil' not in out,
           'proxyd -n accepts the real proxy config; unused settings listed', out + err)
    mp = FileProxyd('realproxy-mtool', px.conf, px.log_path)
    start = len(mp.log())
    with mp:
        ok, d = imap_login(px.imap_port)
        report(ok, 'mtool on the real proxy config: IMAP', d)
        ok, d = imap_login(px.imaps_port, use_ssl=True)
        report(ok, 'mtool on the real proxy config: IMAPS', d)
        ok, d = pop3_login(px.pop3_port)
        report(ok, 'mtool on the real proxy config: POP3', d)
        ok, d = pop3_login(px.pop3s_port, use_ssl=True)
        report(ok, 'mtool on the real proxy config: POP3S', d)
        log = mp.log()[start:]
        info = [l for l in log.splitlines() if 'accepted but not used' in l]
        report(len(info) == 1 and 'mail_max_userip_connections' in info[0] and
               'first_valid_uid' in info[0], 'one info line lists the unused settings', log[-2000:])
        report(not mp.check_log(), 'no crash or sanitizer report', mp.check_log())


def debian_tree(be):
    d = os.path.join(TESTDIR, 'debian-etc')
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, 'run'))
    shutil.copy('/usr/share/dovecot/dovecot.conf', d)
    shutil.copytree('/usr/share/dovecot/conf.d', os.path.join(d, 'conf.d'))
    for f in glob.glob('/usr/share/dovecot/*.conf.ext'):
        shutil.copy(f, d)
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                    '-keyout', os.path.join(d, 'key.pem'), '-out', os.path.join(d, 'cert.pem'),
                    '-subj', '/CN=localhost'], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)

    def edit(name, old, new):
        path = os.path.join(d, name)
        text = open(path).read()
        if old not in text:
            raise RuntimeError('%s: no %r' % (name, old))
        open(path, 'w').write(text.replace(old, new, 1))

    # where Debian keeps the certificate; the ports (the test is not alone on 143)
    edit('conf.d/10-ssl.conf', '</etc/dovecot/private/dovecot.pem', '<' + d + '/cert.pem')
    edit('conf.d/10-ssl.conf', '</etc/dovecot/private/dovecot.key', '<' + d + '/key.pem')
    ports = {}
    for name, dflt in (('imap', 143), ('imaps', 993), ('pop3', 110), ('pop3s', 995),
                       ('submission', 587)):
        ports[name] = free_port()
        edit('conf.d/10-master.conf', '#port = %d' % dflt, 'port = %d' % ports[name])
    # the proxy edits: no system passdb, a passdb whose answer says where the user lives
    edit('conf.d/10-auth.conf', '\n!include auth-system.conf.ext', '\n#!include auth-system.conf.ext')
    sieve = free_port()
    with open(os.path.join(d, 'local.conf'), 'w') as f:
        f.write('listen = 127.0.0.1\nbase_dir = %s/run\nauth_failure_delay = 0\n'
                'disable_plaintext_auth = no\n'
                'passdb {\n  driver = static\n  args = proxy=y nopassword=y host=127.0.0.1 port=%d\n}\n'
                'service managesieve-login {\n  inet_listener sieve {\n    port = %d\n  }\n}\n'
                % (d, be.imap_port, sieve))
    conf = os.path.join(d, 'dovecot.conf')
    rc, out, err = run('proxyd', '-n', '-c', conf)
    report(rc == 0 and 'protocols = " imap lmtp sieve pop3 submission"' in out and
           re.search(r'conf\.d/10-mail\.conf:\d+: mail_location\n', out) and
           'service/auth\n' in out and 'ssl_key = # hidden' in out,
           'Debian tree: -n shows the effective settings and the unused ones', out + err)
    mp = FileProxyd('debian-mtool', conf)
    with mp:
        ok, dd = imap_login(ports['imap'])
        report(ok, 'Debian tree: IMAP login through mtool', dd)
        ok, dd = imap_login(ports['imaps'], use_ssl=True)
        report(ok, 'Debian tree: IMAPS (imaps listener, Debian certificate setting)', dd)
    # a misspelling: file:line and the nearest known name
    with open(os.path.join(d, 'local.conf'), 'a') as f:
        f.write('login_gretting = Hello\n')
    rc, out, err = run('proxyd', '-n', '-c', conf)
    report(rc == 1 and re.search(r"local\.conf:14: unknown setting 'login_gretting' "
                                 r"\(did you mean 'login_greeting'\?\)", err),
           'misspelling: file:line and a suggestion', err)


def landed(bes, user, starts):
    """the backend address that logged user's last login after the offsets (Dovecot's log
    process writes a moment after the login)"""
    deadline = time.monotonic() + 3
    while True:
        hit = None
        for ip, be in bes.items():
            if re.search(r'imap-login: Info: Login: user=<%s>' % re.escape(user),
                         be.log()[starts[ip]:]):
                hit = ip if hit is None else 'both'
        if hit is not None or time.monotonic() > deadline:
            return hit
        time.sleep(0.05)


def director_config():
    a, b = '127.0.0.2', '127.0.0.3'
    port = free_port(a)
    while port_listening(b, port):
        port = free_port(a)
    users = ['user%d@example.org' % i for i in range(1, 6)]
    bes = {ip: DovecotBackend('dbe-' + ip, ip=ip, imap_port=port).start() for ip in (a, b)}
    try:
        dv = RealDirector('realdir', hosts=[a, b], users=users, backend_imap_port=port)
        want = {}
        with dv:
            for u in users:
                starts = {ip: len(be.log()) for ip, be in bes.items()}
                ok, d = imap_login(dv.imap_port, user=u)
                want[u] = landed(bes, u, starts) if ok else None
        report(all(want.values()) and len(set(want.values())) == 2,
               'the real Dovecot director runs its config; users spread over both backends', want)
        rc, out, err = run('directord', '-n', '-c', dv.conf)
        report(rc == 0 and 'login/director' in out and 'director_mail_servers' in out,
               'directord -n accepts the director config', out + err)
        dd = FileProxyd('realdir-directord', dv.conf, dv.log_path, applet='directord')
        px = FileProxyd('realdir-proxyd', dv.conf, dv.log_path)
        with dd:
            with px:
                px.wait_log(r'director: connected to', timeout=5)
                got = {}
                for u in users:
                    starts = {ip: len(be.log()) for ip, be in bes.items()}
                    ok, d = imap_login(dv.imap_port, user=u)
                    got[u] = landed(bes, u, starts) if ok else d
                report(got == want, 'mtool directord + proxyd on the director config: each '
                       'user lands where the real director put it', (want, got))
    finally:
        for be in bes.values():
            be.stop()


def peer_der(ip, port):
    import socket
    with socket.create_connection((ip, port), timeout=10) as sock:
        with NOVERIFY.wrap_socket(sock) as t:
            return t.getpeercert(binary_form=True)


def local_cert(be):
    """local 127.0.0.2 { ssl_cert ssl_key }: another certificate on that address, as
    Dovecot's local filter gives"""
    d = os.path.join(TESTDIR, 'local-cert')
    os.makedirs(d, exist_ok=True)
    pems = {}
    for cn in ('one', 'two'):
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                        '-keyout', os.path.join(d, cn + '.key'), '-out', os.path.join(d, cn + '.pem'),
                        '-subj', '/CN=' + cn], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        pems[cn] = ssl.PEM_cert_to_DER_cert(open(os.path.join(d, cn + '.pem')).read())
    port = free_port('127.0.0.1')
    while port_listening('127.0.0.2', port):
        port = free_port('127.0.0.1')
    conf = os.path.join(d, 'dovecot.conf')
    with open(conf, 'w') as f:
        f.write('base_dir = %s\nlisten = 127.0.0.1, 127.0.0.2\nprotocols = imap\n'
                'ssl_cert = <%s/one.pem\nssl_key = <%s/one.key\n'
                'local 127.0.0.2 {\n  ssl_cert = <%s/two.pem\n  ssl_key = <%s/two.key\n}\n'
                'service imap-login {\n  inet_listener imap {\n    port = 0\n  }\n'
                '  inet_listener imaps {\n    port = %d\n  }\n}\n'
                'passdb {\n  driver = static\n  args = proxy=y nopassword=y host=127.0.0.1 port=%d\n}\n'
                % (d, d, d, d, d, port, be.imap_port))
    with FileProxyd('local-cert-mtool', conf):
        got = (peer_der('127.0.0.1', port), peer_der('127.0.0.2', port))
        report(got == (pems['one'], pems['two']),
               'local 127.0.0.2 { ssl_cert }: that address has its own certificate',
               [len(g or b'') for g in got])
    with open(conf, 'a') as f:
        f.write('local 10.0.0.1 {\n  login_greeting = x\n}\n')
    rc, out, err = run('proxyd', '-n', '-c', conf)
    report(rc == 1 and "login_greeting: mtool proxyd applies it only outside filter sections, "
           "not in section 'local'" in err, 'a setting not applied per address is an error', err)


def main():
    with DovecotBackend('be') as be:
        be.deliver('user1@example.org', b'Subject: x\r\n\r\nbody\r\n')
        real_proxy_config(be)
        debian_tree(be)
        local_cert(be)
    director_config()


main_guard(main)
