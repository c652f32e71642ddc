#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mtool proxyd vs. Dovecot 2.3's proxy, side by side, in front of one real Dovecot backend.

    python3 bench/run.py                 # everything, median of 3 runs, prints the table
    python3 bench/run.py --only login    # login | fetch | memory (comma-separated)
    python3 bench/run.py --help

Not a test: nothing here passes or fails. See bench/README.md for what is measured and how.
Uses the integration fixtures (tests/integration/fixtures.py, mtoolfix.py) for the servers:
every server runs on 127.0.0.1 as a child of this script and is stopped by PID at the end.
"""

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOADGEN = os.path.join(TOP, 'build', 'bench', 'loadgen')
CLK_TCK = os.sysconf('SC_CLK_TCK')
PASSWORD = 'pass'
FETCH_USER = 'user1@example.org'
MIB = 1024 * 1024


def log(msg):
    print('# ' + msg, file=sys.stderr, flush=True)


# ---- process accounting ------------------------------------------------------------------

def cpu_seconds(pids):
    """utime+stime of every pid, plus cutime+cstime (children they reaped), in seconds."""
    ticks = 0
    for p in pids:
        try:
            with open('/proc/%d/stat' % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(')') + 2:].split()
        ticks += sum(int(x) for x in fields[11:15])   # utime stime cutime cstime
    return ticks / CLK_TCK


def cpu_ns(pids):
    """CPU time in ns of every pid's threads (/proc/<pid>/task/*/schedstat): exact, unlike
    the 10 ms ticks of /proc/<pid>/stat, but blind to processes that have exited."""
    total = 0
    for p in pids:
        try:
            tasks = os.listdir('/proc/%d/task' % p)
        except OSError:
            continue
        for t in tasks:
            try:
                with open('/proc/%d/task/%s/schedstat' % (p, t)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return total


def pss_kib(pids):
    """Sum of Pss (KiB) from /proc/<pid>/smaps_rollup."""
    total = 0
    for p in pids:
        try:
            with open('/proc/%d/smaps_rollup' % p) as f:
                for line in f:
                    if line.startswith('Pss:'):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def count_procs(pids, name):
    n = 0
    for p in pids:
        try:
            with open('/proc/%d/comm' % p) as f:
                if f.read().strip() == name:
                    n += 1
        except OSError:
            pass
    return n


def machine_busy():
    """CPU seconds the whole machine spent busy (user, nice, system, irq, softirq)."""
    with open('/proc/stat') as f:
        fields = f.readline().split()[1:]
    return sum(int(fields[i]) for i in (0, 1, 2, 5, 6)) / CLK_TCK


QUIET = {'limit': 15.0, 'max_wait': 120.0, 'enabled': True}


def wait_quiet():
    """Waits (at most QUIET['max_wait'] s) until the machine used less than QUIET['limit']%
    of one core in the last second: other people's jobs on a 2-core box move every figure.
    Returns that last percentage."""
    if not QUIET['enabled']:
        return 0.0
    t0 = time.monotonic()
    while True:
        b0 = machine_busy()
        time.sleep(1)
        pct = 100 * (machine_busy() - b0)
        if pct <= QUIET['limit']:
            return pct
        if time.monotonic() - t0 > QUIET['max_wait']:
            log('the machine is still busy (%.0f%% of a core) after %.0f s: measuring anyway'
                % (pct, QUIET['max_wait']))
            return pct


def children_cpu():
    """CPU seconds of this script's children that have been waited for (load generators)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def own_pids(be, targets):
    pids = be.pids()
    for t in targets:
        pids += t.pids()
    return pids


def foreign_cpu(busy0, own0, own_pids_now, secs, loadgen_cpu=0.0):
    """% of one core that processes other than ours (backend, proxies, load generator)
    used since busy0/own0 were taken: should be near 0 on a quiet machine."""
    other = (machine_busy() - busy0) - (cpu_seconds(own_pids_now) - own0) - loadgen_cpu
    return max(0.0, 100 * other / secs) if secs > 0 else 0.0


def kv(line):
    return {k: v for k, v in re.findall(r'(\w+)=(\S+)', line)}


# ---- the servers -------------------------------------------------------------------------

