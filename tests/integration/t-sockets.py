# SPDX-License-Identifier: MIT
"""Every UNIX socket mtool's daemons create, tried as root, as the login user and as an
unrelated local uid (a forked child that setuid()s to a uid with no passwd entry, so no
user has to be created): the answers must be exactly docs/sockets.md's table. Then the
second gate: a socket chmod'ed 0666 behind the daemon's back still refuses the unrelated
uid (peer credentials), with a log line. Then directord's proxy socket limits: KICK-USER
goes only to the proxy that reported the user's session, connections and sessions are
capped. Needs root (skipped otherwise)."""
import os
import pwd
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard  # noqa: E402
from mtoolfix import Proxyd  # noqa: E402
from directordfix import Directord, admin_lines  # noqa: E402

def free_uid():
    for uid in range(61000, 65000):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise RuntimeError('no free uid')


def probe(path, uid, gid):
    """'denied' (the file's mode), 'closed' (accepted, then closed without a word: the
    peer-credential check), or 'ok' (the daemon talks, or keeps the connection open).
    Tried by a forked child that drops to uid/gid (no supplementary groups)."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        res = 'error'
        try:
            os.close(rfd)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(1.0)
            try:
                s.connect(path)
                try:
                    res = 'ok' if s.recv(256) else 'closed'
                except socket.timeout:
                    res = 'ok'
                except ConnectionResetError:
                    res = 'closed'
            except PermissionError:
                res = 'denied'
            except OSError as e:
                res = 'error %s' % e
        finally:
            os.write(wfd, res.encode())
            os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as r:
        res = r.read()
    os.waitpid(pid, 0)
    return res


def dialog(path):
    """A root connection to directord's proxy socket after the handshake."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(path)
    f = s.makefile('rwb')
    f.write(b'VERSION\tmtool-director\t1\t0\n')
    f.flush()
    assert f.readline() == b'VERSION\tmtool-director\t1\t0\n'
    return s, f


def send(f, line):
    f.write(line.encode() + b'\n')
    f.flush()


def lines_within(s, f, secs):
    """Lines that arrive within secs."""
    out = []
    s.settimeout(secs)
    try:
        while True:
            line = f.readline()
            if not line:
                out.append('<EOF>')
                break
            out.append(line.decode().rstrip('\n'))
    except (socket.timeout, OSError):
        pass
    return out


