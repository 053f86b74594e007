#!/bin/bash
# tests/cli/perf_run.sh - the default comparison (pair, pingpong and their
# raw baselines) in a short mode, the live progress line on a terminal
# only, and the way out of a run: SIGINT, SIGTERM or SIGKILL of aemp-perf
# leaves no child process behind.
. "$(dirname "$0")/perf_lib.bash"

# The zmq row is there when aemp-perf was built with libzmq.
if pkg-config --exists libzmq 2>/dev/null; then nz=1 z="zmq/push/pull "; else nz=0 z=""; fi
perf_ok --json "${SHORT[@]}" --size 16
rows $((4 + nz)) "$SANE" "default: sane results"
is "$(printf '%s\n' "$OUT" | perl -ne 'print "$1/$2 " if
	/"scenario":"(\w+)","variant":"([\w \/]+)"/')" \
	"raw/tcp stream ${z}pair/1 sender raw/tcp pingpong pingpong/1 pinger " \
	"default: raw stream, zmq, pair, raw ping-pong, pingpong"
perf_ok default "${SHORT[@]}" --size 16
is "$(printf '%s\n' "$OUT" | wc -l)" $((5 + nz)) "default table: header and rows"
ok "no progress line when stdout is not a terminal" \
	eval '! printf "%s" "$OUT" | grep -q $'"'"'\r'"'"

# On a terminal, a run over 2 s shows a live line (util-linux script).
if command -v script >/dev/null; then
	script -qec "$PERF local --shards 1 --seconds 2.2 --warmup 0" \
		/dev/null >"$TMP/tty" 2>&1 </dev/null
	like "$(tr '\r' '\n' <"$TMP/tty")" \
		$'\n\033\\[K  local same shard 16 B: [0-9.]+ M msgs/s' \
		"terminal: progress line"
	like "$(cat "$TMP/tty")" $'\nlocal +same shard' "terminal: then the row"
fi

# children_of PID: the child processes (aemp-perf --child ...).
children_of() {
	pgrep -P "$1" 2>/dev/null | tr '\n' ' '
}

# interrupt NAME SIGNAL ARG...: start aemp-perf ARG..., wait until its
# children are there, send SIGNAL; every child must be gone afterwards.
interrupt() {
	local name=$1 sig=$2 kids=() k left=""
	shift 2
	bg "$name" "$PERF" "$@"
	until_ok 20 eval '[ -n "$(children_of ${PID[$name]})" ]'
	sleep 0.3
	read -ra kids <<<"$(children_of "${PID[$name]}")"
	kill -"$sig" "${PID[$name]}"
	bg_wait "$name" 10
	for k in "${kids[@]}"; do
		until_ok 5 eval '! kill -0 '"$k"' 2>/dev/null' ||
			left="$left $k"
	done
	is "${#kids[@]}:$left" "${#kids[@]}:" \
		"$sig during '$*': ${#kids[@]} children, none left"
}

interrupt p1 INT pair --seconds 30 --no-raw
is "$BG_STATUS" 130 "SIGINT: aemp-perf dies of SIGINT"
interrupt p2 TERM fanin --nodes 3 --seconds 30 --no-raw
is "$BG_STATUS" 143 "SIGTERM: aemp-perf dies of SIGTERM"
interrupt p3 KILL pingpong --seconds 30 --no-raw 2>/dev/null # bash: "Killed"
is "$BG_STATUS" 137 "SIGKILL: children die with the parent"
interrupt p4 INT raw --seconds 30
is "$BG_STATUS" 130 "SIGINT during the raw baseline"

done_testing
