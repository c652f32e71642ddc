# SPDX-License-Identifier: MIT
"""What service managers and operators use: Type=notify readiness on a real datagram socket
(READY=1, RELOADING=1 + READY=1 on SIGHUP, STOPPING=1 on SIGTERM), SIGUSR1 reopening a
moved log, -d with its pid file, `mtool doveadm log reopen`, the logrotate example run by
the real logrotate -f, base_dir and the LMTP spool made when missing, the systemd units
through systemd-analyze verify, and make install into a DESTDIR."""

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures
from fixtures import TESTDIR, report, main_guard, pid_alive
from mtoolfix import Proxyd, MTOOL
from directordfix import wait_until

TOP = os.environ['TOP']


def recv_all(sock, want, timeout=10):
    got, deadline = [], time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            break
    return got


def notify_and_logs():
    # abstract, as systemd's own is reachable after the drop to nobody without a path
    name = 'mtool-test-notify-%d' % os.getpid()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind('\0' + name)
    os.environ['NOTIFY_SOCKET'] = '@' + name
    px = Proxyd(lmtp=True, settings={'mail_temp_dir': os.path.join(TESTDIR, 'spool/lmtp')})
    with px:
        del os.environ['NOTIFY_SOCKET']
        report(recv_all(sock, 1) == ['READY=1'], 'READY=1 once proxyd serves')
        os.kill(px.pid, signal.SIGHUP)
        got = recv_all(sock, 2)
        report(got == ['RELOADING=1', 'READY=1'], 'SIGHUP: RELOADING=1 then READY=1', '%s\n%s' % (got, px.log()))
        spool = os.path.join(TESTDIR, 'spool/lmtp')
        st = os.stat(spool)
        want_uid = 65534 if os.geteuid() == 0 else os.geteuid()
        report(stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == want_uid,
               'the missing LMTP spool (mail_temp_dir) is made 0700 for default_login_user',
               '%o uid %d' % (st.st_mode, st.st_uid))
    got = recv_all(sock, 1)
    report(got == ['STOPPING=1'], 'SIGTERM: STOPPING=1', got)
    sock.close()


def write_conf(d, log):
    port = fixtures.free_port()
    with open(os.path.join(d, 'users'), 'w') as f:
        f.write('u:{PLAIN}p::::::proxy host=127.0.0.1 port=1\n')
    conf = os.path.join(d, 'mtool.conf')
    with open(conf, 'w') as f:
        f.write('base_dir = %s/run/deep\nlisten = 127.0.0.1\nprotocols = imap\nlog_path = %s\n'
                'service imap-login {\n  inet_listener imap {\n    port = %d\n  }\n}\n'
                'passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s/users\n}\n'
                '%s' % (d, log, port, d, 'default_login_user = nobody\n' if os.geteuid() == 0 else ''))
    return conf, port


def read(path):
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return ''


def background_and_logrotate():
    d = os.path.join(TESTDIR, 'bg')
    logdir = os.path.join(d, 'log')
    os.makedirs(logdir)
    os.chmod(d, 0o755)
    log = os.path.join(logdir, 'proxyd.log')
    conf, port = write_conf(d, log)
    r = subprocess.run([MTOOL, 'proxyd', '-d', '-c', conf], capture_output=True, timeout=20)
    pidfile = os.path.join(d, 'run/deep/proxyd.pid')
    pid = int(read(pidfile).strip() or 0)
    report(r.returncode == 0 and pid > 0 and pid_alive(pid), '-d returns at once with the pid file written',
           '%s %r' % (r, read(pidfile)))
    if not pid:
        return
    try:
        st = os.stat(os.path.join(d, 'run/deep'))
        report(stat.S_IMODE(st.st_mode) == 0o755, 'a missing base_dir is made with its parents, 0755')
        report(wait_until(lambda: 'proxyd started' in read(log)), 'the log goes to log_path')
        if os.geteuid() == 0:
            os.chown(logdir, 65534, 65534)  # the rotated file is made by proxyd as nobody
        os.rename(log, log + '.old')
        os.kill(pid, signal.SIGUSR1)
        report(wait_until(lambda: 'SIGUSR1: log reopened' in read(log)),
               'SIGUSR1: the moved log is reopened by its name', read(log + '.old'))
        # the logrotate example, paths pointed at this test's
        with open(os.path.join(TOP, 'packaging/logrotate.mtool')) as f:
            rot = f.read().replace('/var/log/mtool', logdir).replace(
                'mtool doveadm log reopen', '%s doveadm -o base_dir=%s/run/deep log reopen' % (MTOOL, d))
        rot = rot.replace('\tcompress\n', '\tcompress\n\tsu root root\n') if os.geteuid() == 0 else rot
        rconf = os.path.join(d, 'logrotate.conf')
        with open(rconf, 'w') as f:
            f.write(rot)
        os.chmod(rconf, 0o644)
        os.remove(log + '.old')
        with open(log, 'a') as f:
            f.write('filler so that notifempty rotates\n')
        r = subprocess.run(['logrotate', '-f', '-s', os.path.join(d, 'logrotate.state'), rconf],
                           capture_output=True, timeout=30)
        report(r.returncode == 0 and os.path.exists(log + '.1') and
               wait_until(lambda: 'SIGUSR1: log reopened' in read(log)),
               'logrotate -f with the example: rotated, and proxyd writes the new file',
               '%s\n%s' % (r, os.listdir(logdir)))
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not pid_alive(pid))


