# SPDX-License-Identifier: MIT
"""A real OpenLDAP slapd (Debian's) for the ldap passdb tests: configured in TESTDIR/<name> by
the test (slapd.conf, an mdb database loaded with slapadd), listening on 127.0.0.1 and on an
ldapi:// socket in that directory, started and stopped by PID (fixtures.stop_all() stops it
too). The directory holds dc=example,dc=org with ou=people, a service account
cn=dovecot,dc=example,dc=org (password "dovecot pw", the only one that may read
userPassword) and a small schema for proxy attributes (mailProxyHost, mailProxyPort,
mailNoPassword, mailDestUser on the auxiliary class mailProxyUser).

    with Slapd(users) as ld:
        ld.stop(); ld.start()          # a directory that goes away and comes back

LdapProxyd and DovecotLdapProxy run passdb { driver = ldap } blocks with the given
dovecot-ldap.conf.ext files: mtool proxyd and a real Dovecot 2.3 proxy."""

import os
import signal
import subprocess
import urllib.parse

from fixtures import TESTDIR, free_port
from sqlfix import DovecotSqlProxy, SqlProxyd, _Server

SUFFIX = 'dc=example,dc=org'
PEOPLE = 'ou=people,' + SUFFIX
SERVICE_DN = 'cn=dovecot,' + SUFFIX
SERVICE_PW = 'dovecot pw'

SCHEMA = """\
attributetype ( 1.3.6.1.4.1.55555.1.1 NAME 'mailProxyHost'
  EQUALITY caseIgnoreIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.2 NAME 'mailProxyPort'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.3 NAME 'mailNoPassword'
  EQUALITY caseIgnoreIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.4 NAME 'mailDestUser'
  EQUALITY caseIgnoreIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.2.1 NAME 'mailProxyUser' SUP top AUXILIARY
  MAY ( mailProxyHost $ mailProxyPort $ mailNoPassword $ mailDestUser ) )
"""


def ssha(pw):
    r = subprocess.run(['slappasswd', '-h', '{SSHA}', '-s', pw], stdout=subprocess.PIPE, check=True)
    return r.stdout.decode().strip()


class Slapd(_Server):
    """users: list of dicts of attributes (uid required; values str or list)."""

    kind = 'slapd'
    stop_signal = signal.SIGTERM

    def __init__(self, users, name='slapd', tls=None):
        """tls: a tlsfix.make_cert() leaf (with 'ca': the CA's certificate file): slapd
        also listens on ldaps:// (.uri_ldaps), offers StartTLS, and refuses plaintext
        operations on TCP (security tls=1; ldapi:// counts as secure)."""
        self.name = name
        self.tls = tls
        self.ldaps_port = free_port() if tls else 0
        self.uri_ldaps = 'ldaps://127.0.0.1:%d' % self.ldaps_port if tls else ''
        self.dir = os.path.join(TESTDIR, name)
        self.port = free_port()
        self.socket = os.path.join(self.dir, 'ldapi')
        self.uri_unix = 'ldapi://' + urllib.parse.quote(self.socket, safe='')
        self.uri_tcp = 'ldap://127.0.0.1:%d' % self.port
        self.log_path = os.path.join(self.dir, 'slapd.log')
        self.conf = os.path.join(self.dir, 'slapd.conf')
        self.users = users
        self.proc = None

    def init(self):
        os.makedirs(os.path.join(self.dir, 'data'), exist_ok=True)
        os.chmod(TESTDIR, 0o755)
        with open(os.path.join(self.dir, 'mailproxy.schema'), 'w') as f:
            f.write(SCHEMA)
        with open(self.conf, 'w') as f:
            if self.tls:    # global settings: before the database
                f.write('TLSCertificateFile %s\nTLSCertificateKeyFile %s\n'
                        'TLSCACertificateFile %s\nsecurity tls=1\n'
                        % (self.tls['cert'], self.tls['key'], self.tls['ca']))
            f.write('include /etc/ldap/schema/core.schema\n'
                    'include /etc/ldap/schema/cosine.schema\n'
                    'include /etc/ldap/schema/inetorgperson.schema\n'
                    'include %s/mailproxy.schema\n'
                    'pidfile %s/slapd.pid\n'
                    'modulepath /usr/lib/ldap\n'
                    'moduleload back_mdb\n'
                    'database mdb\n'
                    'maxsize 16777216\n'
                    'suffix "%s"\n'
                    'rootdn "cn=admin,%s"\n'
                    'rootpw admin\n'
                    'directory %s/data\n'
                    'access to attrs=userPassword\n'
                    '  by dn.exact="%s" read\n  by anonymous auth\n  by * none\n'
                    'access to * by * read\n'
                    % (self.dir, self.dir, SUFFIX, SUFFIX, self.dir, SERVICE_DN))

        ldif = ['dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n' % SUFFIX,
                'dn: %s\nobjectClass: organizationalUnit\nou: people\n' % PEOPLE,
                'dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n'
                'cn: dovecot\nuserPassword: %s\n' % (SERVICE_DN, ssha(SERVICE_PW))]
        for u in self.users:
            e = 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nobjectClass: mailProxyUser\n' % (u['uid'], PEOPLE)
            attrs = {'cn': u['uid'], 'sn': u['uid']}
            attrs.update(u)
            for k, v in attrs.items():
                for one in (v if isinstance(v, list) else [v]):
                    e += '%s: %s\n' % (k, one)
            ldif.append(e)
        r = subprocess.run(['slapadd', '-f', self.conf], input='\n'.join(ldif).encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError('slapadd failed:\n%s' % r.stdout.decode(errors='replace'))

    def start(self):
        urls = '%s/ %s' % (self.uri_tcp, self.uri_unix)
        if self.tls:
            urls += ' %s/' % self.uri_ldaps
        self._spawn(['slapd', '-d', '0', '-f', self.conf, '-h', urls])
        self.wait_ready()
        return self


def write_ldap_conf(name, uris, filter_, attrs, extra=''):
    path = os.path.join(TESTDIR, 'ldap-%s.conf.ext' % name)
    with open(path, 'w') as f:
        f.write('# dovecot-ldap.conf.ext: %s\n'
                'uris = %s\n'
                'dn = %s\n'
                'dnpass = %s\n'
                'ldap_version = 3\n'
                'base = %s\n'
                'scope = subtree\n'
                'deref = never\n'
                'pass_filter = %s\n'
                'pass_attrs = %s\n'
                'default_pass_scheme = SSHA\n%s'
                % (name, uris, SERVICE_DN, SERVICE_PW, PEOPLE, filter_, attrs, extra))
    os.chmod(path, 0o644)
    return path


class DovecotLdapProxy(DovecotSqlProxy):
    """A real Dovecot proxy whose passdbs are the given dovecot-ldap.conf.ext files."""

    passdb_driver = 'ldap'


class LdapProxyd(SqlProxyd):
    """mtool proxyd whose passdbs are the given dovecot-ldap.conf.ext files."""

    passdb_driver = 'ldap'
