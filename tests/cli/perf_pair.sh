#!/bin/bash
# tests/cli/perf_pair.sh - the "pair" scenario (two node processes) in
# short runs: both framings, two sizes, several senders and shards, each
# compared with the raw stream (and, when aemp-perf has libzmq, the
# ZeroMQ PUSH/PULL stream) measured in the same run; --many (the batch
# send); the delivery check catches a message that was never sent (exit
# status 1).
. "$(dirname "$0")/perf_lib.bash"

# The Makefile builds the zmq row when pkg-config finds libzmq.
if pkg-config --exists libzmq 2>/dev/null; then nz=2; else nz=0; fi
perf_ok pair --json "${SHORT[@]}" --size 16,1000 --framing json,cbor
rows $((6 + nz)) "$SANE" \
	"pair: sane results (2 raw, $nz zmq, 2 sizes x 2 framings)"
printf '%s\n' "$OUT" | grep '"scenario":"raw"' >"$TMP/raw"
printf '%s\n' "$OUT" | grep '"scenario":"zmq"' >"$TMP/zmq"
printf '%s\n' "$OUT" | grep '"scenario":"pair"' >"$TMP/pair"
OUT=$(cat "$TMP/zmq")
rows $nz "\$r->{variant} eq 'push/pull' && \$r->{size} =~ /^(16|1000)\$/" \
	"zmq push/pull once per size (when built with libzmq)"
OUT=$(cat "$TMP/pair")
if [ $nz -gt 0 ]; then
	rows 4 '$r->{ratio_to_zmq} > 0' "pair: ratio to zmq for each result"
fi
OUT=$(cat "$TMP/raw")
rows 2 "\$r->{variant} eq 'tcp stream' && \$r->{framing} eq 'raw'" \
	"raw stream once per size"
OUT=$(cat "$TMP/pair")
rows 4 '$r->{ratio_to_raw} > 0 && $r->{variant} eq "1 sender" &&
	$r->{transport} eq "plain TCP" && !$r->{tls} &&
	$r->{wire_bytes_per_msg} > $r->{size} &&
	$r->{framing} =~ /^(json|cbor)$/ && $r->{size} =~ /^(16|1000)$/' \
	"pair: ratio to raw for each size and framing"

# A bounded count: with several shards, back pressure does not reach
# senders on other shards than the connection's (perf_backpressure.sh).
perf_ok pair --json --count 20000 --warmup 0 --senders 3 --shards 2 --no-raw
rows 1 "$SANE && \$r->{variant} eq '3 senders' && \$r->{msgs} == 60000 &&
	!defined \$r->{ratio_to_raw}" "pair --senders 3 --shards 2 --no-raw"

# --many: each result again with aemp_snd_many; the same delivery check.
perf_ok pair --json --count 20000 --warmup 0 --no-raw --many 64
rows 2 "$SANE && \$r->{msgs} == 20000" "pair --many 64: two sane results"
OUT=$(printf '%s\n' "$OUT" | grep many)
rows 1 "\$r->{variant} eq '1 sender many64'" "pair --many 64: the batch row"

perf_ok pair --json --count 30000 --warmup 0 --no-raw --size 100
rows 1 "$SANE && \$r->{msgs} == 30000" "pair --count 30000"

AEMP_PERF_SKIP_SEQ=500 perf_fails 1 \
	"delivery check failed: pair 1 sender 16 bytes cbor: 1 gaps, 0 reorders" \
	pair --json --count 2000 --warmup 0 --no-raw
rows 1 '$r->{gaps} == 1 && $r->{reorders} == 0' \
	"a message never sent is a gap, and the result says so"

done_testing
