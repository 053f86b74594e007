#!/bin/bash
# tests/cli/config_spin.sh - the low-latency keys through the tool:
# setbusy_poll_us and setcpus store what the engine accepts and refuse the
# rest in one line; `aemp run` with a CPU the machine does not have fails
# in one line before any thread starts; the tool's own node ignores both
# keys (a client neither spins nor pins).
. "$(dirname "$0")/tap.bash"

aemp_ok setbusy_poll_us 500 setcpus 0
is "$(json_get "$RC" '$j->{busy_poll_us}')" 500 "busy_poll_us stored as a number"
is "$(json_get "$RC" '$j->{cpus}')" '["0"]' "cpus stored as a list"

aemp_fails 1 "busy_poll_us: expected an integer 0..1000000, got 2000000" \
	setbusy_poll_us 2000000
aemp_fails 1 "busy_poll_us: expected an integer 0..1000000" \
	setbusy_poll_us -1
aemp_fails 1 "cpus: expected CPU numbers 0..4095, got \"x\"" setcpus 0,x
aemp_fails 1 "cpus: expected CPU numbers 0..4095, got \"4096\"" setcpus 4096

# A CPU that does not exist: one line, exit 1, nothing started.
aemp_fails 1 "run: cpus: CPU 4000 does not exist \(this machine has CPUs 0\.\.[0-9]+\)$" \
	run norc 1 binds '[]' cpus 4000
aemp_fails 1 "run: cpus: lists 2 CPUs but shards is 1; give one CPU per shard" \
	run norc 1 binds '[]' shards 1 cpus 0,0

# The tool's node is neither pinned nor spinning: a cpus list for 2
# shards in the file does not break a protocol command (which fails for
# its own reason only: nothing listens at port 1).
aemp_ok setcpus 0,0 setshards 2 setsecret s
aemp_fails 1 "nonode: unreachable" --seeds 127.0.0.1:1 snd nonode#x 1

done_testing
