#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages that building and testing mtool need, only those missing.
#   scripts/deps.sh build    compiler side: musl, BearSSL sources' tools, sanitizer libs
#   scripts/deps.sh test     build + the real peers the tests run (Dovecot, curl, ...)
#   scripts/deps.sh run      build + a Dovecot backend for the demo
set -eu
build="make gcc musl-tools dpkg-dev libbearssl-dev file python3"
peers="dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-submissiond dovecot-managesieved dovecot-sieve dovecot-pgsql dovecot-mysql dovecot-ldap slapd ldap-utils postgresql mariadb-server mariadb-client curl socat openssl iproute2 prometheus python3-prometheus-client"
case "${1:-test}" in
build) want=$build ;;
test|run) want="$build $peers" ;;
*) echo "usage: $0 build|test|run" >&2; exit 2 ;;
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
