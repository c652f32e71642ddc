# SPDX-License-Identifier: MIT
"""A second daemon started on the same base_dir (core/listen): it refuses to start with
"already in use by a running process" instead of replacing the first one's UNIX sockets,
and the first keeps answering on them. A socket file left by a killed daemon is replaced.
proxyd and directord; no backend needed."""
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard, RawClient, free_port  # noqa: E402
from mtoolfix import Proxyd, MTOOL  # noqa: E402
from directordfix import Directord  # noqa: E402

MSG = 'already in use by a running process'


def answers(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def second(conf_text, path):
    """Runs `mtool APPLET -c` on conf_text in the foreground: (exit code, output)."""
    with open(path, 'w') as f:
        f.write(conf_text)
    applet = 'directord' if 'director_mail_servers' in conf_text else 'proxyd'
    r = subprocess.run([MTOOL, applet, '-c', path], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    return r.returncode, r.stdout.decode('utf-8', 'replace')


def main():
    with Proxyd(name='px1', lmtp=True) as px:
        run = os.path.join(px.dir, 'run')
        with open(px.conf) as f:
            text = f.read()
        # other TCP ports, the same base_dir (and so the same ipc, anvil, lmtp sockets)
        for p in (px.imap_port, px.pop3_port, px.lmtp_port):
            text = text.replace('port = %d\n' % p, 'port = %d\n' % free_port(px.ip))
        rc, out = second(text, os.path.join(px.dir, 'second.conf'))
        report(rc != 0 and MSG in out, 'proxyd: a second one on the same base_dir refuses to start',
               'rc %d: %s' % (rc, out))
        socks = [os.path.join(run, n) for n in ('ipc', 'anvil', 'lmtp')]
        report(all(answers(p) for p in socks) and px.proc.poll() is None,
               'proxyd: the first still answers on ipc, anvil and lmtp', out)
        c = RawClient(px.ip, px.imap_port)
        greet = c.line()
        c.close()
        report(greet.startswith(b'* OK'), 'proxyd: the first still greets IMAP clients', greet)

    with Directord(name='dd1') as dd:
        with open(dd.conf) as f:
            text = f.read()
        rc, out = second(text, os.path.join(dd.dir, 'second.conf'))
        report(rc != 0 and MSG in out and dd.admin_socket in out,
               'directord: a second one on the same base_dir refuses to start',
               'rc %d: %s' % (rc, out))
        r = dd.director('status', check=False)
        report(r.returncode == 0 and answers(dd.proxy_socket),
               'directord: the first still answers the real doveadm director status',
               r.stderr.decode('utf-8', 'replace'))
        # killed without cleaning up: its socket files are stale and get replaced
        dd.proc.kill()
        dd.proc.wait()
        dd.proc = None
        ok = os.path.exists(dd.admin_socket)
        dd.start()
        r = dd.director('status', check=False)
        report(ok and r.returncode == 0, 'directord: stale socket files of a killed one are replaced',
               r.stderr.decode('utf-8', 'replace'))


if __name__ == '__main__':
    main_guard(main)
