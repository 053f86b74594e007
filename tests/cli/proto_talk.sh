#!/bin/bash
# tests/cli/proto_talk.sh - the protocol commands against two nodes started
# with `aemp run` on 127.0.0.1 (ephemeral ports): snd with its delivery
# confirmation, cal, mon of ports and nodes, nodes, stats, db, the
# aemp::echo service, the seeds and secret from the file or options, and every
# failure: unreachable node (after the timeout), no reply, dead port, bad
# arguments.
. "$(dirname "$0")/tap.bash"
. "$(dirname "$0")/node.bash"

"$AEMP" setsecret s3cret
node_start n1 run nodeid n1 binds 127.0.0.1:0 || exit 1
node_start n2 run nodeid n2 binds 127.0.0.1:0 seeds "${ADDR[n1]}" || exit 1
"$AEMP" profile aemp setseeds "${ADDR[n1]}"
P1=${ADDR[n1]} P2=${ADDR[n2]}

# cal and the seeds and secret of the file
aemp_ok cal n1 time
like "$OUT" '^[0-9]{10}(\.[0-9]+)?$' "cal n1 time: the time, JSON-encoded"
aemp_ok cal n1 can time
is "$OUT" 1 "cal n1 can time: 1"
aemp_ok cal n1 can '"aemp::no such thing"'
is "$OUT" false "JSON argument; false answer"

# nodes and stats (aemp::nodes, aemp::stats)
has_n2() { run nodes n1 && [ "$OUT" == n2 ]; }
ok "nodes n1: n2 (the tool itself not listed)" until_ok 10 has_n2
aemp_ok --json nodes n1
is "$OUT" '["n2"]' "--json nodes n1"
aemp_ok stats n1
like "$OUT" '^connections +[0-9]+$' "stats: one counter per line"
like "$OUT" "shards +2" "stats: shards"
aemp_ok --json stats n1
printf '%s' "$OUT" >"$TMP/stats.json"
is "$(json_get "$TMP/stats.json" '$j->{connections} >= 2 ? "yes" : "no"')" \
	yes "--json stats: a map; n1 has two connections or more"

# n2 is no seed of the tool: found through n1's directory (g_find)
aemp_ok cal n2 time
like "$OUT" '^[0-9]{10}' "cal n2 time: reached through the directory"

# snd, spawning the echo service through n1's node port
aemp_ok snd n1 AnyEvent::MP::_spawn echo1 aemp::echo
is "$OUT" "message sent successfully" "snd: delivery confirmed"
# [n1, snd, REPLYPORT] -> n1's relay sends [] to the reply port
aemp_ok cal n1#echo1 n1 snd
is "$OUT" "" "echo: an empty reply prints an empty line"
# [n2, snd, n1, time, R] -> n2 relays [time, R] to n1 -> n1 answers R
aemp_ok cal n1#echo1 n2 snd n1 time
like "$OUT" '^[0-9]{10}' "echo -> n2 -> n1 -> the tool"
aemp_ok --seeds "$P1,$P2" cal n1#echo1 n2 time
like "$OUT" '^[0-9]{10}' "--seeds with two nodes; echo to n2's node port"

# the database: echo ports registered in a family (spawn argument)
aemp_ok snd n2 AnyEvent::MP::_spawn d1 aemp::echo echoes '{"on":"n2"}'
aemp_ok snd n1 AnyEvent::MP::_spawn d2 aemp::echo echoes seven
has_both() { run db keys echoes && [ "$OUT" == $'n1#d2\nn2#d1' ]; }
ok "db keys: both registrations, sorted" until_ok 10 has_both
aemp_ok db family echoes
is "$OUT" $'n1#d2 "seven"\nn2#d1 {"on":"n2"}' "db family: KEY VALUE lines"
aemp_ok --json db family echoes
printf '%s' "$OUT" >"$TMP/family.json"
is "$(json_get "$TMP/family.json" '$j')" '{"n1#d2":"seven","n2#d1":{"on":"n2"}}' \
	"--json db family: one object"
aemp_ok db values echoes
is "$(printf '%s\n' "$OUT" | sort)" $'"seven"\n{"on":"n2"}' \
	"db values: one per line"
aemp_ok db keys "'l"
like "$(printf '%s\n' "$OUT" | grep -c '^n[12]$')" '^2$' \
	"db keys 'l: the nodes' listener entries"
bg dbmon "$AEMP" --timeout 20 db mon echoes
bg dbmonj "$AEMP" --timeout 20 --json db mon echoes
mon_saw() { grep -q -- "$2" "$TMP/$1.out"; }
ok "db mon: the family first, as added" \
	until_ok 10 mon_saw dbmon '^added n2#d1 {"on":"n2"}$'
ok "db mon --json: the first report" \
	until_ok 10 mon_saw dbmonj '"n1#d2":"seven"'