class Target:
    """Something the load generator connects to: a proxy (with the PIDs whose CPU and
    memory are its cost) or the backend itself ("direct")."""

    def __init__(self, label, port, pids_fn, inst=None):
        self.label = label
        self.port = port
        self.pids = pids_fn
        self.inst = inst


def backend_users(n):
    return {'user%d@example.org' % i: PASSWORD for i in range(1, n + 1)}


def start_backend(args):
    from fixtures import DovecotBackend
    # Tuned as Dovecot's PerformanceTuning page says: login processes in high-performance
    # mode (service_count = 0, process_min_avail = cores), imap processes reused
    # (service_count = 100) with enough of them kept ready for 50 concurrent clients; limits
    # high enough for the memory benchmark's sessions (one imap process each).
    cores = os.cpu_count() or 2
    extra = '''default_client_limit = %(cl)d
default_process_limit = %(pl)d
default_vsz_limit = 512M
service imap {
  service_count = 100
  process_min_avail = %(avail)d
  process_limit = %(pl)d
}
''' % {'cl': 2 * args.sessions + 1000, 'pl': args.sessions + 500, 'avail': args.clients + 10}
    be = DovecotBackend('backend', users=backend_users(args.users),
                        login_settings={'service_count': 0, 'process_min_avail': cores,
                                        'client_limit': args.sessions + 500},
                        settings={'mail_max_userip_connections': args.sessions + 100},
                        extra_conf=extra)
    be.start()
    return be


def start_dovecot_proxy(be, args, name):
    from fixtures import DovecotProxy
    cores = os.cpu_count() or 2
    users = {u: {'password': PASSWORD} for u in backend_users(args.users)}
    dp = DovecotProxy(name, backend=be, users=users,
                      login_settings={'service_count': 0, 'process_min_avail': cores,
                                      'client_limit': args.sessions + 500},
                      settings={'default_client_limit': 2 * args.sessions + 1000})
    dp.start()
    return Target('Dovecot 2.3 proxy', dp.imap_port, dp.pids, dp)


def start_mtool(be, args, name, splice=True):
    from mtoolfix import Proxyd
    fields = 'proxy host=%s port=%d' % (be.ip, be.imap_port)
    users = {u: (PASSWORD, fields) for u in backend_users(args.users)}
    settings = {} if splice else {'proxy_relay_splice': 'no'}
    px = Proxyd(name, users=users, settings=settings, trusted_networks='127.0.0.0/8')
    px.start()
    label = 'mtool proxyd (splice)' if splice else 'mtool proxyd (copy)'
    return Target(label, px.imap_port, lambda: [px.pid] if px.proc else [], px)


def stop_target(t):
    from fixtures import stop
    if t.inst is not None:
        stop(t.inst)


# ---- the load generator ------------------------------------------------------------------