def main():
    if os.geteuid() != 0:
        print('ok - skipped: the socket matrix needs root')
        return
    other = free_uid()
    login = pwd.getpwnam('nobody')       # the fixtures' default_login_user
    whom = {'root': (0, 0), 'login user': (login.pw_uid, login.pw_gid), 'other uid': (other, other)}

    dd = Directord(hosts=['127.0.0.2']).start()
    px = Proxyd(lmtp=True, settings={'director_socket': dd.proxy_socket}).start()
    run = os.path.join(px.dir, 'run')
    for d in (px.dir, run, dd.dir, dd.base_dir):
        os.chmod(d, 0o755)
    sockets = {
        'proxyd ipc': (os.path.join(run, 'ipc'), {'root': 'ok', 'login user': 'denied', 'other uid': 'denied'}),
        'proxyd anvil': (os.path.join(run, 'anvil'), {'root': 'ok', 'login user': 'denied', 'other uid': 'denied'}),
        'proxyd lmtp (mode 0666)': (px.lmtp_socket, {'root': 'ok', 'login user': 'ok', 'other uid': 'ok'}),
        'directord director-admin': (dd.admin_socket, {'root': 'ok', 'login user': 'denied', 'other uid': 'denied'}),
        'directord mtool-director': (dd.proxy_socket, {'root': 'ok', 'login user': 'ok', 'other uid': 'denied'}),
    }
    for name, (path, want) in sockets.items():
        got = {who: probe(path, uid, gid) for who, (uid, gid) in whom.items()}
        report(got == want, '%s: %s' % (name, ', '.join('%s %s' % (w, want[w]) for w in want)),
               'got %s (mode %o)' % (got, os.stat(path).st_mode & 0o7777))
    st = os.stat(dd.proxy_socket)
    report(st.st_mode & 0o777 == 0o660 and st.st_gid == login.pw_gid,
           'directord mtool-director: mode 0660, group of default_login_user',
           'mode %o gid %d' % (st.st_mode & 0o777, st.st_gid))

    # the second gate: a mode widened behind the daemon's back
    for name, path, owner, log in (('proxyd ipc', os.path.join(run, 'ipc'), px, px.log),
                                   ('directord director-admin', dd.admin_socket, dd, dd.log),
                                   ('directord mtool-director', dd.proxy_socket, dd, dd.log)):
        os.chmod(path, 0o666)
        got = probe(path, other, other)
        time.sleep(0.2)
        logged = ('refused a connection from uid %d' % other) in log()
        report(got == 'closed' and logged,
               '%s chmod 0666: the unrelated uid is still refused (peer credentials), with a log line' % name,
               'probe: %s, logged: %s' % (got, logged))
    px.stop()

    # KICK lines only to the proxy that reported the session
    a, fa = dialog(dd.proxy_socket)
    b, fb = dialog(dd.proxy_socket)
    send(fa, 'START\tg1\tuser1\t\t127.0.0.2')
    send(fb, 'START\tg2\tuser2\t\t127.0.0.2')
    time.sleep(0.3)
    admin_lines(dd.admin_socket, ['USER-KICK\tuser1'])
    got_a, got_b = lines_within(a, fa, 1.0), lines_within(b, fb, 0.3)
    report(got_a == ['KICK-USER\tuser1'] and got_b == [],
           'USER-KICK user1 reaches only the proxy that reported its session', 'a: %s b: %s' % (got_a, got_b))
    admin_lines(dd.admin_socket, ['USER-KICK\tnobody-has-this'])
    got_a, got_b = lines_within(a, fa, 0.5), lines_within(b, fb, 0.3)
    report(got_a == [] and got_b == [], 'USER-KICK of a user without sessions reaches no proxy',
           'a: %s b: %s' % (got_a, got_b))
    a.close(), b.close()
    dd.stop()

    # caps: connections, and sessions over all connections
    dd = Directord(name='dd-caps', hosts=['127.0.0.2'],
                   settings={'director_proxy_max_connections': '2', 'director_max_sessions': '3'}).start()
    a, fa = dialog(dd.proxy_socket)
    b, fb = dialog(dd.proxy_socket)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(2)
    c.connect(dd.proxy_socket)
    try:
        third = c.recv(100)
    except OSError:
        third = b''
    report(third == b'' and 'director_proxy_max_connections' in dd.log(),
           'director_proxy_max_connections = 2: the third connection is closed, with a log line',
           'got %r' % third)
    c.close()
    send(fa, 'START\ts1\tu1\t\t127.0.0.2')
    send(fb, 'START\ts2\tu2\t\t127.0.0.2')
    send(fa, 'START\ts3\tu3\t\t127.0.0.2')
    time.sleep(0.3)     # two sockets: let the first three arrive first
    send(fb, 'START\ts4\tu4\t\t127.0.0.2')
    got_a, got_b = lines_within(a, fa, 0.5), lines_within(b, fb, 1.0)
    report(got_a == [] and got_b == ['KICK\ts4\tToo many sessions reported to the director'],
           'director_max_sessions = 3 over two connections: the fourth session is kicked',
           'a: %s b: %s' % (got_a, got_b))
    send(fa, 'END\ts1')
    time.sleep(0.3)
    send(fb, 'START\ts5\tu5\t\t127.0.0.2')
    got_b = lines_within(b, fb, 0.5)
    report(got_b == [], 'after an END there is room for a session again', 'b: %s' % got_b)
    a.close(), b.close()
    dd.stop()


if __name__ == '__main__':
    main_guard(main)
