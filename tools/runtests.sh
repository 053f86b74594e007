#!/bin/bash
# Run aemp's tests for one or more build flavors and print one summary line.
#
#   tools/runtests.sh [--fuzz-seconds N] [--only PATTERN] [--busy-poll US]
#                     BUILD_DIR...
#
# For each BUILD_DIR (build/release, build/asan, ...) it runs the unit test
# programs, the integration programs and scripts, and the CLI scripts (unit
# programs and CLI scripts AEMP_TEST_JOBS at a time, default one per CPU,
# the rest one at a time); then,
# with --fuzz-seconds N > 0, every fuzz target in build/fuzz for N seconds
# (as many at once as there are CPUs).
# A test passes with exit 0, is skipped with exit 77 (reported, not a
# failure) and fails otherwise.  Every test runs under a time limit: 60 s,
# or the value of a line "aemp-test-timeout: N" in its source.
# With --busy-poll US every node the tests create spins (busy_poll_us =
# US, through $AEMP_BUSY_POLL_US, unless a test sets the key itself):
# `make test-spin` runs the integration tests that way.
# The last line printed is "N passed, N failed"; the exit status is 1 if
# anything failed.
set -u

fuzz_seconds=0
only=""
while [ $# -gt 0 ]; do
	case "$1" in
	--fuzz-seconds) fuzz_seconds=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--busy-poll) export AEMP_BUSY_POLL_US=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "runtests: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--fuzz-seconds N] BUILD_DIR..." >&2; exit 2; }

top=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0 skipped=0 n=0
failures=""

# Isolate tests from the user's AnyEvent::MP configuration file.
export PERL_ANYEVENT_MP_RC=/nonexistent/aemp-test-rc
export AEMP_SRC="$top"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

timeout_of() {	# $1 = source file
	local t
	t=$(grep -o 'aemp-test-timeout: *[0-9]*' "$1" 2>/dev/null | head -n1 | grep -o '[0-9]*$')
	echo "${t:-60}"
}

timed() {	# $1 = time limit, $2 = log, $3... = command; prints "STATUS SECONDS"
	local lim=$1 log=$2 rc t0 t1
	shift 2
	t0=$(date +%s.%N)
	timeout -k 5 "$lim" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	t1=$(date +%s.%N)
	echo "$rc $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
}

run_one() {	# $1 = label, $2 = source (for timeout), $3... = command
	local label=$1 src=$2 lim log rc dt
	shift 2
	if [ -n "$only" ] && [[ "$label" != *$only* ]]; then
		return
	fi
	lim=$(timeout_of "$src")
	log="$logdir/$(echo "$label" | tr '/ ' '__').log"
	read -r rc dt < <(timed "$lim" "$log" "$@")
	report "$label" "$lim" "$log" "$rc" "$dt"
}

report() {	# $1 = label, $2 = time limit, $3 = log, $4 = exit status, $5 = seconds
	local label=$1 lim=$2 log=$3 rc=$4 dt=$5
	n=$((n + 1))
	case $rc in
	0) passed=$((passed + 1)); echo "ok $n - $label (${dt}s)" ;;
	77) skipped=$((skipped + 1)); echo "ok $n - $label # SKIP $(grep -m1 -o 'SKIP.*' "$log" | cut -c6-)" ;;
	124|137) failed=$((failed + 1)); failures="$failures $label"
		echo "not ok $n - $label (timed out after ${lim}s)"; tail -n 30 "$log" | sed 's/^/#   /' ;;
	*) failed=$((failed + 1)); failures="$failures $label"
		echo "not ok $n - $label (exit $rc, ${dt}s)"; tail -n 40 "$log" | sed 's/^/#   /' ;;
	esac
}

