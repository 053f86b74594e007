#!/bin/bash
# tests/cli/perf_pingpong.sh - the "pingpong" scenario in short runs:
# latency percentiles in order, the raw TCP ping-pong of the same run and
# the ratio of the medians; several pingers; the table's columns.
. "$(dirname "$0")/perf_lib.bash"

perf_ok pingpong --json "${SHORT[@]}" --size 16,2000 --framing json
rows 4 "$SANE && $LAT" "pingpong: 4 sane results with latency figures"
printf '%s\n' "$OUT" | grep '"scenario":"pingpong"' >"$TMP/pp"
OUT=$(cat "$TMP/pp")
rows 2 '$r->{ratio_to_raw} > 0 && $r->{framing} eq "json" &&
	$r->{variant} eq "1 pinger"' "pingpong: ratio to the raw median"

perf_ok pingpong --json --count 300 --warmup 0 --senders 2 --no-raw
rows 1 "$SANE && $LAT && \$r->{msgs} == 600" \
	"pingpong --count 300 --senders 2: 600 round trips"

perf_ok pingpong "${SHORT[@]}" --no-raw
like "$OUT" $'\npingpong +1 pinger +16 +cbor +[0-9.]+k? +[0-9.]+ +[0-9.]+ ' \
	"table: a row with latency columns"

done_testing
