#!/bin/bash
# tests/cli/metrics_prometheus.sh - a real Prometheus server (Debian's
# prometheus package) on 127.0.0.1 scrapes a node's metrics endpoint
# every second while the node runs messages; its HTTP query API must show
# aemp_messages_delivered_total rising.  Also checks the scraped text with
# promtool.  Skips when prometheus is not installed (make deps installs
# it).  Every wait is bounded; every process is stopped.
#
# aemp-test-timeout: 90
. "$(dirname "$0")/tap.bash"
. "$(dirname "$0")/node.bash"

if ! command -v prometheus >/dev/null 2>&1; then
	echo "1..0 # SKIP prometheus not installed (Debian package prometheus; make deps)"
	exit 77
fi

# GET PATH from 127.0.0.1:PORT with bash's /dev/tcp; body on stdout.
http_get() {
	local port=$1 path=$2
	timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port || exit 1
		printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' '$path' >&3
		cat <&3" 2>/dev/null | sed '1,/^\r$/d'
}

# A free loopback port (the kernel picks it; released before use).
free_port() {
	perl -MIO::Socket::INET -e \
		'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport'
}

"$AEMP" setsecret prom-secret
node_start n1 run nodeid n1 binds 127.0.0.1:0 metrics 127.0.0.1:0 || exit 1
M=$(sed -n 's/^metrics //p' "$TMP/n1.out")
like "$M" '^127\.0\.0\.1:[1-9][0-9]*$' "aemp run prints the metrics address"
"$AEMP" profile aemp setseeds "${ADDR[n1]}"
aemp_ok snd n1 AnyEvent::MP::_spawn e aemp::echo

http_get "${M#*:}" /metrics >"$TMP/scrape.txt"
like "$(head -c 300 "$TMP/scrape.txt")" '# HELP aemp_node_info' "scrape over /dev/tcp"
for fam in 'aemp_messages_delivered_total counter' \
	'aemp_peer_send_queue_bytes gauge' 'aemp_handshakes_failed_total counter' \
	'aemp_tls_connections gauge' 'aemp_monitors gauge' 'aemp_db_families gauge' \
	'aemp_db_keys gauge' 'aemp_shard_busy_seconds_total counter' \
	'aemp_handler_seconds histogram'; do
	ok "family ${fam% *} (${fam#* })" grep -q "^# TYPE $fam\$" "$TMP/scrape.txt"
done
ok "handshake failures by reason" grep -q '^aemp_handshakes_failed_total{reason="timeout"} ' "$TMP/scrape.txt"
ok "handler histogram +Inf bucket" grep -q '^aemp_handler_seconds_bucket{shard="0",le="+Inf"} ' "$TMP/scrape.txt"
if command -v promtool >/dev/null 2>&1; then
	ok "promtool check metrics" promtool check metrics <"$TMP/scrape.txt"
	# every query of the Grafana dashboard parses (as recording rules,
	# with the dashboard's variables filled in)
	perl -MJSON::PP -e '
		local $/; my $d = decode_json(<STDIN>); my $i = 0;
		print "groups:\n  - name: grafana\n    rules:\n";
		for my $p (@{$d->{panels}}) { for my $t (@{$p->{targets}}) {
			(my $e = $t->{expr}) =~ s/\$__rate_interval/1m/g;
			$e =~ s/\$instance/.*/g; $e =~ s/\x27/\x27\x27/g; $i++;
			print "      - record: grafana_expr_$i\n        expr: \x27$e\x27\n";
		} }' <"$AEMP_SRC/docs/grafana-aemp.json" >"$TMP/grafana-rules.yml"
	ok "docs/grafana-aemp.json: every query parses (promtool check rules)" \
		promtool check rules "$TMP/grafana-rules.yml"
fi

cat >"$TMP/prom.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: aemp
    static_configs:
      - targets: ["$M"]
EOC
started=0
for try in 1 2 3; do
	PP=$(free_port)
	bg prom prometheus --config.file="$TMP/prom.yml" \
		--storage.tsdb.path="$TMP/tsdb-$try" \
		--web.listen-address="127.0.0.1:$PP" --log.level=warn
	ready() { http_get "$PP" /-/ready | grep -q Ready; }
	if until_ok 30 ready; then
		started=1
		break
	fi
	bg_wait prom 5
done
is "$started" 1 "prometheus started on 127.0.0.1:$PP"
[ "$started" -eq 1 ] || done_testing

Q='/api/v1/query?query=sum%28aemp_messages_delivered_total%29'
value() { http_get "$PP" "$Q" | sed -n 's/.*"value":\[[0-9.]*,"\([0-9.e+]*\)"\].*/\1/p'; }
send_some() {
	local i
	for ((i = 0; i < 5; i++)); do
		run snd n1#e n1 devnull || return 1
	done
}
scraped() { V1=$(value) && [ -n "$V1" ]; }
ok "prometheus scraped the node" until_ok 30 scraped
send_some
rose() { V2=$(value) && [ -n "$V2" ] && perl -e "exit !($V2 > $V1)"; }
ok "aemp_messages_delivered_total rose in Prometheus ($V1 -> later)" until_ok 30 rose
echo "# delivered: $V1 -> ${V2:-?}"
# the histogram and the failure reasons as Prometheus stored them
cnt_q='/api/v1/query?query=count%28aemp_handshakes_failed_total%29'
like "$(http_get "$PP" "$cnt_q")" '"value":\[[0-9.]+,"8"\]' \
	"Prometheus: aemp_handshakes_failed_total has 8 reasons"
hq='/api/v1/query?query=count%28aemp_handler_seconds_bucket%29'
like "$(http_get "$PP" "$hq")" '"value":\[[0-9.]+,"(12|24|36|48)"\]' \
	"Prometheus: aemp_handler_seconds buckets stored"
up_q='/api/v1/query?query=up%7Bjob%3D%22aemp%22%7D'
like "$(http_get "$PP" "$up_q")" '"value":\[[0-9.]+,"1"\]' "up{job=\"aemp\"} is 1"
done_testing
