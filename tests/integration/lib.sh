# SPDX-License-Identifier: MIT
# Shell helpers for integration tests, toybox style:
#   testing "what" "command" "expected stdout+stderr"
# runs command with sh -c in $TESTDIR and compares its combined output exactly.
# Print "ok - what" or "FAIL - what" plus a diff.

testing() {
	_name=$1 _cmd=$2 _want=$3
	_got=$(sh -c "$_cmd" 2>&1; echo "rc=$?")
	# the command's output ends with a newline; the expected text is given without it
	_want=$([ -n "$_want" ] && printf '%b\n' "$_want"; echo "rc=${4:-0}")
	if [ "$_got" = "$_want" ]; then
		echo "ok - $_name"
	else
		echo "FAIL - $_name"
		echo "  command: $_cmd"
		printf '%s\n' "$_want" >"$TESTDIR/.want"
		printf '%s\n' "$_got" >"$TESTDIR/.got"
		diff -u "$TESTDIR/.want" "$TESTDIR/.got" | sed 's/^/  /'
	fi
}

# check "what" command...: ok if the command succeeds
check() {
	_name=$1
	shift
	if "$@" >"$TESTDIR/.out" 2>&1; then
		echo "ok - $_name"
	else
		echo "FAIL - $_name"
		echo "  command: $*"
		sed 's/^/  /' "$TESTDIR/.out" | head -20
	fi
}
