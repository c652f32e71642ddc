# SPDX-License-Identifier: MIT
"""directord started as root binds its sockets, then runs as default_internal_user: the
process's UIDs are that user's, the state directory it made belongs to it, and the state
is still saved (a change survives a restart). A state directory the user cannot write is
refused at start with a message naming the setting."""
import os
import pwd
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import report, main_guard  # noqa: E402
from directordfix import Directord  # noqa: E402


def uids(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('Uid:'):
                return [int(x) for x in line.split()[1:]]
    return []


def main():
    if os.geteuid() != 0:
        report(True, 'skipped: not root, nothing to drop')
        return
    dovecot = pwd.getpwnam('dovecot')
    dd = Directord(name='privdrop', hosts=['127.0.0.2', '127.0.0.3']).start()
    ids = uids(dd.pid)
    report(ids == [dovecot.pw_uid] * 4, 'directord runs as dovecot (real, effective, saved, fs)',
           str(ids))
    st = os.stat(os.path.dirname(dd.state_path()))
    report(st.st_uid == dovecot.pw_uid and (st.st_mode & 0o777) == 0o700,
           'the state directory it made is 0700 and belongs to dovecot',
           '%d %o' % (st.st_uid, st.st_mode))
    r = dd.director('add', '127.0.0.4', '50', check=False)
    report(r.returncode == 0, 'the real doveadm still reaches the admin socket', r.stderr.decode())
    dd.stop()
    dd.start()
    report(b'127.0.0.4 50' in dd.director('dump').stdout,
           'a change made after the drop is saved and restored')
    dd.stop()

    locked = os.path.join(dd.dir, 'locked')
    os.makedirs(locked, mode=0o700, exist_ok=True)
    bad = Directord(name='privdrop-locked', hosts=['127.0.0.2'],
                    settings={'director_state_file': os.path.join(locked, 'd.state')})
    try:
        bad.start()
        started = True
    except RuntimeError:
        started = False
    report(not started and 'director_state_file' in bad.log() and
           'must be writable by dovecot' in bad.log(),
           'a state directory dovecot cannot write: directord refuses to start and says why',
           bad.log()[-400:])


main_guard(main)
