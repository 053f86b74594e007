#!/bin/bash
# tests/cli/proto_run.sh - `aemp run`: the two lines it prints, a clean
# exit 0 on SIGINT and SIGTERM, one error line and exit status 1 or 2 for
# every configuration or bind failure, and the configuration precedence of
# §7.1 end to end (profile chain from the file, arguments below it, force,
# edits earlier on the same command line).
. "$(dirname "$0")/tap.bash"
. "$(dirname "$0")/node.bash"

ok "run starts with an ephemeral port" \
	node_start a run nodeid r1 binds 127.0.0.1:0 secret s
is "$(head -n1 "$TMP/a.out")" "nodeid r1" "first line: nodeid ID"
like "$(sed -n 2p "$TMP/a.out")" '^listen 127\.0\.0\.1:[0-9]+$' \
	"second line: listen ADDR"
ok "the port is not 0" test "${ADDR[a]#127.0.0.1:}" != 0

# errors while the first node holds its port
aemp_fails 1 "run: binds: cannot listen on ${ADDR[a]}: Address already in use" \
	run nodeid r2 binds "${ADDR[a]}"
aemp_fails 1 "run: binds: bad address 'h:99999': port must be" \
	run nodeid r2 binds h:99999
aemp_fails 2 "bad JSON argument '\[\"127\.0\.0\.1:0\"'" \
	run nodeid r2 binds '["127.0.0.1:0"'
aemp_fails 1 "run: no profile 'nope' in $RC" run profile nope
aemp_fails 1 "run: no profile 'nope' in $RC" run nope binds 127.0.0.1:0
aemp_fails 1 "run: unknown configuration key 'bogus'" run bogus 1
aemp_fails 2 "run: KEY must be a string" run '{"a":1}' 1
aemp_fails 2 "run: PROFILE must be a string" run '["x"]' nodeid x
aemp_fails 1 "run: nodeid: \"a#b\" must not contain" run nodeid 'a#b'
aemp_fails 1 "run: expected true or false, got 'maybe'" run secure maybe
aemp_fails 1 "run: monitor_timeout: expected a number" \
	run monitor_timeout soon

node_stop a INT
is "$STOP_STATUS" 0 "SIGINT: exit 0"
is "$(cat "$TMP/a.err")" "aemp: node r1 stopped (SIGINT)" "SIGINT: one line"
ok "a fixed port is free again" \
	node_start a run nodeid r1 binds "${ADDR[a]}"
node_stop a TERM
is "$STOP_STATUS" 0 "SIGTERM: exit 0"
is "$(tail -n1 "$TMP/a.err")" "aemp: node r1 stopped (SIGTERM)" \
	"SIGTERM: stop line"

# configuration precedence, end to end
cat >"$RC" <<'EOF'
{ "secret": "from-file", "nodeid": "global-id",
  "profile": {
     "base": {"binds": ["127.0.0.1:0"], "nodeid": "base-%u"},
     "leaf": {"parent": "base", "nodeid": "leaf1"},
     "nonid": {"binds": ["127.0.0.1:0"]},
     "aemp": {"seeds": []}
  }
}
EOF
node_start a run leaf
is "${ID[a]}" "leaf1" "run PROFILE (odd count): nodeid of the profile"
like "${ADDR[a]}" '^127\.0\.0\.1:[1-9]' "binds inherited from the parent"
run --seeds "${ADDR[a]}" cal leaf1 time
like "$STATUS:$OUT" '^0:[0-9]+\.?[0-9]*$' \
	"the tool reaches it with the secret of the file's global section"
node_stop a

node_start a run profile leaf nodeid from-args
is "${ID[a]}" "leaf1" "the file's profile is above the arguments"
node_stop a
node_start a run profile leaf nodeid from-args force true
is "${ID[a]}" "from-args" "force puts the arguments on top"
node_stop a
node_start a run profile base
like "${ID[a]}" '^base-[0-9A-Za-z]{10}$' "%u in the profile's template"
node_stop a
aemp_fails 1 "run: unknown configuration key 'setnodeid'" \
	run profile leaf setnodeid x
node_start a profile leaf setnodeid chained run leaf
is "${ID[a]}" "chained" "edits before run on the same line are saved first"
node_stop a

# The global "nodeid" is meant for real nodes: the tool ignores it, so it
# never takes the ID of the node it talks to.
node_start a run nonid
is "${ID[a]}" "global-id" "the global section's nodeid applies to run"
run --timeout 5 --seeds "${ADDR[a]}" cal global-id time
like "$STATUS:$OUT" '^0:[0-9]' "the tool does not take the global nodeid"
node_stop a

# TLS from a certificate in the file, used by the node and by the tool
rm -f "$RC"
"$AEMP" gencert
node_start a run nodeid tls1 binds 127.0.0.1:0
run -v --seeds "${ADDR[a]}" cal tls1 can aemp::echo
is "$STATUS:$OUT" "0:1" "over TLS; aemp::echo is registered"
like "$ERR" "authenticated over TLS" "the tool authenticated over TLS"
node_stop a

# the configuration file itself
printf '{"profile": {"p": [1 2]}}\n' >"$RC"
aemp_fails 1 "$RC: line 1, column [0-9]+: expected" run profile p

done_testing