def systemd_units():
    if shutil.which('systemd-analyze') is None:
        report(False, 'systemd-analyze is installed (package systemd, scripts/deps.sh test)')
        return
    d = os.path.join(TESTDIR, 'units')
    os.makedirs(d)
    for unit in sorted(os.listdir(os.path.join(TOP, 'packaging/systemd'))):
        with open(os.path.join(TOP, 'packaging/systemd', unit)) as f:
            text = f.read()
        # verify checks that ExecStart's binary exists: point it at this build
        with open(os.path.join(d, unit), 'w') as f:
            f.write(text.replace('/usr/bin/mtool', MTOOL))
        r = subprocess.run(['systemd-analyze', 'verify', '--man=no', os.path.join(d, unit)],
                           capture_output=True, timeout=60)
        out = (r.stdout + r.stderr).decode(errors='replace')
        report(r.returncode == 0 and not out.strip() and 'Type=notify' in text and
               'ExecReload=/bin/kill -HUP $MAINPID' in text and 'ProtectSystem=strict' in text
               and 'CapabilityBoundingSet=' in text, 'systemd-analyze verify %s' % unit, out)


def install():
    stage = os.path.join(TESTDIR, 'stage')
    r = subprocess.run(['make', '-s', '-C', TOP, 'install', 'DESTDIR=' + stage, 'PREFIX=/usr'],
                       capture_output=True, timeout=300)
    out = (r.stdout + r.stderr).decode(errors='replace')
    if not report(r.returncode == 0, 'make install DESTDIR PREFIX=/usr', out):
        return
    links = {a: os.readlink(os.path.join(stage, 'usr/bin', a))
             for a in ('proxyd', 'directord', 'replicatord', 'doveadm')
             if os.path.islink(os.path.join(stage, 'usr/bin', a))}
    report(os.access(os.path.join(stage, 'usr/bin/mtool'), os.X_OK) and
           set(links.values()) == {'mtool'} and len(links) == 4, 'binary and relative applet links', links)
    pages = ['man1/mtool.1', 'man1/mtool-doveadm.1', 'man5/mtool.conf.5', 'man8/proxyd.8',
             'man8/directord.8', 'man8/replicatord.8']
    missing = [p for p in pages if not os.path.exists(os.path.join(stage, 'usr/share/man', p))]
    report(not missing, 'man pages installed', missing)
    r = subprocess.run(['man', '-l', os.path.join(stage, 'usr/share/man/man8/proxyd.8')],
                       capture_output=True, timeout=30, env=dict(os.environ, MANPAGER='cat', MANWIDTH='80'))
    report(b'proxyd' in r.stdout and r.returncode == 0, 'man -l renders proxyd(8)', r.stderr)
    report(os.path.exists(os.path.join(stage, 'etc/mtool/mtool.conf')) and
           os.path.exists(os.path.join(stage, 'usr/share/mtool/mtool.conf.example')),
           'example config in /usr/share/mtool and as /etc/mtool/mtool.conf')


def main():
    os.chmod(TESTDIR, 0o711)  # proxyd reopens its log as nobody
    notify_and_logs()
    background_and_logrotate()
    systemd_units()
    install()


main_guard(main)
