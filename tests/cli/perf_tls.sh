#!/bin/bash
# tests/cli/perf_tls.sh - TLS between the nodes aemp-perf starts (one
# certificate made per run, given to the children through the
# environment): the "tls" scenario (the default comparison over TLS) and
# --tls for pair, pingpong and fanin, in short runs.
. "$(dirname "$0")/perf_lib.bash"

perf_ok tls --json "${SHORT[@]}" --size 16
rows 4 "$SANE" "tls: 4 sane results"
printf '%s\n' "$OUT" | grep -v '"scenario":"raw"' >"$TMP/t"
OUT=$(cat "$TMP/t")
rows 2 '$r->{tls} && $r->{variant} =~ / tls$/ && $r->{ratio_to_raw} > 0 &&
	$r->{transport} =~ /^TLSv1\.[23] \(\S+\)$/' \
	"tls: pair and pingpong over TLS (as negotiated), compared with TCP"

perf_ok pair --tls --json "${SHORT[@]}" --framing json --senders 2 --no-raw
rows 1 "$SANE && \$r->{tls} && \$r->{variant} eq '2 senders tls'" \
	"pair --tls --framing json --senders 2"
perf_ok pingpong --tls --json --count 200 --warmup 0 --no-raw
rows 1 "$SANE && $LAT && \$r->{msgs} == 200" "pingpong --tls --count 200"
perf_ok fanin --tls --json "${SHORT[@]}" --no-raw
rows 1 "$SANE && \$r->{tls} && \$r->{transport} =~ /^TLS/" "fanin --tls"

done_testing
