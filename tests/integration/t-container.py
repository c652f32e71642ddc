# SPDX-License-Identifier: MIT
"""packaging/Containerfile, built offline with podman: the root file system is made on the
host (packaging/rootfs.sh, what the builder stage runs) and given as the builder stage,
since no Debian image can be pulled here. Checks the image (FROM scratch contents, numeric
non-root USER, EXPOSE, exec-form entrypoint), then logs in through it to a real Dovecot:
with `podman run --read-only` where the runtime can run containers; where it cannot
(crun refuses this machine's cgroups), the image's own root file system, exported by
podman, runs read-only under chroot as the image's USER instead, and the test says so."""

import imaplib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import DovecotBackend, TESTDIR, free_port, wait_port, report, main_guard

TOP = os.environ['TOP']
MTOOL = os.environ['MTOOL']
TAG = 'localhost/mtool-test:%d' % os.getpid()
# this machine's limits are lower than podman's defaults, which crun may not raise
LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024']


def run(*cmd, timeout=180, **kw):
    r = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout, **kw)
    return r.returncode, r.stdout.decode(errors='replace')


def login(port):
    try:
        m = imaplib.IMAP4('127.0.0.1', port, timeout=20)
        typ, _ = m.login('user1@example.org', 'pass')
        typ2, data = m.select('INBOX')
        m.logout()
        return typ, typ2, data
    except (OSError, imaplib.IMAP4.error) as e:
        return 'error', 'error', repr(e)


def main():
    if shutil.which('podman') is None:
        report(False, 'podman is installed (scripts/deps.sh test)')
        return
    rc, out = run('podman', 'info', timeout=60)
    if rc != 0:
        print('skip - the container runtime cannot run at all here: podman info: %s' % out[-500:])
        return
    ctx = os.path.join(TESTDIR, 'ctx')
    rc, out = run('sh', os.path.join(TOP, 'packaging/rootfs.sh'), os.path.join(ctx, 'stage'), MTOOL)
    report(rc == 0, 'packaging/rootfs.sh makes the root file system', out)
    rc, out = run('podman', 'build', '--pull=never', '--build-context', 'builder=' + ctx,
                  '-f', os.path.join(TOP, 'packaging/Containerfile'), '-t', TAG, ctx)
    if not report(rc == 0, 'the image builds offline (FROM scratch, builder stage from the host)', out):
        return
    try:
        check_image()
        with DovecotBackend('be') as be:
            conf = write_conf(be)
            login_through(conf)
    finally:
        run('podman', 'rmi', '-f', TAG)


def check_image():
    rc, out = run('podman', 'image', 'inspect', TAG)
    cfg = json.loads(out)[0]['Config'] if rc == 0 else {}
    report(cfg.get('User') == '65534:65534', 'USER is numeric and not root', cfg.get('User'))
    ports = sorted(cfg.get('ExposedPorts', {}))
    report(all('%d/tcp' % p in ports for p in (143, 993, 110, 995, 587, 465, 24, 4190)),
           'EXPOSE names the mail ports', ports)
    report(cfg.get('Entrypoint') == ['/usr/bin/mtool', 'proxyd', '-c', '/etc/mtool/mtool.conf'],
           'exec-form entrypoint', cfg.get('Entrypoint'))
    rc, out = run('podman', 'create', TAG)
    cid = out.strip().splitlines()[-1] if rc == 0 else ''
    rc, tar = run('sh', '-c', 'podman export %s | tar -t | sort' % cid)
    run('podman', 'rm', '-f', cid)
    files = [l.rstrip('/') for l in tar.split() if l]
    want = ['etc/ssl/certs/ca-certificates.crt', 'usr/bin/mtool', 'usr/bin/proxyd',
            'usr/bin/doveadm', 'etc/passwd', 'etc/mtool/mtool.conf', 'run/dovecot']
    report(all(w in files for w in want) and not any(f.startswith(('bin/', 'lib')) for f in files),
           'the image holds the binary, its links, the CA bundle, the dirs and nothing else', tar)


def write_conf(be):
    conf = os.path.join(TESTDIR, 'conf')
    os.makedirs(conf, exist_ok=True)
    port = free_port()
    with open(os.path.join(conf, 'users'), 'w') as f:
        f.write('user1@example.org:{PLAIN}pass::::::proxy host=127.0.0.1 port=%d\n' % be.imap_port)
    with open(os.path.join(conf, 'mtool.conf'), 'w') as f:
        f.write('protocols = imap\nlisten = 127.0.0.1\nbase_dir = /run/dovecot\n'
                'default_login_user =\ndisable_plaintext_auth = no\nauth_failure_delay = 0\n'
                'service imap-login {\n  inet_listener imap {\n    port = %d\n  }\n}\n'
                'passdb {\n  driver = passwd-file\n  args = scheme=PLAIN /etc/mtool/users\n}\n' % port)
    os.chmod(conf, 0o755)
    return conf, port


def login_through(conf_port):
    conf, port = conf_port
    name = 'mtool-test-%d' % os.getpid()
    rc, out = run('podman', 'run', '-d', '--name', name, '--read-only', '--network=host',
                  *LIMITS, '-v', conf + ':/etc/mtool:ro', TAG)
    if rc == 0:
        try:
            wait_port('127.0.0.1', port, timeout=20)
            typ, typ2, data = login(port)
            report(typ == 'OK' and typ2 == 'OK', 'IMAP login through the container to Dovecot',
                   run('podman', 'logs', name)[1])
        finally:
            run('podman', 'rm', '-f', '-t', '5', name)
        return
    print('note - podman cannot run containers here (%s); running the image\'s exported root '
          'file system read-only under chroot as its USER instead' % out.strip().splitlines()[-1])
    root = os.path.join(TESTDIR, 'root')
    os.makedirs(root)
    rc, out = run('podman', 'create', TAG)
    cid = out.strip().splitlines()[-1]
    rc, out = run('sh', '-c', 'podman export %s | tar -x -C %s' % (cid, root))
    run('podman', 'rm', '-f', cid)
    # what the runtime does: the config mounted, the root read-only, /run a tmpfs holding
    # a copy of the image's /run (podman's tmpcopyup)
    shutil.copytree(os.path.join(root, 'run'), os.path.join(TESTDIR, 'run-copy'), symlinks=True)
    os.chown(os.path.join(TESTDIR, 'run-copy', 'dovecot'), 65534, 65534)
    script = ('mount --bind %(r)s %(r)s && mount --bind -o ro %(c)s %(r)s/etc/mtool && '
              'mount -t tmpfs -o mode=0755 tmpfs %(r)s/run && cp -a %(t)s/run-copy/. %(r)s/run/ && '
              'mount -o remount,bind,ro %(r)s && '
              'exec chroot --userspec=65534:65534 %(r)s /usr/bin/mtool proxyd -c /etc/mtool/mtool.conf'
              % {'r': root, 'c': conf, 't': TESTDIR})
    log = open(os.path.join(TESTDIR, 'proxyd.log'), 'wb')
    p = subprocess.Popen(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script],
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        wait_port('127.0.0.1', port, timeout=20, proc=p)
        typ, typ2, data = login(port)
        with open(os.path.join(TESTDIR, 'proxyd.log'), errors='replace') as f:
            text = f.read()
        report(typ == 'OK' and typ2 == 'OK', 'IMAP login through the image\'s root file system '
               '(read-only, USER 65534) to Dovecot', '%s %s\n%s' % (typ, data, text))
        report('proxy(user1@example.org,' in text and 'Started proxying' in text and 'Warning' not in text,
               'proxyd logged the session on stderr', text)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()


main_guard(main)
