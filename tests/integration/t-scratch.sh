# SPDX-License-Identifier: MIT
# The FROM-scratch proof: the binary runs in an empty root that holds nothing else.
. "$TOP/tests/integration/lib.sh"

mkdir root
cp "$MTOOL" root/mtool
if [ "$(id -u)" = 0 ]; then
	inroot() { chroot root /mtool "$@"; }
else
	inroot() { unshare -r chroot root /mtool "$@"; }
fi
check "file says statically linked" sh -c "file '$MTOOL' | grep -q 'statically linked'"
check "the root holds only the binary" sh -c "[ \"\$(find root | wc -l)\" = 2 ]"
(inroot --list) >out 2>&1; echo "rc=$?" >>out
testing "mtool --list in the empty root" "cat out" "directord\ndoveadm\nproxyd\nreplicatord\nrc=0"
(inroot doveadm --help) >out 2>&1; echo "rc=$?" >>out
testing "mtool doveadm --help in the empty root" "head -1 out; tail -1 out" \
	"usage: doveadm [-Dvh] [-f FORMATTER] [-c FILE] [-o KEY=VALUE]... COMMAND [ARGS]...\nrc=0"
mkdir root/bin
(inroot --install -s /bin) >out 2>&1; echo "rc=$?" >>out
testing "--install -s in the empty root (no /proc: argv[0] is the path)" "cat out; readlink root/bin/proxyd" "rc=0\n/mtool"
