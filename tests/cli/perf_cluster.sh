#!/bin/bash
# tests/cli/perf_cluster.sh - the "cluster" scenario in a small version: 20
# node processes and 3 globals reach a full view in 'l, every db_set
# reaches every monitor, the cluster recovers from SIGKILL of the busiest
# global, and every process is gone afterwards; one global (no recovery
# step); bad options.
# aemp-test-timeout: 240
. "$(dirname "$0")/perf_lib.bash"

# children of this aemp-perf binary that are still there
leftover() {
	local p n=0
	for p in $(pgrep -f -- "--child clusnode"); do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "$PERF")" ] &&
			n=$((n + 1))
	done
	echo "$n"
}

perf_ok cluster --json --nodes 20 --globals 3 --count 5
rows 1 "\$r->{scenario} eq 'cluster' && \$r->{nodes} == 20 &&
	\$r->{globals} == 3 && \$r->{view_s} > 0 &&
	\$r->{view_s} >= \$r->{ready_s} - 1 &&
	\$r->{db_samples} == 23 * 5 && \$r->{db_p50_ms} > 0 &&
	\$r->{db_p99_ms} >= \$r->{db_p50_ms} &&
	\$r->{killed} =~ /-g[012]\$/ && \$r->{killed_users} >= 1 &&
	\$r->{departure_s} > 0 && \$r->{db_recovery_s} > 0 &&
	\$r->{rss_node_mib_avg} > 1 &&
	\$r->{rss_node_mib_max} >= \$r->{rss_node_mib_avg} &&
	\$r->{rss_global_mib_max} > 1" \
	"cluster 20 nodes, 3 globals: view, db latency, recovery, memory"
is "$(leftover)" 0 "... and no node process is left"

perf_ok cluster --nodes 3 --globals 1 --count 2
like "$OUT" "cluster: 3 nodes, 1 globals, cbor" "one global: the table"
like "$OUT" "recovery: not measured \\(needs --globals 2 or more\\)" \
	"... says why recovery is not measured"

perf_fails 2 "--nodes: expected an integer 1..1000, got '1001'" \
	cluster --nodes 1001
perf_fails 2 "--globals: expected an integer 1..16, got '0'" \
	cluster --globals 0
perf_fails 2 "--nodes: at most 16 for fanin \\(up to 1000 for cluster\\)" \
	fanin --nodes 17
perf_fails 2 "--globals is for 'cluster' only" pair --globals 2
perf_fails 2 "cluster: --connect is not possible" \
	cluster --connect 127.0.0.1:1

done_testing
