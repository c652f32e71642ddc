# SPDX-License-Identifier: MIT
"""The source tree's own rules (../../../shared/docs/design.md, docs/hacking.md), checked on
the sources and, with nm, on the built objects:

  include  an applet includes only its own files, core/, config.h and applets/applets.h;
           core includes only core/ and config.h; one header per core module: core/NAME.c
           declares its names in core/NAME.h, or in the header of the module NAME extends
           (core/conf_get.c in core/conf.h)
  name     every exported symbol starts with its file's name (or with its module's: the
           file NAME_PART.c of a module NAME.h may export NAME_*), followed by "_"
  prefix   no file name is an exported prefix in two applets (a symbol of one applet that
           starts with another applet's file name says it lives there)
  decl     a function is declared in the header of the file that defines it (NAME.h for
           NAME.c, its module's header, or a private header of the module, NAME_*.h);
           applets/applets.h declares the applets' entry points NAME_main

Usage: check.py OBJDIR [ALLOWLIST]   (OBJDIR: build/musl, after `make`)
Prints every violation as "FILE: rule: what", file by file; exit 1 if any is not in the
allowlist (lines "FILE: rule: what" as printed; # comments). Exit 2 if OBJDIR has no objects.
"""
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
INCLUDE_RX = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# a prototype at the start of a line: type words, then NAME( ; not static, typedef, macros
DECL_RX = re.compile(r'^(?!static\b|typedef\b|#|extern\s+"C")[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\(',
                     re.M)


def sources():
    out = []
    for pat in ('core/*.[ch]', 'applets/*/*.[ch]', 'applets/*.h', 'main.c'):
        out += glob.glob(os.path.join(ROOT, pat))
    return sorted(os.path.relpath(p, ROOT) for p in out)


def strip_comments(text):
    return re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)


def module_prefixes(path):
    """The prefixes a file may export: its name, and NAME for every NAME.h of its directory
    that its name extends (conf_get.c: conf_get, conf)."""
    d, f = os.path.split(path)
    base = os.path.splitext(f)[0]
    parts = base.split('_')
    out = [base]
    for i in range(len(parts) - 1, 0, -1):
        p = '_'.join(parts[:i])
        if os.path.exists(os.path.join(ROOT, d, p + '.h')):
            out.append(p)
    return out


def check_includes(problems):
    for src in sources():
        with open(os.path.join(ROOT, src)) as f:
            text = strip_comments(f.read())
        parts = src.split('/')
        for inc in INCLUDE_RX.findall(text):
            if parts[0] == 'core':
                if not (inc.startswith('core/') or inc == 'config.h'):
                    problems.append((src, 'include', '%s: core includes only core/ and config.h' % inc))
            elif parts[0] == 'applets' and len(parts) == 3:
                own = 'applets/%s/' % parts[1]
                if not (inc.startswith(own) or inc.startswith('core/') or
                        inc in ('config.h', 'applets/applets.h')):
                    problems.append((src, 'include', '%s: an applet includes only its own files, '
                                     'core/, config.h and applets/applets.h' % inc))
            elif not (inc.startswith('core/') or inc in ('config.h', 'applets/applets.h')):
                problems.append((src, 'include', '%s: not a core or shared header' % inc))
    for c in glob.glob(os.path.join(ROOT, 'core', '*.c')):
        src = os.path.relpath(c, ROOT)
        if not any(os.path.exists(os.path.join(ROOT, 'core', p + '.h')) for p in module_prefixes(src)):
            problems.append((src, 'include', 'a core file without its header (core/NAME.h, or the '
                             'header of the module whose name it extends)'))