aemp_ok snd n2 kil1 d1
aemp_ok snd n1 AnyEvent::MP::_spawn d3 aemp::echo echoes '[1,null]'
ok "db mon: a deleted key" until_ok 10 mon_saw dbmon '^deleted n2#d1$'
ok "db mon: an added key" until_ok 10 mon_saw dbmon '^added n1#d3 \[1,null\]$'
ok "db mon --json: changes" until_ok 10 mon_saw dbmonj \
	'^{"added":{"n1#d3":\[1,null\]},"changed":{},"deleted":\[\]}$'
like "$(grep -c . "$TMP/dbmon.out")" '^4$' "db mon: one line per change"
node_stop dbmon
node_stop dbmonj
aemp_fails 1 "db keys x: no answer within 1 s \(the tool reaches no global" \
	--seeds '' --timeout 1 db keys x
aemp_fails 2 "'db': FAMILY must not be empty" db keys ''

# mon of a port: started in the background, it is connected when n1
# lists a node of the tool other than the one asking
tool_seen() { run nodes n1 && printf '%s\n' "$OUT" | grep -q '^aemp/'; }
bg mon1 "$AEMP" mon n1#echo1
ok "mon is connected" until_ok 10 tool_seen
aemp_ok snd n1 kil1 echo1 '{"why":[1,2.5,null,true,"\u00e9"]}' text
bg_wait mon1 10
is "$BG_STATUS:$(cat "$TMP/mon1.out")" \
	'0:{"why":[1,2.5,null,true,"é"]},"text"' "mon prints the kill reason"
aemp_ok mon n1#echo1
is "$OUT" '"no_such_port","cannot monitor nonexistent port","n1#echo1"' \
	"mon of a dead port"

# the echo service dies on a message without a port ID
aemp_ok snd n1 AnyEvent::MP::_spawn echo2 aemp::echo
bg mon2 "$AEMP" mon n1#echo2
ok "mon is connected" until_ok 10 tool_seen
aemp_ok snd n1#echo2 '[1]'
bg_wait mon2 10
is "$BG_STATUS:$(cat "$TMP/mon2.out")" \
	'0:"die","aemp::echo: the first element of a message must be a port ID"' \
	"echo: a bad message kills the port"

# failures
aemp_fails 1 "n1#nope: no reply, the port is gone: \"no_such_port\"" \
	cal n1#nope 1
aemp_fails 1 "n1: no reply within 1 s$" --timeout 1 cal n1 devnull
aemp_fails 1 "n9: unreachable \(no connection within 1 s: no known address\)" \
	--timeout=1 cal n9 time
aemp_fails 1 "n1: still alive after 1 s$" --timeout 1 mon n1
aemp_fails 1 "n9: unreachable \(no connection within 0\.5 s" \
	--timeout 0.5 snd n9#p x
aemp_fails 1 "n1: unreachable \(no connection within 1 s: .*Connection refused\)" \
	--timeout 1 --seeds 127.0.0.1:1 cal n1 time
aemp_fails 1 "n1: unreachable \(no connection within 1 s: connection " \
	--timeout 1 --secret wrong cal n1 time
aemp_fails 1 "n1: unreachable \(no connection within 1 s; the tool has no seeds" \
	--timeout 1 --seeds '' cal n1 time
PERL_ANYEVENT_MP_RC=$TMP/none aemp_fails 1 "the tool has no seeds" \
	--timeout 1 stats n1
aemp_fails 2 "'#x' is not a port or node ID" cal '#x'
aemp_fails 2 "'cal': PORT \[ARG...\] must be a port or node ID" cal '[1]'
aemp_fails 2 "'snd' needs an argument" snd
aemp_fails 2 "'mon' needs an argument" mon
aemp_fails 2 "'nodes' needs an argument" nodes
aemp_fails 2 "'stats' needs an argument" stats
aemp_fails 2 "bad JSON argument '\{1'" snd n1 '{1'
aemp_fails 2 "unknown option '--bogus'" --bogus cal n1 time
aemp_fails 2 "option '--timeout' needs a value" --timeout
aemp_fails 2 "--timeout: expected seconds > 0, got '0'" --timeout 0 cal n1
aemp_fails 2 "unknown subcommand 'sned'" sned n1 x
aemp_fails 2 "'db': unknown request 'drop'" db drop fam
aemp_fails 2 "'trace' is not supported: .*'aemp nodes NODE'" trace n1

# mon of a node: fires with a transport error when the node goes away
"$AEMP" profile aemp setseeds "$P2"
bg mon3 "$AEMP" mon n2
has_tool() { run nodes n2 && printf '%s\n' "$OUT" | grep -q '^aemp/'; }
ok "mon of n2 is connected" until_ok 10 has_tool
node_stop n2
is "$STOP_STATUS" 0 "n2 stops on SIGTERM"
bg_wait mon3 10
like "$BG_STATUS:$(cat "$TMP/mon3.out")" '^0:"transport_error","n2","' \
	"mon of a node: the transport error"
# snd to a node that is gone
aemp_fails 1 "n2: unreachable" --timeout 1 snd n2#x y

node_stop n1
is "$STOP_STATUS" 0 "n1 stops on SIGTERM"
done_testing
