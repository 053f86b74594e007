# tests/cli/node.bash - sourced after tap.bash by the tests/cli scripts
# that run nodes with `aemp run` in the background (not a test itself).
#
# Every background process is registered; on every exit path (end of
# script, failure, SIGINT/SIGTERM from the test runner) each one gets
# SIGTERM, then SIGKILL after a few seconds, and is waited for.  Every wait
# here is bounded.
#
#   node_start NAME ARG...   aemp ARG... (a command line ending in
#                            `run ...`) in the background; waits for
#                            its "nodeid" and "listen" lines and sets
#                            ID[NAME], ADDR[NAME] (first listener), PID[NAME]
#   node_stop NAME [SIG]     signal it (TERM) and wait; sets STOP_STATUS
#   bg NAME CMD...           any command in the background (output in
#                            $TMP/NAME.out and .err)
#   bg_wait NAME SECONDS     wait for it; sets BG_STATUS (124: killed)
#   until_ok SECONDS CMD...  retry CMD every 0.1 s until it succeeds

declare -A PID ID ADDR
_bg_pids=()

_bg_reap() {	# $1 = pid, $2 = seconds: wait, then kill; status in _st
	local pid=$1 i
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		_st=124
		return
	fi
	wait "$pid" 2>/dev/null
	_st=$?
}

_bg_cleanup() {
	local pid
	for pid in "${_bg_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${_bg_pids[@]}"; do
		_bg_reap "$pid" 5
	done
	rm -rf "$TMP"
}
trap _bg_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

bg() {
	local name=$1
	shift
	# The background shell truncates the files later: an old "listen"
	# line must not be found in the meantime.
	rm -f "$TMP/$name.out" "$TMP/$name.err"
	"$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	PID[$name]=$!
	_bg_pids+=("$!")
}

bg_wait() {
	_bg_reap "${PID[$1]}" "$2"
	BG_STATUS=$_st
}

node_start() {
	local name=$1 i
	shift
	bg "$name" "$AEMP" "$@"
	for ((i = 0; i < 400; i++)); do
		if grep -q '^listen' "$TMP/$name.out" 2>/dev/null; then
			ID[$name]=$(sed -n 's/^nodeid //p' "$TMP/$name.out")
			ADDR[$name]=$(sed -n 's/^listen \([^ ]*\).*/\1/p' \
				"$TMP/$name.out")
			return 0
		fi
		kill -0 "${PID[$name]}" 2>/dev/null || break
		sleep 0.05
	done
	echo "# node $name did not start: $(cat "$TMP/$name.err")"
	return 1
}

node_stop() {
	kill -"${2:-TERM}" "${PID[$1]}" 2>/dev/null
	bg_wait "$1" 10
	STOP_STATUS=$BG_STATUS
}

until_ok() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# perl_peer SCRIPT - the Perl peer for a test: skips the test (exit 77)
# unless AEMP_PERL_AEMP names an executable aemp-perl wrapper with lib/
# beside its bin/ and SCRIPT compiles with that lib/ (then in PERL5LIB).
perl_peer() {
	local plib
	if [ -z "${AEMP_PERL_AEMP:-}" ] || [ ! -x "$AEMP_PERL_AEMP" ]; then
		echo "1..0 # SKIP no Perl AnyEvent::MP (set AEMP_PERL_AEMP=/tmp/perl-aemp/bin/aemp-perl)"
		exit 77
	fi
	plib=$(cd "$(dirname "$AEMP_PERL_AEMP")/../lib" && pwd) || {
		echo "1..0 # SKIP no lib/ next to $(dirname "$AEMP_PERL_AEMP")"
		exit 77
	}
	export PERL5LIB="$plib${PERL5LIB:+:$PERL5LIB}"
	perl -c "$1" >/dev/null 2>&1 || {
		echo "1..0 # SKIP $(basename "$1") does not compile with $PERL5LIB (AnyEvent::MP and the modules it uses)"
		exit 77
	}
}