def exported(objdir):
    """{source path: [global symbols it defines]} from nm on objdir's objects."""
    out = {}
    objs = sorted(glob.glob(os.path.join(objdir, 'core', '*.o')) +
                  glob.glob(os.path.join(objdir, 'applets', '*', '*.o')))
    for o in objs:
        src = os.path.relpath(o, objdir)[:-2] + '.c'
        if not os.path.exists(os.path.join(ROOT, src)):
            continue    # left over from a renamed file
        r = subprocess.run(['nm', '-g', '--defined-only', o], stdout=subprocess.PIPE,
                           universal_newlines=True, check=True)
        out[src] = [l.split()[-1] for l in r.stdout.splitlines() if l.split()]
    return out


def starts(sym, prefix):
    return sym == prefix or sym.startswith(prefix + '_')


def check_names(syms, problems):
    applet_files = {}     # applet -> {file name: [symbols]}
    for src, names in syms.items():
        allowed = module_prefixes(src)
        for s in names:
            if not any(starts(s, p) for p in allowed):
                problems.append((src, 'name', '%s does not start with %s_' % (s, ' or '.join(allowed))))
        parts = src.split('/')
        if parts[0] == 'applets' and names:
            applet_files.setdefault(parts[1], {})[os.path.basename(src)[:-2]] = src
    for a, files in sorted(applet_files.items()):
        for b, bfiles in sorted(applet_files.items()):
            if a == b:
                continue
            for fname, bsrc in sorted(bfiles.items()):
                for asrc in sorted(files.values()):
                    hits = [s for s in syms[asrc] if starts(s, fname)]
                    if hits:
                        problems.append((asrc, 'prefix', '%s_ is also %s\'s prefix: %s' % (
                            fname, bsrc, ' '.join(sorted(hits)))))


def check_decls(syms, problems):
    where = {}
    for src, names in syms.items():
        for s in names:
            where[s] = src
    for h in sources():
        if not h.endswith('.h'):
            continue
        with open(os.path.join(ROOT, h)) as f:
            text = strip_comments(f.read())
        # join continued prototypes, drop bodies of inline functions and struct members
        text = re.sub(r'\{[^{}]*\}', ';', re.sub(r'\{[^{}]*\}', ';', text))
        for name in sorted(set(DECL_RX.findall(text))):
            src = where.get(name)
            if src is None:
                continue
            if h == 'applets/applets.h' and name.endswith('_main'):
                continue
            d = os.path.dirname(src)
            ok = [os.path.join(d, p + '.h') for p in module_prefixes(src)]
            # a module's private header: core/sql_drv.h for core/sql.c, core/tls_int.h
            hb = os.path.basename(h)[:-2]
            private = os.path.dirname(h) == d and any(hb.startswith(p + '_') for p in module_prefixes(src))
            if h not in ok and not private:
                problems.append((h, 'decl', '%s is defined in %s (declare it in %s)' % (
                    name, src, ok[0])))


def main():
    if len(sys.argv) < 2:
        sys.exit('usage: check.py OBJDIR [ALLOWLIST]')
    objdir = sys.argv[1]
    allow = set()
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            for line in f:
                line = line.split('#', 1)[0].strip()
                if line:
                    allow.add(line)
    syms = exported(objdir)
    if not syms:
        print('tree: no objects in %s (run make first)' % objdir)
        return 2
    problems = []
    check_includes(problems)
    check_names(syms, problems)
    check_decls(syms, problems)
    bad = allowed = 0
    seen = set()
    last = None
    for src, rule, what in sorted(problems):
        key = '%s: %s: %s' % (src, rule, what)
        if key in allow:
            allowed += 1
            seen.add(key)
            continue
        if src != last:
            print('%s:' % src)
            last = src
        print('  %s: %s' % (rule, what))
        bad += 1
    for key in sorted(allow - seen):
        print('tree: allowlist entry no longer needed (remove it): %s' % key)
        bad += 1
    if bad:
        print('FAIL - source tree: %d problem(s) above (%d more allowed, pending)' % (bad, allowed))
        return 1
    print('ok - source tree: include, name, prefix and decl rules hold (%d allowed, pending)' % allowed)
    return 0


if __name__ == '__main__':
    sys.exit(main())
