#!/bin/bash
# tests/cli/perf_spin.sh - aemp-perf --busy-poll and --cal in short runs:
# both raw baselines (blocking and spinning) appear as rows, the aemp rows
# carry a ratio to each; cal round trips are counted like pings; bad
# combinations are one line.  No figure is checked, only that the runs
# work (speed is for docs/perf.md, measured on a quiet machine).
. "$(dirname "$0")/perf_lib.bash"

perf_ok pingpong --json "${SHORT[@]}" --busy-poll 200
rows 3 "$SANE" "pingpong --busy-poll: 3 sane results"
like "$OUT" '"variant":"tcp pingpong",' "the blocking raw baseline"
like "$OUT" '"variant":"tcp pingpong spin",' "the spinning raw baseline"
printf '%s\n' "$OUT" | grep '"scenario":"pingpong"' >"$TMP/pp"
OUT=$(cat "$TMP/pp")
rows 1 '$r->{variant} eq "1 pinger spin" && $r->{ratio_to_raw} > 0 &&
	$r->{ratio_to_raw_blocking} > 0 && $r->{gaps} == 0' \
	"pingpong --busy-poll: ratios to both baselines"

perf_ok pingpong --json --count 200 --warmup 0 --cal --busy-poll 100 --no-raw
rows 1 "$SANE && $LAT && \$r->{msgs} == 200 && \$r->{variant} eq \"1 cal spin\"" \
	"pingpong --cal: 200 cal round trips"

perf_ok pair --json "${SHORT[@]}" --busy-poll 200
like "$OUT" '"variant":"tcp stream spin",' "pair --busy-poll: spinning stream baseline"
printf '%s\n' "$OUT" | grep '"scenario":"pair"' >"$TMP/pair"
OUT=$(cat "$TMP/pair")
rows 1 '$r->{ratio_to_raw} > 0 && $r->{ratio_to_raw_blocking} > 0 &&
	$r->{gaps} == 0' "pair --busy-poll: ratios to both baselines"

perf_ok pingpong "${SHORT[@]}" --busy-poll 100 --no-raw
like "$OUT" 'xraw +xblk' "table: an x blk column with --busy-poll"

perf_fails 2 "--busy-poll: expected an integer 0..1000000, got 'x'" \
	pingpong --busy-poll x
perf_fails 2 "--busy-poll is for pingpong, pair, raw and the default run" \
	local --busy-poll 10
perf_fails 2 "--cal is for pingpong only" pair --cal

done_testing
