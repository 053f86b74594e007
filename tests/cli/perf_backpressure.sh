#!/bin/bash
# tests/cli/perf_backpressure.sh - a known engine problem, reproduced with
# aemp-perf (TAP "TODO": reported, not counted as a failure):
#
# aemp_snd to a remote port from a shard that does not own the connection
# never returns -EAGAIN for the connection's queue: the record goes to the
# owner shard, which appends it without a limit, so a sender that obeys
# back pressure still drives the queue past 2 x max_queue, and the
# connection is closed ("send queue overflow"), losing messages.  With a
# small queue (64 KiB) it happens within milliseconds:
#
#   aemp-perf pair --shards 2 --senders 2 --max-queue 65536 --no-raw
#
# The same run on one shard (every sender on the owner shard) is clean.
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
tap_n=$((tap_n + 1))
if [ "$BG_STATUS" -eq 0 ] && grep -q '"gaps":0' "$TMP/two.out"; then
	echo "ok $tap_n - two shards, 64 KiB queue: back pressure works"
else
	echo "not ok $tap_n - two shards, 64 KiB queue: back pressure works" \
		"# TODO engine: sends from a non-owner shard overflow the" \
		"connection queue"
	sed 's/^/#   /' "$TMP/two.err"
fi

done_testing
