#!/bin/bash
# Run every libFuzzer target in build/fuzz for $1 seconds each, growing the
# corpus kept in tests/fuzz/corpus/<target>/ is left to the developer: runs
# work on a temporary copy so the repository stays unchanged.
set -u
secs=${1:-300}
status=0
for f in build/fuzz/tests/fuzz/*; do
	[ -x "$f" ] && [ -f "$f" ] || continue
	name=$(basename "$f")
	work=$(mktemp -d)
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
	echo "fuzz: $name for ${secs}s"
	if ! "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 \
		-print_final_stats=1 -artifact_prefix="tests/fuzz/" "$work" \
		2>"build/fuzz/$name.log"; then
		echo "fuzz: $name FAILED, see build/fuzz/$name.log and tests/fuzz/crash-*"
		status=1
	fi
	grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
		"build/fuzz/$name.log" | sed "s/^/fuzz: $name: /"
	rm -rf "$work"
done
exit $status
