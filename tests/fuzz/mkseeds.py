#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora of tests/fuzz/corpus/ (run from the top of the tree). The
inputs are the conversations and values the unit and integration tests use, in each
target's input format (see the comment at the top of tests/fuzz/fuzz_NAME.c). Run once
when a target is added; the files are checked in, so CI does not need this script.
Crash inputs found later are added by hand next to these (name them crash-WHAT).
With target names as arguments, only those targets' seeds are written (the TLS seeds
differ on every run, as do the LDAP answers captured from a real slapd when it is
installed: rewriting them all makes needless churn)."""
import base64, hashlib, os, re, shutil, ssl, struct, subprocess, sys, tempfile

OUT = 'tests/fuzz/corpus'
seeds = {}

# The test certificates (tests/unit/test_cert.h, tests/fuzz/fuzz.c), and their keys in the other PEM forms.
PEM = tempfile.mkdtemp(prefix='mtool-seeds.')
src = open('tests/fuzz/fuzz.c').read() + open('tests/unit/test_cert.h').read()
for var, name in (('test_cert_pem', 'ec.crt'), ('test_key_pem', 'ec.key'),
                  ('fuzz_rsa_cert_pem', 'rsa.crt'), ('fuzz_rsa_key_pem', 'rsa1.key')):
    body = re.search(r'const char %s\[\] =\n(.*?);\n' % var, src, re.S).group(1)
    with open(os.path.join(PEM, name), 'w') as f:
        f.write('\n'.join(re.findall(r'"(.*?)\\n"', body)) + '\n')
subprocess.check_call(['openssl', 'pkcs8', '-topk8', '-nocrypt', '-in', PEM + '/rsa1.key', '-out', PEM + '/rsa.key'])
subprocess.check_call(['openssl', 'ec', '-in', PEM + '/ec.key', '-out', PEM + '/ec1.key'], stderr=subprocess.DEVNULL)


def pem(name):
    return open(os.path.join(PEM, name)).read()



def add(target, *inputs):
    seeds.setdefault(target, []).extend(x if isinstance(x, bytes) else x.encode() for x in inputs)


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


# ---- core parsers
add('base64', 'Zm9vYmFy', 'Zm8', 'Zm8=', 'AHVzZXIAcGFzcw==', 'Zh==', '====', 'Zm9v\nYmFy')
add('xtext', 'a+2Bb+3Dc', '[192.0.2.1]', 'up+2Bstream', 'bad+zz', 'x+0')
add('sasl', 'PLAIN\n' + b64('\0user\0pass'), 'PLAIN\n*\n' + b64('authz\0user\0pass'),
    'PLAIN\n=', 'PLAIN\n!!!notbase64', 'LOGIN\n*\n' + b64('user') + '\n' + b64('pass'),
    'LOGIN\n' + b64('user') + '\n' + b64('pass'), 'LOGIN\n*\n*',
    'XOAUTH2\n' + b64('user=user\x01auth=Bearer token\x01\x01'),
    'OAUTHBEARER\n' + b64('n,a=user,\x01host=example.org\x01port=143\x01auth=Bearer token\x01\x01'),
    'OAUTHBEARER\n' + b64('y,,\x01auth=Bearer t\x01\x01'))
add('smtpdot', b'\x00Subject: x\r\n\r\nbody\r\n..dot\r\n.\r\nQUIT\r\n', b'\x03line\n.\n',
    b'\x10.\r', b'\x00no end\r\n.x\r\n', b'\x40a\r\n.\r\nRSET\r\n')
add('tabescape', 'LIST\tuser\x01tname\x011', 'proxy\t*\tKICK\tuser1\tuser2', 'a\x01', '\t\t',
    'x\x010y\x01r\x01n', 'VERSION\tanvil-client\t2\t0')
add('varexpand', 'user@example.org\n%u %n %d %Lu %Uu %{user} %1.2n %-3.1d %%',
    'john\n%{unknown} %r:%b %l:%a %s %w %{session}', 'a@b\n%M.-1n %{', 'u\n%5.3u%', 'x\n%-2.-1d%L{domain}',
    'a@b.c\n%ELUu %Xa %Ru %4Hu %3.8Hu %256Nu %Mu %Dd %Tu %LMRTu',
    'u@d\n%{md5:user} %{sha1;truncate=12:user} %{sha256;rounds=3,format=base64:username} '
    '%{sha512;format=hexuc,salt=%s-%{if;1;<;2;a;b}:domain} %L{sha384:env:HOME}',
    'u@d\n%{if;%s;eq;imap;143;110} %{if;%a;>=;-5;y} %{if;%u;*;*@d;y;n} %{if;a\\;b;ne;x;%{if;1;==;1;n;m};z}',
    'u@d\n%{passdb:x:dflt} %{userdb:y} %{if;%{passdb:n};>;1;a;b} %{pid}%{uid}%{gid}%{hostname}',
    'u\n%{if;a;~;.*;x;y} %{if;a;=;b;c;d} %{if;1} %{sha1;rounds=0:user}')
add('addr', '127.0.0.1', '::1', '[::1]', '::ffff:1.2.3.4', '10.1.2.3/8', 'fe80::/10', '[::1]/128',
    '127.0.0.0/8 ::1, 192.168.0.0/16', 'host:143', '[::1]:143', '1.2.3.4:99999', '127.1', '1.2.3.4/33')
add('tls_load', '\0'.join([pem('ec.crt'), pem('ec.key'),
                           pem('ec.crt'), 'mail.example.org *.example.org',
                           'ECDHE-RSA-CHACHA20-POLY1305:AES128-SHA:ECDHE-ECDSA-AES256-GCM-SHA384']),
    '\0'.join([pem('rsa.crt'), pem('rsa1.key'), '', '',
               'ALL:!aNULL:@STRENGTH']),
    '\0'.join([pem('rsa.crt'), pem('rsa.key'), '', '', 'TLSv1.2']),
    '\0'.join([pem('ec.crt'), pem('ec1.key'), '', '', 'TLSv1.3']))


def openssl_passwd(flag, pw, salt):
    return subprocess.check_output(['openssl', 'passwd', flag, '-salt', salt, pw]).decode().strip()


md5c = openssl_passwd('-1', 'pass', 'saltsalt')
sha256c = openssl_passwd('-5', 'pass', 'K/rq9Tj88ZbtBj5W')
sha512c = openssl_passwd('-6', 'pass', '5ZSDGFqI/pNXzeV6')
bcrypt = '$2y$04$abcdefghijklmnopqrstuu'
add('crypt', 'pass\n' + md5c, 'pass\n' + sha256c, 'pass\n' + sha512c, 'pass\n$5$rounds=1000$salt$',
    'pass\n' + bcrypt, 'pass\n$2b$04$abcdefghijklmnopqrstuubyCG3zY1GIXMyxfivm.ClDiInHzxjiq',
    'pass\nab', 'pass\n$6$rounds=x$salt', 'pass\n$2x$04$abcdefghijklmnopqrstuu', 'pass\n$1$')
salt = b'saltsalt'
ssha256 = b64(hashlib.sha256(b'pass' + salt).digest() + salt)
add('password', '{PLAIN}pass\npass\n', '{PLAIN}pass\nwrong\n', '{CRYPT}' + md5c + '\npass\n',
    '{SHA256-CRYPT}' + sha256c + '\npass\n', '{SHA512-CRYPT}' + sha512c + '\npass\n',
    '{BLF-CRYPT}$2b$04$abcdefghijklmnopqrstuubyCG3zY1GIXMyxfivm.ClDiInHzxjiq\npass\n',
    '{PLAIN-MD5}' + hashlib.md5(b'pass').hexdigest() + '\npass\n',
    '{SHA}' + b64(hashlib.sha1(b'pass').digest()) + '\npass\n', '{SSHA256}' + ssha256 + '\npass\n',
    '{SHA256.HEX}' + hashlib.sha256(b'pass').hexdigest() + '\npass\n',
    '{DIGEST-MD5}' + hashlib.md5(b'user:realm:pass').hexdigest() + '\npass\n',
    md5c + '\npass\n', 'pass\npass\nPLAIN', sha512c + '\npass\nCRYPT', '*locked\npass\n',
    '{UNKNOWN}x\npass\n', '{SSHA}AAAA\npass\n', 'x\npass\nSHA512-CRYPT', 'x\npass\nSSHA512.HEX',
    'x\npass\nDES-CRYPT', 'x\npass\nDIGEST-MD5')
add('passwdfile', 'user:{PLAIN}pass::::::proxy=y host=127.0.0.1 port=143\n# comment\n\nuser2:{PLAIN}x\n',
    'user:pass[34]:1000:1000::/home/user:/bin/sh\nuser:dup\n:skip\n\0user:{PLAIN}new::::::nologin=y\n',
    'a:b:c:d:e:f:g:h:i:j\r\nb\nc:\n')
conf_main = '''base_dir = /var/run/mtool
listen = 127.0.0.1, ::1
protocols = imap pop3 lmtp
login_trusted_networks = 127.0.0.0/8
disable_plaintext_auth = no
auth_failure_delay = 0
ssl_cert = <cert.pem
service imap-login {
  inet_listener imap {
    port = 10143
  }
  inet_listener imaps {
    port = 10993
    ssl = yes
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN /etc/mtool/passwd
}
protocol imap {
  imap_id_send = "name" "mtool"
}
local 127.0.0.1 {
  ssl = no
}
!include 1
!include_try *.conf
'''
add('conf', conf_main + '\0log_path = syslog\n\0', 'a = 1\nb = $a 2\nc = "quoted # not a comment" # comment\n'
    'd = multi \\\n  line\nsection name {\n  k = v\n}\n!include 1\n\0!include 2\n\0!include 1\n',
    '!include *\n\0x = 1\n\0y = 2\n', 'key = <1\n\0file content\n', 'a {\nb {\n}\n}\n}\n{\n!include_try missing\n',
    '!include 1\n\0!include 2\n\0!include 3\n\0!include 4\n\0!include 5\n\0!include 6\n\0!include 7\n\0!include 8\n\0!include 1\n')
add('imap_parser', b'\x00a1 LOGIN "us\\"er" "pa\\\\ss"\r\n', b'\x10x LOGIN {5}\r\nuser1 {4+}\r\npass\r\n',
    b'\x01AUTHENTICATE PLAIN\r\n', b'\x02' + b'dXNlcg==\r\n', b'\x40a ID ("name" "x" "version" NIL)\r\n',
    b'\x00a CAPABILITY\r\nb STARTTLS\r\nc LOGOUT\r\n', b'\x04a LOGIN {99999999}\r\n', b'\x00a (((((\r\n',
    b'\xfca NOOP\r\n' * 3)

# ---- TLS: a real ClientHello and a real server flight (TLS 1.2, the test certificate)
def tls_flights():
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    cctx.maximum_version = ssl.TLSVersion.TLSv1_2
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.maximum_version = ssl.TLSVersion.TLSv1_2
    sctx.load_cert_chain(PEM + '/ec.crt', PEM + '/ec.key')
    ci, co, si, so = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = cctx.wrap_bio(ci, co, server_hostname='unit.test')
    s = sctx.wrap_bio(si, so, server_side=True)
    try:
        c.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = co.read()
    si.write(hello)
    try:
        s.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return hello, so.read()


hello, server_flight = tls_flights()
add('tls', b'\x00' + hello, b'\x08' + hello, b'\x01' + server_flight, b'\x02' + server_flight,
    b'\x03' + b'\x16\x03\x03\x00\x05\x10\x00\x00\x01\x00', b'\x04\x17\x03\x03\x00\x10' + b'A' * 16,
    b'\x05\x15\x03\x03\x00\x02\x02\x28', b'\x00\x80\x01\x00\x00\x00')

# ---- proxyd: conversations (flags byte, client, NUL NUL, backend)
def conv(trusted, client, backend=b'', step=127):
    flags = bytes([(step << 1) | trusted])
    return flags + client + (b'\0\0' + backend if backend else b'')


imap_be = b'* OK [CAPABILITY IMAP4rev1 ID AUTH=PLAIN STARTTLS] ready\r\nI OK ID done\r\nC OK\r\nL OK [CAPABILITY IMAP4rev1] Logged in\r\n'
add('login_imap',
    conv(0, b'a CAPABILITY\r\nb LOGIN user pass\r\nc NOOP\r\nd LOGOUT\r\n', imap_be),
    conv(1, b'a ID ("x-originating-ip" "192.0.2.9" "x-session-id" "abc" "name" "client")\r\nb AUTHENTICATE PLAIN ' + b64('\0user\0pass').encode() + b'\r\n', imap_be),
    conv(0, b'a AUTHENTICATE LOGIN\r\n' + b64('user').encode() + b'\r\n' + b64('pass').encode() + b'\r\n', b'* OK ready\r\nL NO [UNAVAILABLE] try later\r\n'),
    conv(0, b'a LOGIN {4}\r\nuser {4+}\r\npass\r\n', b'* BYE no\r\n'),
    conv(0, b'a LOGIN nologin pass\r\nb LOGIN local pass\r\nc LOGIN user wrong\r\nd AUTHENTICATE PLAIN\r\n*\r\n'),
    conv(0, b'a STARTTLS\r\n\x16\x03\x01\x00\x05hello'),
    conv(0, b'a LOGIN tls pass\r\n', b'* OK ready\r\nI OK\r\nS OK Begin TLS\r\n'),
    conv(0, b'a AUTHENTICATE XOAUTH2 ' + b64('user=user\x01auth=Bearer t\x01\x01').encode() + b'\r\n', b'* OK ready\r\nL NO [AUTHENTICATIONFAILED] bad\r\n'),
    conv(0, b'a BOGUS\r\nb BOGUS\r\nc BOGUS\r\nd BOGUS\r\n'))
pop3_be = b'+OK [XCLIENT] ready\r\n+OK\r\n+OK\r\n+OK Logged in\r\n'
add('login_pop3',
    conv(0, b'CAPA\r\nUSER user\r\nPASS pass\r\nSTAT\r\nQUIT\r\n', pop3_be),
    conv(1, b'XCLIENT ADDR=192.0.2.9 PORT=1234 SESSION=abc TTL=3\r\nAUTH PLAIN ' + b64('\0user\0pass').encode() + b'\r\n', pop3_be),
    conv(0, b'AUTH\r\nAUTH LOGIN\r\n' + b64('user').encode() + b'\r\n' + b64('pass').encode() + b'\r\n', b'+OK ready\r\n-ERR [SYS/TEMP] later\r\n'),
    conv(0, b'USER tls\r\nPASS pass\r\n', b'+OK ready\r\n+OK Begin TLS\r\n'),
    conv(0, b'STLS\r\n\x16\x03\x01'), conv(0, b'USER nologin\r\nPASS pass\r\nFOO\r\nBAR\r\nBAZ\r\n'))
subm_be = (b'220 backend ESMTP\r\n250-backend\r\n250-XCLIENT ADDR PORT SESSION TTL FORWARD\r\n250-AUTH PLAIN\r\n'
           b'250 STARTTLS\r\n220 2.0.0 Ready\r\n235 2.7.0 Logged in\r\n')
add('login_submission',
    conv(0, b'EHLO client\r\nAUTH PLAIN ' + b64('\0user\0pass').encode() + b'\r\nMAIL FROM:<a@b>\r\nQUIT\r\n', subm_be),
    conv(1, b'EHLO x\r\nXCLIENT ADDR=192.0.2.9 PORT=1234 LOGIN=user\r\nEHLO y\r\nAUTH LOGIN\r\n' + b64('user').encode() + b'\r\n' + b64('pass').encode() + b'\r\n', subm_be),
    conv(0, b'HELO x\r\nNOOP\r\nRSET\r\nHELP\r\nAUTH PLAIN\r\n*\r\nSTARTTLS\r\n'),
    conv(0, b'EHLO x\r\nAUTH PLAIN ' + b64('\0tls\0pass').encode() + b'\r\n', subm_be),
    conv(0, b'EHLO x\r\nAUTH XOAUTH2 ' + b64('user=user\x01auth=Bearer t\x01\x01').encode() + b'\r\n', b'220 x\r\n250 x\r\n535 5.7.8 no\r\n'))
sieve_be = (b'"IMPLEMENTATION" "Dovecot Pigeonhole"\r\n"SASL" "PLAIN"\r\n"STARTTLS"\r\n"VERSION" "1.0"\r\n'
            b'OK "ready"\r\nOK "logged in"\r\n')
add('login_managesieve',
    conv(0, b'CAPABILITY\r\nAUTHENTICATE "PLAIN" "' + b64('\0user\0pass').encode() + b'"\r\nLOGOUT\r\n', sieve_be),
    conv(1, b'XCLIENT ADDR=192.0.2.9 TTL=2\r\nAUTHENTICATE "PLAIN" {' + str(len(b64('\0user\0pass'))).encode() + b'+}\r\n' + b64('\0user\0pass').encode() + b'\r\n', sieve_be),
    conv(0, b'AUTHENTICATE "LOGIN"\r\n"' + b64('user').encode() + b'"\r\n{8+}\r\n' + b64('pass').encode() + b'\r\n', b'OK\r\nNO "bad"\r\n'),
    conv(0, b'NOOP "tag"\r\nSTARTTLS\r\n'), conv(0, b'AUTHENTICATE "PLAIN" "' + b64('\0tls\0pass').encode() + b'"\r\n', sieve_be))
lmtp_be = (b'220 backend LMTP\r\n250-backend\r\n250-8BITMIME\r\n250-XCLIENT ADDR PORT TTL TIMEOUT\r\n250-CHUNKING\r\n'
           b'250 PIPELINING\r\n250 2.0.0 OK\r\n250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 go\r\n250 2.0.0 <user@example.org> Saved\r\n221 bye\r\n')
msg = b'From: sender@example.org\r\nSubject: x\r\n\r\nbody\r\n..dot\r\n.\r\n'
add('lmtp',
    conv(0, b'LHLO mta\r\nMAIL FROM:<s@example.org> BODY=8BITMIME\r\nRCPT TO:<user@example.org>\r\nDATA\r\n' + msg + b'QUIT\r\n', lmtp_be),
    conv(1, b'XCLIENT ADDR=192.0.2.9 SESSION=up+2Bstream TTL=3\r\nLHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<user@example.org> ORCPT=rfc822;user+2B1@example.org\r\nRCPT TO:<nobody@example.org>\r\nBDAT 6 LAST\r\nabcdef', lmtp_be),
    conv(0, b'LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<user+detail@example.org>\r\nRSET\r\nNOOP\r\nVRFY x\r\nQUIT\r\n', b'421 go away\r\n'),
    conv(0, b'LHLO x\r\nDATA\r\nMAIL FROM:<a@b> SIZE=100\r\nRCPT TO:<user@example.org>\r\nDATA\r\n.\r\n', lmtp_be))
add('ipc', 'proxy\t*\tLIST-FULL\n', 'proxy\t1\tKICK\tuser\n', 'proxy\t*\tKICK-ALT\ttag\tt1\n',
    'proxy\t*\tKICK-HOST\t127.0.0.1\n', 'imap\t*\tLIST\n', 'proxy\tx\tLIST-FULL\n\n', 'proxy\t2\tKICK\n')
AM = 'VERSION\t1\t0\n'
add('authmaster', AM + 'CACHE-FLUSH\t1\n', AM + 'CACHE-FLUSH\t2\tuser\tnobody\tuser\x01t\n',
    AM + 'USER\t3\tuser\tservice=imap\nPASS\t4\tuser\nLIST\t5\tuser=*\n', 'VERSION\t2\t0\nCACHE-FLUSH\t1\n',
    AM + 'BOGUS\t1\n', AM + 'CACHE-FLUSH\n\n')
add('anvil', 'VERSION\tanvil-client\t2\t0\n\nCONNECT-DUMP\n', 'VERSION\tanvil-client\t2\t0\nKICK-USER\tuser\n',
    'VERSION\tanvil-client\t2\t0\nKICK-ALT-USER\ttag\tt1\nKICK-USER\tuser\t0123\nBOGUS\n', 'VERSION\tanvil\t1\t0\n')

V = 'VERSION\tdirector-doveadm\t1\t0\n'
add('director_admin', V + 'HOST-LIST\nHOST-LIST-REMOVED\nDIRECTOR-LIST\n',
    V + 'HOST-SET\t10.0.0.5\t50\nHOST-UPDATE\t10.0.0.1\t0\nHOST-DOWN\t10.0.0.2\nHOST-UP\t10.0.0.2\n',
    V + 'USER-LOOKUP\tuser1\t\nUSER-LIST\nUSER-LIST\t10.0.0.1\n',
    V + 'USER-MOVE\tuser1\t10.0.0.2\nUSER-KICK\tuser1\nUSER-KICK-ALT\ttag\tx\n',
    V + 'HOST-REMOVE\t10.0.0.1\nHOST-FLUSH\t10.0.1.1\nHOST-RESET-USERS\nHOST-RESET-USERS\t10.0.0.2\t10\n',
    V + 'DIRECTOR-ADD\t127.0.0.2\t9090\nDIRECTOR-REMOVE\t127.0.0.2\nBOGUS\n',
    'VERSION\tdirector-doveadm\t2\t0\nHOST-LIST\n', V + 'HOST-SET\tmail.example.org@tag3\t10\nUSER-LOOKUP\tuser2\ttag1\n')
P = 'VERSION\tmtool-director\t1\t0\n'
add('director_proxy', P + 'LOOKUP\t1\tuser1\t\nSTART\tg1\tuser1\t\t10.0.0.1\nEND\tg1\n',
    P + 'LOOKUP\t7\tuser2\ttag1\nLOOKUP\t8\tuser3\tnotag\nSTART\tg2\tuser2\ttag1\t10.0.1.1\nSTART\tg2\tuser2\ttag1\t10.0.1.1\n',
    P + 'END\tunknown\nLOOKUP\tx\ty\n', 'VERSION\tmtool-director\t2\t0\nLOOKUP\t1\tu\t\n',
    P + 'START\tg\tu\t\tnot-an-ip\nLOOKUP\t1\t\t\n')
D = 'VERSION\tmtool-director\t1\t0\n'
add('proxyd_director', D + 'HOST\t1\t127.0.0.1\t\nFAIL\t2\ttimeout\n',
    D + 'HOST\t1\t127.0.0.1\tmail1.example.org\nKICK-USER\tdir\nKICK-ALT\ttag\tx\nKICK\tabc\tbye\nHOST\t2\tnot-an-ip\t\n',
    'VERSION\tmtool-director\t2\t0\n')
add('dline_reader', 'VERSION\tanvil-server\t2\t0\nuser1\t127.0.0.1\timap\t1\n\n',
    '+\n-Unknown command\n+3\nproxy\t1\tuser\x01t\x01n\tlast')

# ---- SQL backends: the server's side of a query (the harnesses start after the login)
def pg(t, body):
    return t + struct.pack('>I', len(body) + 4) + body


def pg_field(name, oid=25):
    return name + b'\0' + struct.pack('>IhIhih', 0, 0, oid, -1, -1, 0)


def pg_row(*vals):
    return struct.pack('>h', len(vals)) + b''.join(
        struct.pack('>i', -1) if v is None else struct.pack('>i', len(v)) + v for v in vals)


pg_ready = pg(b'Z', b'I')
add('pgsql',
    pg(b'T', struct.pack('>h', 2) + pg_field(b'password') + pg_field(b'proxy', 16)) +
    pg(b'D', pg_row(b'{PLAIN}pass', b't')) + pg(b'C', b'SELECT 1\0') + pg_ready,
    pg(b'T', struct.pack('>h', 3) + pg_field(b'user') + pg_field(b'host') + pg_field(b'port', 23)) +
    pg(b'D', pg_row(b'user1', b'127.0.0.1', b'143')) + pg(b'D', pg_row(b'user2', None, b'')) +
    pg(b'C', b'SELECT 2\0') + pg_ready,
    pg(b'C', b'SELECT 0\0') + pg(b'I', b'') + pg_ready,
    pg(b'E', b'SERROR\0VERROR\0C42P01\0Mrelation "users" does not exist\0P15\0\0') + pg_ready,
    pg(b'N', b'SNOTICE\0Mhello\0\0') + pg(b'S', b'standard_conforming_strings\0on\0') +
    pg(b'T', struct.pack('>h', 1) + pg_field(b'?column?')) + pg(b'D', pg_row(b'x')) + pg_ready,
    # the startup answer (AuthenticationOk, parameters, key, ready), out of place after a query
    pg(b'R', struct.pack('>I', 0)) + pg(b'S', b'server_version\x0015.5\0') +
    pg(b'K', struct.pack('>II', 1234, 5678)) + pg_ready,
    pg(b'R', struct.pack('>I', 10) + b'SCRAM-SHA-256\0\0'), pg(b'R', struct.pack('>I', 5) + b'salt'))


def my(seq, body):
    return struct.pack('<I', len(body))[:3] + bytes([seq]) + body


def my_lenenc(b):
    return bytes([len(b)]) + b


def my_col(name, typ=0xfd):
    return b''.join(my_lenenc(x) for x in (b'def', b'mtool', b'users', b'users', name, name)) + \
        b'\x0c' + struct.pack('<HIBHB', 33, 255, typ, 0, 0) + b'\0\0'


my_eof = b'\xfe\0\0\x02\0'


def my_result(cols, rows, seq=1):
    out = my(seq, bytes([len(cols)]))
    for c in cols:
        seq += 1
        out += my(seq, my_col(c))
    seq += 1
    out += my(seq, my_eof)
    for r in rows:
        seq += 1
        out += my(seq, b''.join(b'\xfb' if v is None else my_lenenc(v) for v in r))
    return out + my(seq + 1, my_eof)


add('mysql',
    my_result([b'password', b'proxy'], [[b'{PLAIN}pass', b'Y']]),
    my_result([b'user', b'host', b'port'], [[b'user1', b'127.0.0.1', b'143'], [b'user2', None, b'']]),
    my_result([b'x'], []),
    my(1, b'\0\0\0\x02\0\0\0'),  # OK, no rows
    my(1, b'\xff\x7a\x04#42S02Table \'mtool.users\' doesn\'t exist'),
    my(1, b'\0\0\0\x0a\0\0\0') + my_result([b'a'], [[b'1']], 1),  # more results follow
    # the server's greeting (protocol 10, mysql_native_password), out of place after a query
    my(0, b'\x0a8.0.36\0' + struct.pack('<I', 11) + b'abcdefgh\0' + struct.pack('<HBHH', 0xf7ff, 33, 2, 0xdfff) +
       b'\x15' + b'\0' * 10 + b'ijklmnopqrst\0mysql_native_password\0'))

# ---- the /metrics HTTP server, the resolver, the PROXY protocol
add('http', 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9900\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n',
    'GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n\r\n',
    'GET /metrics HTTP/1.0\n\n', 'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc', 'GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n', 'GET /metrics\r\n\r\n')


def dns_name(n):
    return b''.join(bytes([len(x)]) + x.encode() for x in n.split('.')) + b'\0'


def dns_msg(qtype, answers, rcode=0, qname='mail.example.org'):
    head = struct.pack('>HHHHHH', 0x1234, 0x8180 | rcode, 1, len(answers), 0, 0)
    q = dns_name(qname) + struct.pack('>HH', qtype, 1)
    return head + q + b''.join(answers)


def dns_rr(typ, rdata, name=b'\xc0\x0c', ttl=300):
    return name + struct.pack('>HHIH', typ, 1, ttl, len(rdata)) + rdata


a1, a2 = bytes([192, 0, 2, 10]), bytes([192, 0, 2, 11])
v6 = bytes.fromhex('20010db8000000000000000000000010')
add('dns', b'\x00\x01' + dns_msg(1, [dns_rr(1, a1), dns_rr(1, a2)]),
    b'\x01\x01' + dns_msg(28, [dns_rr(28, v6)]),
    # a CNAME, the target's name partly compressed (imap + pointer to example.org)
    b'\x00\x01' + dns_msg(1, [dns_rr(5, b'\x04imap\xc0\x11'), dns_rr(1, a1, name=b'\xc0\x2e', ttl=60)]),
    b'\x00\x00' + dns_msg(1, [dns_rr(1, a1)]),
    b'\x00\x01' + dns_msg(1, [], rcode=3) + dns_rr(6, dns_name('ns.example.org') + dns_name('root.example.org') + b'\0' * 20),
    b'\x01\x01' + dns_msg(28, [dns_rr(1, a1)]), b'\x00\x01' + dns_msg(1, [dns_rr(1, a1, name=b'\xc0\x0c\xc0\x0c')]))
# the resolver with its files and a nameserver (fuzz_resolver.c): mode byte, resolv.conf,
# NUL, hosts, NUL, name, NUL, the answer (mode 1: the query's question goes after its header)
RC = b'nameserver 127.0.0.1\nnameserver 192.0.2.53\nsearch example.org example.net\noptions timeout:1 attempts:2 ndots:1\n'
HS = b'127.0.0.1 localhost\n192.0.2.10 mail.example.org mail # backend\n::1 ip6-localhost ip6-loopback\n'


def dns_head(an, rcode=0, flags=0x8180):
    return struct.pack('>HHHHHH', 0, flags | rcode, 1, an, 0, 0)


add('resolver', b'\x01' + RC + b'\0' + HS + b'\0imap\0' + dns_head(1) + dns_rr(1, a1),
    b'\x01' + RC + b'\0' + HS + b'\0imap.example.org\0' + dns_head(2) + dns_rr(5, b'\x04mail\xc0\x11') + dns_rr(1, a2, name=b'\xc0\x2e'),
    b'\x01' + RC + b'\0' + HS + b'\0nowhere.example.org\0' + dns_head(0, rcode=3),
    b'\x01' + RC + b'\0' + HS + b'\0big\0' + dns_head(0, flags=0x8380),
    b'\x00' + RC + b'\0' + HS + b'\0mail\0', b'\x00' + RC + b'\0' + HS + b'\0192.0.2.1\0',
    b'\x00domain example.com\n\0\0imap\0' + dns_msg(1, [dns_rr(1, a1)], qname='imap.example.com'),
    b'\x01options ndots:15 timeout:0\n\0\0bad..name\0', b'\x01' + RC + b'\0' + HS + b'\0v6only\0' + dns_head(1) + dns_rr(28, v6))

add('haproxy', 'PROXY TCP4 192.0.2.9 127.0.0.1 56324 143\r\nA LOGIN', 'PROXY TCP6 2001:db8::9 ::1 56324 993\r\n',
    'PROXY UNKNOWN\r\n', 'PROXY UNKNOWN ffff:f...f ffff:f...f 65535 65535\r\n', 'PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n')
V2 = b'\r\n\r\n\x00\r\nQUIT\n'
add('haproxy', V2 + b'\x21\x11' + struct.pack('>H', 12) + bytes([192, 0, 2, 9, 127, 0, 0, 1]) + struct.pack('>HH', 56324, 143),
    V2 + b'\x21\x21' + struct.pack('>H', 36) + bytes.fromhex('20010db8000000000000000000000009') + bytes(15) + b'\x01' + struct.pack('>HH', 1, 993),
    V2 + b'\x20\x00\x00\x00',
    V2 + b'\x21\x11' + struct.pack('>H', 12 + 7 + 6) + bytes([192, 0, 2, 9, 127, 0, 0, 1]) + struct.pack('>HH', 1, 143) +
    b'\x20\x00\x04\x01\x00\x00\x00' + b'\x02\x00\x03abc')

# ---- the director ring: a peer 127.0.0.2:9091 dialling directord 127.0.0.1:9090 (the
# dialler's side of director-ring.md's captured join; directord_fuzz.h)
T = 1796666042
ring_hello = ('VERSION\tdirector\t1\t9\nME\t127.0.0.2\t9091\t%d\nDIRECTOR\t127.0.0.1\t9090\n'
              'DIRECTOR\t127.0.0.2\t9091\n' % T)
ring_hosts = ''.join('HOST\t%s\t100\t%s\tU0\t\n' % h for h in
                     (('10.0.0.1', ''), ('10.0.0.2', ''), ('10.0.1.1', 'tag1'), ('10.0.1.2', 'tag1'),
                      ('10.0.1.3', 'tag1'), ('192.0.2.1', 'tag2')))
ring_users = 'U\t3374478458\t10.0.0.1\t%d\nU\t12345\t10.0.1.1\t%d\tw\n' % (T, T - 5)
ring_done = 'OPTIONS\tconsistent-hashing\nDONE\n'
add('ring', ring_hello + 'HOST-HAND-START\t0\n' + ring_hosts + 'HOST-HAND-END\t0\n' + ring_users + ring_done,
    ring_hello + 'HOST-HAND-START\t1\nHOST\t10.0.0.9\t50\t\tD%d\tmail9.example.org\nHOST-HAND-END\t1\n' % T +
    ring_users + ring_done + 'SYNC\t127.0.0.2\t9091\t1\t9\t%d\t2266493799\n' % T,
    ring_hello + 'HOST-HAND-START\t0\nHOST-HAND-END\t0\n' + ring_done +
    'PING\t%d\nPONG\nUSER\t3374478458\t10.0.0.2\t%d\nUSER-WEAK\t127.0.0.2\t9091\t1\t99\t10.0.0.1\n' % (T, T) +
    'HOST\t127.0.0.2\t9091\t2\t10.0.0.5\t10\t\tU%d\t\n' % T +
    'USER-MOVE\t127.0.0.2\t9091\t3\t3374478458\t10.0.0.1\nUSER-KILLED\t3374478458\n'
    'USER-KILLED-EVERYWHERE\t127.0.0.2\t9091\t4\t3374478458\n'
    'USER-KICK\t127.0.0.2\t9091\t5\tuser1\nUSER-KICK-ALT\t127.0.0.2\t9091\t6\ttag\tx\n'
    'USER-KICK-HASH\t127.0.0.2\t9091\t7\t3374478458\n'
    'HOST-FLUSH\t127.0.0.2\t9091\t8\t10.0.0.2\nHOST-REMOVE\t127.0.0.2\t9091\t9\t10.0.0.5\n'
    'DIRECTOR\t127.0.0.3\t9092\nDIRECTOR-REMOVE\t127.0.0.3\t9092\nCONNECT\t127.0.0.2\t9091\nQUIT\tbye\n',
    'VERSION\tdirector\t1\t5\nME\t127.0.0.2\t9091\t%d\nHOST-HAND-START\t0\n' % T +
    'HOST\t10.0.0.1\t100\nUSER\t1\t10.0.0.1\t%d\nOPTIONS\tconsistent-hashing\nDONE\n' % T,
    'VERSION\tdirector\t2\t0\n', 'VERSION\tdirector\t1\t9\nME\t127.0.0.9\t9091\t0\n',
    ring_hello + 'SYNC\t127.0.0.1\t9090\t1\t9\t%d\t0\nHOST-HAND-START\t0\nHOST-HAND-END\t0\n' % T + ring_done,
    ring_hello + 'OPTIONS\tnope\nDONE\n', ring_hello + '\n')

# ---- replicatord (replicatord_fuzz.h): first byte the mode, then one side's bytes
ST = 'AQAAAMkDhP6xs1Jm2V0AAJhkxJ8AAAAA'
RA = 'VERSION\treplicator-doveadm-client\t1\t0\n'
add('replicator_admin', b'\x00' + (RA + 'STATUS\n').encode(), b'\x01' + (RA + 'STATUS\tuser*\n').encode(),
    b'\x00' + (RA + 'REPLICATE\thigh\tf\tuser1\nSTATUS-DSYNC\n').encode(),
    b'\x00' + (RA + 'REPLICATE\tlow\t\tuser*\nADD\tuser4\nADD\t*\nSTATUS-DSYNC\n').encode(),
    b'\x30' + (RA + 'REMOVE\tuser2@example.org\nREMOVE\tnobody\nNOTIFY\tuser1\tf\t' + ST + '\nSTATUS\n').encode(),
    b'\x00' + (RA + 'REPLICATE\tbogus\t\tuser1\n').encode(), b'\x00' + (RA + 'STATUS\n\n').encode(),
    b'\x00' + (RA + 'FOO\tbar\n').encode(), b'\x00VERSION\treplicator-doveadm-client\t2\t0\nSTATUS\n')
RN = 'VERSION\treplicator-notify\t1\t0\n'
add('replicator_notify', b'\x00' + (RN + 'U\tuser1\thigh\nU\tnew@example.org\tlow\nU\tuser3\tsync\t1\n').encode(),
    b'\x01' + (RN + 'U\tuser2@example.org\tsync\t7\nU\tuser2@example.org\tsync\t8\n').encode(),
    b'\x04' + (RN + 'U\tuser1\tsync\t4294967295\nU\tuser1\tsync\t0\n').encode(),
    b'\x00' + (RN + 'U\tuser1\tnone\n').encode(), b'\x00' + (RN + 'X\tuser1\thigh\n').encode(),
    b'\x02user1\tsync\nuser2@example.org\thigh\nnew\tlow\n', b'\x03user1\tsync\nuser3\thigh\n',
    b'\x22user1\tlow\n\tsync\n', b'\x00VERSION\treplicator-notify\t2\t0\n')
DV = '+\n'
add('replicator_doveadm', b'\x00' + (DV + ST + '\t\n+\n').encode(), b'\x01' + (DV + ST + '\n+\n').encode(),
    b'\x04-\n+\n' + (ST + '\n+\n').encode(), b'\x04-\n-\n', b'\x00' + (DV + '\n-NOUSER\n').encode(),
    b'\x00' + (DV + ST + '\n-NOTFOUND\n').encode(), b'\x01' + (DV + '\n-UNKNOWN\n').encode(),
    b'\x00' + (DV + ST + '\nx\n').encode(), b'\x00VERSION\tdoveadm-server\t1\t0\n',
    b'\x02+\n{"userList":["user1","user4@example.org","caf\\u00e9","a\\"b\\\\c\\/d"]}\n+\n',
    b'\x06-\n+\n{"userList":[]}\n+\n', b'\x02+\n{"userList":["x"]}\n-\n', b'\x32+\n{"userList":["u\\ud800"]}\n+\n')
add('replicator_listing', '{"userList":["user1","user2@example.org"]}', '{"userList":[]}',
    '{"userList":["caf\\u00e9","\\u20ac","tab\\there","\\"q\\"","a\\/b\\\\c","\\b\\f\\n\\r"]}',
    '{"userList":["' + 'x' * 300 + '","y"]}', '{"userList":["\\ud83d\\ude00"]}', '{"userList":["a",]}',
    '{"userList":["a"]} ', '{"userList":["\\u0000"]}', '{"userList":["\\u00"]}')
DB = ('user1\t0\t1765000000\t1765000100\t1764990000\t0\t%s\t1765000100\n' % ST +
      'user2@example.org\t2\t1765000200\t0\t0\t0\t\t0\n' +
      'user3\t1\t1765000300\t1765000250\t1764000000\t1\t\t1764000000\n')
add('replicator_state', DB, DB + 'user1\t3\t1765000400\t0\t0\t0\t\t0\n',
    'user\x01tab\x01n\t0\t1\t1\t1\t0\t%s\t1\t127.0.0.1:24245\tAQAAAAEAAAA\n' % ST,
    'a\t0\t1\t1\t1\t0\t\t1\t[::1]:24245\t\n', 'a\t4\t1\t1\t1\t0\t\n', 'a\t0\t1\t1\t1\t2\t\n',
    'a\t0\tx\t1\t1\t0\t\n', '\t0\t1\t1\t1\t0\t\n', 'a\t0\t1\t1\t1\t0\t', 'a\t0\t1\n', '')

# doveadm's commands reading the replies (the first byte picks the command: fuzz_doveadm_replies.c)
add('doveadm_replies',
    b'\x00' + ''.join("Queued '%s' requests\t%d\n" % (k, i) for i, k in enumerate(('sync', 'high', 'low', 'failed', 'full resync'))).encode() +
    b"Waiting 'failed' requests\t1\nTotal number of known users\t3\n\n",
    b'\x01user1\tnone\t1765000100\t1764990000\t0\t1765000100\t0\nuser2@example.org\thigh\t0\t0\t0\t0\t35\nuser3\tlow\t1\t1\t1\t1\n\n',
    b'\x01x\ty\tz\n\tnone\t-5\t99999999999\t1\tx\n',
    b'\x02user1\tincremental\tWaiting for dsync to finish\n\t-\tNot connected\n\t-\tFailed to connect to \'/run/x\' - last attempt 5 secs ago\n\n',
    b'\x03+3\n', b'\x03-Invalid priority\n', b'\x04+\n', b'\x04-Invalid user name\n', b'\x04',
    b'\x05:username\tuser_tag\tservice\tsrc-ip\tdest-ip\tdest-port\n:user1\tt1\timap\t127.0.0.1\t127.0.0.1\t143\n'
    b':username\tservice\tsrc-ip\tdest-ip\tdest-port\n:user2\tpop3\t::1\t::1\t110\n+\n',
    b'\x05-Unknown command\n', b'\x05:only\n', b'\x06+2\n', b'\x06-user not found\n+\nextra\n', b'\x06:x\n+1\n',
    # the director commands (7-11): directord's admin.c replies
    b'\x0710.0.0.1\t100\t3\t\tU\t0\n10.0.1.1\t50\t0\ttag1\tD\t1765000000\n\n',
    b'\x0810.0.0.1\t1765000900\t10.0.0.1\t10.0.0.2\n', b'\x08\t0\t10.0.0.1\t\n', b'\x08x\n',
    b'\x09127.0.0.1\t9090\tself\t0\tring synced\t0\n127.0.0.2\t9091\tright\t1\tring synced\t12\n\n',
    b'\x0a3374478458\t1765000900\t10.0.0.1\n12345\t0\t10.0.0.1\n1\tx\t10.0.0.1\n\n',
    b'\x0b10.0.0.1\t100\t3\t\tU\t0\n10.0.1.1\t50\t0\ttag\x01t1\tD\t1765000000\n\n10.0.0.9\n\n')

# directord's state file (state.c)
DS = 'mtool-directord-state\t1\n'
add('director_state', DS + 'host\t10.0.0.1\t\t100\tU\t0\t\nhost\t10.0.1.1\ttag1\t50\tD\t1765000000\tmail1.example.org\n'
    'host\t::1\t\t100\tU\t0\t\nuser\t\t3374478458\t10.0.0.1\t1765000000\nuser\ttag1\t12345\t10.0.1.1\t1765000100\n'
    'user\ttag1\t1\t10.0.0.1\t1\n',
    DS + 'host\t10.0.0.2\ttag\x01t2\t0\tD\t-1\tname\x01rx\nuser\ttag\x01t2\t7\t10.0.0.2\t5\nuser\tnotag\t8\t10.0.0.2\t5\nbogus\n',
    'mtool-directord-state\t2\n',
    DS + 'host\t10.0.0.1\t\t100\tU\t0\t\nhost\t10.0.0.1\tother\t5\tU\t0\tx\nuser\t\t0\t10.0.0.1\t1\n')

# directord's health checks: a mail host's answers (first byte: the port, bit 7 a test
# user, bit 6 any certificate; directord_fuzz.c's health_ports), Dovecot 2.3's texts
IG = '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n'
SG = '220 mail.example.org Dovecot (Debian) ready.\r\n'
LH = '250-mail.example.org\r\n250-8BITMIME\r\n250-CHUNKING\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 XCLIENT ADDR PORT\r\n'
SV = ('"IMPLEMENTATION" "Dovecot Pigeonhole"\r\n"SIEVE" "fileinto reject envelope"\r\n"NOTIFY" "mailto"\r\n'
      '"SASL" "PLAIN"\r\n"STARTTLS"\r\n"VERSION" "1.0"\r\nOK "Dovecot (Debian) ready."\r\n')
add('director_health', b'\x00' + IG.encode(),
    b'\x80' + (IG + '* CAPABILITY IMAP4rev1 SASL-IR\r\nh OK [CAPABILITY IMAP4rev1] Logged in\r\n* BYE Logging out\r\nh OK Logout completed.\r\n').encode(),
    b'\x80' + (IG + 'h NO [AUTHENTICATIONFAILED] Authentication failed.\r\n').encode(),
    b'\x01' + (IG + 'h OK Begin TLS negotiation now.\r\n').encode() + b'\x16\x03\x03\x00\x02\x02\x28',
    b'\x00* BYE Server shutting down.\r\n', b'\x02+OK Dovecot (Debian) ready.\r\n+OK Logging out.\r\n',
    b'\x03+OK Dovecot (Debian) ready.\r\n+OK Begin TLS negotiation now.\r\n', b'\x02-ERR [SYS/TEMP] try later\r\n',
    b'\x04' + (SG + LH).encode(), b'\x84' + (SG + LH + '250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n').encode(),
    b'\x84' + (SG + LH + '250 2.1.0 OK\r\n550 5.1.1 <user1> User doesn\'t exist: user1\r\n').encode(),
    b'\x05' + (SG + LH + '220 2.0.0 Begin TLS negotiation now.\r\n').encode(),
    b'\x06' + SG.encode(), b'\x07' + (SG + LH + '220 2.0.0 Begin TLS negotiation now.\r\n').encode(),
    b'\x06421 4.3.2 Shutting down\r\n', b'\x08' + SV.encode(), b'\x09' + (SV + 'OK "Begin TLS negotiation now."\r\n').encode(),
    b'\x08NO "Service unavailable"\r\n', b'\x0a\x15\x03\x03\x00\x02\x02\x50', b'\x0b', b'\x0bhello\r\n')

# a passdb lookup whose passwd-file stands in for a database's answer (fuzz_passdb.c)
add('passdb', b'\x00user\npass\nuser:{PLAIN}pass::::::allow_nets=192.0.2.0/24,::1 proxy host=127.0.0.1 port=143\n',
    b'\x01user\nwrong\nuser:{PLAIN}pass::::::passdb_import=a=1\tb\tc=\x01t\nother:x\n',
    b'\x05User\npass\nuser:{PLAIN}pass::::::user=renamed@example.org nopassword noauthenticate\n',
    b'\x22user@example.org\npass\nuser@example.org:{SHA256-CRYPT}' + sha256c.encode() + b'::::::proxy_maybe=y host=mail.example.org destuser=u:protected\n',
    b'\x0auser\npass\nuser:{PLAIN}pass::::::allow_nets=local,10.0.0.0/8 fail\n',
    b'\x03user\npass\nuser:{CRYPT}' + md5c.encode() + b'::::::master=admin pass=x nologin reason=maintenance k:remove\n',
    b'\x00user\npass\nuser:{PLAIN}pass::::::allow_nets=not-a-net\n', b'\x00\n\n:x\n')


# ---- LDAP: a real slapd's answers (tests/integration/ldapfix.py), captured when slapd is
# installed; fuzz_ber reads one framed message after another
def ber_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + ber_len(len(body)) + body


def ber_int(v, tag=0x02):
    return tlv(tag, v.to_bytes(max(1, (v.bit_length() + 8) // 8), 'big', signed=True))


def ldap_msg(mid, op):
    return tlv(0x30, ber_int(mid) + op)


def ldap_bind(mid, dn, pw):
    return ldap_msg(mid, tlv(0x60, ber_int(3) + tlv(0x04, dn.encode()) + tlv(0x80, pw.encode())))


def ldap_search(mid, base, filt, attrs):
    return ldap_msg(mid, tlv(0x63, tlv(0x04, base.encode()) + ber_int(2, 0x0a) + ber_int(0, 0x0a) +
                             ber_int(0) + ber_int(0) + tlv(0x01, b'\0') + filt +
                             tlv(0x30, b''.join(tlv(0x04, a.encode()) for a in attrs))))


def ldap_eq(attr, val):
    return tlv(0xa3, tlv(0x04, attr.encode()) + tlv(0x04, val.encode()))


def ldap_capture():
    """[(name, the server's bytes)]: every answer to a conversation, up to its last op."""
    import socket
    sys.path.insert(0, 'tests/integration')
    os.environ['TESTDIR'] = tempfile.mkdtemp(prefix='mtool-seeds-ldap.')
    import ldapfix
    users = [{'uid': 'user1', 'userPassword': ldapfix.ssha('pass'), 'mailProxyHost': '127.0.0.1', 'mailProxyPort': '143'},
             {'uid': 'user2', 'userPassword': ['{PLAIN}a', '{PLAIN}b'], 'mailNoPassword': 'y',
              'mail': ['user2@example.org', 'alias@example.org']}]
    people = ldapfix.PEOPLE
    attrs = ['uid', 'userPassword', 'mailProxyHost', 'mailProxyPort', 'mailNoPassword', 'mail']
    convs = {
        'bind-ok': [ldap_bind(1, ldapfix.SERVICE_DN, ldapfix.SERVICE_PW)],
        'bind-bad': [ldap_bind(1, ldapfix.SERVICE_DN, 'wrong')],
        'bind-user': [ldap_bind(1, 'uid=user1,' + people, 'pass')],
        'search-user1': [ldap_bind(1, ldapfix.SERVICE_DN, ldapfix.SERVICE_PW),
                         ldap_search(2, people, ldap_eq('uid', 'user1'), attrs)],
        'search-user2': [ldap_bind(1, ldapfix.SERVICE_DN, ldapfix.SERVICE_PW),
                         ldap_search(2, people, ldap_eq('uid', 'user2'), attrs)],
        'search-anon-all': [ldap_search(1, people, tlv(0x87, b'objectClass'), [])],
        'search-none': [ldap_bind(1, ldapfix.SERVICE_DN, ldapfix.SERVICE_PW),
                        ldap_search(2, people, ldap_eq('uid', 'nobody'), attrs)],
        'search-nobase': [ldap_search(1, 'ou=nowhere,' + ldapfix.SUFFIX, ldap_eq('uid', 'user1'), attrs)],
    }
    out = []
    ld = ldapfix.Slapd(users, name='seeds')
    ld.init()
    ld.start()
    try:
        for name, reqs in convs.items():
            s = socket.create_connection(('127.0.0.1', ld.port), timeout=5)
            got = b''
            for req in reqs:
                s.sendall(req)
                # read until the answer that ends this request (bind 0x61, search done 0x65)
                hl = 2 + (req[1] & 0x7f if req[1] & 0x80 else 0)
                end = 0x61 if req[hl + 2 + req[hl + 1]] == 0x60 else 0x65
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                    off, done = 0, False
                    while off + 2 <= len(got):
                        n = got[off + 1]
                        hl = 2
                        if n & 0x80:
                            k = n & 0x7f
                            n = int.from_bytes(got[off + 2:off + 2 + k], 'big')
                            hl += k
                        if off + hl + n > len(got):
                            break
                        body = got[off + hl:off + hl + n]
                        i = 2 + body[1]
                        done = done or body[i] == end
                        off += hl + n
                    if done:
                        break
            s.close()
            out.append((name, got))
    finally:
        ld.stop()
        shutil.rmtree(os.environ['TESTDIR'], ignore_errors=True)
    return out


# (without slapd the checked-in ber seeds are left as they are)
if shutil.which('slapd') and (len(sys.argv) == 1 or 'ber' in sys.argv[1:]):
    add('ber', *[data for _, data in ldap_capture()])
    add('ber', '(&(objectClass=inetOrgPerson)(uid=user1))', '(|(mail=a\\2a*)(!(uid=x)))', '(uid=*)',
        '(&(uid=%u)(mailProxyHost=*))', '(cn=a\\')
elif 'ber' in sys.argv[1:]:
    print('ber: slapd is not installed: its seeds stay as they are', file=sys.stderr)


for target, inputs in seeds.items():
    if len(sys.argv) > 1 and target not in sys.argv[1:]:
        continue
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    for i, data in enumerate(inputs):
        with open(os.path.join(d, 'seed-%02d' % i), 'wb') as f:
            f.write(data)
shutil.rmtree(PEM)
print('\n'.join('%s: %d' % (t, len(v)) for t, v in sorted(seeds.items())))
