# SPDX-License-Identifier: MIT
# The OpenWrt package's procd init script: shellcheck, then sourced under dash and
# busybox ash with stub UCI and procd functions that record every call it makes.
. "$TOP/tests/integration/lib.sh"

pkg=$TOP/packaging/openwrt/mtool
check "shellcheck of the init script" shellcheck -s sh "$pkg/files/mtool.init"
check "the feed Makefile names SECTION mail, conffiles and the applet links" sh -c \
	"grep -q '^  SECTION:=mail' '$pkg/Makefile' && grep -q 'define Package/mtool/conffiles' '$pkg/Makefile' \
	&& grep -q 'LN) mtool .*usr/bin/proxyd' '$pkg/Makefile' && grep -q '^PKG_HASH' '$pkg/Makefile'"

cat >harness.sh <<'HARNESS'
# stub UCI: reads the config file given as $UCI_FILE (config TYPE 'NAME' / option K 'V')
config_load() {
	_sections=
	while read -r kw a b; do
		a=${a#\'}; a=${a%\'}; b=${b#\'}; b=${b%\'}
		case $kw in
		config) _cur=$b; _sections="$_sections $a:$b" ;;
		option) eval "_opt_${_cur}_$a=\$b" ;;
		esac
	done <"$UCI_FILE"
}
config_get() { eval "_v=\${_opt_$2_$3-}"; [ -n "$_v" ] || _v=${4-}; eval "$1=\$_v"; }
config_get_bool() { config_get "$@"; eval "case \$$1 in 1|yes|on|true) $1=1 ;; *) $1=0 ;; esac"; }
config_foreach() {
	for s in $_sections; do [ "${s%%:*}" = "$2" ] && "$1" "${s#*:}"; done; return 0
}
procd_open_instance() { echo "open_instance $*"; }
procd_set_param() { echo "set_param $*"; }
procd_close_instance() { echo "close_instance"; }
procd_add_reload_trigger() { echo "reload_trigger $*"; }
logger() { echo "logger $*"; }
mkdir() { echo "mkdir $*"; }
. "$INIT"
PROG=$MTOOL_BIN
start_service
service_triggers
HARNESS

# the package's UCI file, and one with directord on too
sed "s/option enabled '0'/option enabled '1'/" "$pkg/files/mtool.config" >all.config
for shell in dash "busybox ash"; do
	INIT="$pkg/files/mtool.init" UCI_FILE="$pkg/files/mtool.config" MTOOL_BIN="$MTOOL" \
		$shell harness.sh >out 2>&1
	testing "$shell: start_service with the package's /etc/config/mtool" "cat out" \
"mkdir -p /var/run/dovecot
open_instance proxyd
set_param command $MTOOL proxyd -c /etc/mtool/mtool.conf
set_param file /etc/mtool/mtool.conf
set_param respawn
set_param stderr 1
set_param reload_signal HUP
close_instance
reload_trigger mtool"
	INIT="$pkg/files/mtool.init" UCI_FILE=all.config MTOOL_BIN="$MTOOL" $shell harness.sh >out 2>&1
	testing "$shell: directord enabled too: a second instance" "grep open_instance out" \
		"open_instance proxyd\nopen_instance directord"
	if [ -x "${MTOOL_ROUTER:-}" ]; then
		INIT="$pkg/files/mtool.init" UCI_FILE=all.config MTOOL_BIN="$MTOOL_ROUTER" \
			$shell harness.sh >out 2>&1
		testing "$shell: a router build has no directord: logged, no instance" \
			"grep -E 'open_instance|logger' out" \
			"open_instance proxyd\nlogger -t mtool directord: not in this build of mtool"
	fi
done

# The shipped configs start proxyd: the OpenWrt one with a router build, the example that
# make install puts in /etc/mtool with the full one. Ports, paths and the user are this
# test's; everything else is as shipped.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mtool.test \
	-keyout key.pem -out cert.pem -days 2 >/dev/null 2>&1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
starts() { # BINARY CONFIG: 0 when proxyd logs that it started
	user=nobody
	[ "$(id -u)" = 0 ] || user=
	echo "u:{PLAIN}p::::::proxy host=127.0.0.1 port=1" >users
	sed -e "s|^base_dir = .*|base_dir = $TESTDIR/run|" \
		-e "s|^default_login_user = .*|default_login_user = $user|" \
		-e "s|^listen = .*|listen = 127.0.0.1|" \
		-e "s|</etc/mtool/[a-z]*/*cert.pem|<$TESTDIR/cert.pem|" \
		-e "s|</etc/mtool/[a-z]*/*key.pem|<$TESTDIR/key.pem|" \
		-e "s|args = /etc/mtool/users|args = scheme=PLAIN $TESTDIR/users|" "$2" >conf.in
	: >conf
	while IFS= read -r line; do
		case $line in
		*"port = "*) echo "    port = $(free_port)" ;;
		*) printf '%s\n' "$line" ;;
		esac
	done <conf.in >conf
	chmod 0755 "$TESTDIR"
	chmod 0644 key.pem users
	"$1" proxyd -c conf >proxyd.log 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 100 ] && ! grep -q 'proxyd started' proxyd.log; do sleep 0.1; i=$((i + 1)); done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	grep -q 'proxyd started' proxyd.log || { cat proxyd.log; return 1; }
}
if [ -x "${MTOOL_ROUTER:-}" ]; then
	check "the OpenWrt package's mtool.conf starts a router build's proxyd" \
		starts "$MTOOL_ROUTER" "$pkg/files/mtool.conf"
fi
check "packaging/mtool.conf.example starts proxyd" starts "$MTOOL" "$TOP/packaging/mtool.conf.example"
