#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs libFuzzer targets (docs/fuzzing.md).
#   run.sh check SECONDS DIR BIN...   each target over its checked-in corpus (every input
#                                     once: the regression inputs), then SECONDS of fuzzing
#   run.sh fuzz SECONDS DIR BIN...    SECONDS of fuzzing each; new inputs are kept in
#                                     DIR/corpus/NAME for the next run
# NAME is the binary's name without "fuzz_"; its seeds are tests/fuzz/corpus/NAME, its
# dictionary tests/fuzz/NAME.dict if there is one. Crashes go to DIR/artifacts/.
# Prints "ok - fuzz NAME ..." or "FAIL - fuzz NAME ..." per target; exits 1 on any FAIL.
# FUZZ_JOBS=N runs N targets at a time (each is one process).
set -u
mode=$1 secs=$2 dir=$3
shift 3
here=$(dirname "$0")
mkdir -p "$dir/artifacts" "$dir/logs"
if [ "${FUZZ_JOBS:-1}" -gt 1 ] && [ $# -gt 1 ]; then
	# xargs exits non-zero if any of them failed
	jobs=$FUZZ_JOBS
	printf '%s\n' "$@" | FUZZ_JOBS=1 xargs -P "$jobs" -n 1 sh "$0" "$mode" "$secs" "$dir"
	exit $?
fi
fails=0
for bin in "$@"; do
	name=${bin##*/fuzz_}
	seeds=$here/corpus/$name
	log=$dir/logs/$name.log
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
	opts="-close_fd_mask=3 -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$dir/artifacts/$name-"
	[ -f "$here/$name.dict" ] && opts="$opts -dict=$here/$name.dict"
	: >"$log"
	if [ "$mode" = check ] && [ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ]; then
		# the corpus, every input once: a regression input that crashes again fails here
		# shellcheck disable=SC2086
		if ! "$bin" $opts "$seeds"/* >>"$log" 2>&1; then
			echo "FAIL - fuzz $name: an input of $seeds crashes (log: $log)"
			tail -n 30 "$log"
			fails=$((fails + 1))
			continue
		fi
	fi
	work=$dir/corpus/$name
	if [ "$mode" = check ]; then
		work=$dir/check/$name
		rm -rf "$work"
	fi
	mkdir -p "$work"
	set --
	[ -d "$seeds" ] && set -- "$seeds"
	# shellcheck disable=SC2086
	if ! "$bin" $opts -max_total_time="$secs" "$work" "$@" >>"$log" 2>&1; then
		# shellcheck disable=SC2012
		echo "FAIL - fuzz $name: crash after fuzzing (log: $log; input: $(ls -t "$dir"/artifacts/"$name"-* 2>/dev/null | head -n 1))"
		tail -n 40 "$log"
		fails=$((fails + 1))
		continue
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
	echo "ok - fuzz $name (${secs}s, $execs execs, $cov)"
done
[ "$fails" = 0 ]
