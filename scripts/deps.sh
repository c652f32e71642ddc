#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages that building and testing mtool need, only those missing.
#   scripts/deps.sh build    compiler side: musl, BearSSL sources' tools, sanitizer libs,
#                            clang and libFuzzer (tests/fuzz)
#   scripts/deps.sh test     build + the real peers the tests run (Dovecot, curl, ...)
#   scripts/deps.sh run      build + a Dovecot backend for the demo
#   scripts/deps.sh bench    test peers + what bench/ compares against (nginx's mail proxy)
#   scripts/deps.sh man      the man page formatters (make man-lint)
#   scripts/deps.sh cross    Debian's cross compilers and qemu-user-static (make check-cross)
set -eu
build="make gcc musl-tools dpkg-dev libbearssl-dev file python3 clang libclang-rt-14-dev"
peers="haproxy dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-submissiond dovecot-managesieved dovecot-sieve dovecot-pgsql dovecot-mysql dovecot-ldap dovecot-sqlite slapd ldap-utils postgresql mariadb-server mariadb-client curl socat openssl iproute2 prometheus python3-prometheus-client"
man="mandoc groff-base"
bench="nginx-light libnginx-mod-mail"
# packaging tests: the image (podman, CA bundle), systemd units, logrotate, the OpenWrt
# init script under busybox ash and dash
packaging="podman ca-certificates systemd logrotate busybox dash shellcheck"
cross="gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-mipsel-linux-gnu gcc-s390x-linux-gnu qemu-user-static dpkg-dev"
case "${1:-test}" in
build) want=$build ;;
man) want=$man ;;
cross) want="$build $cross" ;;
test) want="$build $peers $man $packaging" ;;
run) want="$build $peers" ;;
bench) want="$build $peers $bench" ;;
*) echo "usage: $0 build|test|run|man|cross|bench" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
echo "deps: installing$missing" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