# Unit programs and CLI scripts assert no timing, use their own temporary
# directories and ports from the kernel: they run $jobs at a time (default
# one per CPU, AEMP_TEST_JOBS to change it), each reported as it ends.  The
# integration programs and scripts (fault injection with time bounds, the
# source checks) run one at a time.
jobs=${AEMP_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
declare -A pool_label=() pool_src=()

pool_report() {	# $1 = pid that ended; its result is in $logdir/.res.PID
	local pid=$1 label src rc dt lim log
	label=${pool_label[$pid]} src=${pool_src[$pid]}
	unset "pool_label[$pid]" "pool_src[$pid]"
	read -r rc dt <"$logdir/.res.$pid" 2>/dev/null || { rc=1; dt=0; }
	rm -f "$logdir/.res.$pid"
	lim=$(timeout_of "$src")
	log="$logdir/$(echo "$label" | tr '/ ' '__').log"
	report "$label" "$lim" "$log" "$rc" "$dt"
}

pool_wait_one() {
	local pid
	wait -n -p pid
	pool_report "$pid"
}

pool_start() {	# as run_one, in the background when a slot is free
	local label=$1 src=$2 lim log
	shift 2
	if [ -n "$only" ] && [[ "$label" != *$only* ]]; then
		return
	fi
	while [ "${#pool_label[@]}" -ge "$jobs" ]; do
		pool_wait_one
	done
	lim=$(timeout_of "$src")
	log="$logdir/$(echo "$label" | tr '/ ' '__').log"
	(timed "$lim" "$log" "$@" >"$logdir/.res.$BASHPID") &
	pool_label[$!]=$label
	pool_src[$!]=$src
}

pool_drain() {
	while [ "${#pool_label[@]}" -gt 0 ]; do
		pool_wait_one
	done
}

for bdir in "$@"; do
	bdir=${bdir%/}
	flavor=$(basename "$bdir")
	[ -d "$bdir" ] || { echo "runtests: no build directory $bdir" >&2; exit 2; }
	export AEMP_BUILD="$top/$bdir"
	logdir="$bdir/test-logs"
	rm -rf "$logdir"; mkdir -p "$logdir"
	for t in "$bdir"/tests/unit/*; do
		[ -x "$t" ] && [ -f "$t" ] || continue
		name=$(basename "$t")
		pool_start "$flavor/unit/$name" "tests/unit/$name.c" "$t"
	done
	pool_drain
	for t in "$bdir"/tests/integ/*; do
		[ -x "$t" ] && [ -f "$t" ] || continue
		name=$(basename "$t")
		run_one "$flavor/integ/$name" "tests/integ/$name.c" "$t"
	done
	# A directory with only some test programs (build/release-syswolf
	# from `make test`: the TLS tests against Debian's wolfSSL) has no
	# programs for the scripts.
	for t in tests/integ/*.sh; do
		[ -f "$t" ] && [ -x "$bdir/aemp" ] || continue
		run_one "$flavor/${t#tests/}" "$t" bash "$t"
	done
	for t in tests/cli/*.sh; do
		[ -f "$t" ] && [ -x "$bdir/aemp" ] || continue
		pool_start "$flavor/${t#tests/}" "$t" bash "$t"
	done
	pool_drain
done

# Fuzz targets are single-threaded and untimed: they run $fuzz_jobs at a
# time (one per CPU), each reported as it ends, in the order started.
fuzz_one() {	# $1 = target; runs in a subshell, leaves $logdir/NAME.log, .rc
	local f=$1 name work rc
	name=$(basename "$f")
	work=$(mktemp -d)
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
	timeout -k 5 "$((fuzz_seconds + 60))" env ASAN_OPTIONS="$ASAN_OPTIONS" \
		"$f" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -error_exitcode=1 -artifact_prefix="$work/" \
		"$work" >"$logdir/$name.log" 2>&1 </dev/null
	rc=$?
	# keep what it found next to the log
	if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* >/dev/null 2>&1; then
		mkdir -p "$logdir/$name.artifacts"
		cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* \
			"$logdir/$name.artifacts/" 2>/dev/null
	fi
	rm -rf "$work"
	echo "$rc" >"$logdir/$name.rc"
}

fuzz_report() {	# $1 = target
	local name rc
	name=$(basename "$1")
	rc=$(cat "$logdir/$name.rc" 2>/dev/null || echo 1)
	n=$((n + 1))
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1)); echo "ok $n - fuzz/$name (${fuzz_seconds}s)"
	else
		failed=$((failed + 1)); failures="$failures fuzz/$name"
		echo "not ok $n - fuzz/$name (${fuzz_seconds}s, exit $rc)"
		tail -n 40 "$logdir/$name.log" | sed 's/^/#   /'
	fi
	grep -h 'stat::number_of_executed_units' "$logdir/$name.log" 2>/dev/null | \
		sed "s/^/#   $name: /"
}

if [ "$fuzz_seconds" -gt 0 ] && [ -d build/fuzz/tests/fuzz ] &&
   { [ -z "$only" ] || [[ fuzz/ == *$only* ]] || [[ $only == fuzz* ]]; }; then
	logdir=build/fuzz/test-logs
	rm -rf "$logdir"; mkdir -p "$logdir"
	fuzz_jobs=$(nproc 2>/dev/null || echo 2)
	targets=()
	for f in build/fuzz/tests/fuzz/*; do
		[ -x "$f" ] && [ -f "$f" ] && targets+=("$f")
	done
	i=0
	while [ "$i" -lt "${#targets[@]}" ]; do
		pids=()
		batch=("${targets[@]:$i:$fuzz_jobs}")
		for f in "${batch[@]}"; do
			fuzz_one "$f" &
			pids+=($!)
		done
		wait "${pids[@]}"
		for f in "${batch[@]}"; do
			fuzz_report "$f"
		done
		i=$((i + fuzz_jobs))
	done
fi

if [ "$skipped" -gt 0 ]; then
	echo "# $skipped skipped"
fi
if [ "$failed" -gt 0 ]; then
	echo "# failed:$failures"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