def loadgen_lines(*argv, timeout=600):
    r = subprocess.run([LOADGEN] + [str(a) for a in argv], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError('loadgen %s failed (%d):\n%s%s' % (
            ' '.join(map(str, argv)), r.returncode, r.stdout, r.stderr))
    return r.stdout.splitlines()


def loadgen(*argv, timeout=600):
    r = subprocess.run([LOADGEN] + [str(a) for a in argv], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError('loadgen %s failed (%d):\n%s%s' % (
            ' '.join(map(str, argv)), r.returncode, r.stdout, r.stderr))
    return kv(r.stdout)


# ---- 1. logins -----------------------------------------------------------------------------

def passdb_bench(doc, name, logins, warmup, extra=None):
    """What the passdb benchmarks (bench/sql.py, ldap.py, authsrv.py) share: their options
    (--logins, --warmup-logins, --clients, --users, --runs, --keep; extra(parser) adds
    more), a scratch directory as TESTDIR for the fixtures (import them after this), ./mtool
    as MTOOL unless set, quiet-machine waits off, the load generator built.
    Returns (args, scratch)."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--logins', type=int, default=logins)
    ap.add_argument('--warmup-logins', type=int, default=warmup)
    ap.add_argument('--clients', type=int, default=50)
    ap.add_argument('--users', type=int, default=200)
    ap.add_argument('--runs', type=int, default=1)
    ap.add_argument('--keep', action='store_true')
    if extra is not None:
        extra(ap)
    args = ap.parse_args()
    args.sessions = 200
    scratch = tempfile.mkdtemp(prefix='mtool-bench-%s.' % name)
    os.chmod(scratch, 0o755)
    os.environ['TESTDIR'] = scratch
    os.environ.setdefault('MTOOL', os.path.join(TOP, 'mtool'))
    QUIET.update(enabled=False)
    subprocess.run(['make', '-s', '-C', os.path.join(TOP, 'bench')], check=True)
    return args, scratch


def passdb_bench_done(args, scratch):
    """Stops every server the benchmark started; removes the scratch directory unless
    --keep."""
    import fixtures
    fixtures.stop_all()
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        print('scratch directory kept: %s' % scratch, file=sys.stderr)


def bench_login(be, targets, args):
    """{label: [per-run dict]} for every target, runs interleaved."""
    res = {t.label: [] for t in targets}
    for run in range(args.runs):
        for t in targets:
            loadgen('login', '-p', t.port, '-c', args.clients, '-n', args.warmup_logins,
                    '-u', args.users)
            wait_quiet()
            c0, b0 = cpu_seconds(t.pids()), cpu_seconds(be.pids())
            busy0 = machine_busy()
            r = loadgen('login', '-p', t.port, '-c', args.clients, '-n', args.logins,
                        '-u', args.users)
            c1, b1 = cpu_seconds(t.pids()), cpu_seconds(be.pids())
            n = int(r['logins'])
            other = max(0.0, 100 * ((machine_busy() - busy0) - (c1 - c0) - (b1 - b0)
                                    - float(r['loadgen_cpu_s'])) / float(r['secs']))
            row = {
                'rate': float(r['rate']),
                'cpu_ms': (c1 - c0) * 1000 / n,
                'backend_ms': (b1 - b0) * 1000 / n,
                'loadgen_ms': float(r['loadgen_cpu_s']) * 1000 / n,
                'p50': float(r['lat_p50_ms']), 'p99': float(r['lat_p99_ms']),
                'other': other,
            }
            res[t.label].append(row)
            log('login run %d %-22s %7.1f logins/s  proxy %.3f ms/login  backend %.3f  '
                'loadgen %.3f  latency p50 %.1f p99 %.1f ms  other processes %.0f%% of a core'
                % (run + 1, t.label, row['rate'], row['cpu_ms'], row['backend_ms'],
                   row['loadgen_ms'], row['p50'], row['p99'], row['other']))
    return res


def profile_login(t, args):
    """--perf: one more (unmeasured) login run of target t under `perf record -g`; writes
    build/bench/perf-login.data and a text summary next to it."""
    out = os.path.join(TOP, 'build', 'bench', 'perf-login')
    pid = t.pids()[0]
    p = subprocess.Popen(['perf', 'record', '-q', '-g', '-F', '4999', '-o', out + '.data',
                          '-p', str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    loadgen('login', '-p', t.port, '-c', args.clients, '-n', args.logins, '-u', args.users)
    p.send_signal(2)
    p.wait()
    with open(out + '.txt', 'w') as f:
        for argv in (['--no-children', '--sort', 'dso,sym'], ['--children', '--sort', 'sym']):
            r = subprocess.run(['perf', 'report', '-i', out + '.data', '--stdio', '-g', 'none',
                                '--percent-limit', '0.5'] + argv,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            f.write(r.stdout)
    log('perf profile of %s (pid %d, %d logins): %s.txt (%s.data)' % (
        t.label, pid, args.logins, out, out))


# ---- 2. FETCH of a 10 MB message -----------------------------------------------------------

def make_message(size):
    """A size-byte RFC 5322 message (CRLF lines of 76 characters)."""
    head = ('From: bench@example.org\r\nTo: %s\r\nSubject: 10 MB benchmark message\r\n'
            'Message-ID: <bench-10mb@example.org>\r\nMIME-Version: 1.0\r\n'
            'Content-Type: text/plain\r\n\r\n' % FETCH_USER).encode()
    line = (b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/' * 2)[:76] + b'\r\n'
    body = bytearray()
    while len(head) + len(body) + len(line) <= size - 2:
        body += line
    body += b'x' * (size - 2 - len(head) - len(body)) + b'\r\n'
    return head + bytes(body)


def set_affinity(pids, cpus):
    for p in pids:
        try:
            os.sched_setaffinity(p, cpus)
        except OSError:
            pass


def bench_fetch(be, targets, args, pinned=False):
    """One loadgen per run, one session per target, the timed FETCHes round robin.
    pinned: the backend's processes on one half of the CPUs, the proxies and the load
    generator on the other, as if the backend were another machine."""
    res = {t.label: [] for t in targets}
    all_cpus = sorted(os.sched_getaffinity(0))
    if pinned:
        half = len(all_cpus) // 2
        be_cpus, px_cpus = set(all_cpus[:half]), set(all_cpus[half:])
        set_affinity(be.pids(), be_cpus)
        for t in targets:
            set_affinity(t.pids(), px_cpus)
        os.sched_setaffinity(0, px_cpus)    # the load generator inherits it
    try:
        _bench_fetch(be, targets, args, res, 'fetch (pinned)' if pinned else 'fetch')
    finally:
        if pinned:
            os.sched_setaffinity(0, set(all_cpus))
            set_affinity(own_pids(be, targets), set(all_cpus))
    return res


def _bench_fetch(be, targets, args, res, what):
    argv = ['fetch', '-U', FETCH_USER, '-r', args.fetch_repeat, '-w', 2]
    for t in targets:
        argv += ['-p', t.port]
    for run in range(args.runs):
        wait_quiet()
        busy0, pcpu0 = machine_busy(), cpu_seconds(own_pids(be, targets))
        ns0 = [cpu_ns(t.pids()) for t in targets]
        t0, lg0 = time.monotonic(), children_cpu()
        out = loadgen_lines(*argv)
        ns1 = [cpu_ns(t.pids()) for t in targets]
        other = foreign_cpu(busy0, pcpu0, own_pids(be, targets), time.monotonic() - t0,
                            children_cpu() - lg0)
        nfetch = args.fetch_repeat + 2
        for t, line, a, b in zip(targets, out, ns0, ns1):
            r = kv(line)
            assert int(r['port']) == t.port, (t.port, line)
            res[t.label].append({'mbps': float(r['mbps']), 'ms': float(r['median_ms']),
                                 'size': int(r['size']), 'other': other,
                                 'times': r['times_ms'], 'cpu_ms': (b - a) / 1e6 / nfetch})
            log('%s run %d %-22s %8.1f MB/s  (median of %d: %.2f ms for %s bytes; all: %s)'
                '  proxy CPU %.2f ms per FETCH'
                % (what, run + 1, t.label, float(r['mbps']), args.fetch_repeat,
                   float(r['median_ms']), r['size'], r['times_ms'], (b - a) / 1e6 / nfetch))
        log('%s run %d: CPU used by other processes on this machine: %.0f%% of a core'
            % (what, run + 1, other))


# ---- 3. memory per idle session --------------------------------------------------------------

def hold_sessions(port, args):
    """Starts `loadgen hold`; returns the process once every session is logged in."""
    p = subprocess.Popen([LOADGEN, 'hold', '-p', str(port), '-n', str(args.sessions),
                          '-c', str(args.clients), '-u', str(args.users)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    line = p.stdout.readline()
    if not line.startswith('ready'):
        p.kill()
        out, err = p.communicate()
        raise RuntimeError('loadgen hold: %s%s%s' % (line, out, err))
    r = kv(line)
    if int(r['sessions']) != args.sessions:
        p.kill()
        raise RuntimeError('loadgen hold: only %s sessions' % r['sessions'])
    return p, r


def release_sessions(p):
    out, err = p.communicate('\n', timeout=120)
    if p.returncode != 0:
        raise RuntimeError('loadgen hold ended badly (%d): %s%s' % (p.returncode, out, err))


def wait_backend_idle(be, want, timeout=60):
    """Waits until the backend's imap processes are no more than want (the previous
    run's sessions have gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        # reused imap processes stay; what matters is that no session is left: count the
        # backend's established connections on its port instead
        if established(be.imap_port) <= want:
            return


def established(port):
    n = 0
    hexport = ':%04X' % port
    with open('/proc/net/tcp') as f:
        for line in f.readlines()[1:]:
            fl = line.split()
            if fl[1].endswith(hexport) and fl[3] == '01':
                n += 1
    return n


def bench_memory(be, makers, args):
    """makers: [(label, fn(run) -> Target)]. A fresh proxy per run."""
    res = {label: [] for label, _ in makers}
    for run in range(args.runs):
        for label, make in makers:
            t = make(run)
            try:
                # warm up: code paged in, allocator arenas in place, every login process used
                loadgen('login', '-p', t.port, '-c', 10, '-n', 200, '-u', args.users)
                wait_quiet()
                before = pss_kib(t.pids())
                nproc0 = len(t.pids())
                t0 = time.monotonic()
                p, r = hold_sessions(t.port, args)
                opened = time.monotonic() - t0
                time.sleep(1)
                after = pss_kib(t.pids())
                nproc1 = len(t.pids())
                be_imap = count_procs(be.pids(), 'imap')
                be_pss = pss_kib(be.pids())
                release_sessions(p)
            finally:
                stop_target(t)
            per = (after - before) / args.sessions
            res[label].append({'kib': per, 'before': before, 'after': after,
                               'nproc': (nproc0, nproc1), 'open_s': opened,
                               'be_imap': be_imap, 'be_pss': be_pss})
            log('memory run %d %-22s %6.2f KiB/session  (PSS %d -> %d KiB, %d -> %d '
                'processes, %d sessions opened in %.1f s; backend: %d imap processes, '
                'PSS %.0f MiB)' % (run + 1, label, per, before, after, nproc0, nproc1,
                                   args.sessions, opened, be_imap, be_pss / 1024))
            wait_backend_idle(be, 0)
    return res


# ---- main -------------------------------------------------------------------------------------

def med(rows, key):
    return statistics.median(r[key] for r in rows)


def mtool_info(path):
    """Which mtool: the binary and, for the tree's own, the git revision."""
    if os.path.realpath(path) != os.path.realpath(os.path.join(TOP, 'mtool')):
        return path + ' (from $MTOOL)'
    r = subprocess.run(['git', '-C', TOP, 'describe', '--always', '--dirty'],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return '%s built from %s' % (path, r.stdout.strip() or 'an unknown revision')


def machine():
    model = ''
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30
    dv = subprocess.run(['dovecot', '--version'], stdout=subprocess.PIPE, text=True).stdout.strip()
    return '%d cores (%s), %.0f GiB RAM, Linux %s, Dovecot %s' % (
        os.cpu_count() or 0, model, mem, platform.release(), dv)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--only', default='login,fetch,memory',
                    help='comma-separated: login, fetch, memory (default: all)')
    ap.add_argument('--runs', type=int, default=3, help='runs per figure (median; default 3)')
    ap.add_argument('--clients', type=int, default=50, help='concurrent clients (default 50)')
    ap.add_argument('--logins', type=int, default=10000, help='logins per run (default 10000)')
    ap.add_argument('--warmup-logins', type=int, default=500)
    ap.add_argument('--users', type=int, default=200, help='distinct users (default 200)')
    ap.add_argument('--fetch-mib', type=int, default=10, help='message size (default 10 MiB)')
    ap.add_argument('--fetch-repeat', type=int, default=9, help='timed FETCHes per run')
    ap.add_argument('--sessions', type=int, default=2000, help='idle sessions (default 2000)')
    ap.add_argument('--no-deps', action='store_true', help='skip scripts/deps.sh')
    ap.add_argument('--quiet-limit', type=float, default=15.0,
                    help='before each measurement wait until the machine is below this %% of '
                    'one core busy (default 15; 0 = do not wait)')
    ap.add_argument('--quiet-wait', type=float, default=120.0,
                    help='... but at most this many seconds (default 120)')
    ap.add_argument('--keep', action='store_true', help='keep the scratch directory')
    ap.add_argument('--perf', action='store_true',
                    help='after the login runs, profile mtool (splice) during one more with '
                    'perf record -g: build/bench/perf-login.{data,txt} (use MTOOL='
                    'build/mtool.unstripped for symbols)')
    args = ap.parse_args()
    only = set(args.only.split(','))
    QUIET.update(limit=args.quiet_limit, max_wait=args.quiet_wait,
                 enabled=args.quiet_limit > 0)

    t_start = time.monotonic()
    if not args.no_deps:
        subprocess.run(['sh', os.path.join(TOP, 'scripts', 'deps.sh'), 'test'], check=True)
    mtool = os.environ.get('MTOOL')
    if not mtool:
        # MTOOL=/path/to/mtool benchmarks that binary instead of building ./mtool
        if subprocess.run(['make', '-s', '-C', TOP, 'mtool']).returncode != 0:
            sys.exit('bench: `make mtool` failed (or set MTOOL=/path/to/mtool)')
        mtool = os.path.join(TOP, 'mtool')
    info = mtool_info(mtool)
    subprocess.run(['make', '-s', '-C', os.path.join(TOP, 'bench')], check=True)

    # every server inherits this: 2 fds per proxied session and more for Dovecot's processes
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * args.sessions + 2000
    if hard != resource.RLIM_INFINITY and hard < need:
        args.sessions = max(100, (hard - 2000) // 2)
        log('RLIMIT_NOFILE hard limit %d: sessions reduced to %d' % (hard, args.sessions))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    scratch = tempfile.mkdtemp(prefix='mtool-bench.')
    os.environ['TESTDIR'] = scratch
    os.environ['MTOOL'] = os.path.abspath(mtool)
    os.environ.pop('MTOOL_TEST_RELAY', None)
    sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))
    import fixtures
    log('scratch directory %s' % scratch)

    results = {}
    ok = False
    try:
        be = start_backend(args)
        direct = Target('direct to backend', be.imap_port, lambda: [])
        if only & {'login', 'fetch'}:
            targets = [start_dovecot_proxy(be, args, 'dovecot-proxy'),
                       start_mtool(be, args, 'mtool-splice', splice=True),
                       start_mtool(be, args, 'mtool-copy', splice=False)]
            if 'login' in only:
                results['login'] = bench_login(be, [direct] + targets, args)
                if args.perf:
                    profile_login(targets[1], args)
            if 'fetch' in only:
                be.deliver(FETCH_USER, make_message(args.fetch_mib * MIB))
                results['fetch'] = bench_fetch(be, [direct] + targets, args)
                if len(os.sched_getaffinity(0)) >= 2:
                    results['fetch_pinned'] = bench_fetch(be, [direct] + targets, args, True)
            fixtures.stop(*[t.inst for t in targets])
        if 'memory' in only:
            wait_backend_idle(be, 0)
            makers = [
                ('Dovecot 2.3 proxy', lambda run: start_dovecot_proxy(be, args, 'dp-mem%d' % run)),
                ('mtool proxyd (splice)', lambda run: start_mtool(be, args, 'mx-mem%d' % run)),
                ('mtool proxyd (copy)',
                 lambda run: start_mtool(be, args, 'mc-mem%d' % run, splice=False)),
            ]
            results['memory'] = bench_memory(be, makers, args)
        ok = True
    finally:
        fixtures.stop_all()
        if ok and not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            log('logs and configs kept in %s' % scratch)

    elapsed = time.monotonic() - t_start
    print_table(results, args, elapsed, info)


def fmt(rows, key, f):
    """median [min-max] of rows[key], each with format f."""
    v = [r[key] for r in rows]
    if len(v) == 1:
        return f % v[0]
    return (f + ' [' + f + '–' + f + ']') % (statistics.median(v), min(v), max(v))


def print_table(results, args, elapsed, info):
    print()
    print('%s, %s' % (time.strftime('%Y-%m-%d'), machine()))
    print('mtool: %s' % info)
    print('median [min–max] of %d runs; %d concurrent clients, %d users, %d logins per run; '
          'full run took %.0f s' % (args.runs, args.clients, args.users, args.logins, elapsed))
    print()
    labels = ['Dovecot 2.3 proxy', 'mtool proxyd (splice)', 'mtool proxyd (copy)',
              'direct to backend']
    lr, fr, mr = results.get('login', {}), results.get('fetch', {}), results.get('memory', {})
    pr = results.get('fetch_pinned', {})
    direct = fr.get('direct to backend')
    print('| | logins/s | proxy CPU ms/login | FETCH %d MiB, MB/s | FETCH %% of direct '
          '| FETCH %% of direct, backend pinned | PSS KiB per idle session (N=%d) |'
          % (args.fetch_mib, args.sessions))
    print('|---|---:|---:|---:|---:|---:|---:|')
    for label in labels:
        if not any(label in r for r in (lr, fr, mr)):
            continue
        cells = [label]
        if label in lr:
            cells += [fmt(lr[label], 'rate', '%.0f'),
                      '—' if label.startswith('direct') else fmt(lr[label], 'cpu_ms', '%.3f')]
        else:
            cells += ['', '']
        if label in fr:
            cells.append(fmt(fr[label], 'mbps', '%.0f'))
            if label.startswith('direct'):
                cells.append('100%')
            elif direct:
                # % of direct per run (the FETCHes of one run are interleaved), then median
                rows = [{'pct': 100 * a['mbps'] / b['mbps']} for a, b in zip(fr[label], direct)]
                cells.append(fmt(rows, 'pct', '%.0f%%'))
            else:
                cells.append('')
        else:
            cells += ['', '']
        if label in pr and label.startswith('direct'):
            cells.append('100%')
        elif label in pr and 'direct to backend' in pr:
            rows = [{'pct': 100 * a['mbps'] / b['mbps']}
                    for a, b in zip(pr[label], pr['direct to backend'])]
            cells.append(fmt(rows, 'pct', '%.0f%%'))
        else:
            cells.append('')
        cells.append(fmt(mr[label], 'kib', '%.2f') if label in mr else '')
        print('| ' + ' | '.join(cells) + ' |')
    if lr:
        print()
        print('Login benchmark, per login (median): backend CPU, load generator CPU, latency '
              'connect..tagged OK; other processes on the machine during the runs:')
        for label, rows in lr.items():
            print('  %-22s backend %.3f ms, load generator %.3f ms, p50 %.1f ms, p99 %.1f ms; '
                  'others %.0f–%.0f%% of a core' % (
                      label, med(rows, 'backend_ms'), med(rows, 'loadgen_ms'), med(rows, 'p50'),
                      med(rows, 'p99'), min(r['other'] for r in rows),
                      max(r['other'] for r in rows)))
    if fr:
        rows = next(iter(fr.values()))
        print('FETCH benchmark: message of %d bytes; others %.0f–%.0f%% of a core; proxy CPU '
              'per FETCH (median): %s' % (
                  rows[0]['size'], min(r['other'] for r in rows), max(r['other'] for r in rows),
                  ', '.join('%s %.2f ms' % (label, med(rs, 'cpu_ms'))
                            for label, rs in fr.items() if not label.startswith('direct'))))
    if pr:
        rows = next(iter(pr.values()))
        print('FETCH, backend pinned to CPU(s) of its own, proxies and load generator to the '
              'others: direct %s MB/s; others %.0f–%.0f%% of a core; proxy CPU per FETCH '
              '(median): %s' % (
                  fmt(pr['direct to backend'], 'mbps', '%.0f'),
                  min(r['other'] for r in rows), max(r['other'] for r in rows),
                  ', '.join('%s %.2f ms' % (label, med(rs, 'cpu_ms'))
                            for label, rs in pr.items() if not label.startswith('direct'))))
    if mr:
        print('Memory benchmark: a real Dovecot backend with %d imap processes (one per '
              'session), PSS %.0f MiB; proxy processes before -> after:' % (
                  max(r['be_imap'] for rows in mr.values() for r in rows),
                  max(r['be_pss'] for rows in mr.values() for r in rows) / 1024))
        for label, rows in mr.items():
            r = sorted(rows, key=lambda x: x['kib'])[len(rows) // 2]
            print('  %-22s %d -> %d processes, PSS %d -> %d KiB (the median run)' % (
                label, r['nproc'][0], r['nproc'][1], r['before'], r['after']))


if __name__ == '__main__':
    main()
