#!/bin/bash
# tests/cli/perf_connect.sh - measuring a node started elsewhere: an
# `aemp-perf serve` node, measured with --connect through its perf port
# (delivery checked) and through its node port (any AEMP node: "devnull"
# and the "snd" relay), with the secret on the command line or from the
# configuration file; wrong secrets and ports that do not exist fail
# cleanly.
. "$(dirname "$0")/perf_lib.bash"

bg srv "$PERF" serve --bind 127.0.0.1:0 --secret perf-s3cret --nodeid psrv
until_ok 20 grep -q '^serving' "$TMP/srv.out"
SRV=$(sed -n 's/^serving psrv#perf on \([0-9.:]*\) .*/\1/p' "$TMP/srv.out")
like "$SRV" '^127\.0\.0\.1:[0-9]+$' "serve: says where it listens"

perf_ok pair --json "${SHORT[@]}" --connect "$SRV" --secret perf-s3cret \
	--port perf --size 16,500
rows 2 "$SANE && \$r->{cpu_remote_excluded} && !defined \$r->{ratio_to_raw} &&
	\$r->{transport} eq 'plain TCP'" \
	"pair --connect --port perf: checked delivery, local CPU only"

perf_ok pingpong --json "${SHORT[@]}" --connect "$SRV" \
	--secret perf-s3cret --port psrv#perf --framing json
rows 1 "$SANE && $LAT" "pingpong --port NODEID#NAME: echo by the perf port"

# Without --port: the node port of the node we connected to.
perf_ok pingpong --json "${SHORT[@]}" --connect "$SRV" --secret perf-s3cret
rows 1 "$SANE && $LAT" "pingpong to the node port: the snd relay"
perf_ok pair --json "${SHORT[@]}" --connect "$SRV" --secret perf-s3cret
rows 1 '$r->{msgs} > 0 && !defined $r->{gaps} && !defined $r->{reorders}' \
	"pair to the node port: devnull, delivery not checkable"

# The secret from the configuration file.
"$AEMP" setsecret perf-s3cret
perf_ok pair --json "${SHORT[@]}" --connect "$SRV" --port perf
rows 1 "$SANE" "pair --connect, secret from the configuration file"

perf_fails 1 'port psrv#nosuch: \["no_such_port",' \
	pair "${SHORT[@]}" --connect "$SRV" --secret perf-s3cret --port nosuch
perf_fails 1 "no connection to $SRV within 10 s" \
	pingpong "${SHORT[@]}" --connect "$SRV" --secret wrong

node_stop srv INT
is "$STOP_STATUS" 0 "serve: SIGINT stops it, exit 0"
like "$(cat "$TMP/srv.out")" $'\nreceived [1-9][0-9]* messages$' \
	"serve: counts what it received"

done_testing
