#!/bin/bash
# tests/cli/top.sh - `aemp top` against two nodes started with `aemp run`
# on 127.0.0.1: one snapshot when stdout is no terminal (nodes found
# through the seeds, or named), "-" for a node that does not answer, and
# the live view in a pseudo-terminal (tmux): the screen shows both nodes
# and is redrawn, `q` quits, Ctrl-C quits.  Skips the terminal part
# without tmux.  Every wait is bounded.
#
# aemp-test-timeout: 60
. "$(dirname "$0")/tap.bash"
. "$(dirname "$0")/node.bash"

"$AEMP" setsecret top-secret
node_start n1 run nodeid n1 binds 127.0.0.1:0 || exit 1
node_start n2 run nodeid n2 binds 127.0.0.1:0 seeds "${ADDR[n1]}" || exit 1
"$AEMP" profile aemp setseeds "${ADDR[n1]}"

both_up() { run nodes n1 && [ "$OUT" == n2 ]; }
ok "n2 joined n1" until_ok 10 both_up

aemp_ok top
like "$OUT" '^aemp top - 2 nodes - [0-9:]+$' "snapshot: header line"
like "$OUT" $'\nNODE +MSG/S +PKTIN/S' "snapshot: column titles"
like "$OUT" $'\nNODE +MSG/S .* PORTS +QUEUE\n' "snapshot: the QUEUE column (queued bytes)"
like "$OUT" $'\nn1 +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+\n' \
	"snapshot: a row for n1 (found through the seeds), queued bytes last"
like "$OUT" $'\nn2 +[0-9]+' "snapshot: a row for n2 (through the master)"
aemp_ok --timeout 2 top n2 nosuch
like "$OUT" $'\nnosuch +- +- +-' "a node that does not answer: dashes"
is "$(printf '%s\n' "$OUT" | grep -c '^n1')" 0 "named nodes only"

if ! command -v tmux >/dev/null 2>&1; then
	echo "# SKIP terminal part: tmux not installed (Debian: tmux)"
	done_testing
	exit
fi
SOCK="aemp-top-$$"
tm() { tmux -L "$SOCK" "$@"; }
cleanup_tmux() { tm kill-server 2>/dev/null; }
trap 'cleanup_tmux; _bg_cleanup' EXIT
screen() { tm capture-pane -p -t top 2>/dev/null; }
shows_rows() { screen | grep -q '^n2 ' && screen | grep -q '^n1 '; }
gone() { ! tm has-session -t top 2>/dev/null; }

for key in q C-c; do
	tm new-session -d -s top -x 120 -y 20 \
		"env HOME='$HOME' PERL_ANYEVENT_MP_RC='$RC' '$AEMP' top"
	ok "tty ($key): both nodes on the screen" until_ok 10 shows_rows
	ok "tty ($key): the quit hint" bash -c "tmux -L '$SOCK' capture-pane -p -t top | grep -q 'q quits'"
	t1=$(screen | head -1)
	redrawn() { [ "$(screen | head -1)" != "$t1" ]; }
	ok "tty ($key): the screen is redrawn every second" until_ok 5 redrawn
	tm send-keys -t top "$key"
	ok "tty ($key): quits" until_ok 5 gone
done
done_testing
