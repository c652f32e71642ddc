# SPDX-License-Identifier: MIT
# Dispatch: applet from the first argument or from a link's name, --list, --install,
# --help, --version, and the error lines and exit codes for what is not valid.
. "$TOP/tests/integration/lib.sh"

testing "--list names every applet" "$MTOOL --list" "directord\ndoveadm\nproxyd\nreplicatord"
testing "--version" "$MTOOL --version | cut -d' ' -f1" "mtool"
testing "--help lists applets" "$MTOOL --help | grep -c '^  [a-z]'" "4"
testing "no arguments: usage, exit 2" "$MTOOL >/dev/null 2>&1" "" 2
testing "unknown applet" "$MTOOL nosuch" \
	"mtool: unknown applet 'nosuch' (applets: directord, doveadm, proxyd, replicatord; options: --list, --install [-s] DIR, --help, --version)" 2
testing "unknown option" "$MTOOL --bogus 2>&1 | cut -c1-30" "mtool: unknown option '--bogus"
testing "unknown option exit code" "$MTOOL --bogus 2>/dev/null" "" 2
testing "applet --help" "$MTOOL proxyd --help | head -1" "usage: proxyd [-dDn] [-c FILE] [-o KEY=VALUE]..."
testing "applet unknown option" "$MTOOL proxyd -x" \
	"proxyd: unknown option '-x' (valid: -c -o -D -n -d --help)" 2
testing "applet missing argument" "$MTOOL proxyd -c" "proxyd: option -c needs an argument FILE" 2
testing "doveadm --help" "$MTOOL doveadm --help | head -1" \
	"usage: doveadm [-Dvh] [-f FORMATTER] [-c FILE] [-o KEY=VALUE]... COMMAND [ARGS]..."
testing "doveadm unknown command" "$MTOOL doveadm frobnicate 2>&1 | head -1" "doveadm: Unknown command 'frobnicate'"
testing "doveadm unknown command exit" "$MTOOL doveadm frobnicate >/dev/null 2>&1" "" 64

mkdir -p hard soft
cp "$MTOOL" ./mtool-copy	# a private copy: its link count is ours alone
testing "--install makes hard links" "./mtool-copy --install hard && ls hard && stat -c %h hard/proxyd" \
	"directord\ndoveadm\nproxyd\nreplicatord\n5"
testing "--install -s makes symlinks" "$MTOOL --install -s soft && readlink soft/doveadm" "$(readlink -f "$MTOOL")"
testing "--install again reports existing links" "$MTOOL --install soft 2>&1 | head -1" \
	"mtool: --install: soft/directord: File exists" 0
testing "--install again fails" "$MTOOL --install soft 2>/dev/null" "" 1
testing "--install without dir" "$MTOOL --install" "mtool: usage: mtool --install [-s] DIR" 2
testing "symlink name picks the applet" "soft/proxyd --help | head -1" "usage: proxyd [-dDn] [-c FILE] [-o KEY=VALUE]..."
testing "hard link name picks the applet" "hard/doveadm --help | head -1" \
	"usage: doveadm [-Dvh] [-f FORMATTER] [-c FILE] [-o KEY=VALUE]... COMMAND [ARGS]..."
ln -s "$MTOOL" mtool-renamed
testing "unknown link name falls back to argv[1]" "./mtool-renamed --list | head -1" "directord"
