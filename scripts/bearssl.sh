#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: [BEARSSL_SRC=DIR] sh scripts/bearssl.sh DESTDIR CC
# Builds DESTDIR/libbearssl.a and DESTDIR/inc/ from Debian's bearssl source package with CC
# (musl-gcc): Debian's own libbearssl.a is built against glibc (__memcpy_chk) and won't link
# with musl. Runs as root on Debian; installs musl-tools/dpkg-dev and a deb-src entry if missing.
set -eu

die() { echo "bearssl.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: sh scripts/bearssl.sh DESTDIR CC"
dest=$1 cc=$2
[ -f "$dest/libbearssl.a" ] && exit 0

updated=
apt_update() { [ -n "$updated" ] || apt-get update -q || die "apt-get update failed"; updated=1; }
need() { # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return
	[ "$(id -u)" = 0 ] || die "$1 not found; install $2 (as root: apt-get install $2)"
	apt_update
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" ||
		die "cannot install $2"
}
if [ "$cc" = musl-gcc ]; then need musl-gcc musl-tools; fi
command -v "$cc" >/dev/null 2>&1 || die "compiler $cc not found"
# BEARSSL_SRC: a BearSSL source tree to build instead of Debian's source package.
src=${BEARSSL_SRC:-}
if [ -z "$src" ]; then
	need dpkg-source dpkg-dev

	# No source index for bearssl even after an update: mirror this machine's own Debian entries
	# (whatever mirror it uses) as deb-src, so no archive host is hard-coded here.
	has_src() { apt-cache showsrc bearssl 2>/dev/null | grep -q '^Package: bearssl'; }
	lists=/etc/apt/sources.list.d
	if ! has_src; then
		[ "$(id -u)" = 0 ] || die "no deb-src entry for bearssl; run as root or add one"
		apt_update
	fi
	if ! has_src; then
		codename=$(. /etc/os-release && echo "${VERSION_CODENAME:?}")
		# deb822: the stanzas whose Suites name this release (bookworm, bookworm-updates, ...).
		for f in "$lists"/*.sources; do
			[ -f "$f" ] && [ "$f" != "$lists/mtool-deb-src.sources" ] || continue
			awk -v c="$codename" 'BEGIN { RS = ""; FS = "\n" }
				{ keep = 0; out = ""
				  for (i = 1; i <= NF; i++) {
					l = $i
					if (l ~ /^Suites:/ && (l " ") ~ ("[ \t]" c "[- \t]")) keep = 1
					if (l ~ /^Types:/) l = "Types: deb-src"
					out = out l "\n"
				  }
				  if (keep) printf "%s\n", out }' "$f"
		done >"$lists/mtool-deb-src.sources"
		# One-line format.
		cat /etc/apt/sources.list "$lists"/*.list 2>/dev/null | grep "^deb .*[[:space:]]$codename" |
			sed 's/^deb /deb-src /' >"$lists/mtool-deb-src.list" || :
		for f in "$lists"/mtool-deb-src.*; do [ -s "$f" ] || rm -f "$f"; done
		ls "$lists"/mtool-deb-src.* >/dev/null 2>&1 ||
			die "found no Debian $codename entry in /etc/apt to derive a deb-src entry from"
		echo "bearssl.sh: added $(ls "$lists"/mtool-deb-src.*)"
		updated= && apt_update
		has_src || die "bearssl source package not found, even with deb-src entries"
	fi
fi

# Scratch dir next to DESTDIR (in build/), removed on any exit.
mkdir -p "$(dirname "$dest")"
work=$(cd "$(dirname "$dest")" && pwd)/bearssl-src.$$
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
mkdir -p "$work"
start=$(date +%s)
if [ -z "$src" ]; then
	(cd "$work" && apt-get source -q bearssl) || die "apt-get source bearssl failed"
	src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'bearssl-*' | head -n 1)
fi
if [ -n "$src" ]; then src=$(cd "$src" && pwd) || die "no directory $src"; fi
[ -n "$src" ] && [ -f "$src/inc/bearssl.h" ] || die "no BearSSL source tree in $work"

# BearSSL's object names are unique across src/, so everything compiles into one flat dir.
mkdir -p "$work/obj"
flags="-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables"
(cd "$work/obj" && find "$src/src" -name '*.c' -print0 |
	xargs -0 -n 16 -P "$(nproc 2>/dev/null || echo 2)" "$cc" $flags -I"$src/inc" -I"$src/src" -c) ||
	die "compiling BearSSL with $cc failed"
# The archive goes in last, so an interrupted run is never mistaken for a finished one.
ar rcs "$work/libbearssl.a" "$work"/obj/*.o
rm -rf "$dest" && mkdir -p "$dest/inc"
cp "$src"/inc/*.h "$dest/inc/"
mv "$work/libbearssl.a" "$dest/libbearssl.a"
echo "bearssl.sh: $(basename "$src") -> $dest/libbearssl.a" \
	"($(ls "$work"/obj/*.o | wc -l) objects, $(wc -c <"$dest/libbearssl.a") bytes, $(($(date +%s) - start))s)"
