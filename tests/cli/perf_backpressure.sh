#!/bin/bash
# tests/cli/perf_backpressure.sh - back pressure holds with a small send
# queue (64 KiB), for senders on the shard that owns the connection and for
# senders on other shards (the owner publishes the node's congestion;
# before that fix, senders on other shards drove the queue past its hard
# limit and the connection was closed, losing messages):
#
#   aemp-perf pair --shards 2 --senders 2 --max-queue 65536 --no-raw
. "$(dirname "$0")/perf_lib.bash"

# A clean run takes about 1.5 s; a stalled one waits 10 s for progress.
bg one "$PERF" pair --json --shards 1 --senders 2 --max-queue 65536 \
	--seconds 0.5 --warmup 0.05 --no-raw
bg_wait one 8
OUT=$(cat "$TMP/one.out")
rows 1 "$SANE" "one shard, 64 KiB queue: back pressure works"

bg two "$PERF" pair --json --shards 2 --senders 2 --max-queue 65536 \
	--seconds 0.5 --warmup 0.05 --no-raw
bg_wait two 5
OUT=$(cat "$TMP/two.out")
rows 1 "$SANE" "two shards, 64 KiB queue: back pressure works"

done_testing
