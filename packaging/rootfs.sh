#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: sh packaging/rootfs.sh DEST MTOOL_BINARY
# The FROM-scratch image's whole root file system, made in DEST: the binary and a relative
# link per applet it has, the CA bundle, /etc/passwd and /etc/group with root and nobody
# (the image's USER, 65534), the container's config, and the directories the daemons
# use. The Containerfile's builder stage runs it; so does the image test, on the host,
# when no builder image can be pulled.
set -eu
[ $# -eq 2 ] || { echo "usage: sh packaging/rootfs.sh DEST MTOOL_BINARY" >&2; exit 2; }
dest=$1 bin=$2
here=$(cd "$(dirname "$0")" && pwd)
ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca" ] || { echo "rootfs.sh: no CA bundle at $ca (install ca-certificates)" >&2; exit 1; }

mkdir -p "$dest/usr/bin" "$dest/etc/mtool" "$dest/etc/ssl/certs" "$dest/run/dovecot" \
	"$dest/var/lib/dovecot" "$dest/tmp"
cp "$bin" "$dest/usr/bin/mtool"
chmod 0755 "$dest/usr/bin/mtool"
for a in $("$bin" --list); do ln -sf mtool "$dest/usr/bin/$a"; done
cp "$ca" "$dest/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/:/nonexistent\nnobody:x:65534:65534:nobody:/:/nonexistent\n' >"$dest/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dest/etc/group"
cp "$here/mtool.container.conf" "$dest/etc/mtool/mtool.conf"
chmod 1777 "$dest/tmp"
chmod 0755 "$dest/run/dovecot"
chmod 0700 "$dest/var/lib/dovecot"
if [ "$(id -u)" = 0 ]; then
	chown 65534:65534 "$dest/run/dovecot" "$dest/var/lib/dovecot"
fi
