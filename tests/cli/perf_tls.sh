#!/bin/bash
# tests/cli/perf_tls.sh - TLS between the nodes aemp-perf starts (one
# certificate made per run, given to the children through the
# environment): the "tls" scenario (plaintext and TLS side by side, with
# the ratios and the connection set-up time) and --tls for pair, pingpong
# and fanin, in short runs.
# aemp-test-timeout: 180
. "$(dirname "$0")/perf_lib.bash"

perf_ok tls --json "${SHORT[@]}" --size 16
ALL=$OUT
OUT=$(printf '%s\n' "$ALL" | grep -v '"scenario":"tls"')
rows 4 "$SANE" "tls: 4 sane results"
OUT=$(printf '%s\n' "$OUT" | grep '"tls":true')
rows 2 '$r->{variant} =~ / tls$/ &&
	$r->{transport} =~ /^TLSv1\.[23] \(\S+\)$/' \
	"tls: pair and pingpong over TLS (as negotiated)"
OUT=$(printf '%s\n' "$ALL" | grep '"scenario":"tls"')
rows 3 '$r->{plain} > 0 && $r->{tls} > 0 &&
	abs($r->{ratio} - $r->{tls} / $r->{plain}) < 1e-3 &&
	$r->{transport} =~ /^TLSv1\.[23] \((TLS13-)?(AES|CHACHA)/ &&
	($r->{of} eq "set-up" ? $r->{measure} eq "ms" && !defined $r->{size}
	 : $r->{of} eq "pair" ? $r->{measure} eq "msgs/s" && $r->{size} == 16
	 : $r->{of} eq "pingpong" && $r->{measure} eq "p50us")' \
	"tls: pair, pingpong and set-up, plaintext against TLS with the ratio"

perf_ok pair --tls --json "${SHORT[@]}" --framing json --senders 2 --no-raw
rows 1 "$SANE && \$r->{tls} && \$r->{variant} eq '2 senders tls'" \
	"pair --tls --framing json --senders 2"
perf_ok pingpong --tls --json --count 200 --warmup 0 --no-raw
rows 1 "$SANE && $LAT && \$r->{msgs} == 200" "pingpong --tls --count 200"
perf_ok fanin --tls --json "${SHORT[@]}" --no-raw
rows 1 "$SANE && \$r->{tls} && \$r->{transport} =~ /^TLS/" "fanin --tls"

done_testing
