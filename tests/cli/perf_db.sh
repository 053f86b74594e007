#!/bin/bash
# tests/cli/perf_db.sh - the "db" scenario (a global node, a writer and
# monitoring nodes in processes of their own) in short runs: sane rates and
# one-way latencies, no gaps, the same JSON fields as every scenario; the
# delivery check catches an update that was never set; a global node
# started elsewhere (--connect); a monitoring node that dies fails the run
# at once and no process is left behind; bad options.
. "$(dirname "$0")/perf_lib.bash"

# The JSON fields of every scenario, in sorted order.
FIELDS='cpu_remote_excluded cpu_s cpu_s_per_m_msgs framing gaps mb_per_s msgs
	msgs_per_s ratio_to_raw ratio_to_raw_blocking ratio_to_zmq reorders rtt_max_us rtt_p50_us rtt_p90_us
	rtt_p999_us rtt_p99_us scenario seconds size tls transport variant
	wire_bytes_per_msg'
FIELDS=$(echo $FIELDS)
DB="\$r->{scenario} eq 'db' && join(' ', sort keys %\$r) eq '$FIELDS' &&
	!defined \$r->{ratio_to_raw} && !defined \$r->{ratio_to_raw_blocking} &&
	!defined \$r->{ratio_to_zmq} && !defined \$r->{wire_bytes_per_msg} &&
	abs(\$r->{mb_per_s} - \$r->{msgs_per_s} * \$r->{size} / 1e6) < 0.01"

perf_ok db --json --seconds 0.5 --warmup 0.1 --monitors 1,3
rows 2 "$SANE && $LAT && $DB && \$r->{size} == 16 &&
	\$r->{framing} eq 'cbor' && \$r->{transport} eq 'plain TCP' &&
	!\$r->{cpu_remote_excluded} && \$r->{cpu_s} > 0" \
	"db --monitors 1,3: updates/s, latency, no gaps, every field"
printf '%s\n' "$OUT" | head -n1 >"$TMP/one"
printf '%s\n' "$OUT" | tail -n1 >"$TMP/three"
OUT=$(cat "$TMP/one")
rows 1 '$r->{variant} eq "1 monitor"' "first result: 1 monitor"
OUT=$(cat "$TMP/three")
rows 1 '$r->{variant} eq "3 monitors"' "second result: 3 monitors"

perf_ok db --json --count 3000 --warmup 0 --monitors 2 --framing json \
	--size 0,300
rows 2 "$SANE && $LAT && $DB && \$r->{msgs} == 3000 &&
	\$r->{framing} eq 'json' && \$r->{variant} eq '2 monitors'" \
	"db --count 3000 --framing json --size 0,300"

perf_ok db --json "${SHORT[@]}" --window 1
rows 1 "$SANE && $LAT && $DB && \$r->{variant} eq '1 mon w1'" \
	"db --window 1: one update in flight"

perf_ok db "${SHORT[@]}" --monitors 2
like "$OUT" '^scenario +variant .*
db +2 monitors +16 cbor +[0-9.]+[kM]? ' "db: a table row"

AEMP_PERF_SKIP_SEQ=500 perf_fails 1 \
	"delivery check failed: db 2 monitors 16 bytes cbor: 2 gaps, 0 reorders" \
	db --json --count 2000 --warmup 0 --monitors 2
rows 1 '$r->{gaps} == 2 && $r->{reorders} == 0' \
	"an update never set is a gap at every monitor"

# A global node started elsewhere: an `aemp-perf serve` node becomes one
# when the writer and the monitors take it as their master.
bg srv "$PERF" serve --bind 127.0.0.1:0 --secret perf-s3cret --nodeid psrv
until_ok 20 grep -q '^serving' "$TMP/srv.out"
SRV=$(sed -n 's/^serving psrv#perf on \([0-9.:]*\) .*/\1/p' "$TMP/srv.out")
perf_ok db --json "${SHORT[@]}" --connect "$SRV" --secret perf-s3cret \
	--monitors 2
rows 1 "$SANE && $LAT && $DB && \$r->{cpu_remote_excluded}" \
	"db --connect: the database of a node started elsewhere"

# A monitoring node that dies: one line, exit status 1, no process left.
bg run "$PERF" db --seconds 20 --warmup 0.1 --monitors 2 -q
RUN=${PID[run]}
MON="--family perf${RUN}x0 --ack [^ ]* --index 1 "
until_ok 20 pgrep -f -- "$MON" >/dev/null
sleep 1
KIDS=$(pgrep -f -- "--nodeid perf${RUN}-0[gm]")
kill -KILL "$(pgrep -f -- "$MON")"
bg_wait run 20
is "$BG_STATUS" 1 "a monitoring node killed: exit status 1"
# (killed during the run: "db 2 mon 16 B cbor: node ... is gone:
# [transport_error ...]"; a slow start may still be waiting for it)
like "$(cat "$TMP/run.err")" "^aemp-perf: .*node perf${RUN}-0m1 is gone" \
	"... and the run says which node is gone"
alive() {
	local k
	for k in $KIDS; do
		kill -0 "$k" 2>/dev/null && return 0
	done
	return 1
}
is "$(echo $KIDS | wc -w)" 3 "... it had 3 children (global, 2 monitors)"
LEFT=none
alive && LEFT=some
is "$LEFT" none "... and none of them is left"

perf_fails 2 "--monitors: expected monitoring nodes 1..64, got '0'" \
	db --monitors 0
perf_fails 2 "--monitors: expected monitoring nodes 1..64, got 'abc'" \
	db --monitors abc
perf_fails 2 "--monitors: expected monitoring nodes 1..64, got '65'" \
	db --monitors 1,65
perf_fails 2 "--monitors: no count given" db --monitors ,
perf_fails 2 "--monitors needs a value" db --monitors
perf_fails 2 "--window: expected an integer 1..256, got '0'" db --window 0
perf_fails 2 "--monitors and --window are for 'db' only" pair --monitors 2
perf_fails 2 "--monitors and --window are for 'db' only" fanin --window 4
perf_fails 2 "db: --port is not used" db --connect 127.0.0.1:1 --port perf
perf_fails 2 "--tls: with --connect or serve" db --tls --connect 127.0.0.1:1

done_testing
