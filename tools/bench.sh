#!/bin/sh
# Run aemp's benchmarks against one build directory (make bench):
# every program in BUILD/tests/bench/, then aemp-perf's default
# comparison.  Figures go to stdout; docs/perf.md records them.
set -u
b=${1:-build/release}
status=0
echo "# machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for t in "$b"/tests/bench/*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	echo "## $(basename "$t")"
	"$t" || status=1
done
if [ -x "$b/aemp-perf" ]; then
	echo "## aemp-perf"
	"$b/aemp-perf" || status=1
fi
exit $status
