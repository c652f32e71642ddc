# SPDX-License-Identifier: MIT
"""Helpers for the doveadm tests: run the real Debian `doveadm` and `mtool doveadm` with the
same arguments and compare stdout, stderr and exit code byte for byte; scripted UNIX-socket
servers (ipc, anvil version 1 and 2) for the cases a real Dovecot will not produce on
demand; normalisers for the outputs whose row order doveadm itself randomises.

    from dvcompare import compare, FakeUnix, ipc_script, anvil_v1_script

The real doveadm runs with -O (no config file) unless the test passes -c, so it does not
need /etc/dovecot; every command gets -a SOCKET or -o base_dir=DIR."""

import difflib
import json
import os
import shutil
import socket
import subprocess
import time

from fakepeer import FakeBackend
from fixtures import MTOOL, report

DOVEADM = shutil.which('doveadm') or '/usr/bin/doveadm'


def run(argv, timeout=30, env=None):
    """(exit code, stdout bytes, stderr bytes) of argv."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       env=env, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


def real(args, config=None):
    """The real doveadm with args: with -c config, or -O (no config at all)."""
    head = ['-c', config] if config else ['-O']
    return run([DOVEADM] + head + list(args))


def mine(args, config=None):
    head = ['-c', config] if config else []
    return run([MTOOL, 'doveadm'] + head + list(args))


def show(res):
    rc, out, err = res
    return 'exit %d\n--- stdout\n%s--- stderr\n%s' % (
        rc, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace'))


def diff(a, b):
    return '\n'.join(difflib.unified_diff(show(a).split('\n'), show(b).split('\n'),
                                          'real doveadm', 'mtool doveadm', lineterm=''))


def compare(what, args, config=None, before=None, normalize=None, mine_args=None):
    """Run both tools (calling before() ahead of each, for a fresh state) and report whether
    (exit code, stdout, stderr) are the same; normalize(result) -> comparable, if given.
    Returns (real result, mtool result)."""
    if before:
        before()
    a = real(args, config)
    if before:
        before()
    b = mine(mine_args if mine_args is not None else args, config)
    if normalize:
        ok = normalize(a) == normalize(b)
    else:
        ok = a == b
    report(ok, what, diff(a, b) if not ok else '')
    return a, b


# ---- normalisers for outputs in random order -------------------------------------------------

def rows_sorted(res, header_lines=1):
    """Exit code, stderr, the first header_lines lines and the rest sorted (tab, flow)."""
    rc, out, err = res
    lines = out.split(b'\n')
    return rc, err, lines[:header_lines], sorted(lines[header_lines:])


def pager_sorted(res):
    rc, out, err = res
    return rc, err, sorted(out.split(b'\f\n'))


def json_sorted(res):
    """doveadm's who prints [{first}],{...},{...}: compare the records as a set."""
    rc, out, err = res
    text = out.decode()
    text = '[' + text.strip('[]').replace('}],{', '},{') + ']' if text else '[]'
    recs = json.loads(text)
    return rc, err, sorted(json.dumps(r, sort_keys=True) for r in recs)


def table_cells(res):
    """A table whose widths depend on which row comes first: compare the cells only, the
    header's titles and the rows as a set; padding is checked by table_layout_ok()."""
    rc, out, err = res
    lines = out.decode().split('\n')
    return rc, err, lines[0].split(), sorted(tuple(l.split()) for l in lines[1:] if l)


# ---- scripted UNIX-socket servers --------------------------------------------------------------

class FakeUnix(FakeBackend):
    """A UNIX socket at path; each connection runs script(conn, log) in a thread, log being
    a list of what the script recorded (bytes received), and is closed when the script
    returns. Use as a context manager."""

    def __init__(self, path, script):
        self.path = path
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(64)
        self._serve(script)

    def _run(self, c):
        try:
            super()._run(c)
        finally:
            try:
                c.close()
            except OSError:
                pass


def recv_until(c, token, timeout=5.0):
    """Bytes from c up to and including token (or what came before EOF/timeout)."""
    c.settimeout(timeout)
    buf = b''
    while token not in buf:
        try:
            d = c.recv(4096)
        except (socket.timeout, OSError):
            break
        if not d:
            break
        buf += d
    return buf


def wait_eof(c, timeout=5.0):
    c.settimeout(timeout)
    try:
        while c.recv(4096):
            pass
    except (socket.timeout, OSError):
        pass


def ipc_script(reply, close=False):
    """ipc server: reads one command line, sends reply (bytes), then waits for the client
    to hang up (or hangs up itself if close)."""
    def script(c, log):
        log.append(recv_until(c, b'\n'))
        if reply:
            c.sendall(reply)
        if not close:
            wait_eof(c)
    return script


def anvil_v1_script(dump, close=False):
    """Dovecot 2.3 anvil: silent until the client's VERSION + CONNECT-DUMP, then dump."""
    def script(c, log):
        log.append(recv_until(c, b'CONNECT-DUMP\n'))
        c.sendall(dump)
        if not close:
            wait_eof(c)
    return script


class AnvilV2:
    """A version 2 anvil (mtool proxyd, Dovecot 2.4): greets, answers CONNECT-DUMP from
    header (list of field names) and sessions (list of field lists), answers KICK-USER and
    KICK-ALT-USER from kick(line) -> reply bytes. Records every command line in .cmds."""

    def __init__(self, header, sessions, kick=None, greet=b'VERSION\tanvil-server\t2\t0\n',
                 greet_delay=0.0, dump_raw=None):
        self.header = header
        self.sessions = sessions
        self.kick = kick or (lambda line: b'0\n')
        self.greet = greet
        self.greet_delay = greet_delay
        self.dump_raw = dump_raw	# CONNECT-DUMP's reply as given; then hang up
        self.cmds = []
        self.connections = 0

    def __call__(self, c, log):
        self.connections += 1
        if self.greet_delay:
            time.sleep(self.greet_delay)
        c.sendall(self.greet)
        c.settimeout(5.0)
        buf = b''
        while True:
            while b'\n' not in buf:
                try:
                    d = c.recv(4096)
                except (socket.timeout, OSError):
                    return
                if not d:
                    return
                buf += d
            line, buf = buf.split(b'\n', 1)
            self.cmds.append(line)
            if line.startswith(b'VERSION\tanvil\t1\t'):
                return	# as mtool proxyd: version 1 is refused
            if line == b'CONNECT-DUMP' and self.dump_raw is not None:
                c.sendall(self.dump_raw)
                return
            if line == b'CONNECT-DUMP':
                out = b'\t'.join(h.encode() for h in self.header) + b'\n'
                for s in self.sessions:
                    out += b'\t'.join(f.encode() for f in s) + b'\n'
                c.sendall(out + b'\n')
            elif line.startswith(b'KICK-'):
                c.sendall(self.kick(line))
