#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: sh scripts/cross.sh build|check [ARCH]...    ARCH: arm64 armhf mipsel s390x (all)
# Cross builds with Debian's cross compilers (gcc-TRIPLET) and musl: Debian has no musl
# for foreign architectures short of multiarch, so musl itself is built here from Debian's
# musl source package, once per ARCH, into build/cross/ARCH/musl, with its musl-gcc
# wrapper over gcc-TRIPLET. Then BearSSL, ./mtool and the unit tests go to build/cross/ARCH
# (make BUILD=... CC=...); `check` runs the unit tests under qemu-user-static. s390x is the
# big-endian one.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "cross.sh: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: sh scripts/cross.sh build|check [ARCH]..."
what=$1
shift
[ "$what" = build ] || [ "$what" = check ] || die "usage: sh scripts/cross.sh build|check [ARCH]..."
[ $# -gt 0 ] || set -- arm64 armhf mipsel s390x

triplet() {
	case $1 in
	arm64) echo aarch64-linux-gnu ;;
	armhf) echo arm-linux-gnueabihf ;;
	mipsel) echo mipsel-linux-gnu ;;
	s390x) echo s390x-linux-gnu ;;
	*) die "unknown ARCH $1 (arm64 armhf mipsel s390x)" ;;
	esac
}
qemu() {
	case $1 in
	arm64) echo qemu-aarch64-static ;;
	armhf) echo qemu-arm-static ;;
	*) echo "qemu-$1-static" ;;
	esac
}

# Unit tests qemu-user cannot run faithfully on an ARCH, and why; they run on hardware.
qemu_gaps() {
	case $1 in
	mipsel) echo "test_conn.c:connect_tcp_refused" ;;
	esac
}
qemu_gap_reason="qemu 7.2's user mode hands getsockopt(SO_ERROR) the host's errno untranslated (111, where MIPS's ECONNREFUSED is 146)"

sh "$top/scripts/deps.sh" cross
# deb-src entries for apt-get source (added by bearssl.sh when missing)
apt-cache showsrc musl 2>/dev/null | grep -q '^Package: musl' || sh "$top/scripts/bearssl.sh" "$top/build/bearssl" musl-gcc
cross=$top/build/cross
mkdir -p "$cross"

# A Debian source package (musl, bearssl), unpacked once for every ARCH; prints its tree.
debian_src() { # PACKAGE FILE-IT-HAS
	d=$cross/$1-src
	src=$(find "$d" -mindepth 1 -maxdepth 1 -type d -name "$1-*" 2>/dev/null | head -n 1)
	if [ -z "$src" ]; then
		rm -rf "$d.tmp" && mkdir -p "$d.tmp"
		(cd "$d.tmp" && apt-get source -q "$1" >/dev/null 2>&1) ||
			die "apt-get source $1 failed (deb-src entries: scripts/bearssl.sh adds them)"
		rm -rf "$d" && mv "$d.tmp" "$d"
		src=$(find "$d" -mindepth 1 -maxdepth 1 -type d -name "$1-*" | head -n 1)
	fi
	[ -f "$src/$2" ] || die "no $1 source tree in $d"
	echo "$src"
}
musl_src() { debian_src musl configure; }

build_musl() { # ARCH: build/cross/ARCH/musl/bin/musl-gcc
	dest=$cross/$1/musl
	[ -x "$dest/bin/musl-gcc" ] && return 0
	t=$(triplet "$1")
	src=$(musl_src)
	b=$cross/$1/musl-build
	rm -rf "$b" && mkdir -p "$b"
	start=$(date +%s)
	(cd "$b" && CC="$t-gcc" CFLAGS=-Os "$src/configure" --prefix="$dest" --target="$t" \
		--disable-shared --enable-wrapper=gcc >configure.log &&
		make -j"$(nproc)" >make.log 2>&1 && make install >>make.log 2>&1) ||
		die "building musl for $1 failed (logs in $b)"
	rm -rf "$b"
	echo "cross.sh: musl for $1 in $(($(date +%s) - start))s"
}

for arch in "$@"; do
	t=$(triplet "$arch")
	build_musl "$arch"
	start=$(date +%s)
	[ -f "$cross/$arch/bearssl/libbearssl.a" ] || bsrc=$(debian_src bearssl inc/bearssl.h)
	make -s -C "$top" BUILD="build/cross/$arch" CC="$cross/$arch/musl/bin/musl-gcc" \
		BEARSSL_SRC="${bsrc:-}" \
		STRIP="$t-strip" "build/cross/$arch/mtool" "build/cross/$arch/unit-musl" ||
		die "building mtool for $arch failed"
	echo "cross.sh: $arch: $(file -b "$cross/$arch/mtool" | cut -d, -f1-2), $(wc -c <"$cross/$arch/mtool") bytes stripped ($(($(date +%s) - start))s)"
	[ "$what" = check ] || continue
	start=$(date +%s)
	q=$(command -v "$(qemu "$arch")") || die "$(qemu "$arch") not found (qemu-user-static)"
	"$q" "$cross/$arch/mtool" --version | grep -q '^mtool ' || die "$arch: mtool --version failed under $q"
	gaps=$(qemu_gaps "$arch")
	skip=
	for g in $gaps; do skip="$skip -x $g"; done
	[ -z "$gaps" ] || echo "cross.sh: $arch: not run under $(basename "$q"): $gaps ($qemu_gap_reason)"
	# shellcheck disable=SC2086 # "-x ID" pairs
	(cd "$top" && "$q" "$cross/$arch/unit-musl" $skip) >"$cross/$arch/unit.log" 2>&1 || {
		grep -v '^ok ' "$cross/$arch/unit.log" | tail -30
		die "$arch: unit tests failed under $(basename "$q") (log: $cross/$arch/unit.log)"
	}
	echo "cross.sh: $arch: $(tail -n 1 "$cross/$arch/unit.log") under $(basename "$q") ($(($(date +%s) - start))s)"
done
