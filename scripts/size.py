#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""usage: size.py [--budget KIB] MAPFILE STRIPPED_BINARY
Where the binary's bytes come from, by its GNU ld -Map file; with --budget (the profile's,
from mk/profile-*.mk), exits 1 when an x86_64 binary is larger (budgets are x86_64's)."""
import os, re, sys
from collections import defaultdict

BUDGET_ARCH = {62: "x86_64"}  # by ELF e_machine
KINDS = ("text", "rodata", "data", "bss")
# Kind goes by output section, as size(1) sees it: COMMON lands in .bss, .init_array in data.
PREFIXES = {"bss": (".bss", ".tbss", ".lbss"),
            "data": (".data", ".tdata", ".ldata", ".got", ".init_array", ".fini_array", ".preinit_array"),
            "text": (".text", ".init", ".fini", ".plt")}
ENTRY = re.compile(r"^ ([.\w*]\S*)\s+0x(\w+)\s+0x(\w+)\s*(.*)$")
WRAPPED = re.compile(r"^\s+0x(\w+)\s+0x(\w+)\s*(.*)$")  # the rest of an entry after a long name


def origin(name, path):
    if name == "*fill*":
        return "padding"
    if m := re.search(r"(^|/)(applets/[^/]+)/[^/]+\.o$", path):
        return m[2]
    for who, pattern in (("BearSSL", r"libbearssl\.a\("), ("libc", r"libc\.a\(|(^|/)\w*crt\w*\.o$"),
                         ("main.c", r"(^|/)main\.o$"), ("core", r"(^|/)core/[^/]+\.o$")):
        if re.search(pattern, path):
            return who
    return "other"


def parse(mapfile):
    """[output section, address, size, [(address, size, origin)]]"""
    # Only the memory map: "Discarded input sections" (--gc-sections) come before it.
    _, sep, text = open(mapfile).read().partition("\nLinker script and memory map")
    if not sep:
        sys.exit(f"{mapfile}: not a GNU ld map file")
    sections, pending = [], None
    for line in text.splitlines():
        if line[:1] in (".", "/"):  # output section header, /DISCARD/ included
            name, *rest = line.split()
            addr, size = (int(x, 16) for x in rest[:2]) if rest else (0, 0)
            sections.append([name, addr, size, []])
        elif (m := ENTRY.match(line)) or (pending and (m := WRAPPED.match(line))):
            name, addr, size, path = (pending,) + m.groups() if pending else m.groups()
            sections[-1][3].append((int(addr, 16), int(size, 16), origin(name, path)))
        elif sections and not sections[-1][1] and (m := WRAPPED.match(line)):
            sections[-1][1:3] = int(m[1], 16), int(m[2], 16)
        pending = line[1:] if re.match(r"^ [.\w]\S*$", line) else None
    return sections


def main(mapfile, binary, budget_kib=None):
    sizes = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    for name, addr, size, entries in parse(mapfile):
        if not addr:  # not loaded: .comment, .debug_*
            continue
        kind = next((k for k, p in PREFIXES.items() if name.startswith(p)), "rodata")
        # Merged strings/constants (SHF_MERGE) overlap in the map: count up to the next entry.
        ends = [a for a, _, _ in entries[1:]] + [addr + size]
        for (a, s, who), end in zip(entries, ends):
            sizes[who][kind] += max(0, min(s, end - a))
    header, stripped = open(binary, "rb").read(20), os.path.getsize(binary)
    if header[:4] != b"\x7fELF":
        sys.exit(f"{binary}: not an ELF file")
    print(f"{binary}: {stripped} bytes stripped ({stripped / 1024:.1f} KiB)\n")
    order = ["main.c"] + sorted(o for o in sizes if o.startswith("applets/"))
    order += ["core", "BearSSL", "libc", "other", "padding"]
    sizes["total"] = {k: sum(sizes[o][k] for o in order) for k in KINDS}
    in_file = lambda o: sizes[o]["text"] + sizes[o]["rodata"] + sizes[o]["data"]  # bss is not
    row = "{:<22}{:>9}{:>9}{:>9}{:>9}{:>9}{:>8}"
    print(row.format("kept input sections", *KINDS, "in file", "share"))
    for o in order + ["total"]:
        share = 100 * in_file(o) / max(in_file("total"), 1)
        print(row.format(o, *sizes[o].values(), in_file(o), f"{share:.1f}%"))
    arch, kib = BUDGET_ARCH.get(int.from_bytes(header[18:20], "little")), budget_kib
    if not arch or kib is None:
        return print("\nno size budget " + ("given" if arch else "for this architecture"))
    left = kib * 1024 - stripped
    print(f"\nbudget ({arch}): {kib} KiB, headroom {left} bytes ({left / 1024:.1f} KiB)"
          + ("" if left >= 0 else "  OVER BUDGET"))
    sys.exit(left < 0)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 4 and args[0] == "--budget" and args[1].isdigit():
        main(args[2], args[3], int(args[1]))
    elif len(args) == 2:
        main(*args)
    else:
        sys.exit(__doc__)
