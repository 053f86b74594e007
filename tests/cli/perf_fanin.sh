#!/bin/bash
# tests/cli/perf_fanin.sh - the "fanin" scenario (sender nodes in child
# processes to one receiver) and the "raw" baseline on its own, in short
# runs.
. "$(dirname "$0")/perf_lib.bash"

# A bounded count: with several shards, back pressure does not reach
# senders on other shards than the connection's (perf_backpressure.sh).
perf_ok fanin --json --count 20000 --warmup 0 --nodes 3 --senders 2 --shards 2
rows 2 "$SANE" "fanin: raw stream and fanin, sane"
printf '%s\n' "$OUT" | grep '"scenario":"fanin"' >"$TMP/f"
OUT=$(cat "$TMP/f")
rows 1 '$r->{variant} eq "3x2 senders" && $r->{ratio_to_raw} > 0 &&
	$r->{msgs} == 120000' "fanin: 3 nodes x 2 senders, ratio to raw"

perf_ok fanin --json --count 5000 --warmup 0 --no-raw --framing json
rows 1 "$SANE && \$r->{msgs} == 10000 && \$r->{framing} eq 'json'" \
	"fanin --count 5000: 2 nodes x 5000 messages"

perf_ok raw --json "${SHORT[@]}" --size 0,64
rows 4 "$SANE && \$r->{scenario} eq 'raw' && !defined \$r->{ratio_to_raw}" \
	"raw: stream and ping-pong for 2 sizes"
printf '%s\n' "$OUT" | grep 'pingpong' >"$TMP/rp"
OUT=$(cat "$TMP/rp")
rows 2 "$LAT" "raw ping-pong: latency figures in order"

done_testing
