# SPDX-License-Identifier: MIT
"""Certificates for the TLS tests, made with the openssl command line in TESTDIR:

    ca = make_ca('ca')                       -> {'cert': path, 'key': path}
    leaf = make_cert(ca, 'srv', ['mail.test'], kind='rsa' | 'ec')
    s_client(port, ['-servername', 'mail.test'], input=b'a LOGOUT\\r\\n') -> stdout text"""

import os
import subprocess

from fixtures import TESTDIR


def _run(args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(name):
    d = os.path.join(TESTDIR, 'certs')
    os.makedirs(d, exist_ok=True)
    key, cert = os.path.join(d, name + '.key'), os.path.join(d, name + '.pem')
    _run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-keyout', key,
          '-out', cert, '-subj', '/CN=%s' % name, '-addext', 'basicConstraints=critical,CA:TRUE',
          '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
    return {'cert': cert, 'key': key}


def make_cert(ca, name, dns, kind='rsa', ips=()):
    """A leaf certificate for the DNS names, signed by ca; the file 'chain' holds the leaf
    and the CA certificate (a full chain, as operators configure it)."""
    d = os.path.join(TESTDIR, 'certs')
    key, csr, cert = (os.path.join(d, name + ext) for ext in ('.key', '.csr', '.pem'))
    if kind == 'ec':
        _run(['openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key])
        _run(['openssl', 'req', '-new', '-key', key, '-out', csr, '-subj', '/CN=%s' % dns[0]])
    else:
        _run(['openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr,
              '-subj', '/CN=%s' % dns[0]])
    ext = os.path.join(d, name + '.ext')
    with open(ext, 'w') as f:
        f.write('subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n'
                % ','.join(['DNS:' + n for n in dns] + ['IP:' + i for i in ips]))
    _run(['openssl', 'x509', '-req', '-in', csr, '-CA', ca['cert'], '-CAkey', ca['key'],
          '-CAcreateserial', '-days', '30', '-out', cert, '-extfile', ext])
    chain = os.path.join(d, name + '.chain.pem')
    with open(chain, 'w') as f:
        f.write(open(cert).read() + open(ca['cert']).read())
    return {'cert': cert, 'key': key, 'chain': chain}


def s_client(port, args=(), input=b'', timeout=20, ip='127.0.0.1'):
    """openssl s_client to ip:port; returns stdout+stderr as text."""
    r = subprocess.run(['timeout', str(timeout), 'openssl', 's_client', '-connect', '%s:%d' % (ip, port),
                        '-crlf', '-ign_eof'] + list(args),
                       input=input, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.stdout.decode(errors='replace')
