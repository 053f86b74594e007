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
	# The small-message guard (docs/perf.md, "Small messages"): CPU per
	# message over both processes and the ratios of pair at 16 bytes,
	# single sends and aemp_snd_many, one line each to copy into the
	# history table.  Figures, not a test: nothing here fails on a slow
	# machine.
	echo "## pair 16 B guard"
	rev=$(git -C "$(dirname "$0")/.." rev-parse --short HEAD 2>/dev/null ||
		echo unknown)
	"$b/aemp-perf" pair --size 16 --many 64 --json -q |
		perl -ne '
		BEGIN { $rev = shift @ARGV; $load = shift @ARGV }
		next unless /"scenario":"pair"/;
		my %r = /"(\w+)":("[^"]*"|[-\d.e+]+|null)/g;
		s/"//g for values %r;
		my @x = map { $_ eq "null" ? "-" : sprintf "%.3f", $_ }
			@r{qw(ratio_to_raw ratio_to_zmq)};
		printf "pair16 %s %-6s %.1f ns CPU/msg, %.3fM msgs/s, " .
			"x raw %s, x zmq %s (load %s)\n",
			$rev, $r{variant} =~ /many/ ? "batch" : "single",
			$r{cpu_s_per_m_msgs} * 1000, $r{msgs_per_s} / 1e6,
			@x, $load;
		' "$rev" "$(cut -d' ' -f1-3 /proc/loadavg)" || status=1
fi
exit $status
