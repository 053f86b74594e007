#!/bin/bash
# tools/loop.sh [-n RUNS] [-o PATTERN] BUILD_DIR - run a part of the test
# suite RUNS times in a row (default 20, PATTERN default "/integ/": every
# integration test) and report, per test, how often it failed.  The log of
# every failed run is kept as BUILD_DIR/loop-logs/RUN-LABEL.log.
# Used for docs/reliability.md ("Flake hunting"); `make loop` runs it on
# build/release and build/asan.
set -u
runs=20
pat=/integ/
while getopts n:o: opt; do
	case $opt in
	n) runs=$OPTARG ;;
	o) pat=$OPTARG ;;
	*) echo "usage: $0 [-n RUNS] [-o PATTERN] BUILD_DIR" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: $0 [-n RUNS] [-o PATTERN] BUILD_DIR" >&2; exit 2; }
cd "$(dirname "$0")/.."
bdir=${1%/}
keep="$bdir/loop-logs"
rm -rf "$keep"; mkdir -p "$keep"
declare -A fails=()
total_fail=0
t0=$(date +%s)
for i in $(seq 1 "$runs"); do
	out=$(tools/runtests.sh --only "$pat" "$bdir" 2>&1)
	summary=$(printf '%s\n' "$out" | tail -n 1)
	while IFS= read -r line; do
		label=$(printf '%s\n' "$line" | sed -E 's/^not ok [0-9]+ - ([^ ]+).*/\1/')
		fails[$label]=$(( ${fails[$label]:-0} + 1 ))
		total_fail=$((total_fail + 1))
		f="$bdir/test-logs/$(echo "$label" | tr '/ ' '__').log"
		[ -f "$f" ] && cp "$f" "$keep/$i-$(basename "$f")"
	done < <(printf '%s\n' "$out" | grep '^not ok')
	echo "run $i/$runs: $summary ($(( $(date +%s) - t0 )) s, load $(cut -d' ' -f1 /proc/loadavg))"
done
echo "# $runs runs of '$pat' in $bdir, $(( $(date +%s) - t0 )) s"
for k in "${!fails[@]}"; do
	echo "# $k failed ${fails[$k]} of $runs"
done
[ "$total_fail" -eq 0 ] && echo "# no failures"
[ "$total_fail" -eq 0 ]
