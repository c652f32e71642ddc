#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""usage: md2man.py SOURCE.md NAME SECTION OUT
Turns one of docs/*.md into a man(7) page: the subset of Markdown those pages use
(headings, paragraphs, indented and fenced code, '-' and '1.' lists, 'term' + ': text'
definitions, '|' tables, `code`, **bold**, *italic*, [links](x)). The first line,
"# name(N) — what it is", gives the NAME section when the page has none."""
import os, re, subprocess, sys, time

SPECIAL = {"—": r"\(em", "–": r"\(en", "→": r"\(->", "←": r"\(<-", "≤": r"\(<=", "≥": r"\(>=",
           "’": "'", "‘": "`", "“": r"\(lq", "”": r"\(rq", "×": r"\(mu", "…": "...", "≠": r"\(!=",
           "↔": r"\(<>", "·": r"\(pc", "§": r"\(sc", "±": r"\(+-", "µ": r"\(mc", "°": r"\(de"}


def esc(text):
    """roff-escape plain text (no markup)"""
    out = text.replace("\\", r"\e")
    out = "".join(SPECIAL.get(c, c if ord(c) < 128 else r"\[u%04X]" % ord(c)) for c in out)
    return out


def inline(text):
    """Markdown inline markup to roff fonts; everything else escaped"""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for p in parts:
        if len(p) >= 2 and p.startswith("`") and p.endswith("`"):
            out.append(r"\fB" + esc(p[1:-1]).replace("-", r"\-") + r"\fR")
            continue
        p = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", p)  # links: the text stays
        p = esc(p)
        p = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", p)
        p = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\\fI\1\\fR", p)
        p = re.sub(r"(?<!\w)_([^_\s][^_]*)_(?!\w)", r"\\fI\1\\fR", p)
        out.append(p)
    return "".join(out)


def line_out(text):
    """a text line: roff must not take a leading '.' or \\' for a request"""
    text = text.strip()
    return "\\&" + text if text[:1] in (".", "'") else text


def page_date(src):
    """the source's last commit date (reproducible), else its modification date"""
    try:
        d = subprocess.run(["git", "log", "-1", "--format=%cs", "--", src], capture_output=True,
                           text=True, cwd=os.path.dirname(os.path.abspath(src))).stdout.strip()
    except OSError:
        d = ""
    return d or time.strftime("%Y-%m-%d", time.gmtime(os.path.getmtime(src)))


def convert(src, name, section):
    lines = open(src, encoding="utf-8").read().splitlines()
    out, title_desc = [], ""
    if lines and lines[0].startswith("# "):
        m = re.match(r"#\s+\S+?(?:\(\d\))?\s*(?:—|-)\s*(.*)$", lines[0])
        title_desc = m[1] if m else ""
        lines = lines[1:]
    out.append('.TH "%s" "%s" "%s" "mtool" "mtool manual"' % (name.upper(), section, page_date(src)))
    if not any(re.match(r"##\s+NAME\s*$", l) for l in lines):
        out += [".SH NAME", r"%s \- %s" % (esc(name), inline(title_desc or name))]
    para, i = [], 0

    def flush():
        if para:
            out.extend(line_out(inline(" ".join(para))).splitlines())
            para.clear()

    while i < len(lines):
        l = lines[i]
        if m := re.match(r"(#{2,6})\s+(.*)$", l):
            flush()
            head = m[2].strip()
            out.append((".SH " if len(m[1]) == 2 else ".SS ") + '"%s"' % inline(head).replace('"', "'"))
            if len(m[1]) == 2 and head.upper() == "NAME":
                # "name — text" paragraph follows: man wants "name \- text"
                i += 1
                while i < len(lines) and not lines[i].strip():
                    i += 1
                if i < len(lines):
                    nm = re.match(r"(.*?)\s+(?:—|-)\s+(.*)$", lines[i])
                    out.append(r"%s \- %s" % (inline(nm[1]), inline(nm[2])) if nm else inline(lines[i]))
            i += 1
            continue
        if l.startswith("```"):
            flush()
            i += 1
            out += [".PP", ".RS 4", ".nf"]
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(line_out(esc(lines[i])) if lines[i].strip() else "")
                i += 1
            out += [".fi", ".RE"]
            i += 1
            continue
        if l.startswith("    ") and not para and l.strip():
            out += [".PP", ".RS 4", ".nf"]
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                if not lines[i].strip():
                    j = i
                    while j < len(lines) and not lines[j].strip():
                        j += 1
                    if j >= len(lines) or not lines[j].startswith("    "):
                        break
                out.append(line_out(esc(lines[i][4:])) if lines[i].strip() else "")
                i += 1
            out += [".fi", ".RE"]
            continue
        if l.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells if c):
                    rows.append(cells)
                i += 1
            head, body = rows[0], rows[1:]
            for r in body:
                out.append(".TP")
                out.append(line_out(r"\fB" + inline(r[0]) + r"\fR"))
                rest = ["%s: %s" % (inline(h), inline(c)) for h, c in zip(head[1:], r[1:]) if c]
                out.append(line_out("; ".join(rest)) if rest else r"\&")
            continue
        if m := re.match(r"(\s*)([-*]|\d+\.)\s+(.*)$", l):
            flush()
            bullet = r"\(bu" if m[2] in "-*" else m[2]
            item = [m[3]]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip() and \
                    not re.match(r"\s*([-*]|\d+\.)\s+", lines[i]):
                item.append(lines[i].strip())
                i += 1
            out += ['.IP "%s" 4' % bullet, line_out(inline(" ".join(item)))]
            continue
        if l.startswith(": ") and para:
            term = para.pop()
            flush()
            defn = [l[2:]]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                defn.append(lines[i].strip())
                i += 1
            out += [".TP", line_out(inline(term)), line_out(inline(" ".join(defn)))]
            continue
        if not l.strip():
            flush()
            if out and out[-1] not in (".PP",) and not out[-1].startswith((".SH", ".SS", ".TH")):
                out.append(".PP")
            i += 1
            continue
        para.append(l)
        i += 1
    flush()
    while out and out[-1] == ".PP":
        out.pop()
    # a paragraph break right after a heading or before another block macro is noise
    clean = []
    for k, o in enumerate(out):
        nxt = out[k + 1] if k + 1 < len(out) else ""
        if o == ".PP" and (nxt.startswith((".SH", ".SS", ".TP", ".IP", ".PP")) or
                           (clean and clean[-1].startswith((".SH", ".SS")))):
            continue
        clean.append(o)
    return "\n".join(clean) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    src, name, section, dst = sys.argv[1:]
    page = convert(src, name, section)
    with open(dst, "w", encoding="ascii") as f:
        f.write(page)
