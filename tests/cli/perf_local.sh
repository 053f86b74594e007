#!/bin/bash
# tests/cli/perf_local.sh - the "local" scenario in short runs: same-shard
# and cross-shard results with non-zero rates and a clean delivery check,
# by time and by count, several sizes and senders; the table for people.
. "$(dirname "$0")/perf_lib.bash"

perf_ok local --json "${SHORT[@]}" --size 0,16,1000
rows 6 "$SANE && \$r->{scenario} eq 'local' && !defined \$r->{ratio_to_raw}" \
	"local: 3 sizes x (same, cross shard), sane, no raw ratio"
rows 6 '$r->{variant} =~ /^(same|cross) shard$/ && !defined $r->{rtt_p50_us}' \
	"local: variants named, no latency figures"

perf_ok local --json --count 20000 --warmup 0 --senders 3 --shards 3
rows 2 "$SANE && \$r->{msgs} == 60000" \
	"local --count 20000 --senders 3: exactly 60000 messages each"

perf_ok local --shards 1 "${SHORT[@]}"
like "$OUT" "^scenario +variant +size +fmt +msgs/s +MB/s +p50us" \
	"table: a header"
like "$OUT" $'\nlocal +same shard +16 +- +[0-9.]+[Mk]? ' "table: one row"
is "$(printf '%s\n' "$OUT" | wc -l)" 2 "--shards 1: no cross-shard row"

done_testing
