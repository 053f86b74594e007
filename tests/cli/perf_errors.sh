#!/bin/bash
# tests/cli/perf_errors.sh - aemp-perf's command line: every mistake is one
# line "aemp-perf: ..." on stderr, nothing on stdout, exit status 2, and
# nothing runs.  The db scenario's own options: tests/cli/perf_db.sh.
. "$(dirname "$0")/perf_lib.bash"

perf_ok --help
like "$OUT" "^usage: aemp-perf \[SCENARIO\]" "--help: usage"
like "$OUT" "pingpong" "--help lists the scenarios"

perf_fails 2 "unknown scenario 'nosuch'" nosuch
perf_fails 2 "unexpected argument 'pingpong'" pair pingpong
perf_fails 2 "unknown option '--frobnicate'" pair --frobnicate
perf_fails 2 "unknown option '-x'" -x
perf_fails 2 "--size needs a value" pair --size
perf_fails 2 "--size: expected bytes 0..8388608, got 'abc'" --size abc
perf_fails 2 "--size: expected bytes 0..8388608, got '9000000'" \
	--size 16,9000000
perf_fails 2 "--size: expected bytes .* got '-1'" --size=-1
perf_fails 2 "--size: no size given" --size ,
perf_fails 2 "--size: at most 16 sizes" --size 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17
perf_fails 2 "--framing: expected json, cbor or json,cbor, got 'xml'" \
	--framing xml
perf_fails 2 "--shards: expected an integer 1..64, got '0'" --shards 0
perf_fails 2 "--senders: expected an integer 1..64, got '65'" --senders 65
perf_fails 2 "--nodes: expected an integer 1..1000, got 'two'" fanin --nodes two
perf_fails 2 "--batch: expected an integer 1..65536" --batch 0
perf_fails 2 "--max-queue: expected bytes 65536..2\^40, got .100." --max-queue 100
perf_fails 2 "--seconds: expected seconds 0.001..3600, got '0'" --seconds 0
perf_fails 2 "--seconds: expected seconds .* got 'abc'" --seconds=abc
perf_fails 2 "--warmup: expected seconds 0..600, got '-1'" --warmup -1
perf_fails 2 "--count: expected a number of messages" --count 0
perf_fails 2 "--json takes no value" --json=1
perf_fails 2 "--connect: expected HOST:PORT, got 'nowhere'" \
	pair --connect nowhere
perf_fails 2 "--port needs --connect" pair --port perf
perf_fails 2 "local: --connect is not possible" local --connect 127.0.0.1:1
perf_fails 2 "raw: --connect is not possible" raw --connect 127.0.0.1:1
perf_fails 2 "fanin: --connect is not possible" fanin --connect 127.0.0.1:1
perf_fails 2 "--bind and --nodeid are for 'serve' only" pair --bind 127.0.0.1:0
perf_fails 2 "local: --tls is not possible" local --tls
perf_fails 2 "raw: --tls is not possible" raw --tls
perf_fails 2 "--tls: with --connect or serve, TLS follows the configuration" \
	pair --tls --connect 127.0.0.1:1
perf_fails 2 "--tls: with --connect or serve" tls --connect 127.0.0.1:1
perf_fails 2 "--tls: with --connect or serve" serve --tls

done_testing
